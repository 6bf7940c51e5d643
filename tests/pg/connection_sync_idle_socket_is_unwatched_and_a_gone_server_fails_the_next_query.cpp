// Between its sync-mode queries an idle connection without asynchronous
// notifications leaves its socket unwatched, as libpq's does: against a
// real PostgreSQL 15, 100 `SELECT 1` on the calling thread change no
// socket's epoll interest (io_worker_stats::interest_changes; the borrow
// and the hand-back cost two epoll_ctl calls per query before). A NOTICE
// raised and a NOTIFY sent while it is idle reach their callbacks exactly
// once, on the caller, during the next query. When the server ends the idle
// session (pg_terminate_backend, waited for on the server), nothing reads
// it meanwhile: the connection is not dead yet; the next query fails at
// once with the server's FATAL and one client message, the connection is
// then dead, refuses the query after, and still closes. With asynchronous
// notifications turned on, the worker watches the idle socket again.
// ctest-timeout: 90
#include "pg_server_support.hpp"

#include <thread>

using namespace pg_server_test;

namespace {

std::uint64_t interest_changes(runtime::engine& engine) {
  std::uint64_t total = 0;
  for (auto& each : netio::io_worker_statistics(engine))
    total += each.interest_changes;
  return total;
}

} // namespace

TEST_CASE("an idle sync connection is unwatched; a gone server fails its next query") {
  trust_session session;
  auto& observer = session.connection;
  session.connect();
  auto caller = std::this_thread::get_id();

  pg::connection connection{session.context, session.server.options("trust_user", std::nullopt)};
  std::mutex mutex;
  std::vector<pg::server_message> messages;
  std::vector<std::thread::id> message_threads;
  std::vector<netio::client_message> problems;
  std::vector<pg::notification> notes;
  std::vector<std::thread::id> note_threads;
  counter notified;
  connection.set_server_message([&](pg::connection&, const pg::server_message& message) {
    std::lock_guard guard{mutex};
    messages.push_back(message);
    message_threads.push_back(std::this_thread::get_id());
  });
  connection.set_client_message([&](pg::connection*, const netio::client_message& problem) {
    std::lock_guard guard{mutex};
    problems.push_back(problem);
    return netio::callback_result::succeed;
  });
  connection.set_notification([&](pg::connection&, const pg::notification& note) {
    {
      std::lock_guard guard{mutex};
      notes.push_back(note);
      note_threads.push_back(std::this_thread::get_id());
    }
    notified.add();
  });
  require_connected(connection);
  REQUIRE(connection.execute("LISTEN jobs") == netio::retcode::succeed);
  REQUIRE(connection.take_result());
  // The observer's first query on the caller turns its watched socket's
  // interest off (the one change a connection makes); its later ones none.
  REQUIRE(observer.execute("SELECT 1") == netio::retcode::succeed);
  REQUIRE(observer.take_result());

  // A run of sync queries: no epoll_ctl for any of them.
  constexpr int queries = 100;
  auto before = interest_changes(session.fixture.engine);
  for (int index = 0; index < queries; ++index) {
    REQUIRE(connection.execute("SELECT " + std::to_string(index)) == netio::retcode::succeed);
    auto answer = connection.take_result();
    REQUIRE(answer);
    CHECK(answer->results.at(0).int64(0, 0) == index);
  }
  CHECK(interest_changes(session.fixture.engine) == before);

  // A NOTIFY while idle waits in the socket and comes with the next query,
  // on this thread; the query's own NOTICE too, in place.
  REQUIRE(observer.execute("NOTIFY jobs, 'while unwatched'") == netio::retcode::succeed);
  REQUIRE(observer.take_result());
  // Queries until it came (the server sends it while idle, or at the
  // latest before a query's ReadyForQuery once it is queued for this backend).
  std::size_t rounds = 0;
  while (rounds < 1000 && notified.value() < 1) {
    ++rounds;
    REQUIRE(connection.execute("DO $$ BEGIN RAISE NOTICE 'next query'; END $$") ==
            netio::retcode::succeed);
    REQUIRE(connection.take_result());
  }
  {
    std::lock_guard guard{mutex};
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].payload == "while unwatched");
    CHECK(note_threads[0] == caller);
    REQUIRE(messages.size() == rounds);
    for (std::size_t index = 0; index < rounds; ++index) {
      CHECK(messages[index].message == "next query");
      CHECK(message_threads[index] == caller);
    }
    messages.clear();
    CHECK(problems.empty());
  }
  CHECK(interest_changes(session.fixture.engine) == before);

  // The server ends the idle session; pg_terminate_backend with a timeout
  // returns once the backend has exited (its FATAL and FIN are sent).
  auto pid = connection.backend_key().process_id;
  REQUIRE(observer.execute("SELECT pg_terminate_backend(" + std::to_string(pid) + ", 20000)") ==
          netio::retcode::succeed);
  auto terminated = observer.take_result();
  REQUIRE(terminated);
  REQUIRE(terminated->results.size() == 1);
  REQUIRE(terminated->results[0].text(0, 0) == "t");
  // Nothing read it: found at the next call, as libpq finds it.
  CHECK_FALSE(connection.dead());
  CHECK(connection.execute("SELECT 1") == netio::retcode::fail);
  CHECK(connection.dead());
  {
    std::lock_guard guard{mutex};
    REQUIRE(problems.size() == 1);
    CAPTURE(problems[0].text);
    CHECK(problems[0].level == netio::severity::error);
    // The FATAL and the end of the stream were both there to read; should
    // the server's reset have come first, the read says so instead.
    CHECK((problems[0].text == "the server closed the connection" ||
           problems[0].text.find("failed") != std::string::npos));
    CHECK(messages.size() <= 1);
    for (std::size_t index = 0; index < messages.size(); ++index) {
      CHECK(messages[index].sqlstate == "57P01"); // terminating connection due to administrator command
      CHECK(message_threads[index] == caller);
    }
  }
  CHECK(connection.execute("SELECT 1") == netio::retcode::fail); // dead: refused
  REQUIRE(connection.close() == netio::retcode::succeed);
  CHECK_FALSE(connection.connected());
  {
    std::lock_guard guard{mutex};
    CHECK(problems.size() == 2); // the refusal of the dead connection
    CHECK(notified.value() == 1);
  }

  // Asynchronous notifications on: the worker watches the idle socket again.
  pg::connection listener{session.context, session.server.options("trust_user", std::nullopt)};
  std::thread::id note_thread;
  counter heard;
  listener.set_notification([&](pg::connection&, const pg::notification&) {
    note_thread = std::this_thread::get_id();
    heard.add();
  });
  require_connected(listener);
  for (const auto* sql : {"LISTEN jobs", "SELECT 1"}) {
    REQUIRE(listener.execute(sql) == netio::retcode::succeed);
    REQUIRE(listener.take_result());
  }
  listener.set_async_notifications(true);
  REQUIRE(observer.execute("NOTIFY jobs, 'watched'") == netio::retcode::succeed);
  REQUIRE(observer.take_result());
  REQUIRE(heard.wait_for(1));
  CHECK(note_thread == listener.io_thread());
  REQUIRE(listener.close() == netio::retcode::succeed);
  CHECK(heard.value() == 1);
  REQUIRE(observer.close() == netio::retcode::succeed);
}
