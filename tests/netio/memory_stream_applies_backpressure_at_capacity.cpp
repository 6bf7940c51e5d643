// Backpressure of the in-memory stream pair: a direction takes exactly its
// capacity of unread bytes, then write_some returns 0 without an error until
// the reader frees room, and then takes exactly as many bytes as were read;
// the other direction is independent. Frames far larger than the capacity
// still arrive intact, in order, through a stalled and then resumed reader.
// Two threads (a writer and a reader that poll, yielding when told "nothing
// now") move 1 MiB through a 4 KiB capacity: every byte arrives in order and
// the unread bytes never exceed the capacity.
// ctest-timeout: 60
#include "framed_codec_test_support.hpp"

#include <actorloop/netio/memory_stream.hpp>

#include <atomic>
#include <thread>

using namespace framed_codec_test;

namespace {

bytes pattern(std::size_t count) {
  bytes out(count);
  for (std::size_t index = 0; index < count; ++index)
    out[index] = static_cast<std::byte>((index * 7 + index / 256) & 0xff);
  return out;
}

} // namespace

TEST_CASE("a direction takes exactly its capacity, then exactly what the reader freed") {
  netio::memory_stream_options options;
  options.capacity = 100;
  auto pair = netio::make_memory_stream_pair(options);
  auto data = pattern(250);
  std::error_code failure;
  CHECK(pair.first->write_some(data, failure) == 100);
  CHECK_FALSE(failure);
  CHECK(pair.faults.pending_first_to_second() == 100);
  // Full: "not now", not an error.
  CHECK(pair.first->write_some(std::span{data}.subspan(100), failure) == 0);
  CHECK_FALSE(failure);

  std::byte buffer[30];
  REQUIRE(pair.second->read_some(buffer, failure) == 30);
  CHECK(pair.first->write_some(std::span{data}.subspan(100), failure) == 30);
  CHECK(pair.faults.pending_first_to_second() == 100);
  CHECK(pair.first->write_some(std::span{data}.subspan(130), failure) == 0);

  // The other direction has its own capacity.
  CHECK(pair.second->write_some(data, failure) == 100);
  CHECK(pair.faults.pending_second_to_first() == 100);
  CHECK_FALSE(failure);

  // Everything written arrives, in order.
  bytes received(buffer, buffer + 30);
  for (;;) {
    std::byte chunk[64];
    auto got = pair.second->read_some(chunk, failure);
    REQUIRE_FALSE(failure);
    if (got == 0)
      break;
    received.insert(received.end(), chunk, chunk + got);
  }
  CHECK(received == bytes(data.begin(), data.begin() + 130));
}

TEST_CASE("frames larger than the capacity arrive intact through a stall") {
  auto codec = netio::make_framed_codec();
  netio::memory_stream_options options;
  options.capacity = 100; // the 3000-byte request is 30 times that
  options.max_read = 1;
  auto pair = netio::make_memory_stream_pair(options);
  auto messages = every_kind();
  auto pending = encode_all(*codec, messages);
  const auto total = pending.size();
  bytes buffer;
  std::vector<netio::message> received;

  pair.faults.stall();
  REQUIRE_FALSE(write_what_fits(*pair.first, pending));
  CHECK(pending.size() == total - 100);
  CHECK(pair.faults.pending_first_to_second() == 100);
  CHECK_FALSE(read_and_decode(*pair.second, *codec, buffer, received));
  CHECK(received.empty());
  CHECK(buffer.empty());

  pair.faults.resume();
  std::size_t rounds = 0;
  while (!pending.empty() || pair.faults.pending_first_to_second() > 0) {
    REQUIRE_FALSE(write_what_fits(*pair.first, pending));
    CHECK(pair.faults.pending_first_to_second() <= 100);
    REQUIRE_FALSE(read_and_decode(*pair.second, *codec, buffer, received));
    ++rounds;
  }
  // Each round moves exactly one capacity's worth (the last one the rest).
  CHECK(rounds == (total - 100 + 99) / 100 + 1);
  CHECK(received == messages);
  CHECK(buffer.empty());
}

TEST_CASE("a writer thread and a reader thread move 1 MiB through a 4 KiB capacity") {
  constexpr std::size_t capacity = 4096;
  netio::memory_stream_options options;
  options.capacity = capacity;
  options.max_read = 1000;
  auto pair = netio::make_memory_stream_pair(options);
  const auto data = pattern(1 << 20);
  std::atomic<bool> over_capacity{false};
  std::error_code writer_failure;

  std::thread writer{[&] {
    std::span<const std::byte> rest{data};
    while (!rest.empty()) {
      auto sent = pair.first->write_some(rest.first(std::min<std::size_t>(rest.size(), 3000)),
                                         writer_failure);
      if (writer_failure)
        return;
      if (pair.faults.pending_first_to_second() > capacity)
        over_capacity = true;
      if (sent == 0)
        std::this_thread::yield(); // full: let the reader drain
      rest = rest.subspan(sent);
    }
    pair.first->shutdown_send();
  }};

  bytes received;
  received.reserve(data.size());
  std::error_code reader_failure;
  for (;;) {
    std::byte chunk[2048];
    auto got = pair.second->read_some(chunk, reader_failure);
    if (reader_failure)
      break;
    if (got == 0)
      std::this_thread::yield(); // nothing yet
    received.insert(received.end(), chunk, chunk + got);
  }
  writer.join();
  CHECK_FALSE(writer_failure);
  CHECK(reader_failure == netio::errc::connection_closed);
  CHECK_FALSE(over_capacity.load());
  CHECK(received.size() == data.size());
  CHECK(received == data);
}
