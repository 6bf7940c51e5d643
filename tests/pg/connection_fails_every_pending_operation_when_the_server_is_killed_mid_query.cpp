// A PostgreSQL 15 server killed in the middle of a query (`pg_ctl stop -m
// immediate`, as a crash ends every backend): in sync, deferred and async
// mode, the running `SELECT pg_sleep(30)` (seen active in pg_stat_activity
// before the kill) completes at once with fail, a client message says the
// connection was lost, and the connection is dead; a second, idle
// connection fails its next query instead of waiting; closing both
// completes. After the server restarts on the same port a new connection
// logs in and answers `SELECT 1`. `pg_sleep` is the server-side work that
// the kill interrupts, not a wait of the test's: the test synchronises on
// pg_stat_activity and on the completions, never on time.
// ctest-timeout: 240
#include "pg_server_support.hpp"

#include <chrono>
#include <thread>
#include <vector>

using namespace pg_server_test;

namespace {

/// Connects an observer of its own and waits with it (asking the server, no
/// sleeping) until the backend `pid` runs `SELECT pg_sleep`.
bool observe_active(const throwaway_server& server, netio::context& context,
                    std::int32_t pid) {
  pg::connection observer{context, server.options("trust_user", std::nullopt)};
  if (observer.connect() != netio::retcode::succeed)
    return false;
  return pg_server_test::wait_until_active(observer, pid) &&
         observer.close() == netio::retcode::succeed;
}

/// What one connection's callbacks saw.
struct observed {
  std::mutex mutex;
  std::vector<netio::client_message> problems;
  std::vector<pg::server_message> messages;
  std::vector<std::pair<netio::function_id, netio::retcode>> completions;
  std::vector<std::thread::id> completion_threads;
  counter completed;

  void watch(pg::connection& connection) {
    connection.set_client_message([this](pg::connection*, const netio::client_message& problem) {
      std::lock_guard guard{mutex};
      problems.push_back(problem);
      return netio::callback_result::succeed;
    });
    connection.set_server_message([this](pg::connection&, const pg::server_message& message) {
      std::lock_guard guard{mutex};
      messages.push_back(message);
    });
    connection.set_completion(
      [this](pg::connection&, netio::function_id function, netio::retcode status) {
        {
          std::lock_guard guard{mutex};
          completions.emplace_back(function, status);
          completion_threads.push_back(std::this_thread::get_id());
        }
        completed.add();
      });
  }
};

/// Waits for the `count`th completion of a deferred or async connection
/// and returns it (and counts it in `count`); a sync connection's status is
/// `started`'s own, and so is that of an operation refused at once (a dead
/// connection refuses without a completion).
std::pair<netio::function_id, netio::retcode>
finish(pg::connection& connection, netio::started_operation started, netio::io_mode mode,
       observed& seen, int& count) {
  if (mode == netio::io_mode::sync || started.code == netio::retcode::fail)
    return {netio::function_id::execute, started.code};
  REQUIRE(started.code == netio::retcode::pending);
  ++count;
  if (mode == netio::io_mode::deferred) {
    auto polled = connection.poll(30s);
    REQUIRE(polled.code == netio::retcode::succeed);
    return {polled.function, polled.status};
  }
  REQUIRE(seen.completed.wait_for(count, 30s));
  std::lock_guard guard{seen.mutex};
  REQUIRE(seen.completions.size() == static_cast<std::size_t>(count));
  CHECK(seen.completion_threads.back() == connection.io_thread());
  return seen.completions.back();
}

/// How many "dead" refusals a connection's report may hold.
enum class refusals { none, one, at_most_one };

/// The lost-connection report: one error client message saying that the
/// server closed the connection, plus the refusals `expected` of queries
/// the dead connection refused; the only server message allowed is the
/// backend's own notice that it is being terminated (57P01). In sync and
/// deferred mode the idle connection's loss is reported at its next call
/// that runs its events (the close), so the order is not checked.
void check_lost(observed& seen, refusals expected) {
  std::lock_guard guard{seen.mutex};
  int closed = 0;
  int refused = 0;
  for (auto& problem : seen.problems) {
    CAPTURE(problem.text);
    CHECK(problem.level == netio::severity::error);
    if (problem.text.find("closed the connection") != std::string::npos)
      ++closed;
    else if (problem.text.find("dead") != std::string::npos)
      ++refused;
    else
      FAIL_CHECK("unexpected client message");
  }
  CHECK(closed == 1);
  if (expected == refusals::at_most_one)
    CHECK(refused <= 1);
  else
    CHECK(refused == (expected == refusals::one ? 1 : 0));
  CHECK(seen.messages.size() <= 1);
  for (auto& message : seen.messages)
    CHECK(message.sqlstate == "57P01"); // admin_shutdown: "terminating connection due to ..."
}

} // namespace

