// Frames with a good header but a bad body are refused as malformed_frame,
// each with a detail naming the kind, the request id, the frame size, the
// field and the numbers involved: truncated fields, strings and lists running
// past the frame, impossible list counts, out-of-range challenge methods,
// completion statuses and severities, a request without its command name,
// and trailing bytes. Systematically: every proper prefix of every kind's
// body, and every body with one extra byte, is refused. Also the header-level
// malformations: non-zero flags (judged once both flag bytes are there) and
// lengths below 12. Nothing is consumed and the output is left as it was.
// ctest-timeout: 30
#include "framed_codec_test_support.hpp"

using namespace framed_codec_test;

namespace {

struct bad_body {
  const char* name;
  netio::message_kind kind;
  bytes body;
  std::string detail;
};

bytes text_body(std::initializer_list<std::string_view> texts) {
  bytes out;
  for (auto each : texts)
    put_text(out, each);
  return out;
}

} // namespace

TEST_CASE("each kind of bad body is refused with a detail naming field and numbers") {
  using kind = netio::message_kind;
  auto codec = netio::make_framed_codec();
  std::vector<bad_body> cases;
  {
    bytes body = text_body({"client"});
    cases.push_back({"hello without its user", kind::hello, body,
                     "hello frame (request 7, 26 bytes): hello.user length needs 4 bytes but only 0 bytes remain in the body"});
  }
  {
    bytes body;
    put_u32(body, 1);
    put_u32(body, 200);
    put_u8(body, 'a');
    cases.push_back({"a column claiming more bytes than remain", kind::result_row, body,
                     "result_row frame (request 7, 25 bytes): result_row.columns[0] claims 200 bytes but only 1 byte remains in the body"});
  }
  {
    bytes body;
    put_u32(body, 3); // 3 entries need at least 12 bytes; 8 remain
    put_u32(body, 0);
    put_u32(body, 0);
    cases.push_back({"a list count larger than the body allows", kind::request, body,
                     "request frame (request 7, 28 bytes): request.arguments claims 3 entries but only 8 bytes remain in the body (each entry needs at least 4 bytes)"});
  }
  {
    bytes body;
    put_u32(body, 0);
    cases.push_back({"a request without its command name", kind::request, body,
                     "request frame (request 7, 20 bytes): request.arguments is empty; a request needs at least its command name"});
  }
  for (unsigned method : {0u, 3u, 255u}) {
    bytes body;
    put_u8(body, static_cast<std::uint8_t>(method));
    put_u32(body, 1);
    put_text(body, "");
    cases.push_back({"a challenge method outside 1..2", kind::challenge, body,
                     "challenge frame (request 7, 25 bytes): challenge method " + std::to_string(method) +
                       " is not 1 (password_key) or 2 (negotiate)"});
  }
  {
    bytes body;
    put_u16(body, 3);
    put_text(body, "");
    cases.push_back({"a completion status outside 0..2", kind::completion, body,
                     "completion frame (request 7, 22 bytes): completion status 3 is not 0..2"});
  }
  {
    bytes body;
    put_u8(body, 5);
    put_u32(body, 1001);
    put_text(body, "");
    cases.push_back({"a severity outside 0..4", kind::server_message, body,
                     "server_message frame (request 7, 25 bytes): severity 5 is not 0..4"});
  }
  {
    bytes body = text_body({"server"});
    put_u32(body, 0);
    cases.push_back({"a ready with half its session id", kind::ready, body,
                     "ready frame (request 7, 30 bytes): ready.session_id needs 8 bytes but only 4 bytes remain in the body"});
  }
  {
    bytes body = text_body({"channel", "payload"});
    put_u64(body, 1);
    put_u8(body, 0);
    cases.push_back({"a notification with a trailing byte", kind::notification, body,
                     "notification frame (request 7, 47 bytes): 1 byte remains after the end of the notification body"});
  }
  {
    // The decoder's fast path for notifications gives up on this one; the
    // general path still names the field.
    bytes body;
    put_u32(body, 0xffffffffu);
    put_u8(body, 'c');
    put_u64(body, 1);
    cases.push_back({"a notification channel claiming more bytes than remain", kind::notification, body,
                     "notification frame (request 7, 29 bytes): notification.channel claims 4294967295 bytes but only 9 bytes remain in the body"});
  }
  cases.push_back({"a cancel with a body", kind::cancel, bytes_of({1, 2}),
                   "cancel frame (request 7, 18 bytes): 2 bytes remain after the end of the cancel body"});
  cases.push_back({"a response without its data", kind::response, bytes_of({0, 0, 0, 1}),
                   "response frame (request 7, 20 bytes): response.data length needs 4 bytes but only 0 bytes remain in the body"});

  for (const auto& each : cases) {
    CAPTURE(each.name);
    auto input = frame(each.kind, 7, each.body);
    netio::message out{1, netio::terminate{}};
    auto outcome = codec->decode(input, out);
    CHECK(outcome.error == netio::errc::malformed_frame);
    CHECK(outcome.consumed == 0);
    CHECK(outcome.detail == each.detail);
    CHECK(out == netio::message{1, netio::terminate{}});
    // One byte short of the frame: still waiting, no verdict on the body yet.
    CHECK(codec->decode(std::span{input}.first(input.size() - 1), out).needs_more());
  }
}

