// A frame whose version byte is not 1 is refused as unsupported_version as
// soon as its fifth byte is there (4 bytes are not enough to judge), with a
// detail naming both the frame's version and the one this side speaks; a
// length problem is reported first, and the version is judged before the
// kind. Nothing is consumed and the output message is left as it was.
// ctest-timeout: 30
#include "framed_codec_test_support.hpp"

using namespace framed_codec_test;

TEST_CASE("versions other than 1 are refused from the fifth byte") {
  auto codec = netio::make_framed_codec();
  for (unsigned version : {0u, 2u, 9u, 255u}) {
    CAPTURE(version);
    auto input = frame({.version = static_cast<std::uint8_t>(version), .kind = 10});
    netio::message out{4, netio::terminate{}};
    // Four bytes: the length is fine, nothing else is known yet.
    CHECK(codec->decode(std::span{input}.first(4), out).needs_more());
    for (std::size_t size : {std::size_t{5}, std::size_t{6}, input.size()}) {
      CAPTURE(size);
      auto outcome = codec->decode(std::span{input}.first(size), out);
      CHECK(outcome.error == netio::errc::unsupported_version);
      CHECK(outcome.consumed == 0);
      CHECK(outcome.detail == "frame has protocol version " + std::to_string(version) +
                                "; this side speaks version 1");
    }
    CHECK(out == netio::message{4, netio::terminate{}});
  }
}

TEST_CASE("version 1 frames pass the version check") {
  auto codec = netio::make_framed_codec();
  auto input = frame({.version = 1, .kind = 21});
  netio::message out;
  CHECK(codec->decode(std::span{input}.first(5), out).needs_more());
  CHECK(codec->decode(input, out).complete());
}

TEST_CASE("the length is judged before the version, the version before the kind") {
  auto codec = netio::make_framed_codec({1024});
  netio::message out;
  auto too_long = frame({.version = 7, .kind = 99, .length = 5000});
  CHECK(codec->decode(too_long, out).error == netio::errc::frame_too_large);
  auto too_short = frame({.version = 7, .kind = 99, .length = 11});
  CHECK(codec->decode(too_short, out).error == netio::errc::malformed_frame);
  auto both_wrong = frame({.version = 7, .kind = 99});
  auto outcome = codec->decode(both_wrong, out);
  CHECK(outcome.error == netio::errc::unsupported_version);
  CHECK(mentions(outcome.detail, "version 7"));
}
