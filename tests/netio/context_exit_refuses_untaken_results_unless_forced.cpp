// Client-Library's ct_exit: without CS_FORCE_EXIT it refuses while a
// connection still holds results nobody has read (here: an `execute` result
// not taken), and leaves everything open; with CS_FORCE_EXIT it discards
// those results and closes every connection at once, without the logout
// exchange. A pending operation makes both fail (see
// context_exit_fails_while_an_operation_is_pending).
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("exit refuses untaken results; forced exit discards them and closes at once") {
  server_fixture fixture;
  netio::context context{fixture.engine};
  int handler_calls = 0;
  std::error_code heard;
  context.set_error_handler([&](const netio::client_message& message) {
    ++handler_calls;
    heard = message.code;
  });
  netio::connection connection{context};
  connect_or_fail(connection, fixture.address());
  REQUIRE(connection.execute({"ECHO", "kept"}) == netio::retcode::succeed);

  CHECK(context.exit(false) == netio::errc::results_pending);
  CHECK(handler_calls == 1);
  CHECK(heard == netio::errc::results_pending);
  CHECK(connection.connected());
  // Still usable: nothing was closed or discarded.
  REQUIRE(connection.execute({"ECHO", "second"}) == netio::retcode::succeed);

  CHECK_FALSE(context.exit(true));
  CHECK(handler_calls == 1);
  CHECK_FALSE(connection.connected());
  CHECK_FALSE(connection.take_result().has_value());
  CHECK(connection.execute({"ECHO", "late"}) == netio::retcode::fail);
  CHECK(connection.last_error().code == netio::errc::not_connected);
}

TEST_CASE("exit without results pending closes every connection") {
  server_fixture fixture;
  netio::context context{fixture.engine};
  netio::connection connection{context};
  connect_or_fail(connection, fixture.address());
  REQUIRE(connection.execute({"ECHO", "taken"}) == netio::retcode::succeed);
  REQUIRE(connection.take_result().has_value());
  CHECK_FALSE(context.exit(false));
  CHECK_FALSE(connection.connected());
}
