// A channel decodes frame after frame into one message, and the framed
// codec writes a request, row, completion or notification into the storage
// that message already holds. Decoding into a reused message gives exactly
// what decoding into a fresh one gives, whatever kind it held before and
// whether its lists were longer or shorter; like frames reuse the strings'
// and the list's storage (the same buffers, no new ones); a malformed body
// decoded into a reused message is refused with the same detail as into a
// fresh one and leaves the message as it was; and frames split across reads
// (one byte at a time, each kind twice in a row) decode the same into one
// reused message.
// ctest-timeout: 30
#include "framed_codec_test_support.hpp"

#include <actorloop/netio/memory_stream.hpp>

using namespace framed_codec_test;

namespace {

/// Like frames of the kinds with an in-place path, with lists and strings
/// both longer and shorter than their neighbours'.
std::vector<netio::message> reused_kinds() {
  using namespace actorloop::netio;
  auto messages = every_kind();
  messages.push_back({3, request{{"ECHO", std::string(40, 'b')}}});
  messages.push_back({4, request{{"PUBLISH", "fan", std::string(32, 'p'), "x"}}});
  messages.push_back({5, result_row{{std::string(40, 'r')}}});
  messages.push_back({6, result_row{{"1", "2", "3", "4", "5"}}});
  messages.push_back({0, notification{"", std::string(32, 'n'), 0}});
  messages.push_back({7, completion{completion_status::failed, std::string(100, 'f')}});
  return messages;
}

} // namespace

TEST_CASE("decoding into a message that held any kind gives what a fresh message gets") {
  auto codec = netio::make_framed_codec();
  auto messages = reused_kinds();
  for (const auto& before : messages) {
    for (const auto& next : messages) {
      CAPTURE(netio::to_string(netio::kind_of(before.body)));
      CAPTURE(netio::to_string(netio::kind_of(next.body)));
      bytes first;
      bytes second;
      REQUIRE_FALSE(codec->encode(before, first));
      REQUIRE_FALSE(codec->encode(next, second));
      netio::message reused;
      REQUIRE(codec->decode(first, reused).consumed == first.size());
      REQUIRE(reused == before);
      auto outcome = codec->decode(second, reused);
      CHECK_FALSE(outcome.error);
      CHECK(outcome.consumed == second.size());
      CHECK(reused == next);
    }
  }
}

TEST_CASE("like frames are decoded into the storage the message already holds") {
  using namespace actorloop::netio;
  auto codec = netio::make_framed_codec();
  {
    bytes first;
    bytes second;
    REQUIRE_FALSE(codec->encode({1, request{{"ECHO", std::string(40, 'a')}}}, first));
    REQUIRE_FALSE(codec->encode({2, request{{"ECHO", std::string(40, 'b')}}}, second));
    message reused;
    REQUIRE(codec->decode(first, reused).complete());
    const auto& arguments = std::get<request>(reused.body).arguments;
    const auto* list = arguments.data();
    const auto* text = arguments[1].data();
    REQUIRE(codec->decode(second, reused).complete());
    const auto& again = std::get<request>(reused.body).arguments;
    CHECK(again.data() == list);
    CHECK(again[1].data() == text);
    CHECK(reused == message{2, request{{"ECHO", std::string(40, 'b')}}});
  }
  {
    bytes first;
    bytes second;
    REQUIRE_FALSE(codec->encode({1, result_row{{std::string(40, 'a'), "x"}}}, first));
    REQUIRE_FALSE(codec->encode({1, result_row{{std::string(20, 'b')}}}, second));
    message reused;
    REQUIRE(codec->decode(first, reused).complete());
    const auto* text = std::get<result_row>(reused.body).columns[0].data();
    REQUIRE(codec->decode(second, reused).complete());
    CHECK(std::get<result_row>(reused.body).columns[0].data() == text);
    CHECK(reused == message{1, result_row{{std::string(20, 'b')}}});
  }
  {
    bytes first;
    bytes second;
    REQUIRE_FALSE(codec->encode({0, notification{"fan", std::string(32, 'a'), 9}}, first));
    REQUIRE_FALSE(codec->encode({0, notification{"fan", std::string(32, 'b'), 10}}, second));
    message reused;
    REQUIRE(codec->decode(first, reused).complete());
    const auto* text = std::get<notification>(reused.body).payload.data();
    REQUIRE(codec->decode(second, reused).complete());
    CHECK(std::get<notification>(reused.body).payload.data() == text);
    CHECK(reused == message{0, notification{"fan", std::string(32, 'b'), 10}});
  }
  {
    bytes first;
    bytes second;
    REQUIRE_FALSE(codec->encode({1, completion{completion_status::failed, std::string(30, 'a')}}, first));
    REQUIRE_FALSE(codec->encode({2, completion{completion_status::succeeded, "ok"}}, second));
    message reused;
    REQUIRE(codec->decode(first, reused).complete());
    const auto* text = std::get<completion>(reused.body).text.data();
    REQUIRE(codec->decode(second, reused).complete());
    CHECK(std::get<completion>(reused.body).text.data() == text);
    CHECK(reused == message{2, completion{completion_status::succeeded, "ok"}});
  }
}

