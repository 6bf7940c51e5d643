// ctest-timeout: 60
// Affinity across nodes. BASP delivers on CAF's middleman thread, and CAF
// 0.17 would run a receiving actor right there; a remote set must still run
// the applet waiting on the event on its own scheduler's thread. Two nodes
// (two engines, each with its own middleman) in this process: a plain thread
// of one sets the other's exported event 20 times; every postselect and
// preselect of the waiting applet runs on its one-thread scheduler.
#include "node_test_support.hpp"

using namespace node_test;

TEST_CASE("a remote set runs the waiting applet on its own scheduler's thread") {
  constexpr std::size_t rings = 20;
  al::nodes::enable();
  actorloop_test::thread_id_set applet_threads;
  actorloop_test::latch_counter rung;
  actorloop_test::latch_counter waiting;
  al::runtime::event bell{al::runtime::reset_mode::automatic, "bell"};

  al::runtime::engine home_engine{small_engine()};
  auto loop = home_engine.create_scheduler({.name = "loop", .threads = 1});
  al::nodes::node home{home_engine, {.name = "home", .listen = "127.0.0.1:0"}};
  auto applet = al::actors::spawn_applet(
      home_engine, loop,
      al::actors::applet_callbacks{
          .name = "waiter",
          .preselect =
              [&](al::actors::applet_context& context) {
                applet_threads.insert();
                if (!context.waiting_on(bell)) {
                  context.add_wait(bell);
                  waiting.increment();
                }
              },
          .postselect = [&](al::actors::applet_context& context,
                            const al::runtime::waitable&) -> al::runtime::waitable {
            applet_threads.insert();
            rung.increment();
            if (rung.value() == rings)
              context.kill();
            return {};
          }});
  home.export_event("bell", bell);
  REQUIRE(waiting.wait_for_at_least(1, 10s));

  {
    al::runtime::engine away_engine{small_engine()};
    al::nodes::node away{away_engine, {.name = "away", .listen = {}}};
    auto peer = away.connect("127.0.0.1", home.port()).get();
    CHECK(peer.name() == "home");
    auto remote = peer.lookup_event("bell").get();
    for (std::size_t each = 1; each <= rings; ++each) {
      remote.set().get();
      // One set at a time: an auto-reset event set twice before its
      // dispatch would ring once.
      REQUIRE(rung.wait_for_at_least(each, 10s));
    }
  }
  REQUIRE(applet.wait_for(10s));
  CHECK(rung.value() == rings);
  auto loop_threads = loop.thread_ids();
  REQUIRE(loop_threads.size() == 1);
  for (auto id : applet_threads.snapshot())
    CHECK(id == loop_threads.front());
  CHECK(home.statistics().peers == 1);
}
