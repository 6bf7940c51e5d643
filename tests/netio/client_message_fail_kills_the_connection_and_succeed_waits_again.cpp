// Client-Library: in sync mode a call that outlasts the timeout
// tells the client-message callback; `succeed` waits one more period and
// calls again, `fail` marks the connection dead so later calls fail. Async
// connections have no such timeout.
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("timeouts reach the client-message callback, which decides") {
  server_fixture fixture;
  netio::context context{fixture.engine};
  netio::connection_options options;
  options.timeout = 50ms;
  netio::connection connection{context, options};
  REQUIRE(connection.connect(fixture.address()) == netio::retcode::succeed);
  int timeouts = 0;
  connection.set_client_message([&](netio::connection*, const netio::client_message& message) {
    if (message.code == netio::errc::timed_out)
      ++timeouts;
    // Wait once more, then give up.
    return timeouts < 2 ? netio::callback_result::succeed : netio::callback_result::fail;
  });
  CHECK(connection.execute({"SLEEP", "60000"}) == netio::retcode::fail);
  CHECK(timeouts == 2);
  CHECK(connection.dead());
  CHECK(connection.execute({"ECHO", "after death"}) == netio::retcode::fail);
  CHECK(connection.last_error().code == netio::errc::connection_dead);
}

TEST_CASE("async connections have no call timeout") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::async}};
  netio::connection_options options;
  options.timeout = 10ms;
  netio::connection connection{context, options};
  connect_or_fail(connection, fixture.address());
  std::atomic<int> client_messages{0};
  actorloop_test::latch_counter done;
  connection.set_client_message([&](netio::connection*, const netio::client_message&) {
    ++client_messages;
    return netio::callback_result::succeed;
  });
  connection.set_completion([&](netio::connection&, netio::function_id, netio::retcode) {
    done.increment();
    return netio::retcode::succeed;
  });
  REQUIRE(connection.execute({"SLEEP", "100"}) == netio::retcode::pending);
  REQUIRE(done.wait_for_at_least(1, 20s));
  CHECK(client_messages.load() == 0);
}
