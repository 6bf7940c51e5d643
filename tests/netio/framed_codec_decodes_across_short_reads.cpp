// The framed codec decodes frames that arrive in pieces: through a memory
// stream that returns one byte per read (and takes at most 7 bytes per
// write), every message of every kind arrives intact and in order; after
// each single byte the decoder either needs more (consuming nothing and
// leaving its output alone) or completes exactly when a frame's last byte
// arrives. Odd read sizes (1..13) give the same messages. Every prefix of a
// valid frame needs more, never errors.
// ctest-timeout: 30
#include "framed_codec_test_support.hpp"

#include <actorloop/netio/memory_stream.hpp>

using namespace framed_codec_test;

TEST_CASE("one-byte reads: a message completes exactly at its frame's last byte") {
  auto codec = netio::make_framed_codec();
  auto messages = every_kind();
  // Where each frame ends in the byte stream.
  std::vector<std::size_t> frame_ends;
  bytes pending;
  for (const auto& each : messages) {
    REQUIRE_FALSE(codec->encode(each, pending));
    frame_ends.push_back(pending.size());
  }
  const auto total = pending.size();

  netio::memory_stream_options options;
  options.max_read = 1;
  options.max_write = 7;
  auto pair = netio::make_memory_stream_pair(options);
  REQUIRE_FALSE(write_what_fits(*pair.first, pending));
  REQUIRE(pending.empty());
  CHECK(pair.faults.pending_first_to_second() == total);

  bytes buffer;
  std::vector<netio::message> received;
  std::size_t bytes_read = 0;
  std::size_t reads = 0;
  for (;;) {
    std::byte one[64];
    std::error_code failure;
    auto got = pair.second->read_some(one, failure);
    REQUIRE_FALSE(failure);
    if (got == 0)
      break;
    REQUIRE(got == 1); // max_read = 1 even though 64 bytes were asked for
    ++reads;
    ++bytes_read;
    buffer.push_back(one[0]);
    netio::message decoded{42, netio::terminate{}};
    auto outcome = codec->decode(buffer, decoded);
    REQUIRE_FALSE(outcome.error);
    bool at_frame_end = bytes_read == frame_ends[received.size()];
    if (!at_frame_end) {
      CHECK(outcome.consumed == 0);
      CHECK(decoded == netio::message{42, netio::terminate{}});
      continue;
    }
    REQUIRE(outcome.consumed == buffer.size());
    CHECK(decoded == messages[received.size()]);
    received.push_back(std::move(decoded));
    buffer.clear();
  }
  CHECK(reads == total);
  CHECK(received.size() == messages.size());
  CHECK(buffer.empty());
}

TEST_CASE("any read size gives the same messages") {
  auto codec = netio::make_framed_codec();
  auto messages = every_kind();
  for (std::size_t read_size = 1; read_size <= 13; ++read_size) {
    CAPTURE(read_size);
    netio::memory_stream_options options;
    options.max_read = read_size;
    auto pair = netio::make_memory_stream_pair(options);
    auto pending = encode_all(*codec, messages);
    REQUIRE_FALSE(write_what_fits(*pair.first, pending));
    bytes buffer;
    std::vector<netio::message> received;
    CHECK_FALSE(read_and_decode(*pair.second, *codec, buffer, received));
    CHECK(received == messages);
    CHECK(buffer.empty());
  }
}

TEST_CASE("every prefix of a valid frame needs more input") {
  auto codec = netio::make_framed_codec();
  for (const auto& each : every_kind()) {
    bytes encoded;
    REQUIRE_FALSE(codec->encode(each, encoded));
    for (std::size_t size = 0; size < encoded.size(); ++size) {
      netio::message out;
      auto outcome = codec->decode(std::span{encoded}.first(size), out);
      if (!outcome.needs_more()) {
        CAPTURE(size);
        CAPTURE(outcome.detail);
        FAIL("a prefix of a valid frame was judged");
      }
    }
  }
}
