// A child queued on its spawning worker's own queue does not wait for that
// worker: while the spawning callback is still running, the idle sibling is
// woken and steals the child, so a long callback never holds up the applets
// it spawned (no worker starves while another is idle).
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("an idle worker steals a child while the spawning callback keeps its worker") {
  runtime::engine engine{small_engine_options()};
  auto pair = make_scheduler(engine, "pair", 2);

  constexpr int children = 3;
  actorloop_test::thread_id_set parent_thread;
  actorloop_test::thread_id_set child_threads;
  actorloop_test::latch_counter children_ran;
  std::atomic<bool> all_ran_in_parent{false};
  std::vector<actors::applet_handle> child_handles;

  actors::applet_callbacks parent;
  parent.name = "parent";
  parent.init = [&](actors::applet_context& context) {
    parent_thread.insert();
    for (int index = 0; index < children; ++index) {
      actors::applet_callbacks child;
      child.name = "child-" + std::to_string(index);
      child.init = [&](actors::applet_context& child_context) {
        child_threads.insert();
        children_ran.increment();
        child_context.kill();
      };
      child_handles.push_back(actors::spawn_applet(context.engine(), context.scheduler(), child));
    }
    // Keep this worker until the children ran elsewhere (bounded, std
    // primitives: the runtime's waits refuse a scheduler thread).
    all_ran_in_parent = children_ran.wait_for_at_least(children, 10s);
    context.kill();
  };
  auto parent_handle = actors::spawn_applet(engine, pair, parent);
  REQUIRE(parent_handle.wait_for(15s));
  for (auto& handle : child_handles)
    REQUIRE(handle.wait_for(10s));

  CHECK(all_ran_in_parent.load());
  CHECK(children_ran.value() == children);
  REQUIRE(parent_thread.size() == 1);
  CHECK(child_threads.size() == 1);
  CHECK(!child_threads.contains(*parent_thread.snapshot().begin()));
  CHECK(parent_handle.exit_reason().is_normal());
  CHECK(pair.applet_count() == 0);
}
