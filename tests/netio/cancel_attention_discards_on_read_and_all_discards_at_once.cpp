// Client-Library: cancel(attention) asks the server to stop and
// discards the canceled request's rows as they are read (its completion
// still arrives, canceled, without rows); cancel(all) throws away at once
// every result the connection holds. The connection stays usable.
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("attention: the running request ends canceled, its rows are dropped") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::deferred}};
  netio::connection connection{context};
  connect_or_fail(connection, fixture.address());
  REQUIRE(connection.execute({"SLEEP", "60000"}) == netio::retcode::pending);
  CHECK(connection.cancel(netio::cancel_kind::attention) == netio::retcode::succeed);
  auto done = connection.poll(20s);
  REQUIRE(done.code == netio::retcode::succeed);
  CHECK(done.status == netio::retcode::canceled);
  auto canceled = connection.take_result();
  REQUIRE(canceled);
  CHECK(canceled->rows.empty());
  CHECK(canceled->outcome.status == netio::completion_status::canceled);
  // Rows already on their way for a canceled request are discarded on read.
  REQUIRE(connection.execute({"ROWS", "2000"}) == netio::retcode::pending);
  CHECK(connection.cancel(netio::cancel_kind::attention) == netio::retcode::succeed);
  done = connection.poll(20s);
  REQUIRE(done.code == netio::retcode::succeed);
  auto partial = connection.take_result();
  REQUIRE(partial);
  CHECK(partial->rows.empty());
  // Still usable.
  REQUIRE(connection.execute({"ECHO", "alive"}) == netio::retcode::pending);
  REQUIRE(connection.poll(20s).status == netio::retcode::succeed);
  CHECK(connection.take_result()->rows.at(0).columns.at(0) == "alive");
}

TEST_CASE("all: results held by the connection are discarded at once") {
  server_fixture fixture;
  netio::context context{fixture.engine};
  netio::connection connection{context};
  REQUIRE(connection.connect(fixture.address()) == netio::retcode::succeed);
  REQUIRE(connection.execute({"ROWS", "10"}) == netio::retcode::succeed);
  REQUIRE(connection.execute({"ROWS", "10"}) == netio::retcode::succeed);
  CHECK(connection.completion_event().ready());
  CHECK(connection.cancel(netio::cancel_kind::all) == netio::retcode::succeed);
  CHECK_FALSE(connection.take_result());
  CHECK_FALSE(connection.completion_event().ready());
  REQUIRE(connection.execute({"ECHO", "fresh"}) == netio::retcode::succeed);
  CHECK(connection.take_result()->rows.at(0).columns.at(0) == "fresh");
}
