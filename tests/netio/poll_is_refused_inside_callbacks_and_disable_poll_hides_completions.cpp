// Client-Library: poll from inside any callback is refused with a
// clear error (and the callback may still cancel with attention); with
// disable_poll set, poll reports none of the connection's completions
// (for layered libraries that complete through wakeup instead).
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("poll inside a callback is refused, attention cancel is allowed") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::deferred}};
  netio::connection connection{context};
  connect_or_fail(connection, fixture.address());
  netio::poll_result inner;
  netio::poll_result inner_context;
  netio::retcode cancel_code = netio::retcode::fail;
  netio::client_message refusal;
  connection.set_completion([&](netio::connection& self, netio::function_id, netio::retcode) {
    inner = self.poll(0ms);
    inner_context = self.owner().poll(0ms);
    refusal = self.last_error();
    cancel_code = self.cancel(netio::cancel_kind::attention);
    return netio::retcode::succeed;
  });
  REQUIRE(connection.execute({"ECHO", "x"}) == netio::retcode::pending);
  auto outer = connection.poll(20s);
  CHECK(outer.code == netio::retcode::succeed);
  CHECK(inner.code == netio::retcode::fail);
  CHECK(inner_context.code == netio::retcode::fail);
  CHECK(refusal.code == netio::errc::not_allowed_in_callback);
  CHECK(refusal.text.find("inside a callback") != std::string::npos);
  CHECK(cancel_code == netio::retcode::succeed);
}

TEST_CASE("disable_poll: completions run their callback but poll does not report them") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::deferred}};
  netio::connection connection{context};
  connect_or_fail(connection, fixture.address());
  std::atomic<int> completions{0};
  connection.set_completion([&](netio::connection&, netio::function_id, netio::retcode) {
    ++completions;
    return netio::retcode::succeed;
  });
  connection.set_disable_poll(true);
  REQUIRE(connection.execute({"ECHO", "layered"}) == netio::retcode::pending);
  REQUIRE(connection.completion_event().wait_for(20s));
  auto polled = connection.poll(20s);
  CHECK(polled.code == netio::retcode::quiet);
  CHECK(completions.load() == 1);
  connection.set_disable_poll(false);
  REQUIRE(connection.execute({"ECHO", "visible"}) == netio::retcode::pending);
  CHECK(connection.poll(20s).code == netio::retcode::succeed);
}
