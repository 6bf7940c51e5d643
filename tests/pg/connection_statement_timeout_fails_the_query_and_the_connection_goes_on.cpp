// The server's statement_timeout against a real PostgreSQL 15, in sync
// mode: `SET statement_timeout = 100; SELECT pg_sleep(5)` fails with ERROR
// 57014 (to the server-message callback and in the result), the SET's
// result is kept (and the SELECT's, described but without rows), and the
// connection runs the next query. `pg_sleep` here is the server-side work
// that the timeout stops, not a wait of the test's: nothing is synchronised
// on time.
// ctest-timeout: 60
#include "pg_server_support.hpp"

using namespace pg_server_test;

TEST_CASE("the statement timeout fails the query with 57014 and the connection goes on") {
  trust_session session;
  auto& connection = session.connection;
  std::vector<pg::server_message> messages;
  connection.set_server_message([&](pg::connection&, const pg::server_message& message) {
    messages.push_back(message);
  });
  session.connect();
  auto started = std::chrono::steady_clock::now();
  CHECK(connection.execute("SET statement_timeout = 100; SELECT pg_sleep(5)") ==
        netio::retcode::fail);
  CHECK(std::chrono::steady_clock::now() - started < 4s);
  auto failed = connection.take_result();
  REQUIRE(failed);
  // The SET's result, and the SELECT's: described (its RowDescription came
  // before it ran), no rows, no command tag.
  REQUIRE(failed->results.size() == 2);
  CHECK(failed->results[0].command() == "SET");
  CHECK(failed->results[1].described);
  CHECK(failed->results[1].row_count() == 0);
  CHECK(failed->results[1].command_tag.empty());
  REQUIRE(failed->error);
  CHECK(failed->error->sqlstate == "57014");
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].is_error);
  CHECK(messages[0].sqlstate == "57014");
  CHECK(messages[0].message == "canceling statement due to statement timeout");
  CHECK(connection.connected());

  messages.clear();
  REQUIRE(connection.execute("SELECT 1") == netio::retcode::succeed);
  CHECK(connection.take_result()->results.at(0).int64(0, 0) == 1);
  CHECK(messages.empty());
  REQUIRE(connection.close() == netio::retcode::succeed);
}
