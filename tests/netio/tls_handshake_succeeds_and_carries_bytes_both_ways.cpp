// A TLS client and server over a socketpair, driven step by step in one
// thread: a CA-signed chain (and, separately, a trusted self-signed
// certificate) verifies, the handshake finishes, the session is described
// (protocol, cipher, peer subject, SHA-256 fingerprint, ALPN), and bytes
// larger than several records cross intact in both directions. With client
// certificates on, the server sees and checks the client's certificate too.
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

std::vector<std::byte> pattern(std::size_t size, unsigned seed) {
  std::vector<std::byte> bytes(size);
  for (std::size_t index = 0; index < size; ++index)
    bytes[index] = static_cast<std::byte>((index * 131 + seed) & 0xff);
  return bytes;
}

/// Sends `data` from `writer` to `reader` by alternating writes, flushes and
/// reads; returns what arrived.
std::vector<std::byte> transfer(netio::tls_stream& writer, netio::tls_stream& reader,
                                std::span<const std::byte> data) {
  std::vector<std::byte> received;
  std::size_t offset = 0;
  std::array<std::byte, 8192> buffer;
  for (int step = 0; step < 10000 && received.size() < data.size(); ++step) {
    std::error_code error;
    REQUIRE(!writer.flush());
    if (offset < data.size())
      offset += writer.write_some(data.subspan(offset), error);
    REQUIRE_MESSAGE(!error, writer.last_error_detail());
    for (;;) {
      auto got = reader.read_some(buffer, error);
      REQUIRE_MESSAGE(!error, reader.last_error_detail());
      if (got == 0)
        break;
      received.insert(received.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(got));
    }
  }
  return received;
}

void check_session_carries_bytes(netio::tls_stream& client, netio::tls_stream& server) {
  complete_handshake(client, server);
  CHECK(client.handshake_done());
  CHECK(server.handshake_done());
  CHECK(client.protocol_version() == "TLSv1.3");
  CHECK(client.protocol_version() == server.protocol_version());
  CHECK(!client.cipher().empty());
  CHECK(client.cipher() == server.cipher());
  CHECK(client.peer_certificate_subject() == "CN=localhost");
  CHECK(client.peer_certificate_fingerprint_sha256().size() == 95);

  auto request = pattern(100 * 1024 + 7, 1);
  auto response = pattern(70 * 1024 + 3, 2);
  CHECK(transfer(client, server, request) == request);
  CHECK(transfer(server, client, response) == response);
  CHECK(transfer(client, server, pattern(1, 3)) == pattern(1, 3));
}

} // namespace

TEST_CASE("a TLS handshake succeeds and the session carries bytes both ways") {
  auto authority = netio::generate_certificate_authority("actorloop test CA");
  auto server_certificate = netio::issue_certificate(authority, "localhost", {"localhost", "127.0.0.1"});

  netio::tls_options server_options;
  server_options.role = netio::tls_role::server;
  server_options.certificate_chain_pem = server_certificate.certificate_pem;
  server_options.private_key_pem = server_certificate.private_key_pem;
  server_options.alpn = {"actorloop/1", "http/1.1"};
  netio::tls_options client_options;
  client_options.role = netio::tls_role::client;
  client_options.trusted_ca_pem = authority.certificate_pem;
  client_options.alpn = {"actorloop/1"};

  SUBCASE("a CA-signed server certificate, checked by host name") {
    netio::tls_context server_context{server_options};
    netio::tls_context client_context{client_options};
    CHECK(client_context.verifies_peer());
    CHECK_FALSE(server_context.verifies_peer());
    auto [client_end, server_end] = make_socket_pair();
    netio::tls_stream client{client_context, std::move(client_end), "localhost"};
    netio::tls_stream server{server_context, std::move(server_end)};
    check_session_carries_bytes(client, server);
    CHECK(client.selected_alpn() == "actorloop/1");
    CHECK(server.selected_alpn() == "actorloop/1");
    CHECK(server.peer_certificate_subject().empty()); // no client certificate asked for
  }
  SUBCASE("an IP address literal is checked against the certificate's IP names") {
    netio::tls_context server_context{server_options};
    netio::tls_context client_context{client_options};
    auto [client_end, server_end] = make_socket_pair();
    netio::tls_stream client{client_context, std::move(client_end), "127.0.0.1"};
    netio::tls_stream server{server_context, std::move(server_end)};
    check_session_carries_bytes(client, server);
  }
  SUBCASE("a trusted self-signed certificate") {
    auto self_signed = netio::generate_self_signed_certificate("localhost", {"localhost", "::1"});
    server_options.certificate_chain_pem = self_signed.certificate_pem;
    server_options.private_key_pem = self_signed.private_key_pem;
    client_options.trusted_ca_pem = self_signed.certificate_pem;
    netio::tls_context server_context{server_options};
    netio::tls_context client_context{client_options};
    auto [client_end, server_end] = make_socket_pair();
    netio::tls_stream client{client_context, std::move(client_end), "::1"};
    netio::tls_stream server{server_context, std::move(server_end)};
    check_session_carries_bytes(client, server);
  }
  SUBCASE("client certificates: the server verifies the client too") {
    auto client_certificate = netio::issue_certificate(authority, "reporting-client", {"reporting-client"});
    server_options.trusted_ca_pem = authority.certificate_pem;
    server_options.verify_peer = true;
    client_options.certificate_chain_pem = client_certificate.certificate_pem;
    client_options.private_key_pem = client_certificate.private_key_pem;
    netio::tls_context server_context{server_options};
    netio::tls_context client_context{client_options};
    auto [client_end, server_end] = make_socket_pair();
    netio::tls_stream client{client_context, std::move(client_end), "localhost"};
    netio::tls_stream server{server_context, std::move(server_end)};
    check_session_carries_bytes(client, server);
    CHECK(server.peer_certificate_subject() == "CN=reporting-client");
    CHECK(server.peer_certificate_fingerprint_sha256().size() == 95);
    CHECK(server.peer_certificate_fingerprint_sha256() != client.peer_certificate_fingerprint_sha256());
  }
}