TEST_CASE("every proper prefix of every body, and every body plus a byte, is refused") {
  auto codec = netio::make_framed_codec();
  std::size_t refused = 0;
  for (const auto& each : every_kind()) {
    CAPTURE(netio::to_string(netio::kind_of(each.body)));
    bytes encoded;
    REQUIRE_FALSE(codec->encode(each, encoded));
    bytes body(encoded.begin() + 16, encoded.end());
    auto kind = netio::kind_of(each.body);
    for (std::size_t cut = 0; cut < body.size(); ++cut) {
      CAPTURE(cut);
      netio::message out;
      auto outcome = codec->decode(frame(kind, each.request_id, bytes(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(cut))), out);
      CHECK(outcome.error == netio::errc::malformed_frame);
      CHECK(mentions(outcome.detail, netio::to_string(kind)));
      ++refused;
    }
    auto longer = body;
    longer.push_back(std::byte{0});
    netio::message out;
    auto outcome = codec->decode(frame(kind, each.request_id, longer), out);
    CHECK(outcome.error == netio::errc::malformed_frame);
    CHECK(mentions(outcome.detail, "1 byte remains after the end"));
    ++refused;
  }
  CHECK(refused > 3000); // the 3000-byte argument alone gives 3000 prefixes
}

TEST_CASE("non-zero flags are refused once both flag bytes are there") {
  auto codec = netio::make_framed_codec();
  for (unsigned flags : {0x0001u, 0x0100u, 0x8000u, 0xffffu}) {
    CAPTURE(flags);
    auto input = frame({.kind = 21, .flags = static_cast<std::uint16_t>(flags)});
    netio::message out;
    CHECK(codec->decode(std::span{input}.first(7), out).needs_more());
    auto outcome = codec->decode(std::span{input}.first(8), out);
    CHECK(outcome.error == netio::errc::malformed_frame);
    CHECK(outcome.consumed == 0);
    CHECK(mentions(outcome.detail, "flags are 0x"));
    CHECK(mentions(outcome.detail, "they must be 0 in protocol version 1"));
  }
  netio::message out;
  CHECK(codec->decode(frame({.kind = 21, .flags = 0x0102}), out).detail ==
        "frame flags are 0x0102; they must be 0 in protocol version 1");
}

TEST_CASE("a length below 12 is refused from the length field") {
  auto codec = netio::make_framed_codec();
  for (std::uint32_t length = 0; length < 12; ++length) {
    CAPTURE(length);
    bytes input;
    put_u32(input, length);
    netio::message out;
    auto outcome = codec->decode(input, out);
    CHECK(outcome.error == netio::errc::malformed_frame);
    CHECK(outcome.consumed == 0);
    CHECK(outcome.detail == "frame length " + std::to_string(length) +
                              " is less than 12, the rest of the header");
  }
  netio::message out;
  auto twelve = bytes_of({0, 0, 0, 12});
  CHECK(codec->decode(twelve, out).needs_more());
}
