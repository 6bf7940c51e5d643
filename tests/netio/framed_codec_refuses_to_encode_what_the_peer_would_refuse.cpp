// The encoder never writes a frame its peer would refuse: a frame one byte
// over the limit is refused with frame_too_large while one of exactly the
// limit is written (and decodes); a request without its command name and
// enumerator values outside the protocol are refused with invalid_argument;
// in every refusal `out` keeps its size and contents. A limit smaller than
// the 16-byte header is refused when the codec is made.
// ctest-timeout: 30
#include "framed_codec_test_support.hpp"

using namespace framed_codec_test;

namespace {

/// A result row whose frame is exactly `frame_size` bytes (one column).
netio::message row_of_frame_size(std::size_t frame_size) {
  // header 16 + count 4 + string length 4 + text
  return {1, netio::result_row{{std::string(frame_size - 24, 'r')}}};
}

} // namespace

TEST_CASE("a frame of exactly the limit is written; one byte more is refused") {
  auto codec = netio::make_framed_codec({256});
  const bytes before = bytes_of({1, 2, 3});
  bytes out = before;
  REQUIRE_FALSE(codec->encode(row_of_frame_size(256), out));
  CHECK(out.size() == before.size() + 256);
  netio::message back;
  auto outcome = codec->decode(std::span{out}.subspan(before.size()), back);
  CHECK(outcome.complete());
  CHECK(back == row_of_frame_size(256));

  out = before;
  CHECK(codec->encode(row_of_frame_size(257), out) == netio::errc::frame_too_large);
  CHECK(out == before);
  // The default limit is 16 MiB, header included.
  auto default_codec = netio::make_framed_codec();
  CHECK(default_codec->encode(row_of_frame_size(16u << 20), out) == std::error_code{});
  out = before;
  CHECK(default_codec->encode(row_of_frame_size((16u << 20) + 1), out) ==
        netio::errc::frame_too_large);
  CHECK(out == before);
}

TEST_CASE("messages the peer would refuse as malformed are not encoded") {
  auto codec = netio::make_framed_codec();
  const bytes before = bytes_of({9});
  std::vector<netio::message> refused{
    {1, netio::request{}},
    {0, netio::challenge{static_cast<netio::challenge_method>(3), 1, "key"}},
    {1, netio::completion{static_cast<netio::completion_status>(3), "?"}},
    {0, netio::server_message{static_cast<netio::severity>(5), 1, "?"}},
  };
  for (const auto& each : refused) {
    CAPTURE(netio::to_string(netio::kind_of(each.body)));
    bytes out = before;
    CHECK(codec->encode(each, out) == netio::errc::invalid_argument);
    CHECK(out == before);
  }
}

TEST_CASE("a limit smaller than the header is refused") {
  CHECK_THROWS_WITH_AS(netio::make_framed_codec({15}),
                       "framed codec: max_frame_bytes 15 is smaller than the 16-byte frame header: invalid argument",
                       netio::error);
  auto smallest = netio::make_framed_codec({16});
  bytes out;
  REQUIRE_FALSE(smallest->encode({0, netio::terminate{}}, out));
  CHECK(out.size() == 16);
  CHECK(smallest->encode({0, netio::request{{""}}}, out) == netio::errc::frame_too_large);
}
