// A sync-mode simple query on an idle connection does its I/O on the
// calling thread, as libpq's PQexec does: against a real PostgreSQL 15,
// 100 `SELECT 1` in a row leave the I/O workers' readiness-event and
// command counts unchanged (the worker path costs at least one of each per
// query), every answer is right, and a NOTICE raised by a query reaches the
// server-message callback on the caller. After them the socket is the
// worker's again: a NOTIFY sent while the connection is idle, with
// asynchronous notifications on, reaches the notification callback on the
// I/O worker, and one sent with them off is delivered on the caller during
// the next query. It closes cleanly.
// ctest-timeout: 90
#include "pg_server_support.hpp"

#include <thread>

using namespace pg_server_test;

TEST_CASE("a sync query does its I/O on the calling thread and gives the socket back") {
  trust_session session;
  auto& connection = session.connection;
  std::mutex mutex;
  std::vector<pg::server_message> notices;
  std::vector<std::thread::id> notice_threads;
  std::vector<pg::notification> notes;
  std::vector<std::thread::id> note_threads;
  counter notified;
  connection.set_server_message([&](pg::connection&, const pg::server_message& message) {
    std::lock_guard guard{mutex};
    notices.push_back(message);
    notice_threads.push_back(std::this_thread::get_id());
  });
  connection.set_notification([&](pg::connection&, const pg::notification& note) {
    {
      std::lock_guard guard{mutex};
      notes.push_back(note);
      note_threads.push_back(std::this_thread::get_id());
    }
    notified.add();
  });
  session.connect();
  REQUIRE(connection.execute("LISTEN jobs") == netio::retcode::succeed);
  REQUIRE(connection.take_result());

  constexpr int queries = 100;
  auto before = worker_activity(session.fixture.engine);
  for (int index = 0; index < queries; ++index) {
    REQUIRE(connection.execute("SELECT " + std::to_string(index)) == netio::retcode::succeed);
    auto answer = connection.take_result();
    REQUIRE(answer);
    REQUIRE(answer->results.size() == 1);
    CHECK(answer->results[0].int64(0, 0) == index);
  }
  REQUIRE(connection.execute("DO $$ BEGIN RAISE NOTICE 'from the caller'; END $$") ==
          netio::retcode::succeed);
  REQUIRE(connection.take_result());
  auto after = worker_activity(session.fixture.engine);
  // Nothing else uses this engine's workers meanwhile; the worker path
  // would have run a command and handled a readiness event per query.
  CHECK(after - before < queries / 10);
  {
    std::lock_guard guard{mutex};
    REQUIRE(notices.size() == 1);
    CHECK(notices[0].message == "from the caller");
    CHECK(notice_threads[0] == std::this_thread::get_id());
  }

  pg::connection notifier{session.context, session.server.options("trust_user", std::nullopt)};
  require_connected(notifier);

  // Idle, asynchronous notifications on: the worker reads the socket again.
  connection.set_async_notifications(true);
  REQUIRE(notifier.execute("NOTIFY jobs, 'while idle'") == netio::retcode::succeed);
  REQUIRE(notified.wait_for(1));
  {
    std::lock_guard guard{mutex};
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].payload == "while idle");
    CHECK(note_threads[0] == connection.io_thread());
  }

  // Off again: the next one waits for a query of this connection and runs
  // on its caller. Queries until it came (the server sends it at the latest
  // before a query's ReadyForQuery once it is queued for this backend).
  connection.set_async_notifications(false);
  REQUIRE(notifier.execute("NOTIFY jobs, 'for the next query'") == netio::retcode::succeed);
  for (int round = 0; round < 1000 && notified.value() < 2; ++round) {
    REQUIRE(connection.execute("SELECT 1") == netio::retcode::succeed);
    REQUIRE(connection.take_result());
  }
  {
    std::lock_guard guard{mutex};
    REQUIRE(notes.size() == 2);
    CHECK(notes[1].payload == "for the next query");
    CHECK(note_threads[1] == std::this_thread::get_id());
  }

  REQUIRE(notifier.close() == netio::retcode::succeed);
  REQUIRE(connection.close() == netio::retcode::succeed);
  CHECK_FALSE(connection.connected());
  CHECK_FALSE(connection.dead());
  std::lock_guard guard{mutex};
  CHECK(notices.size() == 1);
  CHECK(notified.value() == 2);
}
