// LISTEN/NOTIFY against a real PostgreSQL 15: an async-mode connection with
// asynchronous notifications LISTENs and then sits idle; a second
// connection NOTIFYs 20 times. Each NotificationResponse reaches the
// notification callback on the listener's I/O worker, exactly once, in
// order, with channel, payload and the notifier's process id. Both close
// cleanly.
// ctest-timeout: 90
#include "pg_server_support.hpp"

#include <thread>

using namespace pg_server_test;

TEST_CASE("notifications reach an idle async connection exactly once each") {
  throwaway_server server;
  engine_fixture fixture;
  netio::context async_context{fixture.engine, {netio::io_mode::async}};
  netio::context sync_context{fixture.engine};
  netio::connection_options core;
  core.async_notifications = true;
  pg::connection listener{async_context, server.options("trust_user", std::nullopt), core};
  std::mutex mutex;
  std::vector<pg::notification> received;
  std::vector<std::thread::id> threads;
  std::vector<netio::retcode> completions;
  counter notified;
  counter completed;
  listener.set_notification([&](pg::connection&, const pg::notification& note) {
    {
      std::lock_guard guard{mutex};
      received.push_back(note);
      threads.push_back(std::this_thread::get_id());
    }
    notified.add();
  });
  listener.set_completion([&](pg::connection&, netio::function_id, netio::retcode status) {
    {
      std::lock_guard guard{mutex};
      completions.push_back(status);
    }
    completed.add();
  });
  REQUIRE(listener.connect() == netio::retcode::pending);
  REQUIRE(completed.wait_for(1));
  REQUIRE(listener.execute("LISTEN jobs") == netio::retcode::pending);
  REQUIRE(completed.wait_for(2));
  (void)listener.take_result();

  pg::connection notifier{sync_context, server.options("trust_user", std::nullopt)};
  require_connected(notifier);
  constexpr int count = 20;
  for (int index = 0; index < count; ++index) {
    REQUIRE(notifier.execute("NOTIFY jobs, 'job " + std::to_string(index) + "'") ==
            netio::retcode::succeed);
    (void)notifier.take_result();
  }
  // The listener is idle: nothing of its own runs, the notifications come anyway.
  REQUIRE(notified.wait_for(count));
  // A round trip on the listener: anything sent before would have arrived
  // before its ReadyForQuery, so the count below is exact.
  REQUIRE(listener.execute("SELECT 1") == netio::retcode::pending);
  REQUIRE(completed.wait_for(3));
  {
    std::lock_guard guard{mutex};
    REQUIRE(received.size() == count);
    for (int index = 0; index < count; ++index) {
      CHECK(received[index].channel == "jobs");
      CHECK(received[index].payload == "job " + std::to_string(index));
      CHECK(received[index].process_id == notifier.backend_key().process_id);
      CHECK(threads[index] == listener.io_thread());
    }
  }
  REQUIRE(notifier.close() == netio::retcode::succeed);
  REQUIRE(listener.close() == netio::retcode::pending);
  REQUIRE(completed.wait_for(4));
  std::lock_guard guard{mutex};
  CHECK(completions == std::vector<netio::retcode>(4, netio::retcode::succeed));
  CHECK(notified.value() == count);
  CHECK_FALSE(listener.connected());
}
