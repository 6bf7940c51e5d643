// A session that stopped reading (its client pipelined past the request
// limit while a long SLEEP runs) and whose client then resets the connection
// is closed at once, without the I/O worker spinning on the hang-up it can
// no longer read: the worker handles only a handful of readiness events
// between the reset and the close, though the SLEEP has most of a minute
// left.
// ctest-timeout: 60
#include "server_test_support.hpp"

using namespace netio_test;
using server_test::raw_client;

TEST_CASE("a paused session closes promptly when its client resets the connection") {
  netio::server_options options;
  options.max_queued_requests = 1; // the second request pauses reading
  server_fixture fixture{options, 1};
  raw_client client{fixture.address()};
  client.login();
  client.request(1, {"SLEEP", "50000"});
  client.request(2, {"ECHO", "waits behind the sleep"});
  // Both requests arrived: the session now runs the SLEEP and has paused reading.
  REQUIRE(fixture.server->wait_for_statistics([&](const netio::server_statistics& now) { return now.requests == 2; }, 20s));
  auto events_before = netio::io_worker_statistics(fixture.engine).at(0).readiness_events;
  client.reset();
  REQUIRE(fixture.server->wait_for_statistics([&](const netio::server_statistics& now) { return now.sessions_open == 0; }, 10s));
  auto events_after = netio::io_worker_statistics(fixture.engine).at(0).readiness_events;
  CAPTURE(events_after - events_before);
  // A spinning worker sees tens of thousands per second; a close needs one or two.
  CHECK(events_after - events_before < 50);
  CHECK(fixture.server->statistics().requests_in_flight == 0);
}
