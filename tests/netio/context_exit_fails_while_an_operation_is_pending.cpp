// Client-Library: exiting a context with an operation still pending fails
// (even forced), through the error handler on the calling thread; once the
// operation completed, exit closes every connection.
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("context exit refuses while an operation is pending") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::deferred}};
  thread_log log;
  context.set_error_handler([&](const netio::client_message& message) {
    CHECK(message.code == netio::errc::operations_pending);
    log.record("error handler");
  });
  netio::connection connection{context};
  connect_or_fail(connection, fixture.address());
  REQUIRE(connection.execute({"SLEEP", "200"}) == netio::retcode::pending);
  CHECK(context.exit(true) == netio::errc::operations_pending);
  CHECK(context.exit(false) == netio::errc::operations_pending);
  REQUIRE(log.count("error handler") == 2);
  CHECK(log.threads_of("error handler").at(0) == std::this_thread::get_id());
  REQUIRE(connection.poll(20s).code == netio::retcode::succeed);
  // Its result, untaken, would make an unforced exit fail (results_pending).
  REQUIRE(connection.take_result().has_value());
  CHECK_FALSE(context.exit(false));
}
