// The bridge to applets: a connection's completion and its notifications
// are waitable events. An applet on a one-thread scheduler starts a request
// in postselect, waits for its completion in preselect (no thread blocks),
// and polls with timeout zero when it fires; notifications surface the same
// way. The applet runs ten request rounds and one notification, then exits.
// ctest-timeout: 60
#include "netio_test_support.hpp"

#include <actorloop/actors/applet.hpp>

using namespace netio_test;
namespace actors = actorloop::actors;

TEST_CASE("an applet drives a deferred connection through its waitables") {
  server_fixture fixture;
  runtime::scheduler_options loop;
  loop.name = "loop";
  loop.threads = 1;
  (void)fixture.engine.create_scheduler(loop);
  netio::context context{fixture.engine, {netio::io_mode::deferred}};
  netio::connection_options options;
  options.async_notifications = true;
  netio::connection connection{context, options};
  connect_or_fail(connection, fixture.address());
  REQUIRE(connection.execute({"SUBSCRIBE", "applets"}) == netio::retcode::pending);
  REQUIRE(connection.poll(20s).code == netio::retcode::succeed);
  (void)connection.take_result();

  int rounds = 0;
  int notifications = 0;
  std::vector<std::string> echoed;
  connection.set_notification([&](netio::connection&, const netio::notification& note) {
    CHECK(note.channel == "applets");
    ++notifications;
  });
  auto completion = connection.completion_event();
  auto notified = connection.notification_event();
  actors::applet_callbacks body;
  body.name = "requester";
  body.init = [&](actors::applet_context&) {
    REQUIRE(connection.execute({"ECHO", "round 0"}) == netio::retcode::pending);
  };
  body.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(completion))
      context.add_wait(completion);
    if (!context.waiting_on(notified))
      context.add_wait(notified);
    // The notification may come after the PUBLISH completion: end then.
    if (rounds == 11 && notifications == 1)
      context.kill();
  };
  body.postselect = [&](actors::applet_context& context, const runtime::waitable&) -> runtime::waitable {
    // Never blocks: what fired is already there (a notification is
    // delivered inside this poll too).
    auto polled = connection.poll(0ms);
    if (polled.code != netio::retcode::succeed)
      return {}; // only a notification this time
    auto result = connection.take_result();
    REQUIRE(result);
    ++rounds;
    if (rounds <= 10)
      echoed.push_back(result->rows.at(0).columns.at(0));
    if (rounds < 10)
      REQUIRE(connection.execute({"ECHO", "round " + std::to_string(rounds)}) == netio::retcode::pending);
    else if (rounds == 10)
      REQUIRE(connection.execute({"PUBLISH", "applets", "done"}) == netio::retcode::pending);
    else if (notifications == 1)
      context.kill();
    return {};
  };
  auto applet = actors::spawn_applet(fixture.engine, "loop", body);
  REQUIRE(applet.wait_for(20s));
  CHECK(applet.exit_reason().code() == std::error_code{});
  CHECK(rounds == 11);
  CHECK(notifications == 1);
  REQUIRE(echoed.size() == 10);
  for (int index = 0; index < 10; ++index)
    CHECK(echoed[index] == "round " + std::to_string(index));
}
