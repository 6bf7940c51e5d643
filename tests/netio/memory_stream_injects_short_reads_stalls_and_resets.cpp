// The in-memory stream pair's faults, each with exact byte counts: short
// reads and writes (also changed while in use), a stall that makes reads
// return "nothing now" on both ends until resumed while writes go on, a
// reset that fails writes at once and reads after the bytes that had
// arrived (also ending a stall), a reset armed a number of bytes ahead that
// cuts a write in the middle of a frame (counted over both directions), an
// orderly close (the peer drains, then connection_closed; the other
// direction stays open), and a destroyed end (the peer's writes fail).
// ctest-timeout: 30
#include "framed_codec_test_support.hpp"

#include <actorloop/netio/memory_stream.hpp>

#include <utility>

using namespace framed_codec_test;

namespace {

bytes counting_bytes(std::size_t count) {
  bytes out(count);
  for (std::size_t index = 0; index < count; ++index)
    out[index] = static_cast<std::byte>(index & 0xff);
  return out;
}

/// One read of at most `wanted` bytes; returns the bytes and the error.
std::pair<bytes, std::error_code> read_once(netio::byte_stream& in, std::size_t wanted = 1024) {
  bytes buffer(wanted);
  std::error_code failure;
  auto got = in.read_some(buffer, failure);
  buffer.resize(got);
  return {buffer, failure};
}

std::pair<std::size_t, std::error_code> write_once(netio::byte_stream& out, const bytes& data) {
  std::error_code failure;
  auto sent = out.write_some(data, failure);
  return {sent, failure};
}

} // namespace

TEST_CASE("short reads and short writes cut at exactly their limits") {
  netio::memory_stream_options options;
  options.max_read = 3;
  options.max_write = 4;
  auto pair = netio::make_memory_stream_pair(options);
  auto data = counting_bytes(10);
  CHECK(write_once(*pair.first, data) == std::pair{std::size_t{4}, std::error_code{}});
  CHECK(write_once(*pair.first, bytes(data.begin() + 4, data.end())).first == 4);
  CHECK(write_once(*pair.first, bytes(data.begin() + 8, data.end())).first == 2);
  CHECK(pair.faults.pending_first_to_second() == 10);

  bytes received;
  std::vector<std::size_t> sizes;
  for (;;) {
    auto [chunk, failure] = read_once(*pair.second);
    REQUIRE_FALSE(failure);
    if (chunk.empty())
      break;
    sizes.push_back(chunk.size());
    append(received, chunk);
  }
  CHECK(sizes == std::vector<std::size_t>{3, 3, 3, 1});
  CHECK(received == data);

  // Limits change while the pair is in use; 0 lifts them.
  pair.faults.set_max_write(0);
  pair.faults.set_max_read(0);
  CHECK(write_once(*pair.first, data).first == 10);
  CHECK(read_once(*pair.second).first.size() == 10);
  pair.faults.set_max_read(1);
  CHECK(write_once(*pair.first, data).first == 10);
  CHECK(read_once(*pair.second).first.size() == 1);
  CHECK(pair.faults.pending_first_to_second() == 9);
}

TEST_CASE("a stall makes reads return nothing on both ends until resumed; writes go on") {
  auto pair = netio::make_memory_stream_pair();
  auto data = counting_bytes(5);
  pair.faults.stall();
  CHECK(write_once(*pair.first, data).first == 5);
  CHECK(write_once(*pair.second, data).first == 5);
  for (auto* end : {pair.first.get(), pair.second.get()}) {
    auto [chunk, failure] = read_once(*end);
    CHECK(chunk.empty());
    CHECK_FALSE(failure); // "nothing now", not an end
  }
  CHECK(pair.faults.pending_first_to_second() == 5);
  CHECK(pair.faults.pending_second_to_first() == 5);
  pair.faults.resume();
  CHECK(read_once(*pair.second).first == data);
  CHECK(read_once(*pair.first).first == data);
}

TEST_CASE("a reset fails writes at once and reads after what had arrived, on both ends") {
  auto pair = netio::make_memory_stream_pair();
  auto data = counting_bytes(5);
  REQUIRE(write_once(*pair.first, data).first == 5);
  pair.faults.stall();
  pair.faults.reset();
  CHECK(pair.faults.is_reset());
  for (auto* end : {pair.first.get(), pair.second.get()})
    CHECK(write_once(*end, data) == std::pair{std::size_t{0}, std::error_code{netio::errc::connection_reset}});
  // The reset ends the stall: the bytes that arrived, then the reset.
  CHECK(read_once(*pair.second) == std::pair{data, std::error_code{}});
  CHECK(read_once(*pair.second) == std::pair{bytes{}, std::error_code{netio::errc::connection_reset}});
  CHECK(read_once(*pair.first) == std::pair{bytes{}, std::error_code{netio::errc::connection_reset}});
}

