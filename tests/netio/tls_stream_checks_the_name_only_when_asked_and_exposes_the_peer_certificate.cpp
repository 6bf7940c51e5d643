// tls_server_name separates the host name's two uses: with check_name off a
// verifying client accepts a CA-signed certificate for another host (the
// chain is still checked: an untrusted one is refused), with it on the
// same certificate is refused as tls_hostname_mismatch. After the
// handshake the client sees the server certificate's DER (the PEM's body)
// and OpenSSL's verdict on the chain: empty when it verified, the reason
// when the client did not verify against a CA.
#include <actorloop/netio/error.hpp>
#include <actorloop/netio/tls.hpp>

#include <doctest/doctest.h>

#include "tls_test_support.hpp"

#include <string>
#include <vector>

namespace netio = actorloop::netio;
using namespace tls_test;

namespace {

std::error_code client_outcome(netio::tls_stream& client, netio::tls_stream& server) {
  std::error_code server_error;
  for (int step = 0; step < 1000; ++step) {
    std::error_code client_error;
    bool done = client.handshake(client_error);
    if (client_error)
      return client_error;
    if (done)
      return {};
    if (!server_error)
      (void)server.handshake(server_error);
    (void)client.flush();
    (void)server.flush();
  }
  FAIL("the client handshake neither failed nor finished within the step limit");
  return {};
}

/// The DER inside a one-certificate PEM text (base64 decoded here, so the
/// check does not lean on the code under test).
std::vector<std::byte> pem_body(const std::string& pem) {
  static const std::string alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto begin = pem.find('\n') + 1;
  auto end = pem.find("-----END");
  std::vector<std::byte> out;
  unsigned bits = 0;
  int held = 0;
  for (auto c : pem.substr(begin, end - begin)) {
    auto value = alphabet.find(c);
    if (value == std::string::npos)
      continue; // line breaks and '=' padding
    bits = (bits << 6) | static_cast<unsigned>(value);
    held += 6;
    if (held >= 8) {
      held -= 8;
      out.push_back(static_cast<std::byte>((bits >> held) & 0xffu));
    }
  }
  return out;
}

} // namespace

TEST_CASE("tls_stream checks the name only when asked and exposes the peer certificate") {
  auto authority = netio::generate_certificate_authority("actorloop test CA");
  auto stranger = netio::generate_certificate_authority("someone else's CA");
  auto leaf = netio::issue_certificate(authority, "db.internal", {"db.internal"});
  netio::tls_options server_options;
  server_options.role = netio::tls_role::server;
  server_options.certificate_chain_pem = leaf.certificate_pem;
  server_options.private_key_pem = leaf.private_key_pem;
  netio::tls_context server_context{server_options};
  auto client_context = [](const std::string& trusted, bool verify) {
    netio::tls_options options;
    options.trusted_ca_pem = trusted;
    options.verify_peer = verify;
    return netio::tls_context{options};
  };

  SUBCASE("check_name off: another host's certificate from a trusted CA is accepted") {
    auto [near, far] = make_socket_pair();
    netio::tls_stream client{client_context(authority.certificate_pem, true), std::move(near),
                             netio::tls_server_name{"other.example", true, false}};
    netio::tls_stream server{server_context, std::move(far)};
    CHECK_FALSE(client_outcome(client, server));
    CHECK(client.peer_verification_error().empty());
    CHECK(client.peer_certificate_der() == pem_body(leaf.certificate_pem));
  }

  SUBCASE("check_name on (SNI off): the same certificate is refused for its name") {
    auto [near, far] = make_socket_pair();
    netio::tls_stream client{client_context(authority.certificate_pem, true), std::move(near),
                             netio::tls_server_name{"other.example", false, true}};
    netio::tls_stream server{server_context, std::move(far)};
    CHECK(client_outcome(client, server) == netio::errc::tls_hostname_mismatch);
  }

  SUBCASE("check_name off still verifies the chain") {
    auto [near, far] = make_socket_pair();
    netio::tls_stream client{client_context(stranger.certificate_pem, true), std::move(near),
                             netio::tls_server_name{"db.internal", true, false}};
    netio::tls_stream server{server_context, std::move(far)};
    CHECK(client_outcome(client, server) == netio::errc::tls_certificate_rejected);
  }

  SUBCASE("without verification the verdict says why the chain would not verify") {
    auto [near, far] = make_socket_pair();
    netio::tls_stream client{client_context({}, false), std::move(near),
                             netio::tls_server_name{"db.internal", true, true}};
    netio::tls_stream server{server_context, std::move(far)};
    CHECK_FALSE(client_outcome(client, server));
    CHECK_FALSE(client.peer_verification_error().empty());
    CHECK(client.peer_certificate_der() == pem_body(leaf.certificate_pem));
  }
}
