// An auto-reset event set while an applet waits on it gives
// exactly one postselect, after which test() is false; two sets before the
// dispatch still give one. With several applets waiting on one auto event,
// each set reaches exactly one of them.
// Model: Open Files of_core documentation ("Waitable Events": OFC_EVENT_AUTO).
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

#include <array>

using namespace applet_test;

TEST_CASE("each set of an auto event gives exactly one postselect and leaves it reset") {
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};
  actorloop_test::latch_counter preselects;
  actorloop_test::latch_counter postselects;
  std::atomic<int> still_set_inside_postselect{0};

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "listener";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(doorbell))
      context.add_wait(doorbell);
    preselects.increment();
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    if (fired.ready())
      ++still_set_inside_postselect;
    postselects.increment();
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(preselects.wait_for_at_least(1, 5s));

  for (std::size_t round = 1; round <= 5; ++round) {
    doorbell.set();
    REQUIRE(preselects.wait_for_at_least(round + 1, 5s));
    CHECK(postselects.value() == round);
    CHECK_FALSE(doorbell.test());
  }
  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(postselects.value() == 5);
  CHECK(still_set_inside_postselect.load() == 0);
}

TEST_CASE("two sets before the dispatch give one postselect (an event is not a counter)") {
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};
  runtime::event probe{runtime::reset_mode::automatic, "probe"};
  event_log log;
  actorloop_test::latch_counter preselects;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "listener";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(doorbell))
      context.add_wait(doorbell);
    if (!context.waiting_on(probe))
      context.add_wait(probe);
    preselects.increment();
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    log.add(fired.name());
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(preselects.wait_for_at_least(1, 5s));

  {
    // The scheduler thread is held while both sets land.
    scheduler_hold hold{engine, "loop"};
    REQUIRE(hold.hold());
    doorbell.set();
    doorbell.set();
    hold.release();
    CHECK(hold.released_in_time());
  }
  REQUIRE(log.wait_for_size(1, 5s));
  probe.set(); // round trip: a second doorbell dispatch would come before this
  REQUIRE(log.wait_for_entry("probe", 5s));

  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(log.entries() == std::vector<std::string>{"doorbell", "probe"});
  CHECK_FALSE(doorbell.test());
}

namespace {

// Three applets share one auto event; 100 sets, one at a time.
void one_dispatch_per_set(std::size_t threads) {
  constexpr std::size_t applet_count = 3;
  constexpr std::size_t sets = 100;
  runtime::event shared_bell{runtime::reset_mode::automatic, "shared-bell"};
  std::array<std::atomic<int>, applet_count> dispatches{};
  std::array<runtime::event, applet_count> probes;
  std::array<actorloop_test::latch_counter, applet_count> probes_seen;
  actorloop_test::latch_counter total;
  actorloop_test::latch_counter preselected;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "shared", threads);

  std::vector<actors::applet_handle> handles;
  for (std::size_t index = 0; index < applet_count; ++index) {
    actors::applet_callbacks callbacks;
    callbacks.name = "sharer-" + std::to_string(index);
    callbacks.preselect = [&, index](actors::applet_context& context) {
      if (!context.waiting_on(shared_bell))
        context.add_wait(shared_bell);
      if (!context.waiting_on(probes[index]))
        context.add_wait(probes[index]);
      if (context.wait_count() == 2)
        preselected.increment();
    };
    callbacks.postselect = [&, index](actors::applet_context&,
                                      const runtime::waitable& fired) -> runtime::waitable {
      if (fired == shared_bell) {
        ++dispatches[index];
        total.increment();
      } else {
        probes_seen[index].increment();
      }
      return {};
    };
    handles.push_back(actors::spawn_applet(engine, "shared", callbacks));
  }
  REQUIRE(preselected.wait_for_at_least(applet_count, 5s));

  for (std::size_t round = 1; round <= sets; ++round) {
    shared_bell.set();
    REQUIRE(total.wait_for_at_least(round, 5s));
    CHECK(total.value() == round);
  }
  // A round trip through every applet before the exact count.
  for (std::size_t index = 0; index < applet_count; ++index) {
    probes[index].set();
    REQUIRE(probes_seen[index].wait_for_at_least(1, 5s));
  }
  for (auto& handle : handles)
    handle.kill();
  for (auto& handle : handles)
    REQUIRE(handle.wait_for(5s));

  CHECK(total.value() == sets);
  int sum = 0;
  for (auto& each : dispatches)
    sum += each.load();
  CHECK(sum == static_cast<int>(sets));
  CHECK_FALSE(shared_bell.test());
}

} // namespace

TEST_CASE("several applets on one auto event on a one-thread scheduler: one dispatch per set") {
  one_dispatch_per_set(1);
}

TEST_CASE("several applets on one auto event on a two-thread scheduler: one dispatch per set") {
  one_dispatch_per_set(2);
}
