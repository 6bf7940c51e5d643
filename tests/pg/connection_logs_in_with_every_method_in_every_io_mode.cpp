// pg::connection against a real PostgreSQL 15 (scripts/pg-server): in sync,
// deferred and async mode, each of the trust, cleartext password, MD5 and
// SCRAM-SHA-256 users connects over TCP and over the Unix socket, runs
// `SELECT 1`, and closes cleanly. Completions are counted exactly and come
// on the thread the mode prescribes (none in sync mode, the poll caller in
// deferred mode, the I/O worker in async mode); ParameterStatus and
// BackendKeyData are tracked.
// ctest-timeout: 180
#include "pg_server_support.hpp"

#include <thread>
#include <vector>

using namespace pg_server_test;

namespace {

struct completion_log {
  std::mutex mutex;
  std::vector<std::pair<netio::function_id, netio::retcode>> seen;
  std::vector<std::thread::id> threads;
  counter count;
};

/// Waits for the operation `started` in `mode` and returns its status.
netio::retcode finish(pg::connection& connection, netio::started_operation started,
                      netio::io_mode mode, completion_log& log, int& expected_completions) {
  if (mode == netio::io_mode::sync)
    return started.code;
  REQUIRE(started.code == netio::retcode::pending);
  ++expected_completions;
  if (mode == netio::io_mode::deferred) {
    auto polled = connection.poll(20s);
    REQUIRE(polled.code == netio::retcode::succeed);
    std::lock_guard guard{log.mutex};
    CHECK(log.threads.back() == std::this_thread::get_id());
    return polled.status;
  }
  REQUIRE(log.count.wait_for(expected_completions));
  std::lock_guard guard{log.mutex};
  CHECK(log.threads.back() == connection.io_thread());
  return log.seen.back().second;
}

} // namespace

TEST_CASE("pg connections log in with every method in every I/O mode, query and close") {
  throwaway_server server;
  engine_fixture fixture;
  struct user_case {
    const char* user;
    std::optional<std::string> password;
  };
  const user_case users[] = {{"trust_user", std::nullopt},
                             {"password_user", "password-secret"},
                             {"md5_user", "md5-secret"},
                             {"scram_user", "scram-secret"}};
  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    netio::context context{fixture.engine, {mode}};
    for (auto& each : users) {
      for (bool unix_socket : {false, true}) {
        CAPTURE(netio::to_string(mode));
        CAPTURE(each.user);
        CAPTURE(unix_socket);
        completion_log log;
        int expected = 0;
        std::vector<std::string> problems;
        pg::connection connection{context, server.options(each.user, each.password, unix_socket)};
        connection.set_completion([&](pg::connection&, netio::function_id function,
                                      netio::retcode status) {
          {
            std::lock_guard guard{log.mutex};
            log.seen.emplace_back(function, status);
            log.threads.push_back(std::this_thread::get_id());
          }
          log.count.add();
        });
        connection.set_client_message([&](pg::connection*, const netio::client_message& problem) {
          std::lock_guard guard{log.mutex};
          problems.push_back(problem.text);
          return netio::callback_result::succeed;
        });
        REQUIRE(finish(connection, connection.connect(), mode, log, expected) ==
                netio::retcode::succeed);
        CHECK(connection.connected());
        CHECK(connection.parameter("server_version").value_or("").starts_with("15"));
        CHECK(connection.parameter("client_encoding") == std::optional<std::string>{"UTF8"});
        CHECK(connection.backend_key().process_id > 0);

        REQUIRE(finish(connection, connection.execute("SELECT 1 AS one"), mode, log, expected) ==
                netio::retcode::succeed);
        auto answer = connection.take_result();
        REQUIRE(answer);
        REQUIRE(answer->results.size() == 1);
        CHECK(answer->results[0].int64(0, "one") == 1);
        CHECK(answer->results[0].command() == "SELECT");
        CHECK(answer->results[0].rows_affected() == std::optional<std::uint64_t>{1});
        CHECK(connection.transaction() == pg::transaction_status::idle);
        CHECK_FALSE(connection.take_result());

        REQUIRE(finish(connection, connection.close(), mode, log, expected) ==
                netio::retcode::succeed);
        CHECK_FALSE(connection.connected());
        CHECK_FALSE(connection.dead());
        std::lock_guard guard{log.mutex};
        CHECK(problems.empty());
        CHECK(static_cast<int>(log.seen.size()) == expected);
        if (mode != netio::io_mode::sync) {
          REQUIRE(log.seen.size() == 3);
          CHECK(log.seen[0].first == netio::function_id::connect);
          CHECK(log.seen[1].first == netio::function_id::execute);
          CHECK(log.seen[2].first == netio::function_id::close);
        }
      }
    }
  }
}
