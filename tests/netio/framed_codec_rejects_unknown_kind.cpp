// Every kind byte that version 1 does not define (all 256 values are tried)
// is refused as unknown_message_kind as soon as the sixth byte is there, with
// a detail naming the byte; the eleven defined kinds pass that check (with 6
// bytes they need more input). Flags are judged after the kind.
// ctest-timeout: 30
#include "framed_codec_test_support.hpp"

#include <set>

using namespace framed_codec_test;

TEST_CASE("kind bytes outside the protocol are refused from the sixth byte, each named") {
  auto codec = netio::make_framed_codec();
  const std::set<unsigned> defined{1, 2, 3, 4, 10, 11, 12, 13, 14, 20, 21};
  std::size_t refused = 0;
  for (unsigned kind = 0; kind < 256; ++kind) {
    CAPTURE(kind);
    auto input = frame({.kind = static_cast<std::uint8_t>(kind)});
    netio::message out{1, netio::cancel{}};
    CHECK(codec->decode(std::span{input}.first(5), out).needs_more());
    auto outcome = codec->decode(std::span{input}.first(6), out);
    if (defined.count(kind) != 0) {
      CHECK(outcome.needs_more());
      continue;
    }
    ++refused;
    CHECK(outcome.error == netio::errc::unknown_message_kind);
    CHECK(outcome.consumed == 0);
    CHECK(outcome.detail == "frame has unknown message kind " + std::to_string(kind) +
                              " (version 1 knows 1-4, 10-14, 20-21)");
    // The same answer with the whole frame present.
    CHECK(codec->decode(input, out).error == netio::errc::unknown_message_kind);
    CHECK(out == netio::message{1, netio::cancel{}});
  }
  CHECK(refused == 256 - defined.size());
}

TEST_CASE("an unknown kind is reported before non-zero flags") {
  auto codec = netio::make_framed_codec();
  netio::message out;
  auto input = frame({.kind = 5, .flags = 0x8000});
  CHECK(codec->decode(input, out).error == netio::errc::unknown_message_kind);
}