TEST_CASE("a reset armed a number of bytes ahead cuts a frame in the middle") {
  auto codec = netio::make_framed_codec();
  auto pair = netio::make_memory_stream_pair();
  auto messages = every_kind();
  bytes first_two;
  REQUIRE_FALSE(codec->encode(messages[0], first_two));
  REQUIRE_FALSE(codec->encode(messages[1], first_two));
  auto all = encode_all(*codec, messages);
  pair.faults.reset_after_bytes(first_two.size() + 10); // 10 bytes into the third frame
  auto [sent, write_failure] = write_once(*pair.first, all);
  CHECK(sent == first_two.size() + 10);
  CHECK_FALSE(write_failure); // this write sent bytes; the next one fails
  CHECK(pair.faults.is_reset());
  CHECK(write_once(*pair.first, all).second == netio::errc::connection_reset);

  bytes buffer;
  std::vector<netio::message> received;
  CHECK(read_and_decode(*pair.second, *codec, buffer, received) == netio::errc::connection_reset);
  // The complete frames arrived; the partial third one never decodes.
  REQUIRE(received.size() == 2);
  CHECK(received[0] == messages[0]);
  CHECK(received[1] == messages[1]);
  CHECK(buffer.size() == 10);
}

TEST_CASE("the reset mark counts bytes in both directions; 0 resets the next write") {
  auto pair = netio::make_memory_stream_pair();
  auto data = counting_bytes(6);
  pair.faults.reset_after_bytes(10);
  CHECK(write_once(*pair.first, data).first == 6);
  CHECK_FALSE(pair.faults.is_reset());
  CHECK(write_once(*pair.second, data).first == 4); // 6 + 4 = 10
  CHECK(pair.faults.is_reset());
  CHECK(read_once(*pair.first).first == bytes(data.begin(), data.begin() + 4));
  CHECK(read_once(*pair.first).second == netio::errc::connection_reset);

  auto fresh = netio::make_memory_stream_pair();
  fresh.faults.reset_after_bytes(0);
  CHECK(write_once(*fresh.second, data) ==
        std::pair{std::size_t{0}, std::error_code{netio::errc::connection_reset}});
  CHECK(read_once(*fresh.first).second == netio::errc::connection_reset);
}

TEST_CASE("an orderly close: the peer drains, then connection_closed; the other way stays open") {
  netio::memory_stream_options options;
  options.max_read = 4;
  auto pair = netio::make_memory_stream_pair(options);
  auto data = counting_bytes(6);
  REQUIRE(write_once(*pair.first, data).first == 6);
  pair.first->shutdown_send();
  CHECK(write_once(*pair.first, data) ==
        std::pair{std::size_t{0}, std::error_code{netio::errc::not_connected}});
  CHECK(read_once(*pair.second) == std::pair{bytes(data.begin(), data.begin() + 4), std::error_code{}});
  CHECK(read_once(*pair.second) == std::pair{bytes(data.begin() + 4, data.end()), std::error_code{}});
  CHECK(read_once(*pair.second) == std::pair{bytes{}, std::error_code{netio::errc::connection_closed}});
  // Half-close: second -> first still works.
  CHECK(write_once(*pair.second, data).first == 6);
  pair.faults.set_max_read(0);
  CHECK(read_once(*pair.first) == std::pair{data, std::error_code{}});
}

TEST_CASE("a destroyed end closes its direction; the peer's writes then fail") {
  auto pair = netio::make_memory_stream_pair();
  auto data = counting_bytes(3);
  REQUIRE(write_once(*pair.second, data).first == 3);
  REQUIRE(write_once(*pair.first, data).first == 3);
  pair.second.reset();
  CHECK(pair.faults.pending_first_to_second() == 0); // nobody will read them
  CHECK(write_once(*pair.first, data) ==
        std::pair{std::size_t{0}, std::error_code{netio::errc::connection_reset}});
  CHECK(read_once(*pair.first) == std::pair{data, std::error_code{}});
  CHECK(read_once(*pair.first) == std::pair{bytes{}, std::error_code{netio::errc::connection_closed}});
}

TEST_CASE("a capacity of 0 is refused") {
  netio::memory_stream_options options;
  options.capacity = 0;
  CHECK_THROWS_AS(static_cast<void>(netio::make_memory_stream_pair(options)), netio::error);
}
