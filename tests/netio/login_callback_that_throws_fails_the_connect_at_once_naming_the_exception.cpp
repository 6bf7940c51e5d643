// A login callback (encryption, negotiation, security session) that throws
// fails the connect at once, in every I/O mode, with a client message that
// names the exception; the connect neither waits for its timeout nor, with
// no timeout, hangs.
// ctest-timeout: 90
#include "netio_test_support.hpp"

#include <actorloop/netio/tls.hpp>

#include <stdexcept>

using namespace netio_test;

namespace {

enum class thrower { encryption, negotiation, security_session };

const char* name_of(thrower which) {
  switch (which) {
    case thrower::encryption: return "encryption";
    case thrower::negotiation: return "negotiation";
    case thrower::security_session: return "security session";
  }
  return "?";
}

/// Connects with `connect_timeout` zero (no limit) and returns the connect's
/// status, waiting at most 20 s in deferred and async mode.
netio::retcode connect_once(netio::connection& target, const netio::endpoint& where,
                            netio::connect_options options) {
  options.connect_timeout = runtime::duration::zero();
  if (target.mode() == netio::io_mode::async) {
    actorloop_test::latch_counter done;
    netio::retcode status = netio::retcode::succeed;
    target.set_completion([&](netio::connection&, netio::function_id function, netio::retcode result) {
      if (function == netio::function_id::connect) {
        status = result;
        done.increment();
      }
      return netio::retcode::succeed;
    });
    REQUIRE(target.connect(where, std::move(options)) == netio::retcode::pending);
    REQUIRE(done.wait_for_at_least(1, 20s));
    return status;
  }
  auto code = target.connect(where, std::move(options));
  if (target.mode() == netio::io_mode::sync)
    return code;
  REQUIRE(code == netio::retcode::pending);
  auto polled = target.poll(20s);
  REQUIRE(polled.code == netio::retcode::succeed);
  REQUIRE(polled.function == netio::function_id::connect);
  return polled.status;
}

} // namespace

TEST_CASE("a throwing login callback fails the connect at once with a message naming it") {
  auto authority = netio::generate_certificate_authority("throwing login CA");
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
    for (auto which : {thrower::security_session, thrower::encryption, thrower::negotiation}) {
      CAPTURE(netio::to_string(mode));
      CAPTURE(name_of(which));
      netio::context context{fixture.engine, {mode}};
      netio::connection connection{context};
      std::mutex mutex;
      std::vector<netio::client_message> heard;
      connection.set_client_message([&](netio::connection*, const netio::client_message& message) {
        std::lock_guard guard{mutex};
        heard.push_back(message);
        return netio::callback_result::succeed;
      });
      connection.set_security_session([which](netio::connection&, const netio::security_session_info&) {
        if (which == thrower::security_session)
          throw std::runtime_error("session boom");
        return netio::callback_result::succeed;
      });
      connection.set_encryption([which](netio::connection&, std::string_view password,
                                        std::string_view key, std::string& out) {
        if (which == thrower::encryption)
          throw std::runtime_error("encryption boom");
        out = netio::default_password_encryption(password, key);
        return netio::callback_result::succeed;
      });
      connection.set_negotiation([which](netio::connection&, std::uint32_t, std::string_view,
                                         std::string& answer) {
        if (which == thrower::negotiation)
          throw 42; // not even a std::exception
        answer = "pong";
        return netio::negotiation_result::succeed;
      });
      netio::connect_options connect;
      connect.password = "pw";
      connect.tls = client_context;
      connect.tls_host = "localhost";
      CHECK(connect_once(connection, fixture.address(), connect) == netio::retcode::fail);
      CHECK_FALSE(connection.connected());
      auto error = connection.last_error();
      CHECK(error.code == netio::errc::authentication_failed);
      std::string expected = which == thrower::security_session ? "session boom"
                             : which == thrower::encryption     ? "encryption boom"
                                                                : "non-standard exception";
      CAPTURE(error.text);
      CHECK(error.text.find(std::string{name_of(which)} + " callback threw") != std::string::npos);
      CHECK(error.text.find(expected) != std::string::npos);
      std::lock_guard guard{mutex};
      // Exactly one client message: the failed connect, naming the exception.
      REQUIRE(heard.size() == 1);
      CHECK(heard.front().text == error.text);
      CHECK(heard.front().text.find("connect to ") == 0);
    }
  }
}
