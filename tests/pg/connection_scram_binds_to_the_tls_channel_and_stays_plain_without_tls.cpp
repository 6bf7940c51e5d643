// SCRAM-SHA-256-PLUS with tls-server-end-point channel binding against a
// real PostgreSQL 15: over TLS the server offers PLUS and the client binds
// to the hash of the server's certificate (a wrong hash would fail the
// server's check of the proof), in sync, deferred and async mode; without
// TLS the plain mechanism is used. The connection reports which one.
// ctest-timeout: 120
#include "pg_server_support.hpp"

#include <thread>

using namespace pg_server_test;

namespace {

/// Waits for `started` in `mode`; returns its status.
netio::retcode finish(pg::connection& connection, netio::started_operation started,
                      netio::io_mode mode, counter& completions, int& expected) {
  if (mode == netio::io_mode::sync)
    return started.code;
  REQUIRE(started.code == netio::retcode::pending);
  ++expected;
  if (mode == netio::io_mode::deferred) {
    auto polled = connection.poll(20s);
    REQUIRE(polled.code == netio::retcode::succeed);
    return polled.status;
  }
  REQUIRE(completions.wait_for(expected));
  return netio::retcode::succeed; // checked by the callback's log
}

} // namespace

TEST_CASE("SCRAM binds to the TLS channel and stays plain without TLS") {
  throwaway_server server;
  engine_fixture fixture;
  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    netio::context context{fixture.engine, {mode}};
    struct case_ {
      const char* user;
      const char* password;
      pg::ssl_mode sslmode;
      const char* mechanism;
    };
    for (auto each : {case_{"scram_user", "scram-secret", pg::ssl_mode::require, "SCRAM-SHA-256-PLUS"},
                      case_{"tls_user", "tls-secret", pg::ssl_mode::prefer, "SCRAM-SHA-256-PLUS"},
                      case_{"scram_user", "scram-secret", pg::ssl_mode::disable, "SCRAM-SHA-256"}}) {
      CAPTURE(each.user);
      CAPTURE(each.mechanism);
      auto options = server.options(each.user, each.password);
      options.sslmode = each.sslmode;
      pg::connection connection{context, options};
      counter completions;
      std::vector<netio::retcode> statuses;
      std::mutex mutex;
      connection.set_completion([&](pg::connection&, netio::function_id, netio::retcode status) {
        {
          std::lock_guard guard{mutex};
          statuses.push_back(status);
        }
        completions.add();
      });
      std::vector<std::string> problems;
      connection.set_client_message([&](pg::connection*, const netio::client_message& problem) {
        std::lock_guard guard{mutex};
        problems.push_back(problem.text);
        return netio::callback_result::succeed;
      });
      int expected = 0;
      REQUIRE(finish(connection, connection.connect(), mode, completions, expected) ==
              netio::retcode::succeed);
      CHECK(connection.authentication_method() == each.mechanism);
      CHECK(connection.tls_in_use() == (each.sslmode != pg::ssl_mode::disable));
      REQUIRE(finish(connection, connection.execute("SELECT current_user"), mode, completions,
                     expected) == netio::retcode::succeed);
      auto answer = connection.take_result();
      REQUIRE(answer);
      CHECK(answer->results[0].text(0, 0) == each.user);
      REQUIRE(finish(connection, connection.close(), mode, completions, expected) ==
              netio::retcode::succeed);
      std::lock_guard guard{mutex};
      CHECK(problems.empty());
      CHECK(static_cast<int>(statuses.size()) == expected);
      for (auto status : statuses)
        CHECK(status == netio::retcode::succeed);
    }
  }
}
