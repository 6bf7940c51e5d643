// cancel() against a real PostgreSQL 15: `SELECT pg_sleep(30)` runs (seen
// as active in pg_stat_activity from a second connection), cancel() sends
// the CancelRequest on its own connection; the query fails with the
// server's ERROR 57014 (server-message callback and the result's error),
// the execute completes with fail, and the next `SELECT 1` works. In sync
// mode the cancel comes from another thread while the caller blocks; in
// async mode the completion comes on the I/O worker. `pg_sleep` is the
// server-side work being cancelled, not a wait of the test's: the test
// synchronises on pg_stat_activity, never on time.
// ctest-timeout: 120
#include "pg_server_support.hpp"

#include <chrono>
#include <thread>

using namespace pg_server_test;

namespace {

void check_canceled(const std::optional<pg::query_result>& result,
                    const std::vector<pg::server_message>& messages) {
  REQUIRE(result);
  REQUIRE(result->error);
  CHECK(result->error->sqlstate == "57014");
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].is_error);
  CHECK(messages[0].sqlstate == "57014");
  CHECK(messages[0].message == "canceling statement due to user request");
}

} // namespace

TEST_CASE("cancel stops a running query with 57014 and the connection goes on") {
  trust_session session;
  auto& server = session.server;
  auto& fixture = session.fixture;
  auto& sync_context = session.context;
  auto& observer = session.connection;
  session.connect();

  SUBCASE("sync mode, cancel from another thread") {
    pg::connection connection{sync_context, server.options("trust_user", std::nullopt)};
    std::mutex mutex;
    std::vector<pg::server_message> messages;
    connection.set_server_message([&](pg::connection&, const pg::server_message& message) {
      std::lock_guard guard{mutex};
      messages.push_back(message);
    });
    REQUIRE(connection.connect() == netio::retcode::succeed);
    // Nothing running: nothing to send, and nothing breaks.
    CHECK(connection.cancel() == netio::retcode::succeed);
    auto pid = connection.backend_key().process_id;
    bool seen_active = false;
    netio::retcode canceled = netio::retcode::fail;
    std::thread canceller{[&] {
      seen_active = wait_until_active(observer, pid);
      canceled = connection.cancel();
    }};
    auto started = std::chrono::steady_clock::now();
    auto status = connection.execute("SELECT pg_sleep(30)");
    canceller.join();
    REQUIRE(seen_active);
    CHECK(canceled == netio::retcode::succeed);
    CHECK(status == netio::retcode::fail);
    CHECK(std::chrono::steady_clock::now() - started < 25s);
    {
      std::lock_guard guard{mutex};
      check_canceled(connection.take_result(), messages);
      messages.clear();
    }
    CHECK(connection.connected());
    CHECK_FALSE(connection.dead());
    REQUIRE(connection.execute("SELECT 1") == netio::retcode::succeed);
    auto next = connection.take_result();
    REQUIRE(next);
    CHECK(next->results.at(0).int64(0, 0) == 1);
    CHECK(messages.empty());
    REQUIRE(connection.close() == netio::retcode::succeed);
  }

  SUBCASE("async mode") {
    netio::context async_context{fixture.engine, {netio::io_mode::async}};
    pg::connection connection{async_context, server.options("trust_user", std::nullopt)};
    std::mutex mutex;
    std::vector<pg::server_message> messages;
    std::vector<netio::retcode> completions;
    std::vector<std::thread::id> threads;
    counter completed;
    connection.set_server_message([&](pg::connection&, const pg::server_message& message) {
      std::lock_guard guard{mutex};
      messages.push_back(message);
    });
    connection.set_completion([&](pg::connection&, netio::function_id, netio::retcode status) {
      {
        std::lock_guard guard{mutex};
        completions.push_back(status);
        threads.push_back(std::this_thread::get_id());
      }
      completed.add();
    });
    REQUIRE(connection.connect() == netio::retcode::pending);
    REQUIRE(completed.wait_for(1));
    auto started = std::chrono::steady_clock::now();
    REQUIRE(connection.execute("SELECT pg_sleep(30)") == netio::retcode::pending);
    REQUIRE(wait_until_active(observer, connection.backend_key().process_id));
    CHECK(connection.cancel() == netio::retcode::succeed);
    REQUIRE(completed.wait_for(2));
    CHECK(std::chrono::steady_clock::now() - started < 25s);
    {
      std::lock_guard guard{mutex};
      CHECK(completions.at(1) == netio::retcode::fail);
      CHECK(threads.at(1) == connection.io_thread());
      check_canceled(connection.take_result(), messages);
      messages.clear();
    }
    CHECK(connection.connected());
    REQUIRE(connection.execute("SELECT 1") == netio::retcode::pending);
    REQUIRE(completed.wait_for(3));
    auto next = connection.take_result();
    REQUIRE(next);
    CHECK_FALSE(next->error);
    CHECK(next->results.at(0).int64(0, 0) == 1);
    REQUIRE(connection.close() == netio::retcode::pending);
    REQUIRE(completed.wait_for(4));
    std::lock_guard guard{mutex};
    CHECK(completions == std::vector<netio::retcode>{netio::retcode::succeed,
                                                     netio::retcode::fail,
                                                     netio::retcode::succeed,
                                                     netio::retcode::succeed});
    CHECK(messages.empty());
  }

  REQUIRE(observer.close() == netio::retcode::succeed);
}
