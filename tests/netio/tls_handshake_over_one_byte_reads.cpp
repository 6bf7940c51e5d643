// A handshake whose inner streams move one byte per read and per write (the
// worst a non-blocking socket may do) still finishes, with both ends driven
// step by step in one thread and a step limit; afterwards records that
// arrive a byte at a time reassemble into the exact bytes sent, both ways.
#include <actorloop/netio/error.hpp>
#include <actorloop/netio/tls.hpp>

#include <doctest/doctest.h>

#include "tls_test_support.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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

/// Wraps a socket end so every read and write moves at most one byte.
class one_byte_stream final : public netio::byte_stream {
public:
  explicit one_byte_stream(std::unique_ptr<netio::byte_stream> inner) : inner_(std::move(inner)) {}

  std::size_t read_some(std::span<std::byte> buffer, std::error_code& error) override {
    ++reads_;
    return inner_->read_some(buffer.first(std::min<std::size_t>(buffer.size(), 1)), error);
  }
  std::size_t write_some(std::span<const std::byte> data, std::error_code& error) override {
    return inner_->write_some(data.first(std::min<std::size_t>(data.size(), 1)), error);
  }
  void shutdown_send() noexcept override { inner_->shutdown_send(); }

  [[nodiscard]] std::size_t reads() const { return reads_; }

private:
  std::unique_ptr<netio::byte_stream> inner_;
  std::size_t reads_ = 0;
};

/// Sends `text` from `writer` to `reader`, one step of each per round.
std::string transfer(netio::tls_stream& writer, netio::tls_stream& reader, const std::string& text) {
  auto data = std::as_bytes(std::span{text});
  std::string received;
  std::size_t offset = 0;
  std::array<std::byte, 256> buffer;
  for (int step = 0; step < 200000 && received.size() < text.size(); ++step) {
    std::error_code error;
    REQUIRE(!writer.flush());
    if (offset < data.size())
      offset += writer.write_some(data.subspan(offset), error);
    REQUIRE_MESSAGE(!error, writer.last_error_detail());
    auto got = reader.read_some(buffer, error);
    REQUIRE_MESSAGE(!error, reader.last_error_detail());
    received.append(reinterpret_cast<const char*>(buffer.data()), got);
  }
  return received;
}

} // namespace

TEST_CASE("a TLS handshake completes over inner streams that move one byte at a time") {
  auto options = localhost_tls_options();

  auto [client_end, server_end] = make_socket_pair();
  auto client_inner = std::make_unique<one_byte_stream>(std::move(client_end));
  auto server_inner = std::make_unique<one_byte_stream>(std::move(server_end));
  auto* client_counter = client_inner.get();
  netio::tls_stream client{netio::tls_context{options.client}, std::move(client_inner), "localhost"};
  netio::tls_stream server{netio::tls_context{options.server}, std::move(server_inner)};

  // Between steps the owner would wait for what the stream asks for; here the
  // other end's step provides it.
  bool client_asked = false;
  for (int step = 0; step < 20000; ++step) {
    std::error_code client_error;
    std::error_code server_error;
    bool client_done = client.handshake(client_error);
    REQUIRE_MESSAGE(!client_error, client.last_error_detail());
    client_asked = client_asked || client.wants_read() || client.wants_write();
    bool server_done = server.handshake(server_error);
    REQUIRE_MESSAGE(!server_error, server.last_error_detail());
    REQUIRE(!client.flush());
    REQUIRE(!server.flush());
    if (client_done && server_done && !client.has_pending_output() && !server.has_pending_output())
      break;
  }
  REQUIRE(client.handshake_done());
  REQUIRE(server.handshake_done());
  CHECK(client_asked);
  CHECK(client.peer_certificate_subject() == "CN=localhost");
  // The server's flight (certificate included) really came a byte at a time.
  CHECK(client_counter->reads() > 500);

  std::string request(40 * 1024 + 11, 'q');
  for (std::size_t index = 0; index < request.size(); ++index)
    request[index] = static_cast<char>('a' + index % 26);
  CHECK(transfer(client, server, request) == request);
  CHECK(transfer(server, client, "a short answer") == "a short answer");
}
