// The sockets of an I/O worker read into one receive buffer that the worker
// lends per read. A session that has received part of a frame keeps that
// part while other sessions on the same worker read whole frames into the
// same buffer: on a server with one I/O worker, client A sends the first
// part of an ECHO request, client B then sends a whole request and gets its
// answer (so the worker has read B's frame after A's part), and A sends the
// rest; A's echo comes back byte for byte. Split points from one byte to
// all but one, three clients taking turns, each request answered exactly
// once.
// ctest-timeout: 60
#include "server_test_support.hpp"

using namespace netio_test;
using server_test::raw_client;
using server_test::read_outcome;

namespace {

std::vector<std::byte> encode(const netio::message& value) {
  std::vector<std::byte> bytes;
  REQUIRE_FALSE(netio::make_framed_codec()->encode(value, bytes));
  return bytes;
}

void send_bytes(raw_client& client, std::span<const std::byte> bytes) {
  REQUIRE(::send(client.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(bytes.size()));
}

/// Reads the answer to request `id`: its one row (the echoed text) and its
/// completion.
std::string echoed(raw_client& client, std::uint64_t id) {
  std::string row;
  int rows = 0;
  for (;;) {
    netio::message next;
    REQUIRE(client.read_message(next) == read_outcome::message);
    REQUIRE(next.request_id == id);
    if (auto* each = std::get_if<netio::result_row>(&next.body)) {
      REQUIRE(each->columns.size() == 1);
      row = each->columns[0];
      ++rows;
      continue;
    }
    auto* done = std::get_if<netio::completion>(&next.body);
    REQUIRE(done != nullptr);
    CHECK(done->status == netio::completion_status::succeeded);
    CHECK(rows == 1);
    return row;
  }
}

} // namespace

TEST_CASE("a part of a frame survives other sessions' reads into the worker's buffer") {
  server_fixture fixture{{}, 1}; // one I/O worker: every session reads on it
  std::vector<std::unique_ptr<raw_client>> clients;
  for (int index = 0; index < 3; ++index) {
    clients.push_back(std::make_unique<raw_client>(fixture.address()));
    clients.back()->login();
  }
  std::uint64_t next_id = 1;
  std::uint64_t answered = 0;
  for (int round = 0; round < 3; ++round) {
    auto& partial = *clients[static_cast<std::size_t>(round)];
    auto& other = *clients[static_cast<std::size_t>(round + 1) % clients.size()];
    // A payload longer than a page, different in every round and position.
    std::string payload;
    for (int index = 0; index < 5000; ++index)
      payload.push_back(static_cast<char>('a' + (index * 7 + round) % 26));
    auto id = next_id++;
    auto frame = encode({id, netio::request{{"ECHO", payload}}});
    for (std::size_t split : {std::size_t{1}, frame.size() / 2, frame.size() - 1}) {
      CAPTURE(round);
      CAPTURE(split);
      auto request = id;
      if (split != 1) {
        request = next_id++;
        frame = encode({request, netio::request{{"ECHO", payload}}});
      }
      std::span<const std::byte> bytes{frame};
      send_bytes(partial, bytes.first(split));
      // A whole frame from another session, answered: the worker read it
      // into the shared buffer after the part above.
      auto between = next_id++;
      other.request(between, {"ECHO", "between " + std::to_string(between)});
      CHECK(echoed(other, between) == "between " + std::to_string(between));
      send_bytes(partial, bytes.subspan(split));
      CHECK(echoed(partial, request) == payload);
      answered += 2;
    }
  }
  CHECK(answered == 18);
  CHECK(fixture.server->statistics().completions == answered);
  CHECK(fixture.server->statistics().protocol_errors == 0);
}
