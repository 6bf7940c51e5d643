// A manual-reset event, once set, dispatches the applet waiting
// on it on every turn until it is reset or no longer registered; several
// applets waiting on one manual event are all dispatched.
// Model: Open Files of_core documentation ("Waitable Events":
// OFC_EVENT_MANUAL).
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

#include <array>

using namespace applet_test;

TEST_CASE("a manual event re-dispatches on every turn until the 5th dispatch resets it") {
  runtime::event level{runtime::reset_mode::manual, "level"};
  runtime::event probe{runtime::reset_mode::automatic, "probe"};
  event_log log;
  std::atomic<int> level_dispatches{0};

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "level-reader";
  callbacks.preselect = [&](actors::applet_context& context) {
    log.add("preselect");
    if (!context.waiting_on(level))
      context.add_wait(level);
    if (!context.waiting_on(probe))
      context.add_wait(probe);
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    log.add(fired.name());
    if (fired == level && ++level_dispatches == 5)
      level.reset();
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(log.wait_for_size(1, 5s));

  level.set();
  REQUIRE(log.wait_for_size(11, 5s)); // 5 × (level, preselect)
  probe.set();
  REQUIRE(log.wait_for_entry("probe", 5s));
  REQUIRE(log.wait_for_size(13, 5s));
  handle.kill();
  REQUIRE(handle.wait_for(5s));

  std::vector<std::string> expected{"preselect"};
  for (int index = 0; index < 5; ++index) {
    expected.push_back("level");
    expected.push_back("preselect");
  }
  expected.push_back("probe");
  expected.push_back("preselect");
  CHECK(log.entries() == expected);
  CHECK(level_dispatches.load() == 5);
  CHECK_FALSE(level.test());
}

TEST_CASE("a manual event stops dispatching once preselect no longer adds it, and stays set") {
  runtime::event level{runtime::reset_mode::manual, "level"};
  runtime::event probe{runtime::reset_mode::automatic, "probe"};
  actorloop_test::latch_counter level_dispatches;
  actorloop_test::latch_counter probes_seen;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "quitter";
  callbacks.preselect = [&](actors::applet_context& context) {
    context.clear_wait();
    if (level_dispatches.value() < 3)
      context.add_wait(level);
    context.add_wait(probe);
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    if (fired == level)
      level_dispatches.increment();
    else
      probes_seen.increment();
    return {};
  };
  level.set();
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(level_dispatches.wait_for_at_least(3, 5s));
  // A round trip: a fourth dispatch would have come before the probe's.
  probe.set();
  REQUIRE(probes_seen.wait_for_at_least(1, 5s));
  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(level_dispatches.value() == 3);
  CHECK(probes_seen.value() == 1);
  CHECK(level.test());
}

TEST_CASE("every applet waiting on one manual event is dispatched by one set") {
  constexpr std::size_t applet_count = 4;
  runtime::event broadcast{runtime::reset_mode::manual, "broadcast"};
  std::array<runtime::event, applet_count> probes;
  std::array<std::atomic<int>, applet_count> dispatches{};
  std::array<actorloop_test::latch_counter, applet_count> probes_seen;
  actorloop_test::latch_counter notified;
  actorloop_test::latch_counter preselected;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "first", 1);
  make_scheduler(engine, "second", 1);

  std::vector<actors::applet_handle> handles;
  for (std::size_t index = 0; index < applet_count; ++index) {
    actors::applet_callbacks callbacks;
    callbacks.name = "subscriber-" + std::to_string(index);
    callbacks.preselect = [&, index](actors::applet_context& context) {
      if (dispatches[index].load() == 0 && !context.waiting_on(broadcast))
        context.add_wait(broadcast);
      if (!context.waiting_on(probes[index]))
        context.add_wait(probes[index]);
      preselected.increment();
    };
    callbacks.postselect = [&, index](actors::applet_context& context,
                                      const runtime::waitable& fired) -> runtime::waitable {
      if (fired == broadcast) {
        ++dispatches[index];
        context.remove_wait(fired); // seen once is enough
        notified.increment();
      } else {
        probes_seen[index].increment();
      }
      return {};
    };
    handles.push_back(
      actors::spawn_applet(engine, index % 2 == 0 ? "first" : "second", callbacks));
  }
  REQUIRE(preselected.wait_for_at_least(applet_count, 5s));

  broadcast.set();
  REQUIRE(notified.wait_for_at_least(applet_count, 5s));
  for (std::size_t index = 0; index < applet_count; ++index) {
    probes[index].set();
    REQUIRE(probes_seen[index].wait_for_at_least(1, 5s));
  }
  for (auto& handle : handles)
    handle.kill();
  for (auto& handle : handles)
    REQUIRE(handle.wait_for(5s));

  for (std::size_t index = 0; index < applet_count; ++index) {
    CAPTURE(index);
    CHECK(dispatches[index].load() == 1);
  }
  CHECK(broadcast.test());
}
