// A client that does not trust the server's issuer fails the handshake with
// errc::tls_certificate_rejected and a detail naming OpenSSL's verification
// reason and the rejected certificate; the server learns that the client
// refused it (tls_handshake_failed naming the alert). The failure sticks,
// the stream refuses to carry bytes, and a self-signed certificate nobody
// trusts is refused the same way.
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

struct failed_handshake {
  std::error_code client_error;
  std::error_code server_error;
  std::string client_detail;
  std::string server_detail;
};

/// Alternates handshake steps until the client failed and the server failed
/// or finished; fails instead of hanging.
failed_handshake run_until_client_fails(netio::tls_stream& client, netio::tls_stream& server) {
  failed_handshake result;
  for (int step = 0; step < 1000; ++step) {
    if (!result.client_error) {
      bool done = client.handshake(result.client_error);
      REQUIRE_FALSE_MESSAGE(done, "the client accepted a certificate it must reject");
    }
    if (!result.server_error)
      (void)server.handshake(result.server_error);
    (void)client.flush();
    (void)server.flush();
    if (result.client_error && result.server_error) {
      result.client_detail = client.last_error_detail();
      result.server_detail = server.last_error_detail();
      return result;
    }
  }
  FAIL("the handshake neither failed nor finished within the step limit");
  return result;
}

netio::tls_context server_context_for(const netio::certificate_and_key& certificate) {
  netio::tls_options options;
  options.role = netio::tls_role::server;
  options.certificate_chain_pem = certificate.certificate_pem;
  options.private_key_pem = certificate.private_key_pem;
  return netio::tls_context{options};
}

netio::tls_context client_context_trusting(const std::string& trusted_pem) {
  netio::tls_options options;
  options.role = netio::tls_role::client;
  options.trusted_ca_pem = trusted_pem;
  return netio::tls_context{options};
}

} // namespace

TEST_CASE("a TLS client rejects a certificate from an issuer it does not trust") {
  auto authority = netio::generate_certificate_authority("actorloop test CA");
  auto someone_else = netio::generate_certificate_authority("someone else's CA");

  SUBCASE("a CA-signed certificate from an untrusted CA") {
    auto server_certificate = netio::issue_certificate(authority, "localhost", {"localhost"});
    auto server_context = server_context_for(server_certificate);
    auto client_context = client_context_trusting(someone_else.certificate_pem);
    auto [client_end, server_end] = make_socket_pair();
    netio::tls_stream client{client_context, std::move(client_end), "localhost"};
    netio::tls_stream server{server_context, std::move(server_end)};

    auto result = run_until_client_fails(client, server);
    CHECK(result.client_error == netio::errc::tls_certificate_rejected);
    INFO("client: ", result.client_detail);
    CHECK(result.client_detail.find("unable to get local issuer certificate") != std::string::npos);
    CHECK(result.client_detail.find("CN=localhost") != std::string::npos);
    INFO("server: ", result.server_detail);
    CHECK(result.server_error == netio::errc::tls_handshake_failed);
    CHECK(result.server_detail.find("unknown ca") != std::string::npos);

    // The failure sticks, and no bytes pass.
    std::error_code again;
    CHECK_FALSE(client.handshake(again));
    CHECK(again == netio::errc::tls_certificate_rejected);
    CHECK_FALSE(client.handshake_done());
    CHECK(client.protocol_version().empty());
    std::array<std::byte, 16> buffer{};
    std::error_code read_error;
    CHECK(client.read_some(buffer, read_error) == 0);
    CHECK(read_error == netio::errc::tls_certificate_rejected);
    std::error_code write_error;
    CHECK(client.write_some(buffer, write_error) == 0);
    CHECK(write_error == netio::errc::tls_certificate_rejected);
  }
  SUBCASE("a self-signed certificate nobody trusts") {
    auto self_signed = netio::generate_self_signed_certificate("localhost", {"localhost"});
    auto server_context = server_context_for(self_signed);
    auto client_context = client_context_trusting(authority.certificate_pem);
    auto [client_end, server_end] = make_socket_pair();
    netio::tls_stream client{client_context, std::move(client_end), "localhost"};
    netio::tls_stream server{server_context, std::move(server_end)};

    auto result = run_until_client_fails(client, server);
    CHECK(result.client_error == netio::errc::tls_certificate_rejected);
    INFO("client: ", result.client_detail);
    CHECK(result.client_detail.find("self-signed certificate") != std::string::npos);
  }
  SUBCASE("a server that requires client certificates rejects a client without one") {
    auto server_certificate = netio::issue_certificate(authority, "localhost", {"localhost"});
    netio::tls_options server_options;
    server_options.role = netio::tls_role::server;
    server_options.certificate_chain_pem = server_certificate.certificate_pem;
    server_options.private_key_pem = server_certificate.private_key_pem;
    server_options.trusted_ca_pem = authority.certificate_pem;
    server_options.verify_peer = true;
    netio::tls_context server_context{server_options};
    auto client_context = client_context_trusting(authority.certificate_pem);
    auto [client_end, server_end] = make_socket_pair();
    netio::tls_stream client{client_context, std::move(client_end), "localhost"};
    netio::tls_stream server{server_context, std::move(server_end)};

    std::error_code server_error;
    std::error_code client_error;
    for (int step = 0; step < 1000 && !server_error; ++step) {
      (void)client.handshake(client_error);
      (void)server.handshake(server_error);
      (void)client.flush();
      (void)server.flush();
    }
    CHECK(server_error == netio::errc::tls_certificate_rejected);
    INFO("server: ", server.last_error_detail());
    CHECK(server.last_error_detail().find("sent no certificate") != std::string::npos);
  }
}
