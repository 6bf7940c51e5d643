// Client-Library: while an operation is pending, another call on
// the connection returns busy; attention cancel and user data still work;
// with pipelining asked for explicitly, several requests may be in flight
// and complete in order.
// ctest-timeout: 60
#include "netio_test_support.hpp"

#include <any>

using namespace netio_test;

TEST_CASE("busy while pending, except cancel(attention) and user data") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::deferred}};
  netio::connection connection{context};
  connect_or_fail(connection, fixture.address());

  REQUIRE(connection.execute({"SLEEP", "60000"}) == netio::retcode::pending);
  CHECK(connection.pending());
  CHECK(connection.execute({"ECHO", "second"}) == netio::retcode::busy);
  CHECK(connection.lookup("localhost") == netio::retcode::busy);
  CHECK(connection.close() == netio::retcode::busy);
  CHECK(connection.cancel(netio::cancel_kind::all) == netio::retcode::busy);
  connection.set_user_data(std::any{42});
  CHECK(std::any_cast<int>(connection.user_data()) == 42);

  // The attention cancel is allowed and ends the sleep early.
  CHECK(connection.cancel(netio::cancel_kind::attention) == netio::retcode::succeed);
  auto canceled = connection.poll(20s);
  REQUIRE(canceled.code == netio::retcode::succeed);
  CHECK(canceled.function == netio::function_id::execute);
  CHECK(canceled.status == netio::retcode::canceled);
  CHECK_FALSE(connection.pending());
  CHECK(connection.execute({"ECHO", "now"}) == netio::retcode::pending);
  CHECK(connection.poll(20s).status == netio::retcode::succeed);
}

TEST_CASE("pipelining, asked for explicitly, keeps several requests in flight in order") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::deferred}};
  netio::connection_options options;
  options.pipelining = true;
  netio::connection connection{context, options};
  connect_or_fail(connection, fixture.address());
  constexpr int requests = 50;
  for (int index = 0; index < requests; ++index)
    REQUIRE(connection.execute({"ECHO", std::to_string(index)}) == netio::retcode::pending);
  for (int index = 0; index < requests; ++index) {
    auto done = connection.poll(20s);
    REQUIRE(done.code == netio::retcode::succeed);
    auto taken = connection.take_result();
    REQUIRE(taken);
    CHECK(taken->rows.at(0).columns.at(0) == std::to_string(index));
  }
  CHECK(connection.poll(0ms).code == netio::retcode::quiet);
}
