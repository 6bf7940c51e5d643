// Scheduler statistics count applet events exactly: events_dispatched is the
// number of postselect calls on that scheduler (chained ones included), and
// the counters of one scheduler are not touched by another's work.
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("scheduler stats count exactly the postselects run on that scheduler, chained ones included") {
  constexpr std::size_t plain_events = 7;
  constexpr std::size_t chaining_events = 3;
  runtime::event plain{runtime::reset_mode::automatic, "plain"};
  runtime::event chaining{runtime::reset_mode::automatic, "chaining"};
  runtime::event chained{runtime::reset_mode::automatic, "chained"};
  runtime::event elsewhere_bell{runtime::reset_mode::automatic, "elsewhere"};
  actorloop_test::latch_counter preselects;
  actorloop_test::latch_counter elsewhere_postselects;

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);
  auto other = make_scheduler(engine, "other", 1);
  CHECK(loop.stats().events_dispatched == 0);

  actors::applet_callbacks callbacks;
  callbacks.name = "counted";
  callbacks.preselect = [&](actors::applet_context& context) {
    for (const runtime::waitable& each :
         {runtime::waitable{plain}, runtime::waitable{chaining}, runtime::waitable{chained}})
      if (!context.waiting_on(each))
        context.add_wait(each);
    preselects.increment();
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    if (fired == chaining)
      return chained;
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);

  actors::applet_callbacks other_callbacks;
  other_callbacks.name = "elsewhere";
  other_callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(elsewhere_bell))
      context.add_wait(elsewhere_bell);
  };
  other_callbacks.postselect = [&](actors::applet_context&,
                                   const runtime::waitable&) -> runtime::waitable {
    elsewhere_postselects.increment();
    return {};
  };
  auto other_handle = actors::spawn_applet(engine, "other", other_callbacks);
  REQUIRE(preselects.wait_for_at_least(1, 5s));

  std::size_t turns = 1;
  for (std::size_t round = 0; round < plain_events; ++round) {
    plain.set();
    REQUIRE(preselects.wait_for_at_least(++turns, 5s));
  }
  for (std::size_t round = 0; round < chaining_events; ++round) {
    chaining.set();
    REQUIRE(preselects.wait_for_at_least(++turns, 5s));
  }
  for (std::size_t round = 1; round <= 4; ++round) {
    elsewhere_bell.set();
    REQUIRE(elsewhere_postselects.wait_for_at_least(round, 5s));
  }

  auto stats = loop.stats();
  CHECK(stats.name == "loop");
  CHECK(stats.threads == 1);
  CHECK(stats.applets == 1);
  CHECK(stats.events_dispatched == plain_events + 2 * chaining_events);
  CHECK(stats.turns > 0);
  CHECK(stats.uptime > runtime::duration::zero());
  auto info = find_info(engine, handle.applet_id());
  REQUIRE(info.has_value());
  CHECK(info->events_dispatched == plain_events + 2 * chaining_events);
  CHECK(info->chained_dropped == 0);
  CHECK(other.stats().events_dispatched == 4);

  handle.kill();
  other_handle.kill();
  REQUIRE(handle.wait_for(5s));
  REQUIRE(other_handle.wait_for(5s));
  CHECK(loop.stats().events_dispatched == plain_events + 2 * chaining_events);
  CHECK(loop.stats().applets == 0);
}
