// scheduler::empty() is true exactly when no applet remains on
// the scheduler, and applet_count() counts the live ones (a freshly spawned
// applet counts at once; a destroyed one, whose handle is ready, no longer does).
// Model: Open Files of_core documentation (ofc_sched_empty).
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("empty and applet_count follow spawns and destructions") {
  runtime::event never_set{runtime::reset_mode::manual, "never-set"};
  actorloop_test::latch_counter preselects;

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);
  auto other = make_scheduler(engine, "other", 1);
  CHECK(loop.empty());
  CHECK(loop.applet_count() == 0);
  CHECK(loop.stats().applets == 0);

  actors::applet_callbacks callbacks;
  callbacks.name = "resident";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(never_set))
      context.add_wait(never_set);
    preselects.increment();
  };
  auto first = actors::spawn_applet(engine, "loop", callbacks);
  auto second = actors::spawn_applet(engine, "loop", callbacks);
  auto elsewhere = actors::spawn_applet(engine, "other", callbacks);
  // Counted as soon as spawn returns, before they ran anything.
  CHECK(loop.applet_count() == 2);
  CHECK_FALSE(loop.empty());
  CHECK(other.applet_count() == 1);
  REQUIRE(preselects.wait_for_at_least(3, 5s));
  CHECK(loop.stats().applets == 2);

  first.kill();
  REQUIRE(first.wait_for(5s));
  CHECK(loop.applet_count() == 1);
  CHECK_FALSE(loop.empty());

  second.kill();
  REQUIRE(second.wait_for(5s));
  CHECK(loop.applet_count() == 0);
  CHECK(loop.empty());
  CHECK(loop.stats().applets == 0);
  CHECK(other.applet_count() == 1);

  elsewhere.kill();
  REQUIRE(elsewhere.wait_for(5s));
  CHECK(other.empty());
}

TEST_CASE("an applet that kills itself at once leaves the scheduler empty") {
  actorloop_test::latch_counter destroys;
  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "mayfly";
  callbacks.preselect = [](actors::applet_context& context) { context.kill(); };
  callbacks.destroy = [&](actors::applet_context&) { destroys.increment(); };
  std::vector<actors::applet_handle> handles;
  for (int index = 0; index < 20; ++index)
    handles.push_back(actors::spawn_applet(engine, "loop", callbacks));
  for (auto& handle : handles)
    REQUIRE(handle.wait_for(5s));
  CHECK(destroys.value() == 20);
  CHECK(loop.empty());
  CHECK(loop.applet_count() == 0);
}

TEST_CASE("once a handle reports the applet destroyed, the scheduler no longer counts it") {
  constexpr int rounds = 200;
  runtime::event never_set{runtime::reset_mode::manual, "never-set"};
  int still_counted = 0;

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "brief";
  callbacks.preselect = [never_set](actors::applet_context& context) {
    if (!context.waiting_on(never_set))
      context.add_wait(never_set);
  };
  for (int round = 0; round < rounds; ++round) {
    auto handle = actors::spawn_applet(engine, "loop", callbacks);
    handle.kill();
    REQUIRE(handle.wait_for(5s));
    // Read at once: the destroyed applet must already be gone from the count.
    if (loop.applet_count() != 0)
      ++still_counted;
  }
  CHECK(still_counted == 0);
  CHECK(loop.empty());
}
