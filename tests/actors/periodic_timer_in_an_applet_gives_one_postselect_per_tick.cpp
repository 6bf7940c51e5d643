// For periodic timers: a periodic timer waited on by an applet
// dispatches once per tick, each dispatch consuming one tick; tick k comes no
// earlier than k periods after it was set.
// Model: Open Files of_core documentation (ofc_timer_set; test_timer).
#include "applet_test_support.hpp"

#include <actorloop/runtime/timer.hpp>

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("a 5 ms periodic timer gives exactly 10 postselects before the applet stops it") {
  constexpr auto period = 5ms;
  constexpr int ticks_wanted = 10;
  runtime::timer metronome{"metronome"};
  runtime::event probe{runtime::reset_mode::automatic, "probe"};
  std::vector<runtime::duration> tick_offsets; // scheduler thread only until the handle is ready
  runtime::time_point set_at{};
  actorloop_test::latch_counter ticks;
  actorloop_test::latch_counter probes_seen;
  std::atomic<bool> period_seen_wrong{false};

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "metronome";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(probe))
      context.add_wait(probe);
    if (ticks.value() == 0 && !context.waiting_on(metronome)) {
      set_at = runtime::clock::now();
      metronome.set_periodic(period);
      context.add_wait(metronome);
    }
  };
  callbacks.postselect = [&](actors::applet_context& context,
                             const runtime::waitable& fired) -> runtime::waitable {
    if (fired == probe) {
      probes_seen.increment();
      return {};
    }
    tick_offsets.push_back(runtime::clock::now() - set_at);
    if (metronome.period() != period)
      period_seen_wrong = true;
    ticks.increment();
    if (ticks.value() == static_cast<std::size_t>(ticks_wanted)) {
      metronome.cancel();
      context.remove_wait(metronome);
    }
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(ticks.wait_for_at_least(ticks_wanted, 5s));
  probe.set();
  REQUIRE(probes_seen.wait_for_at_least(1, 5s));
  handle.kill();
  REQUIRE(handle.wait_for(5s));

  CHECK(ticks.value() == static_cast<std::size_t>(ticks_wanted));
  REQUIRE(tick_offsets.size() == static_cast<std::size_t>(ticks_wanted));
  for (std::size_t index = 0; index < tick_offsets.size(); ++index) {
    CAPTURE(index);
    CHECK(tick_offsets[index] >= period * static_cast<int>(index + 1));
  }
  CHECK_FALSE(period_seen_wrong.load());
}
