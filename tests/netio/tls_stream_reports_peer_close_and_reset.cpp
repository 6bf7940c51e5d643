// After the handshake a TLS stream reports the end of the session the way
// byte_stream promises: the peer's close_notify (shutdown_send) is
// errc::connection_closed after the data sent before it, while the other
// direction keeps working and writes after shutdown_send fail; an inner
// stream that ends without close_notify is connection_closed with a detail
// warning of truncation; an inner stream reset is errc::connection_reset for
// reads and writes.
#include <actorloop/netio/error.hpp>
#include <actorloop/netio/tls.hpp>

#include <doctest/doctest.h>

#include "tls_test_support.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
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

std::span<const std::byte> bytes_of(const std::string& text) {
  return std::as_bytes(std::span{text});
}

void send_all(netio::tls_stream& writer, const std::string& text) {
  std::error_code error;
  REQUIRE(writer.write_some(bytes_of(text), error) == text.size());
  REQUIRE(!error);
  REQUIRE(!writer.flush());
  REQUIRE_FALSE(writer.has_pending_output());
}

/// Reads until the stream reports an error or `step_limit` reads returned
/// nothing; returns the text read and sets `error`.
std::string read_until_error(netio::tls_stream& reader, std::error_code& error, int step_limit = 100) {
  std::string text;
  std::array<std::byte, 4096> buffer;
  for (int step = 0; step < step_limit && !error; ++step) {
    auto got = reader.read_some(buffer, error);
    text.append(reinterpret_cast<const char*>(buffer.data()), got);
  }
  return text;
}

} // namespace

TEST_CASE("a TLS stream reports the peer's close and a reset") {
  auto [client, server] = open_session();
  std::error_code error;

  SUBCASE("close_notify ends reading after the data sent before it; the other way stays open") {
    send_all(*server, "last words");
    server->shutdown_send();
    CHECK(!server->flush());
    CHECK_FALSE(server->has_pending_output());
    CHECK(read_until_error(*client, error) == "last words");
    CHECK(error == netio::errc::connection_closed);
    CHECK(client->last_error_detail().find("close_notify") != std::string::npos);
    // Reading again reports the same end.
    std::array<std::byte, 16> buffer;
    std::error_code again;
    CHECK(client->read_some(buffer, again) == 0);
    CHECK(again == netio::errc::connection_closed);

    // The server only closed its sending side: the client can still answer.
    send_all(*client, "goodbye");
    std::error_code server_error;
    std::string answer;
    for (int step = 0; step < 100 && answer.size() < 7 && !server_error; ++step) {
      auto got = server->read_some(buffer, server_error);
      answer.append(reinterpret_cast<const char*>(buffer.data()), got);
    }
    CHECK(!server_error);
    CHECK(answer == "goodbye");

    std::error_code write_error;
    CHECK(server->write_some(bytes_of("more"), write_error) == 0);
    CHECK(write_error == netio::errc::not_connected);
  }
  SUBCASE("an inner stream that ends without close_notify is a closed, possibly truncated stream") {
    send_all(*server, "partial");
    server.reset(); // closes the socket with nothing unread: an orderly end, but no close_notify
    CHECK(read_until_error(*client, error) == "partial");
    CHECK(error == netio::errc::connection_closed);
    CHECK(client->last_error_detail().find("without a TLS close_notify") != std::string::npos);
  }
  SUBCASE("an inner reset is connection_reset for reads and writes") {
    // Unread bytes in the server's socket make its close a reset (AF_UNIX
    // reports ECONNRESET to the peer then).
    send_all(*client, "never read");
    server.reset();
    CHECK(read_until_error(*client, error).empty());
    CHECK(error == netio::errc::connection_reset);
    std::error_code write_error;
    std::size_t accepted = 0;
    for (int step = 0; step < 100 && !write_error; ++step) {
      accepted += client->write_some(bytes_of("anyone there?"), write_error);
      if (!write_error)
        write_error = client->flush();
    }
    CHECK(write_error == netio::errc::connection_reset);
    CHECK(accepted <= 13);
  }
}