TEST_CASE("a malformed body is refused alike into a reused message, which stays as it was") {
  auto codec = netio::make_framed_codec();
  auto messages = reused_kinds();
  std::size_t refused = 0;
  for (const auto& each : messages) {
    auto kind = netio::kind_of(each.body);
    CAPTURE(netio::to_string(kind));
    bytes encoded;
    REQUIRE_FALSE(codec->encode(each, encoded));
    bytes body(encoded.begin() + 16, encoded.end());
    std::vector<bytes> bad;
    for (std::size_t cut = 0; cut < body.size(); cut += (cut < 64 ? 1 : 97))
      bad.push_back(frame(kind, 9, bytes(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(cut))));
    auto longer = body;
    longer.push_back(std::byte{0});
    bad.push_back(frame(kind, 9, longer));
    for (const auto& input : bad) {
      netio::message fresh;
      auto expected = codec->decode(input, fresh);
      REQUIRE(expected.error == netio::errc::malformed_frame);
      // Reused: holding this very kind, with the storage of a good frame.
      netio::message reused;
      REQUIRE(codec->decode(encoded, reused).complete());
      auto outcome = codec->decode(input, reused);
      CHECK(outcome.error == expected.error);
      CHECK(outcome.detail == expected.detail);
      CHECK(outcome.consumed == 0);
      CHECK(reused == each);
      ++refused;
    }
  }
  CHECK(refused > 300);
}

TEST_CASE("frames split across one-byte reads decode the same into one reused message") {
  auto codec = netio::make_framed_codec();
  std::vector<netio::message> messages;
  for (const auto& each : reused_kinds()) {
    messages.push_back(each);
    messages.push_back(each); // the same kind again: into the storage just used
  }
  auto pending = encode_all(*codec, messages);
  const auto total = pending.size();
  netio::memory_stream_options options;
  options.max_read = 1;
  auto pair = netio::make_memory_stream_pair(options);
  REQUIRE_FALSE(write_what_fits(*pair.first, pending));
  REQUIRE(pending.empty());

  bytes buffer;
  netio::message reused;
  std::size_t received = 0;
  std::size_t reads = 0;
  for (;;) {
    std::byte one[8];
    std::error_code failure;
    auto got = pair.second->read_some(one, failure);
    REQUIRE_FALSE(failure);
    if (got == 0)
      break;
    ++reads;
    buffer.push_back(one[0]);
    auto before = reused;
    auto outcome = codec->decode(buffer, reused);
    REQUIRE_FALSE(outcome.error);
    if (outcome.needs_more()) {
      CHECK(reused == before); // untouched until the frame is complete
      continue;
    }
    REQUIRE(received < messages.size());
    CHECK(outcome.consumed == buffer.size());
    CHECK(reused == messages[received]);
    ++received;
    buffer.clear();
  }
  CHECK(reads == total);
  CHECK(received == messages.size());
  CHECK(buffer.empty());
}
