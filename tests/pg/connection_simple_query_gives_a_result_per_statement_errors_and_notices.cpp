// The simple query protocol against a real PostgreSQL 15 (sync mode):
// several statements give several results with command tags, rows affected
// and typed access (clear errors for NULL, a wrong type, an unknown column);
// an error in the middle of a batch fails the completion, keeps the results
// before it and reaches the server-message callback with its fields;
// notices arrive with every field; ReadyForQuery's transaction status is
// tracked.
// ctest-timeout: 90
#include "pg_server_support.hpp"

#include <actorloop/pg/error.hpp>

using namespace pg_server_test;

namespace {

pg::errc code_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const pg::error& thrown) {
    return static_cast<pg::errc>(thrown.code().value());
  }
  FAIL("no pg::error thrown");
  return pg::errc::invalid_argument;
}

} // namespace

TEST_CASE("a simple query gives one result per statement, errors and notices") {
  trust_session session;
  auto& connection = session.connection;
  std::vector<pg::server_message> messages;
  connection.set_server_message([&](pg::connection&, const pg::server_message& message) {
    messages.push_back(message);
  });
  session.connect();

  REQUIRE(connection.execute(
            "CREATE TEMP TABLE t(id int8, name text, ok bool, x float8);"
            "INSERT INTO t VALUES (1, 'a', true, 1.5), (2, NULL, false, 2.5);"
            "SELECT id, name, ok, x FROM t ORDER BY id;"
            "UPDATE t SET ok = true") == netio::retcode::succeed);
  auto batch = connection.take_result();
  REQUIRE(batch);
  CHECK_FALSE(batch->error);
  REQUIRE(batch->results.size() == 4);
  CHECK(batch->results[0].command() == "CREATE TABLE");
  CHECK_FALSE(batch->results[0].described);
  CHECK(batch->results[1].command() == "INSERT");
  CHECK(batch->results[1].rows_affected() == std::optional<std::uint64_t>{2});
  auto& rows = batch->results[2];
  REQUIRE(rows.described);
  REQUIRE(rows.row_count() == 2);
  REQUIRE(rows.column_count() == 4);
  CHECK(rows.int64(0, "id") == 1);
  CHECK(rows.int64(1, 0) == 2);
  CHECK(rows.text(0, "name") == "a");
  CHECK(rows.is_null(1, "name"));
  CHECK(rows.boolean(0, "ok"));
  CHECK_FALSE(rows.boolean(1, "ok"));
  CHECK(rows.float64(1, "x") == 2.5);
  CHECK(code_of([&] { (void)rows.text(1, "name"); }) == pg::errc::null_value);
  CHECK(code_of([&] { (void)rows.int64(0, "name"); }) == pg::errc::wrong_type);
  CHECK(code_of([&] { (void)rows.boolean(0, "id"); }) == pg::errc::wrong_type);
  CHECK(code_of([&] { (void)rows.column("missing"); }) == pg::errc::invalid_argument);
  CHECK(code_of([&] { (void)rows.text(2, 0); }) == pg::errc::invalid_argument);
  CHECK(batch->results[3].command() == "UPDATE");
  CHECK(batch->results[3].rows_affected() == std::optional<std::uint64_t>{2});
  CHECK(messages.empty());

  // An error in the middle: the statements before it ran, those after did not.
  CHECK(connection.execute("SELECT 1; SELECT 1/0; SELECT 3") == netio::retcode::fail);
  auto failed = connection.take_result();
  REQUIRE(failed);
  REQUIRE(failed->results.size() == 1);
  CHECK(failed->results[0].int64(0, 0) == 1);
  REQUIRE(failed->error);
  CHECK(failed->error->sqlstate == "22012");
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].is_error);
  CHECK(messages[0].severity_nonlocalized == "ERROR");
  CHECK(messages[0].sqlstate == "22012");
  CHECK(messages[0].message == "division by zero");
  CHECK_FALSE(messages[0].file.empty());
  CHECK_FALSE(messages[0].line.empty());
  CHECK_FALSE(messages[0].routine.empty());
  CHECK(connection.connected());

  // A notice with detail and hint; it does not fail the query.
  messages.clear();
  REQUIRE(connection.execute("DO $$BEGIN RAISE NOTICE 'hello %', 42 USING DETAIL = 'the detail', "
                             "HINT = 'the hint'; END$$") == netio::retcode::succeed);
  REQUIRE(connection.take_result());
  REQUIRE(messages.size() == 1);
  CHECK_FALSE(messages[0].is_error);
  CHECK(messages[0].severity_nonlocalized == "NOTICE");
  CHECK(messages[0].sqlstate == "00000");
  CHECK(messages[0].message == "hello 42");
  CHECK(messages[0].detail == "the detail");
  CHECK(messages[0].hint == "the hint");
  CHECK_FALSE(messages[0].where.empty());

  // The transaction status from ReadyForQuery.
  messages.clear();
  REQUIRE(connection.execute("BEGIN") == netio::retcode::succeed);
  CHECK(connection.take_result()->status == pg::transaction_status::in_transaction);
  CHECK(connection.transaction() == pg::transaction_status::in_transaction);
  CHECK(connection.execute("SELECT missing_column FROM t") == netio::retcode::fail);
  CHECK(connection.take_result()->status == pg::transaction_status::failed);
  CHECK(connection.transaction() == pg::transaction_status::failed);
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].sqlstate == "42703");
  CHECK_FALSE(messages[0].position.empty());
  REQUIRE(connection.execute("ROLLBACK") == netio::retcode::succeed);
  CHECK(connection.take_result()->results.at(0).command() == "ROLLBACK");
  CHECK(connection.transaction() == pg::transaction_status::idle);

  REQUIRE(connection.close() == netio::retcode::succeed);
  CHECK_FALSE(connection.connected());
}
