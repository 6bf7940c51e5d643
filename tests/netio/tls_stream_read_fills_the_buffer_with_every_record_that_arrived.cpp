// One read_some of a TLS stream returns every record that has arrived, up to
// the buffer's size (one SSL_read returns one record, at most 16 KiB), so an
// owner handles a 64 KiB chunk per call rather than 16 KiB; a buffer smaller
// than what arrived gets exactly its size and the rest comes next, in order;
// once the inner stream is drained the stream says it waits for it
// (wants_read). Plaintext that arrived just before close_notify is returned
// first, the end by the next call.
#include <actorloop/netio/error.hpp>
#include <actorloop/netio/tls.hpp>

#include <doctest/doctest.h>

#include "tls_test_support.hpp"

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace netio = actorloop::netio;
using namespace tls_test;

namespace {

constexpr std::size_t record_bytes = 16 * 1024;

/// Bytes 0, 1, 2, ... (mod 251), so that a reordered or lost byte shows.
std::vector<std::byte> pattern(std::size_t size) {
  std::vector<std::byte> bytes(size);
  for (std::size_t index = 0; index < size; ++index)
    bytes[index] = static_cast<std::byte>(index % 251);
  return bytes;
}

/// Writes `bytes` as whole records (one per write_some), each flushed.
void send_records(netio::tls_stream& writer, std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    std::error_code error;
    auto sent = writer.write_some(bytes, error);
    REQUIRE(!error);
    REQUIRE(sent == std::min(bytes.size(), record_bytes));
    REQUIRE(!writer.flush());
    REQUIRE_FALSE(writer.has_pending_output());
    bytes = bytes.subspan(sent);
  }
}

} // namespace

TEST_CASE("a TLS read returns every record that arrived, up to the buffer's size") {
  auto [client, server] = open_session();
  // The handshake's session tickets: read them so that only data follows.
  std::vector<std::byte> buffer(64 * 1024);
  std::error_code error;
  CHECK(client->read_some(buffer, error) == 0);
  REQUIRE(!error);

  SUBCASE("three records in one call, then nothing until the socket has more") {
    auto sent = pattern(3 * record_bytes);
    send_records(*server, sent);
    auto got = client->read_some(buffer, error);
    REQUIRE(!error);
    CHECK(got == sent.size());
    CHECK(std::equal(sent.begin(), sent.end(), buffer.begin()));
    CHECK(client->read_some(buffer, error) == 0);
    CHECK(!error);
    CHECK(client->wants_read());
  }
  SUBCASE("a smaller buffer gets exactly its size, the rest comes next in order") {
    auto sent = pattern(2 * record_bytes + 100);
    send_records(*server, sent);
    std::vector<std::byte> received;
    std::vector<std::size_t> sizes;
    std::vector<std::byte> small(20000);
    for (int step = 0; step < 10; ++step) {
      auto got = client->read_some(small, error);
      REQUIRE(!error);
      if (got == 0)
        break;
      sizes.push_back(got);
      received.insert(received.end(), small.begin(), small.begin() + static_cast<std::ptrdiff_t>(got));
    }
    CHECK(sizes == std::vector<std::size_t>{20000, sent.size() - 20000});
    CHECK(received == sent);
  }
  SUBCASE("data that arrived before close_notify comes first, the end with the next call") {
    auto sent = pattern(record_bytes + 10);
    send_records(*server, sent);
    server->shutdown_send();
    REQUIRE(!server->flush());
    auto got = client->read_some(buffer, error);
    CHECK(!error);
    CHECK(got == sent.size());
    CHECK(client->read_some(buffer, error) == 0);
    CHECK(error == netio::errc::connection_closed);
    CHECK(client->last_error_detail().find("close_notify") != std::string::npos);
  }
}
