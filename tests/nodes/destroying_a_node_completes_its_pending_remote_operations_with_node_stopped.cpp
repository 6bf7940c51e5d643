// ctest-timeout: 60
// Destroying a node while it still watches a remote applet completes that
// watch (the remote handle becomes ready with node_stopped) instead of
// leaving it pending, and a handle used after its node is gone fails at
// once with node_stopped. The home node, whose exported applet is then
// killed, carries on and stops cleanly.
#include "node_test_support.hpp"

using namespace node_test;

TEST_CASE("destroying a node completes its pending remote operations with node_stopped") {
  al::nodes::enable();
  actorloop_test::latch_counter started;
  al::runtime::engine home_engine{small_engine()};
  al::nodes::node home{home_engine, {.name = "home", .listen = "127.0.0.1:0"}};
  auto applet = al::actors::spawn_applet(
      home_engine, "default",
      al::actors::applet_callbacks{
          .name = "long-lived",
          .preselect = [&](al::actors::applet_context&) { started.increment(); }});
  REQUIRE(started.wait_for_at_least(1, 10s));
  home.export_applet("long-lived", applet);
  al::runtime::event bell{al::runtime::reset_mode::automatic, "bell"};
  home.export_event("bell", bell);

  al::runtime::engine away_engine{small_engine()};
  al::nodes::remote_applet watched;
  al::nodes::remote_event remote_bell;
  {
    al::nodes::node away{away_engine, {.name = "away", .listen = {}}};
    auto peer = away.connect("127.0.0.1", home.port()).get();
    watched = peer.lookup_applet("long-lived").get();
    remote_bell = peer.lookup_event("bell").get();
    CHECK_FALSE(watched.ready());
  }
  REQUIRE(watched.wait_for(10s));
  CHECK(watched.exit_reason().code() == al::nodes::errc::node_stopped);
  auto late = remote_bell.set();
  REQUIRE(late.done());
  CHECK(late.error() == al::nodes::errc::node_stopped);
  CHECK_FALSE(bell.test());

  applet.kill();
  REQUIRE(applet.wait_for(10s));
  CHECK(applet.exit_reason().is_normal());
}
