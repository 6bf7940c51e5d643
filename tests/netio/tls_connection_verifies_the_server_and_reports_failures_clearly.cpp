// TLS over TCP and Unix sockets between a connection and the message server:
// a CA-signed server certificate verifies and the session works; the
// security-session callback sees the session (and may reject it); an
// untrusted certificate and a certificate for another host each fail the
// connect with a clear, specific error.
// ctest-timeout: 90
#include "netio_test_support.hpp"

#include <actorloop/netio/tls.hpp>

#include <unistd.h>

using namespace netio_test;

namespace {

struct tls_setup {
  netio::certificate_and_key authority = netio::generate_certificate_authority("actorloop test CA");
  netio::certificate_and_key server =
    netio::issue_certificate(authority, "localhost", {"localhost", "127.0.0.1"});

  std::shared_ptr<const netio::tls_context> server_context() const {
    netio::tls_options options;
    options.role = netio::tls_role::server;
    options.certificate_chain_pem = server.certificate_pem;
    options.private_key_pem = server.private_key_pem;
    options.verify_peer = false;
    return std::make_shared<netio::tls_context>(options);
  }
  std::shared_ptr<const netio::tls_context> client_context(const std::string& trusted) const {
    netio::tls_options options;
    options.role = netio::tls_role::client;
    options.trusted_ca_pem = trusted;
    return std::make_shared<netio::tls_context>(options);
  }
};

netio::server_options tls_server(const tls_setup& setup, netio::endpoint where) {
  netio::server_options options;
  options.listen = std::move(where);
  options.tls = setup.server_context();
  return options;
}

} // namespace

TEST_CASE("TLS over TCP: verified, usable, and described to the security-session callback") {
  tls_setup setup;
  server_fixture fixture{tls_server(setup, netio::endpoint::tcp("127.0.0.1", 0))};
  netio::context context{fixture.engine};
  netio::connection connection{context};
  thread_log log;
  netio::security_session_info seen;
  connection.set_security_session([&](netio::connection&, const netio::security_session_info& info) {
    seen = info;
    log.record("security session");
    return netio::callback_result::succeed;
  });
  netio::connect_options options;
  options.tls = setup.client_context(setup.authority.certificate_pem);
  options.tls_host = "localhost";
  REQUIRE(connection.connect(fixture.address(), options) == netio::retcode::succeed);
  REQUIRE(log.count("security session") == 1);
  CHECK(log.threads_of("security session").at(0) == std::this_thread::get_id());
  CHECK(seen.protocol.find("TLS") == 0);
  CHECK(seen.peer_subject.find("localhost") != std::string::npos);
  CHECK(seen.peer_fingerprint_sha256.size() == 95);
  REQUIRE(connection.execute({"ROWS", "1000"}) == netio::retcode::succeed);
  CHECK(connection.take_result()->rows.size() == 1000);
  CHECK(connection.close() == netio::retcode::succeed);
}

TEST_CASE("TLS over a Unix socket") {
  tls_setup setup;
  auto path = "/tmp/actorloop-tls-" + std::to_string(::getpid()) + ".sock";
  ::unlink(path.c_str());
  {
    server_fixture fixture{tls_server(setup, netio::endpoint::unix_domain(path))};
    netio::context context{fixture.engine};
    netio::connection connection{context};
    netio::connect_options options;
    options.tls = setup.client_context(setup.authority.certificate_pem);
    options.tls_host = "localhost";
    REQUIRE(connection.connect(fixture.address(), options) == netio::retcode::succeed);
    REQUIRE(connection.execute({"ECHO", "over unix"}) == netio::retcode::succeed);
    CHECK(connection.take_result()->rows.at(0).columns.at(0) == "over unix");
  }
  ::unlink(path.c_str());
}

TEST_CASE("TLS failures are clear: untrusted, wrong host, rejected by the callback") {
  tls_setup setup;
  server_fixture fixture{tls_server(setup, netio::endpoint::tcp("127.0.0.1", 0))};
  netio::context context{fixture.engine};

  SUBCASE("an untrusted certificate") {
    auto other = netio::generate_certificate_authority("someone else");
    netio::connection connection{context};
    netio::connect_options options;
    options.tls = setup.client_context(other.certificate_pem);
    options.tls_host = "localhost";
    CHECK(connection.connect(fixture.address(), options) == netio::retcode::fail);
    CHECK(connection.last_error().code == netio::errc::tls_certificate_rejected);
    CHECK(connection.last_error().text.find("certificate") != std::string::npos);
  }
  SUBCASE("a certificate for another host") {
    netio::connection connection{context};
    netio::connect_options options;
    options.tls = setup.client_context(setup.authority.certificate_pem);
    options.tls_host = "not-this-host.example";
    CHECK(connection.connect(fixture.address(), options) == netio::retcode::fail);
    CHECK(connection.last_error().code == netio::errc::tls_hostname_mismatch);
    CHECK(connection.last_error().text.find("not-this-host.example") != std::string::npos);
  }
  SUBCASE("the security-session callback says no") {
    netio::connection connection{context};
    connection.set_security_session([](netio::connection&, const netio::security_session_info&) {
      return netio::callback_result::fail;
    });
    netio::connect_options options;
    options.tls = setup.client_context(setup.authority.certificate_pem);
    options.tls_host = "localhost";
    CHECK(connection.connect(fixture.address(), options) == netio::retcode::fail);
    CHECK(connection.last_error().code == netio::errc::authentication_failed);
  }
  // The server keeps serving after every failed handshake.
  netio::connection healthy{context};
  netio::connect_options options;
  options.tls = setup.client_context(setup.authority.certificate_pem);
  options.tls_host = "localhost";
  REQUIRE(healthy.connect(fixture.address(), options) == netio::retcode::succeed);
  CHECK(healthy.execute({"ECHO", "still here"}) == netio::retcode::succeed);
}

TEST_CASE("bad TLS configuration is reported with what is wrong") {
  netio::tls_options options;
  options.role = netio::tls_role::server;
  options.certificate_chain_pem = "not a certificate";
  options.private_key_pem = "not a key";
  try {
    netio::tls_context broken{options};
    FAIL("accepted garbage PEM");
  } catch (const netio::error& failure) {
    CHECK(failure.code() == netio::errc::bad_configuration);
    CHECK(std::string{failure.what()}.find("certificate") != std::string::npos);
  }
  auto one = netio::generate_self_signed_certificate("one", {"one"});
  auto two = netio::generate_self_signed_certificate("two", {"two"});
  options.certificate_chain_pem = one.certificate_pem;
  options.private_key_pem = two.private_key_pem;
  try {
    netio::tls_context mismatched{options};
    FAIL("accepted a key that does not match the certificate");
  } catch (const netio::error& failure) {
    CHECK(std::string{failure.what()}.find("does not match") != std::string::npos);
  }
  options.certificate_chain_pem.clear();
  options.private_key_pem.clear();
  options.certificate_chain_file = "/nonexistent/chain.pem";
  try {
    netio::tls_context missing{options};
    FAIL("accepted a missing file");
  } catch (const netio::error& failure) {
    CHECK(std::string{failure.what()}.find("/nonexistent/chain.pem") != std::string::npos);
  }
}
