// A sync-mode query whose I/O runs on the calling thread still honours
// what other threads and the clock ask, against a real PostgreSQL 15:
// cancel() from another thread while the caller polls the socket sends the
// CancelRequest (the caller gives the socket back to the I/O worker), the
// query fails with 57014 and the next queries run on the caller again (no
// worker activity); the operation timeout reaches the client-message
// callback on the caller once per period (`succeed` waits one more, `fail`
// kills the connection); a server that ends the session mid-query
// (pg_terminate_backend) fails the query with its FATAL and leaves the
// connection dead, and it still closes. `pg_sleep` is server-side work,
// not a wait of the test's: the test synchronises on pg_stat_activity.
// ctest-timeout: 120
#include "pg_server_support.hpp"

#include <actorloop/netio/error.hpp>

#include <thread>

using namespace pg_server_test;

TEST_CASE("a caller-thread sync query gives the socket back for cancel, timeout and a closing "
          "server") {
  trust_session session;
  auto& server = session.server;
  auto& observer = session.connection;
  session.connect();
  auto caller = std::this_thread::get_id();

  SUBCASE("cancel from another thread") {
    pg::connection connection{session.context, server.options("trust_user", std::nullopt)};
    std::mutex mutex;
    std::vector<pg::server_message> messages;
    connection.set_server_message([&](pg::connection&, const pg::server_message& message) {
      std::lock_guard guard{mutex};
      messages.push_back(message);
    });
    require_connected(connection);
    REQUIRE(connection.execute("SELECT 1") == netio::retcode::succeed); // on the caller
    REQUIRE(connection.take_result());
    const std::string sleeper = "SELECT pg_sleep(30)";
    bool seen_active = false;
    netio::retcode canceled = netio::retcode::fail;
    std::thread canceller{[&] {
      seen_active = wait_until_active(observer, connection.backend_key().process_id, sleeper);
      canceled = connection.cancel();
    }};
    auto status = connection.execute(sleeper);
    canceller.join();
    REQUIRE(seen_active);
    CHECK(canceled == netio::retcode::succeed);
    CHECK(status == netio::retcode::fail);
    auto result = connection.take_result();
    REQUIRE(result);
    REQUIRE(result->error);
    CHECK(result->error->sqlstate == "57014");
    {
      std::lock_guard guard{mutex};
      REQUIRE(messages.size() == 1);
      CHECK(messages[0].sqlstate == "57014");
      messages.clear();
    }
    CHECK_FALSE(connection.dead());
    // The worker has sent the CancelRequest and gone idle: the next queries
    // run on this thread again. (The CancelRequest connection's own close
    // may still cost the worker an event or two.)
    constexpr int queries = 50;
    std::string before_breakdown;
    for (auto& each : netio::io_worker_statistics(session.fixture.engine))
      before_breakdown += each.name + ": readiness " + std::to_string(each.readiness_events) +
                          ", commands " + std::to_string(each.commands) + "; ";
    INFO("before: " << before_breakdown);
    auto before = worker_activity(session.fixture.engine);
    for (int index = 0; index < queries; ++index) {
      REQUIRE(connection.execute("SELECT 2") == netio::retcode::succeed);
      auto answer = connection.take_result();
      REQUIRE(answer);
      CHECK(answer->results.at(0).int64(0, 0) == 2);
    }
    std::string breakdown;
    for (auto& each : netio::io_worker_statistics(session.fixture.engine))
      breakdown += each.name + ": sockets " + std::to_string(each.sockets) + ", readiness " +
                   std::to_string(each.readiness_events) + ", commands " +
                   std::to_string(each.commands) + ", interest changes " +
                   std::to_string(each.interest_changes) + "; ";
    INFO("after: " << breakdown);
    CHECK(worker_activity(session.fixture.engine) - before < queries / 5);
    REQUIRE(connection.close() == netio::retcode::succeed);
    std::lock_guard guard{mutex};
    CHECK(messages.empty());
  }

  SUBCASE("the operation timeout") {
    netio::connection_options core;
    core.timeout = std::chrono::milliseconds(200);
    pg::connection connection{session.context, server.options("trust_user", std::nullopt), core};
    std::vector<netio::client_message> timeouts;
    std::vector<std::thread::id> threads;
    connection.set_client_message([&](pg::connection*, const netio::client_message& problem) {
      timeouts.push_back(problem);
      threads.push_back(std::this_thread::get_id());
      // The first period passes: wait one more; the second: give up.
      return timeouts.size() == 1 ? netio::callback_result::succeed : netio::callback_result::fail;
    });
    require_connected(connection);
    REQUIRE(connection.execute("SELECT 1") == netio::retcode::succeed);
    REQUIRE(connection.take_result());
    CHECK(connection.execute("SELECT pg_sleep(5)") == netio::retcode::fail);
    REQUIRE(timeouts.size() == 2);
    for (std::size_t index = 0; index < timeouts.size(); ++index) {
      CHECK(timeouts[index].code == netio::errc::timed_out);
      CHECK(threads[index] == caller);
    }
    CHECK(connection.dead());
    CHECK(connection.execute("SELECT 1") == netio::retcode::fail); // dead
    (void)connection.close();
    CHECK_FALSE(connection.connected());
  }

  SUBCASE("the server ends the session mid-query") {
    pg::connection connection{session.context, server.options("trust_user", std::nullopt)};
    std::vector<pg::server_message> messages;
    std::vector<std::thread::id> message_threads;
    std::vector<netio::client_message> problems;
    connection.set_server_message([&](pg::connection&, const pg::server_message& message) {
      messages.push_back(message);
      message_threads.push_back(std::this_thread::get_id());
    });
    connection.set_client_message([&](pg::connection*, const netio::client_message& problem) {
      problems.push_back(problem);
      return netio::callback_result::succeed;
    });
    require_connected(connection);
    REQUIRE(connection.execute("SELECT 1") == netio::retcode::succeed);
    REQUIRE(connection.take_result());
    CHECK(connection.execute("SELECT pg_terminate_backend(pg_backend_pid())") ==
          netio::retcode::fail);
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].sqlstate == "57P01"); // terminating connection due to administrator command
    CHECK(message_threads[0] == caller);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].text == "the server closed the connection");
    CHECK(connection.dead());
    CHECK(connection.execute("SELECT 1") == netio::retcode::fail);
    REQUIRE(connection.close() == netio::retcode::succeed);
    CHECK_FALSE(connection.connected());
    // The server goes on serving others.
    REQUIRE(observer.execute("SELECT 1") == netio::retcode::succeed);
    REQUIRE(observer.take_result());
  }

  REQUIRE(observer.close() == netio::retcode::succeed);
}