TEST_CASE("a server killed mid-query fails every pending operation; a restarted one serves") {
  throwaway_server server;
  engine_fixture fixture;
  netio::context observer_context{fixture.engine};
  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    netio::context context{fixture.engine, {mode}};
    observed busy_seen;
    observed idle_seen;
    auto options = server.options("trust_user", std::nullopt);
    auto busy = std::make_unique<pg::connection>(context, options);
    auto idle = std::make_unique<pg::connection>(context, options);
    busy_seen.watch(*busy);
    idle_seen.watch(*idle);
    int busy_count = 0;
    int idle_count = 0;
    REQUIRE(finish(*busy, busy->connect(), mode, busy_seen, busy_count).second ==
            netio::retcode::succeed);
    REQUIRE(finish(*idle, idle->connect(), mode, idle_seen, idle_count).second ==
            netio::retcode::succeed);

    // The kill comes from another thread once the query runs on the server
    // (in sync mode this thread is blocked in execute meanwhile).
    auto pid = busy->backend_key().process_id;
    bool seen_active = false;
    std::thread killer{[&] {
      seen_active = observe_active(server, observer_context, pid);
      server.kill_immediately();
    }};
    auto started_at = std::chrono::steady_clock::now();
    auto query = finish(*busy, busy->execute("SELECT pg_sleep(30)"), mode, busy_seen,
                        busy_count);
    killer.join();
    REQUIRE(seen_active);
    CHECK(std::chrono::steady_clock::now() - started_at < 25s); // not the sleep's end
    CHECK(query.first == netio::function_id::execute);
    CHECK(query.second == netio::retcode::fail);
    CHECK(busy->dead());
    CHECK_FALSE(busy->connected());
    check_lost(busy_seen, refusals::none);
    auto lost = busy->take_result();
    if (lost)
      CHECK_FALSE(lost->error); // no server error: the connection ended it

    // The idle connection learns of it at its next query, which fails
    // rather than waits. Either the worker has read the server's goodbye
    // and the end of the stream already, and the dead connection refuses
    // the query at once (a "dead" client message, no completion), or the
    // query goes out and fails when its read finds the stream closed (no
    // refusal). Both are right; which one happens depends on how soon the
    // worker runs after the kill (under TSan and load it can be later
    // than this thread). A sync call returns fail either way, so there
    // the report may hold one refusal or none.
    auto next_started = idle->execute("SELECT 1");
    auto idle_refusals = mode == netio::io_mode::sync ? refusals::at_most_one
                         : next_started.code == netio::retcode::fail ? refusals::one
                                                                     : refusals::none;
    auto next = finish(*idle, next_started, mode, idle_seen, idle_count);
    CHECK(next.second == netio::retcode::fail);
    CHECK(idle->dead());

    // Closing a dead connection completes too.
    for (auto* each : {busy.get(), idle.get()}) {
      auto& seen = each == busy.get() ? busy_seen : idle_seen;
      int& count = each == busy.get() ? busy_count : idle_count;
      auto closed = finish(*each, each->close(), mode, seen, count);
      CHECK(closed.first == (mode == netio::io_mode::sync ? netio::function_id::execute
                                                          : netio::function_id::close));
    }
    check_lost(idle_seen, idle_refusals);
    busy.reset();
    idle.reset();
    {
      std::lock_guard guard{busy_seen.mutex};
      CHECK(busy_seen.completions.size() ==
            (mode == netio::io_mode::sync ? 0u : static_cast<std::size_t>(busy_count)));
    }

    // The same port again: a new connection works.
    server.restart();
    observed fresh_seen;
    pg::connection fresh{context, server.options("trust_user", std::nullopt)};
    fresh_seen.watch(fresh);
    int fresh_count = 0;
    REQUIRE(finish(fresh, fresh.connect(), mode, fresh_seen, fresh_count).second ==
            netio::retcode::succeed);
    REQUIRE(finish(fresh, fresh.execute("SELECT 1"), mode, fresh_seen, fresh_count).second ==
            netio::retcode::succeed);
    auto answer = fresh.take_result();
    REQUIRE(answer);
    REQUIRE(answer->results.size() == 1);
    CHECK(answer->results[0].int64(0, 0) == 1);
    CHECK(finish(fresh, fresh.close(), mode, fresh_seen, fresh_count).second ==
          netio::retcode::succeed);
    std::lock_guard guard{fresh_seen.mutex};
    CHECK(fresh_seen.problems.empty());
  }
}
