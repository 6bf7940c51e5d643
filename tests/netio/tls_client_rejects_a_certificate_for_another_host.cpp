// A certificate that verifies but names another host is refused with
// errc::tls_hostname_mismatch; the detail names the host the client expected
// and the names the certificate carries. IP address literals are checked
// against the certificate's IP names, not its DNS names. A client that turned
// verification off accepts the same certificate (the check is verification's).
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

/// Runs the handshake until the client finished or failed; returns the
/// client's error (clear on success).
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

struct hosts_fixture {
  netio::certificate_and_key authority = netio::generate_certificate_authority("actorloop test CA");
  netio::certificate_and_key server_certificate =
    netio::issue_certificate(authority, "db.internal", {"db.internal", "*.reports.internal", "10.0.0.5"});

  netio::tls_context server_context() const {
    netio::tls_options options;
    options.role = netio::tls_role::server;
    options.certificate_chain_pem = server_certificate.certificate_pem;
    options.private_key_pem = server_certificate.private_key_pem;
    return netio::tls_context{options};
  }
  netio::tls_context client_context(bool verify = true) const {
    netio::tls_options options;
    options.role = netio::tls_role::client;
    options.trusted_ca_pem = authority.certificate_pem;
    options.verify_peer = verify;
    return netio::tls_context{options};
  }
  /// The client's outcome when it expects `host`; `detail` gets its message.
  std::error_code connect_expecting(const std::string& host, std::string& detail,
                                    bool verify = true) const {
    auto server_side = server_context();
    auto client_side = client_context(verify);
    auto [client_end, server_end] = make_socket_pair();
    netio::tls_stream client{client_side, std::move(client_end), host};
    netio::tls_stream server{server_side, std::move(server_end)};
    auto outcome = client_outcome(client, server);
    detail = client.last_error_detail();
    return outcome;
  }
};

} // namespace

TEST_CASE("a TLS client rejects a certificate issued for another host") {
  hosts_fixture fixture;
  std::string detail;

  SUBCASE("names the certificate carries pass") {
    CHECK(!fixture.connect_expecting("db.internal", detail));
    CHECK(!fixture.connect_expecting("monthly.reports.internal", detail));
    CHECK(!fixture.connect_expecting("10.0.0.5", detail));
  }
  SUBCASE("a DNS name the certificate does not carry") {
    auto outcome = fixture.connect_expecting("payroll.internal", detail);
    INFO(detail);
    CHECK(outcome == netio::errc::tls_hostname_mismatch);
    CHECK(detail.find("'payroll.internal'") != std::string::npos);
    CHECK(detail.find("DNS:db.internal") != std::string::npos);
    CHECK(detail.find("IP:10.0.0.5") != std::string::npos);
    CHECK(detail.find("hostname mismatch") != std::string::npos);
  }
  SUBCASE("a wildcard covers one label only") {
    auto outcome = fixture.connect_expecting("a.b.reports.internal", detail);
    INFO(detail);
    CHECK(outcome == netio::errc::tls_hostname_mismatch);
  }
  SUBCASE("an IP address the certificate does not carry") {
    auto outcome = fixture.connect_expecting("10.0.0.6", detail);
    INFO(detail);
    CHECK(outcome == netio::errc::tls_hostname_mismatch);
    CHECK(detail.find("'10.0.0.6'") != std::string::npos);
    CHECK(detail.find("IP address mismatch") != std::string::npos);
  }
  SUBCASE("an IP literal is not matched against DNS names") {
    hosts_fixture dns_only;
    dns_only.server_certificate =
      netio::issue_certificate(dns_only.authority, "10.0.0.7", {"10.0.0.7.example"});
    auto outcome = dns_only.connect_expecting("10.0.0.7", detail);
    INFO(detail);
    CHECK(outcome == netio::errc::tls_hostname_mismatch);
  }
  SUBCASE("with verification off the host is not checked") {
    CHECK(!fixture.connect_expecting("payroll.internal", detail, false));
  }
}
