// Source: Open Client Client-Library/C Reference Manual (version 15.0),
// Table 2-27 "Callback types and the thread they are invoked from".
// Table 2-27, row "Encryption, negotiation, or security session": in sync
// and deferred mode these callbacks run on the thread that called connect
// (in deferred mode: inside that thread's poll), in async mode on the
// connection's I/O worker. The server asks for an encrypted password and a
// negotiation round over TLS, so all three callbacks run in every mode.
// ctest-timeout: 90
#include "netio_test_support.hpp"

#include <actorloop/netio/tls.hpp>

using namespace netio_test;

TEST_CASE("login callbacks run on the connect caller (sync, deferred) or the I/O worker (async)") {
  auto authority = netio::generate_certificate_authority("row test CA");
  auto leaf = netio::issue_certificate(authority, "localhost", {"localhost", "127.0.0.1"});
  netio::tls_options server_tls;
  server_tls.role = netio::tls_role::server;
  server_tls.certificate_chain_pem = leaf.certificate_pem;
  server_tls.private_key_pem = leaf.private_key_pem;
  server_tls.verify_peer = false;
  netio::server_options options;
  options.tls = std::make_shared<netio::tls_context>(server_tls);
  options.password = "pw";
  options.negotiation.push_back({1, "ping", "pong"});
  server_fixture fixture{options};
  netio::tls_options client_tls;
  client_tls.trusted_ca_pem = authority.certificate_pem;
  auto client_context = std::make_shared<netio::tls_context>(client_tls);

  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    netio::context context{fixture.engine, {mode}};
    thread_log log;
    // Installed on the context: inherited by the connection made below.
    context.set_security_session([&](netio::connection&, const netio::security_session_info&) {
      log.record("security session");
      return netio::callback_result::succeed;
    });
    context.set_encryption([&](netio::connection&, std::string_view password, std::string_view key,
                               std::string& out) {
      log.record("encryption");
      out = netio::default_password_encryption(password, key);
      return netio::callback_result::succeed;
    });
    context.set_negotiation([&](netio::connection&, std::uint32_t, std::string_view, std::string& answer) {
      log.record("negotiation");
      answer = "pong";
      return netio::negotiation_result::succeed;
    });
    netio::connection connection{context};
    netio::connect_options connect;
    connect.password = "pw";
    connect.tls = client_context;
    connect.tls_host = "localhost";
    connect_or_fail(connection, fixture.address(), connect);
    auto expected = mode == netio::io_mode::async ? connection.io_thread() : std::this_thread::get_id();
    for (auto& name : {"security session", "encryption", "negotiation"}) {
      CAPTURE(name);
      REQUIRE(log.count(name) == 1);
      CHECK(log.threads_of(name).at(0) == expected);
    }
    // In the order the login asks for them.
    CHECK(log.order() == std::vector<std::string>{"security session", "encryption", "negotiation"});
  }
}
