// The protocol seam under faults: the framed codec decodes through an
// in-memory byte stream that returns one byte per read, stalls, applies
// backpressure at its capacity, and resets in the middle of a frame. Every
// message arrives intact and in order whatever the read sizes; a stall only
// delays; backpressure makes the writer wait without losing bytes; a reset
// mid-frame is reported as connection_reset with the partial frame still
// undecoded (never half a message).
// ctest-timeout: 30
#include <actorloop/netio/codec.hpp>
#include <actorloop/netio/error.hpp>
#include <actorloop/netio/memory_stream.hpp>

#include <doctest/doctest.h>

#include <deque>

namespace netio = actorloop::netio;

namespace {

std::vector<netio::message> sample_messages() {
  return {
    {0, netio::hello{"client", "user"}},
    {1, netio::request{{"ECHO", "a", std::string(3000, 'x')}}},
    {1, netio::result_row{{"a", ""}}},
    {1, netio::server_message{netio::severity::warning, 3001, "careful"}},
    {0, netio::notification{"news", "payload", 7}},
    {1, netio::completion{netio::completion_status::succeeded, "ECHO"}},
    {2, netio::cancel{}},
    {0, netio::terminate{}},
  };
}

/// Writes everything it can of `pending` (keeps the rest).
void write_what_fits(netio::byte_stream& out, std::deque<std::byte>& pending) {
  while (!pending.empty()) {
    std::vector<std::byte> chunk(pending.begin(), pending.begin() + std::min<std::ptrdiff_t>(512, pending.size()));
    std::error_code failure;
    auto sent = out.write_some(chunk, failure);
    REQUIRE_FALSE(failure);
    if (sent == 0)
      return;
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(sent));
  }
}

/// Reads what is there and decodes complete messages into `out`.
std::error_code read_and_decode(netio::byte_stream& in, const netio::codec& codec,
                                std::vector<std::byte>& buffer, std::vector<netio::message>& out) {
  for (;;) {
    std::byte chunk[256];
    std::error_code failure;
    auto got = in.read_some(chunk, failure);
    buffer.insert(buffer.end(), chunk, chunk + got);
    for (;;) {
      netio::message decoded;
      auto outcome = codec.decode(buffer, decoded);
      REQUIRE_FALSE(outcome.error);
      if (outcome.consumed == 0)
        break;
      buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(outcome.consumed));
      out.push_back(std::move(decoded));
    }
    if (failure || got == 0)
      return failure;
  }
}

std::deque<std::byte> encode_all(const netio::codec& codec, const std::vector<netio::message>& messages) {
  std::vector<std::byte> bytes;
  for (auto& each : messages)
    REQUIRE_FALSE(codec.encode(each, bytes));
  return {bytes.begin(), bytes.end()};
}

} // namespace

TEST_CASE("one-byte reads, a stall and backpressure lose nothing") {
  auto codec = netio::make_framed_codec();
  netio::memory_stream_options options;
  options.capacity = 100; // far smaller than the messages: the writer must wait
  options.max_read = 1;
  auto pair = netio::make_memory_stream_pair(options);
  auto messages = sample_messages();
  auto pending = encode_all(*codec, messages);
  std::vector<std::byte> buffer;
  std::vector<netio::message> received;
  int rounds = 0;
  pair.faults.stall();
  write_what_fits(*pair.first, pending);
  CHECK(pair.faults.pending_first_to_second() == 100); // capacity reached
  CHECK_FALSE(read_and_decode(*pair.second, *codec, buffer, received));
  CHECK(received.empty()); // stalled: nothing arrives, nothing is lost
  pair.faults.resume();
  while ((!pending.empty() || pair.faults.pending_first_to_second() > 0) && ++rounds < 100000) {
    write_what_fits(*pair.first, pending);
    CHECK_FALSE(read_and_decode(*pair.second, *codec, buffer, received));
  }
  REQUIRE(received.size() == messages.size());
  for (std::size_t index = 0; index < messages.size(); ++index)
    CHECK(received[index] == messages[index]);
  CHECK(buffer.empty());
  // An orderly close is seen once everything was read.
  pair.first->shutdown_send();
  std::vector<netio::message> none;
  CHECK(read_and_decode(*pair.second, *codec, buffer, none) == netio::errc::connection_closed);
}

TEST_CASE("a reset in the middle of a frame is reported, never half a message") {
  auto codec = netio::make_framed_codec();
  auto pair = netio::make_memory_stream_pair();
  auto messages = sample_messages();
  auto pending = encode_all(*codec, messages);
  std::vector<std::byte> first_two;
  REQUIRE_FALSE(codec->encode(messages[0], first_two));
  REQUIRE_FALSE(codec->encode(messages[1], first_two));
  // Reset 10 bytes into the third frame.
  pair.faults.reset_after_bytes(first_two.size() + 10);
  std::vector<std::byte> all(pending.begin(), pending.end());
  std::error_code write_failure;
  auto sent = pair.first->write_some(all, write_failure);
  CHECK(sent == first_two.size() + 10);
  std::vector<std::byte> buffer;
  std::vector<netio::message> received;
  auto failure = read_and_decode(*pair.second, *codec, buffer, received);
  CHECK(failure == netio::errc::connection_reset);
  // What was complete arrived; the partial third frame did not decode.
  REQUIRE(received.size() == 2);
  CHECK(received[0] == messages[0]);
  CHECK(received[1] == messages[1]);
  CHECK(buffer.size() == 10);
  std::error_code after;
  CHECK(pair.first->write_some(all, after) == 0);
  CHECK(after == netio::errc::connection_reset);
}
