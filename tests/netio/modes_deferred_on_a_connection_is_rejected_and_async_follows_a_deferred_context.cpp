// Client-Library: deferred I/O is a context setting; asking for it on a
// connection is refused with a clear error (constructor and set_mode), and
// a connection switched to async inside a deferred context behaves deferred.
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("deferred cannot be set on a connection") {
  server_fixture fixture;
  netio::context context{fixture.engine};
  netio::connection_options options;
  options.mode = netio::io_mode::deferred;
  try {
    netio::connection refused{context, options};
    FAIL("a connection accepted io_mode::deferred");
  } catch (const netio::error& failure) {
    CHECK(failure.code() == netio::errc::deferred_on_connection);
    CHECK(std::string{failure.what()}.find("context") != std::string::npos);
  }
  netio::connection connection{context};
  CHECK(connection.set_mode(netio::io_mode::deferred) == netio::errc::deferred_on_connection);
  CHECK(connection.last_error().code == netio::errc::deferred_on_connection);
  CHECK(connection.mode() == netio::io_mode::sync);
}

TEST_CASE("an async connection in a deferred context is deferred") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::deferred}};
  netio::connection_options options;
  options.mode = netio::io_mode::async;
  netio::connection connection{context, options};
  CHECK(connection.mode() == netio::io_mode::deferred);
  std::atomic<int> completions{0};
  connection.set_completion([&](netio::connection&, netio::function_id, netio::retcode) {
    ++completions;
    return netio::retcode::succeed;
  });
  REQUIRE(connection.connect(fixture.address()) == netio::retcode::pending);
  // Deferred: the completion waits for poll, however long the application waits.
  REQUIRE(connection.completion_event().wait_for(20s));
  CHECK(completions.load() == 0);
  auto polled = connection.poll(0ms);
  CHECK(polled.code == netio::retcode::succeed);
  CHECK(polled.function == netio::function_id::connect);
  CHECK(completions.load() == 1);
  // And back: an async context makes it async again.
  context.set_mode(netio::io_mode::async);
  CHECK(connection.mode() == netio::io_mode::async);
}
