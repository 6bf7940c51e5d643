// The server's graceful stop: it stops accepting, lets in-flight requests
// finish (a SLEEP completes normally within the drain limit), tells each
// client it is shutting down (server message 3003), closes every session,
// and returns only when all are closed; requests still running at the drain
// limit complete as canceled instead of being lost.
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("stop drains what is in flight, then closes everyone") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::async}};
  netio::connection slow{context};
  netio::connection stuck{context};
  connect_or_fail(slow, fixture.address());
  connect_or_fail(stuck, fixture.address());
  thread_log log;
  for (auto* each : {&slow, &stuck}) {
    each->set_completion([&, each](netio::connection&, netio::function_id, netio::retcode status) {
      log.record(std::string{each == &slow ? "slow " : "stuck "} + std::string{netio::to_string(status)});
      return netio::retcode::succeed;
    });
    each->set_async_notifications(true);
    each->set_server_message([&](netio::connection&, const netio::server_message& message) {
      if (message.code == netio::server_codes::shutting_down)
        log.record("shutting down");
    });
  }
  REQUIRE(slow.execute({"SLEEP", "100"}) == netio::retcode::pending);
  REQUIRE(stuck.execute({"SLEEP", "600000"}) == netio::retcode::pending);
  auto give_up = std::chrono::steady_clock::now() + 20s;
  while (fixture.server->statistics().requests_in_flight < 2 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::yield();
  fixture.server->stop(2s);
  auto stats = fixture.server->statistics();
  CHECK(stats.sessions_open == 0);
  CHECK(stats.requests_in_flight == 0);
  REQUIRE(log.wait_for("slow succeed", 1));
  REQUIRE(log.wait_for("stuck canceled", 1));
  REQUIRE(log.wait_for("shutting down", 2));
  // A new client is refused: nobody listens any more.
  netio::context sync_context{fixture.engine};
  netio::connection late{sync_context};
  CHECK(late.connect(fixture.address()) == netio::retcode::fail);
  CHECK(late.last_error().code == netio::errc::connection_refused);
}
