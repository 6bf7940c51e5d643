// Shared by the TLS stream tests: a non-blocking socketpair as byte
// streams, and a handshake driver that alternates both ends in one thread.
#pragma once

#include <actorloop/netio/error.hpp>
#include <actorloop/netio/tls.hpp>

#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <span>
#include <system_error>
#include <utility>

namespace tls_test {

namespace netio = actorloop::netio;

/// One end of a non-blocking AF_UNIX socketpair as a byte_stream, mapping
/// errors the way the netio socket stream does.
class socket_end final : public netio::byte_stream {
public:
  explicit socket_end(int descriptor) : descriptor_(descriptor) {}
  ~socket_end() override { ::close(descriptor_); }
  socket_end(const socket_end&) = delete;
  socket_end& operator=(const socket_end&) = delete;

  std::size_t read_some(std::span<std::byte> buffer, std::error_code& error) override {
    auto got = ::recv(descriptor_, buffer.data(), buffer.size(), 0);
    if (got > 0)
      return static_cast<std::size_t>(got);
    if (got == 0)
      error = netio::errc::connection_closed;
    else if (errno != EAGAIN && errno != EWOULDBLOCK)
      error = failure(errno);
    return 0;
  }
  std::size_t write_some(std::span<const std::byte> data, std::error_code& error) override {
    auto sent = ::send(descriptor_, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent >= 0)
      return static_cast<std::size_t>(sent);
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      error = failure(errno);
    return 0;
  }
  void shutdown_send() noexcept override { ::shutdown(descriptor_, SHUT_WR); }

private:
  static std::error_code failure(int number) {
    if (number == ECONNRESET || number == EPIPE)
      return netio::errc::connection_reset;
    return {number, std::system_category()};
  }
  int descriptor_;
};

inline std::pair<std::unique_ptr<socket_end>, std::unique_ptr<socket_end>> make_socket_pair() {
  int descriptors[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, descriptors) == 0);
  return {std::make_unique<socket_end>(descriptors[0]), std::make_unique<socket_end>(descriptors[1])};
}

/// Alternates handshake steps of both ends (one thread, no sleeps) until
/// both finished and nothing waits to be sent; fails instead of hanging.
inline void complete_handshake(netio::tls_stream& client, netio::tls_stream& server, int step_limit = 1000) {
  for (int step = 0; step < step_limit; ++step) {
    std::error_code client_error;
    std::error_code server_error;
    bool client_done = client.handshake(client_error);
    REQUIRE_MESSAGE(!client_error, client.last_error_detail());
    bool server_done = server.handshake(server_error);
    REQUIRE_MESSAGE(!server_error, server.last_error_detail());
    REQUIRE(!client.flush());
    REQUIRE(!server.flush());
    if (client_done && server_done && !client.has_pending_output() && !server.has_pending_output())
      return;
  }
  FAIL("the handshake did not finish within ", step_limit, " steps");
}

/// A client and a server TLS stream over a socket pair, handshake done; the
/// server's certificate is for "localhost", issued by a fresh test CA.
struct session {
  std::unique_ptr<netio::tls_stream> client;
  std::unique_ptr<netio::tls_stream> server;
};

/// Options for a server whose certificate is for "localhost", issued by a
/// fresh test CA, and for a client that trusts that CA.
struct localhost_options {
  netio::tls_options client;
  netio::tls_options server;
};

inline localhost_options localhost_tls_options() {
  auto authority = netio::generate_certificate_authority("actorloop test CA");
  auto certificate = netio::issue_certificate(authority, "localhost", {"localhost"});
  localhost_options result;
  result.server.role = netio::tls_role::server;
  result.server.certificate_chain_pem = certificate.certificate_pem;
  result.server.private_key_pem = certificate.private_key_pem;
  result.client.trusted_ca_pem = authority.certificate_pem;
  return result;
}

inline session open_session() {
  auto options = localhost_tls_options();
  auto [client_end, server_end] = make_socket_pair();
  session result;
  result.client = std::make_unique<netio::tls_stream>(netio::tls_context{options.client},
                                                      std::move(client_end), "localhost");
  result.server =
    std::make_unique<netio::tls_stream>(netio::tls_context{options.server}, std::move(server_end));
  complete_handshake(*result.client, *result.server);
  return result;
}

} // namespace tls_test
