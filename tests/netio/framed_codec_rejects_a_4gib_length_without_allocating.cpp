// ctest-own-executable (replaces the global operator new)
// A frame whose length field claims 4 GiB is refused as frame_too_large from
// the 4 length bytes alone: decode gets exactly those 4 bytes (in a heap
// buffer of that size, so AddressSanitizer would catch a read past them),
// answers at once instead of waiting for more, consumes nothing, names the
// claimed size and the limit, and allocates nothing but its message (a
// replaced operator new records every allocation the decoding thread
// makes). The largest possible limit still refuses 4 + 0xffffffff bytes, a
// frame one byte over a small limit is refused the same way, and a list
// that claims a billion entries is refused before anything is reserved.
// ctest-timeout: 30
#include "allocation_probe.hpp"
#include "framed_codec_test_support.hpp"

#include <cstdlib>
#include <limits>
#include <new>

using namespace framed_codec_test;

using namespace allocation_test;

TEST_CASE("4 length bytes claiming 4 GiB are refused at once, allocating only the message") {
  auto codec = netio::make_framed_codec();
  auto only_the_length = std::make_unique<std::byte[]>(4);
  for (int index = 0; index < 4; ++index)
    only_the_length[static_cast<std::size_t>(index)] = std::byte{0xff};
  netio::message out{9, netio::ready{"untouched", 1}};
  netio::decode_result outcome;
  {
    allocation_probe probe;
    outcome = codec->decode({only_the_length.get(), 4}, out);
  }
  CHECK(outcome.error == netio::errc::frame_too_large);
  CHECK(outcome.consumed == 0);
  CHECK_FALSE(outcome.needs_more());
  CHECK(outcome.detail == "frame claims 4294967299 bytes (length field 4294967295); the limit is 16777216");
  // Only the detail string was built (a few pieces, each at most twice its
  // final size while growing): nothing near the claimed 4 GiB.
  CHECK(allocation_count >= 1); // the probe works: the 80-character detail needed memory
  CHECK(allocation_count <= 8);
  CHECK(largest_allocation <= 2 * (outcome.detail.size() + 1));
  CHECK(out == netio::message{9, netio::ready{"untouched", 1}});
}

TEST_CASE("three bytes are not enough to judge, and nothing is allocated for them") {
  auto codec = netio::make_framed_codec();
  auto three = std::make_unique<std::byte[]>(3);
  for (int index = 0; index < 3; ++index)
    three[static_cast<std::size_t>(index)] = std::byte{0xff};
  netio::message out;
  netio::decode_result outcome;
  {
    allocation_probe probe;
    outcome = codec->decode({three.get(), 3}, out);
  }
  CHECK(outcome.needs_more());
  CHECK(outcome.detail.empty());
  CHECK(allocation_count == 0);
}

TEST_CASE("the largest limit still refuses a 4 GiB claim") {
  auto codec = netio::make_framed_codec({std::numeric_limits<std::uint32_t>::max()});
  netio::message out;
  auto outcome = codec->decode(bytes_of({0xff, 0xff, 0xff, 0xff}), out);
  CHECK(outcome.error == netio::errc::frame_too_large);
  CHECK(mentions(outcome.detail, "4294967299"));
  CHECK(mentions(outcome.detail, "the limit is 4294967295"));
  // 0xfffffffb + 4 = 0xffffffff is exactly the limit: not too large, so the
  // decoder waits for the rest of the frame (and allocates nothing for it).
  bytes header = frame({.kind = 11, .length = 0xfffffffb});
  {
    allocation_probe probe;
    outcome = codec->decode(header, out);
  }
  CHECK(outcome.needs_more());
  CHECK(allocation_count == 0);
}

TEST_CASE("one byte over a small limit is refused from the length field") {
  auto codec = netio::make_framed_codec({1000});
  netio::message out;
  // length 997: 4 + 997 = 1001 > 1000.
  auto outcome = codec->decode(bytes_of({0, 0, 0x03, 0xe5}), out);
  CHECK(outcome.error == netio::errc::frame_too_large);
  CHECK(outcome.detail == "frame claims 1001 bytes (length field 997); the limit is 1000");
  // length 996: exactly 1000 bytes, accepted once complete.
  bytes body;
  put_u32(body, 1);
  put_text(body, std::string(996 - 12 - 8, 'x'));
  auto exact = frame(netio::message_kind::result_row, 1, body);
  REQUIRE(exact.size() == 1000);
  outcome = codec->decode(exact, out);
  CHECK(outcome.complete());
  CHECK(outcome.consumed == 1000);
}

TEST_CASE("a list claiming a billion entries is refused before anything is reserved") {
  auto codec = netio::make_framed_codec();
  bytes body;
  put_u32(body, 1'000'000'000);
  put_u32(body, 0);
  auto input = frame(netio::message_kind::result_row, 3, body);
  netio::message out;
  netio::decode_result outcome;
  {
    allocation_probe probe;
    outcome = codec->decode(input, out);
  }
  CHECK(outcome.error == netio::errc::malformed_frame);
  CHECK(mentions(outcome.detail, "1000000000 entries"));
  CHECK(mentions(outcome.detail, "only 4 bytes remain"));
  // Only strings for the message: nothing near 4 billion entries' worth.
  CHECK(largest_allocation <= 2 * outcome.detail.size());
}
