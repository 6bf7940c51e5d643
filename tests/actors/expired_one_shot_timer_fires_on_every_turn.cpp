// A one-shot timer that has expired and is not re-set, but is
// still registered, fires again on every turn; a timer that was never set
// counts as expired and fires at once; cancel stops it.
// Model: Open Files of_core documentation (ofc_timer_set; test_timer).
#include "applet_test_support.hpp"

#include <actorloop/runtime/timer.hpp>

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("an expired one-shot timer left registered fires on every turn until the applet stops") {
  runtime::timer alarm{"alarm"};
  std::atomic<int> postselects{0};
  std::atomic<int> preselects{0};

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "expired";
  callbacks.preselect = [&](actors::applet_context& context) {
    ++preselects;
    if (!context.waiting_on(alarm)) {
      alarm.set(1ms);
      context.add_wait(alarm);
    }
  };
  callbacks.postselect = [&](actors::applet_context& context,
                             const runtime::waitable&) -> runtime::waitable {
    if (++postselects == 5)
      context.kill(); // never re-set: it stays expired
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(handle.wait_for(5s));
  CHECK(postselects.load() == 5);
  CHECK(preselects.load() == 5); // the first, then one after each of the four that did not kill
  CHECK(alarm.expired());
}

TEST_CASE("a timer that was never set fires as soon as it is added") {
  runtime::timer never_set{"never-set"};
  std::atomic<int> postselects{0};

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "unset";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(never_set))
      context.add_wait(never_set);
  };
  callbacks.postselect = [&](actors::applet_context& context,
                             const runtime::waitable&) -> runtime::waitable {
    if (++postselects == 3)
      context.kill();
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(handle.wait_for(5s));
  CHECK(postselects.load() == 3);
}

TEST_CASE("cancelling an expired timer stops its dispatches") {
  runtime::timer alarm{"alarm"};
  runtime::event probe{runtime::reset_mode::automatic, "probe"};
  actorloop_test::latch_counter alarm_dispatches;
  actorloop_test::latch_counter probes_seen;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "canceller";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(alarm))
      context.add_wait(alarm);
    if (!context.waiting_on(probe))
      context.add_wait(probe);
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    if (fired == probe) {
      probes_seen.increment();
    } else {
      alarm_dispatches.increment();
      if (alarm_dispatches.value() == 3)
        alarm.cancel();
    }
    return {};
  };
  alarm.set_at(runtime::clock::now() - 1ms);
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(alarm_dispatches.wait_for_at_least(3, 5s));
  probe.set();
  REQUIRE(probes_seen.wait_for_at_least(1, 5s));
  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(alarm_dispatches.value() == 3);
  CHECK_FALSE(alarm.expired());
  CHECK_FALSE(alarm.deadline().has_value());
}
