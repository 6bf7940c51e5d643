// A sync-mode simple query whose I/O runs on the calling thread delivers its
// NoticeResponses and its completion in place, without queued events:
// against a real PostgreSQL 15, each of 50 queries raising three NOTICEs
// reaches the server-message callback exactly three times, on the calling
// thread, in the order raised and before the query's result is filed (a
// take_result inside the callback finds nothing), and the query's rows are
// right. A query that raises a NOTICE and then an error gives both, the
// NOTICE first. A server-message callback that throws becomes a client
// message ("a callback threw") and the query still succeeds. The I/O
// workers stay idle throughout (the caller path was taken), and the
// connection closes cleanly.
// ctest-timeout: 90
#include "pg_server_support.hpp"

#include <stdexcept>
#include <thread>
#include <utility>

using namespace pg_server_test;

TEST_CASE("a sync query on the caller delivers its notices and completion in place") {
  trust_session session;
  auto& connection = session.connection;
  // Written and read on this thread only: every callback here must run on it.
  std::vector<std::string> notices;
  int off_thread = 0;
  int results_seen_inside = 0;
  bool throw_next = false;
  std::vector<std::string> client_messages;
  auto caller = std::this_thread::get_id();
  connection.set_server_message([&](pg::connection& where, const pg::server_message& message) {
    if (std::this_thread::get_id() != caller) {
      ++off_thread;
      return;
    }
    notices.push_back(message.severity + ":" + message.message);
    if (where.take_result())
      ++results_seen_inside;
    if (std::exchange(throw_next, false))
      throw std::runtime_error("notice refused");
  });
  connection.set_client_message([&](pg::connection*, const netio::client_message& problem) {
    if (std::this_thread::get_id() == caller)
      client_messages.push_back(problem.text);
    else
      ++off_thread;
    return netio::callback_result::succeed;
  });
  session.connect();

  constexpr int queries = 50;
  const std::string raising =
    "DO $$ BEGIN RAISE NOTICE 'one'; RAISE NOTICE 'two'; RAISE NOTICE 'three'; END $$; SELECT 7";
  auto before = worker_activity(session.fixture.engine);
  for (int index = 0; index < queries; ++index) {
    REQUIRE(connection.execute(raising) == netio::retcode::succeed);
    REQUIRE(notices.size() == 3);
    CHECK(notices[0] == "NOTICE:one");
    CHECK(notices[1] == "NOTICE:two");
    CHECK(notices[2] == "NOTICE:three");
    notices.clear();
    auto answer = connection.take_result();
    REQUIRE(answer);
    REQUIRE(answer->results.size() == 2);
    CHECK(answer->results[1].int64(0, 0) == 7);
    CHECK_FALSE(answer->error);
    CHECK_FALSE(connection.take_result());
  }
  auto after = worker_activity(session.fixture.engine);
  // The worker path costs a command and a readiness event per query.
  CHECK(after - before < queries / 10);
  CHECK(results_seen_inside == 0);

  // A notice, then an error: both, in that order; the query fails.
  CHECK(connection.execute("DO $$ BEGIN RAISE NOTICE 'before'; "
                           "RAISE EXCEPTION 'broken'; END $$") == netio::retcode::fail);
  REQUIRE(notices.size() == 2);
  CHECK(notices[0] == "NOTICE:before");
  CHECK(notices[1] == "ERROR:broken");
  notices.clear();
  auto failed = connection.take_result();
  REQUIRE(failed);
  REQUIRE(failed->error);
  CHECK(failed->error->message == "broken");

  // A callback that throws: a client message on the caller, the query goes on.
  throw_next = true;
  REQUIRE(connection.execute("DO $$ BEGIN RAISE NOTICE 'thrown at'; END $$; SELECT 8") ==
          netio::retcode::succeed);
  REQUIRE(notices.size() == 1);
  REQUIRE(client_messages.size() == 1);
  CHECK(client_messages[0].find("a callback threw: notice refused") != std::string::npos);
  auto after_throw = connection.take_result();
  REQUIRE(after_throw);
  REQUIRE(after_throw->results.size() == 2);
  CHECK(after_throw->results[1].int64(0, 0) == 8);
  CHECK_FALSE(connection.dead());

  REQUIRE(connection.close() == netio::retcode::succeed);
  CHECK_FALSE(connection.connected());
  CHECK_FALSE(connection.dead());
  CHECK(notices.size() == 1);
  CHECK(client_messages.size() == 1);
  CHECK(off_thread == 0);
  CHECK(results_seen_inside == 0);
}
