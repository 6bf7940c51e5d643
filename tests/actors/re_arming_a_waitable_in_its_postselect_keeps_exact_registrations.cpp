// An applet that re-arms in postselect (remove_wait of the fired waitable,
// then add_wait), as a reader re-arms each finished file operation, keeps
// level-triggered dispatch and exact registrations: a still-set manual
// event removed and re-added is dispatched again; remove_wait of another
// waitable from that postselect removes that one only; add_wait of a
// waitable already registered is still refused, whether it was made before
// or after the others.
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("re-arming in postselect: level-triggered redispatch, exact removal, duplicates refused") {
  runtime::event level{runtime::reset_mode::manual, "level"};
  runtime::event other{runtime::reset_mode::automatic, "other"};
  runtime::event probe{runtime::reset_mode::automatic, "probe"};
  std::atomic<int> level_dispatches{0};
  std::atomic<int> other_dispatches{0};
  std::atomic<int> removed_other{0};    // remove_wait(other) answered true
  std::atomic<int> removed_twice{0};    // ... and false the second time
  std::atomic<int> refused_older{0};    // add_wait(level) again: already_waiting
  std::atomic<int> refused_newest{0};   // add_wait(newest) again: already_waiting
  std::atomic<std::size_t> waits_at_probe{0};
  std::atomic<int> unexpected{0};       // a remove_wait that should have worked did not
  actorloop_test::latch_counter level_seen;
  actorloop_test::latch_counter probes_seen;
  actorloop_test::latch_counter started;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "re-armer";
  callbacks.init = [&](actors::applet_context& context) {
    context.add_wait(level);
    context.add_wait(other);
    context.add_wait(probe);
    started.increment();
  };
  callbacks.postselect = [&](actors::applet_context& context,
                             const runtime::waitable& fired) -> runtime::waitable {
    if (fired == level) {
      int seen = ++level_dispatches;
      if (seen == 1) {
        // Another waitable removed from this postselect: that one only.
        if (context.remove_wait(other))
          ++removed_other;
        if (!context.remove_wait(other))
          ++removed_twice;
      }
      if (!context.remove_wait(fired))
        ++unexpected;
      if (seen < 3) {
        context.add_wait(level); // still set: dispatched again
        try {
          context.add_wait(level);
        } catch (const runtime::error& failure) {
          if (failure.code() == runtime::errc::already_waiting)
            ++refused_older;
        }
        // A waitable made after every registered one, added twice.
        runtime::event newest{runtime::reset_mode::automatic, "newest"};
        context.add_wait(newest);
        try {
          context.add_wait(newest);
        } catch (const runtime::error& failure) {
          if (failure.code() == runtime::errc::already_waiting)
            ++refused_newest;
        }
        if (!context.remove_wait(newest))
          ++unexpected;
      }
      level_seen.increment();
    } else if (fired == other) {
      ++other_dispatches;
    } else if (fired == probe) {
      waits_at_probe = context.wait_count();
      probes_seen.increment();
    }
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(started.wait_for_at_least(1, 5s));

  level.set();
  REQUIRE(level_seen.wait_for_at_least(3, 5s));
  // Round trips through the applet: a dispatch of `level` or `other` that
  // should not happen would come before the probe's.
  probe.set();
  REQUIRE(probes_seen.wait_for_at_least(1, 5s));
  other.set();
  probe.set();
  REQUIRE(probes_seen.wait_for_at_least(2, 5s));
  CHECK(waits_at_probe.load() == 1); // the probe only
  handle.kill();
  REQUIRE(handle.wait_for(5s));

  CHECK(level_dispatches.load() == 3);
  CHECK(other_dispatches.load() == 0);
  CHECK(removed_other.load() == 1);
  CHECK(removed_twice.load() == 1);
  CHECK(refused_older.load() == 2);
  CHECK(refused_newest.load() == 2);
  CHECK(unexpected.load() == 0);
  CHECK(level.test());
}
