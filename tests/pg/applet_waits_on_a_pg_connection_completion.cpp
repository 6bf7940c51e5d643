// An applet drives a deferred-mode pg::connection through its completion
// waitable: it starts a query in init/postselect, waits for the completion
// in preselect (no thread blocks), polls with timeout zero when it fires and
// takes the result; five rounds against a real PostgreSQL 15, then it exits.
// ctest-timeout: 90
#include "pg_server_support.hpp"

#include <actorloop/actors/applet.hpp>

using namespace pg_server_test;
namespace actors = actorloop::actors;

TEST_CASE("an applet waits on a pg connection's completion without blocking a thread") {
  throwaway_server server;
  engine_fixture fixture;
  runtime::scheduler_options loop;
  loop.name = "loop";
  loop.threads = 1;
  (void)fixture.engine.create_scheduler(loop);
  netio::context context{fixture.engine, {netio::io_mode::deferred}};
  pg::connection connection{context, server.options("scram_user", "scram-secret")};
  REQUIRE(connection.connect() == netio::retcode::pending);
  auto connected = connection.poll(20s);
  REQUIRE(connected.code == netio::retcode::succeed);
  REQUIRE(connected.status == netio::retcode::succeed);

  int rounds = 0;
  std::vector<std::int64_t> sums;
  auto completion = connection.completion_event();
  auto query = [&] {
    return connection.execute("SELECT sum(n) AS total FROM generate_series(1, " +
                              std::to_string(rounds + 1) + ") AS n");
  };
  actors::applet_callbacks body;
  body.name = "querier";
  body.init = [&](actors::applet_context&) { REQUIRE(query() == netio::retcode::pending); };
  body.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(completion))
      context.add_wait(completion);
  };
  body.postselect = [&](actors::applet_context& context,
                        const runtime::waitable&) -> runtime::waitable {
    auto polled = connection.poll(0ms);
    REQUIRE(polled.code == netio::retcode::succeed);
    REQUIRE(polled.status == netio::retcode::succeed);
    auto result = connection.take_result();
    REQUIRE(result);
    sums.push_back(result->results.at(0).int64(0, "total"));
    ++rounds;
    if (rounds < 5)
      REQUIRE(query() == netio::retcode::pending);
    else
      context.kill();
    return {};
  };
  auto applet = actors::spawn_applet(fixture.engine, "loop", body);
  REQUIRE(applet.wait_for(20s));
  CHECK(applet.exit_reason().code() == std::error_code{});
  CHECK(sums == std::vector<std::int64_t>{1, 3, 6, 10, 15});
  REQUIRE(connection.close() == netio::retcode::pending);
  auto closed = connection.poll(20s);
  CHECK(closed.code == netio::retcode::succeed);
  CHECK(closed.function == netio::function_id::close);
  CHECK_FALSE(connection.connected());
}
