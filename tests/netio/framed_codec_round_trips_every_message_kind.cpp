// The framed codec writes exactly the documented wire format (a request and
// a server message compared byte for byte with frames built by hand), and
// every message kind, with empty, binary and 3000-byte strings and extreme
// ids, decodes to an equal message consuming exactly its frame; frames
// decode one at a time from a concatenation; encode appends without touching
// what `out` held; names of kinds, severities and statuses.
// ctest-timeout: 30
#include "framed_codec_test_support.hpp"

#include <algorithm>
#include <span>

using namespace framed_codec_test;

TEST_CASE("the codec's name is framed/1") {
  CHECK(netio::make_framed_codec()->name() == "framed/1");
}

TEST_CASE("a request is written exactly as docs/protocol.md specifies") {
  auto codec = netio::make_framed_codec();
  bytes out;
  REQUIRE_FALSE(codec->encode({0x0102030405060708u, netio::request{{"ECHO", "hi"}}}, out));
  auto expected = bytes_of({
    0, 0, 0, 30,            // length: 12 + body 18
    1,                      // version
    10,                     // kind: request
    0, 0,                   // flags
    1, 2, 3, 4, 5, 6, 7, 8, // request id
    0, 0, 0, 2,             // 2 arguments
    0, 0, 0, 4, 'E', 'C', 'H', 'O',
    0, 0, 0, 2, 'h', 'i',
  });
  CHECK(out == expected);
}

TEST_CASE("a server message is written exactly as docs/protocol.md specifies") {
  auto codec = netio::make_framed_codec();
  bytes out;
  REQUIRE_FALSE(codec->encode({0, netio::server_message{netio::severity::fatal, 2001, "bad"}}, out));
  bytes body;
  put_u8(body, 4);
  put_u32(body, 2001);
  put_text(body, "bad");
  CHECK(out == frame(netio::message_kind::server_message, 0, body));
  CHECK(out.size() == 16 + 1 + 4 + 4 + 3);
}

TEST_CASE("every message kind round-trips") {
  auto codec = netio::make_framed_codec();
  auto all = every_kind();
  std::vector<netio::message_kind> kinds_seen;
  for (const auto& each : all) {
    CAPTURE(netio::to_string(netio::kind_of(each.body)));
    bytes encoded;
    REQUIRE_FALSE(codec->encode(each, encoded));
    REQUIRE(encoded.size() >= 16);
    CHECK(std::to_integer<unsigned>(encoded[5]) == static_cast<unsigned>(netio::kind_of(each.body)));
    netio::message back;
    auto outcome = codec->decode(encoded, back);
    REQUIRE(outcome.complete());
    CHECK(outcome.consumed == encoded.size());
    CHECK(outcome.detail.empty());
    CHECK(back == each);
    kinds_seen.push_back(netio::kind_of(back.body));
  }
  for (auto kind : {netio::message_kind::hello, netio::message_kind::challenge,
                    netio::message_kind::response, netio::message_kind::ready,
                    netio::message_kind::request, netio::message_kind::result_row,
                    netio::message_kind::completion, netio::message_kind::server_message,
                    netio::message_kind::notification, netio::message_kind::cancel,
                    netio::message_kind::terminate})
    CHECK(std::find(kinds_seen.begin(), kinds_seen.end(), kind) != kinds_seen.end());
}

TEST_CASE("a concatenation decodes one frame at a time, in order") {
  auto codec = netio::make_framed_codec();
  auto all = every_kind();
  auto stream = encode_all(*codec, all);
  std::span<const std::byte> rest{stream};
  for (const auto& expected : all) {
    netio::message back;
    auto outcome = codec->decode(rest, back);
    REQUIRE(outcome.complete());
    CHECK(back == expected);
    rest = rest.subspan(outcome.consumed);
  }
  CHECK(rest.empty());
}

TEST_CASE("encode appends and keeps what the output held") {
  auto codec = netio::make_framed_codec();
  bytes out = bytes_of({0xaa, 0xbb});
  REQUIRE_FALSE(codec->encode({5, netio::cancel{}}, out));
  REQUIRE(out.size() == 2 + 16);
  CHECK(out[0] == std::byte{0xaa});
  CHECK(out[1] == std::byte{0xbb});
  bytes alone;
  REQUIRE_FALSE(codec->encode({5, netio::cancel{}}, alone));
  CHECK(bytes(out.begin() + 2, out.end()) == alone);
}

TEST_CASE("kinds, severities and statuses have names") {
  CHECK(netio::to_string(netio::message_kind::result_row) == "result_row");
  CHECK(netio::to_string(netio::message_kind::server_message) == "server_message");
  CHECK(netio::to_string(static_cast<netio::message_kind>(99)) == "unknown");
  CHECK(netio::to_string(netio::severity::info) == "info");
  CHECK(netio::to_string(netio::severity::notice) == "notice");
  CHECK(netio::to_string(netio::severity::warning) == "warning");
  CHECK(netio::to_string(netio::severity::error) == "error");
  CHECK(netio::to_string(netio::severity::fatal) == "fatal");
  CHECK(netio::to_string(netio::completion_status::succeeded) == "succeeded");
  CHECK(netio::to_string(netio::completion_status::failed) == "failed");
  CHECK(netio::to_string(netio::completion_status::canceled) == "canceled");
  CHECK(netio::kind_of(netio::notification{}) == netio::message_kind::notification);
  CHECK(netio::kind_of(netio::terminate{}) == netio::message_kind::terminate);
}
