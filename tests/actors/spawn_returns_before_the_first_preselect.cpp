// spawn_applet returns before the applet's first preselect, and
// init and that preselect run on the scheduler's thread, never on the caller's,
// also when the caller is another applet on the same one-thread scheduler.
// Model: Open Files of_core documentation (ofc_app_create).
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("spawn returns while init is still blocked; the first preselect follows on the scheduler thread") {
  gate spawn_returned;
  std::atomic<bool> init_saw_spawn_return{false};
  std::atomic<int> preselects{0};
  actorloop_test::latch_counter preselected;
  actorloop_test::thread_id_set init_threads;
  actorloop_test::thread_id_set preselect_threads;

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "late-starter";
  callbacks.init = [&](actors::applet_context&) {
    init_threads.insert();
    // Had spawn run init itself, this would time out, since the test opens
    // the gate only once spawn has returned.
    init_saw_spawn_return = spawn_returned.wait_for(5s);
  };
  callbacks.preselect = [&](actors::applet_context&) {
    preselect_threads.insert();
    ++preselects;
    preselected.increment();
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  auto preselects_when_spawn_returned = preselects.load();
  spawn_returned.open();
  REQUIRE(preselected.wait_for_at_least(1, 5s));

  CHECK(preselects_when_spawn_returned == 0);
  CHECK(init_saw_spawn_return.load());
  CHECK(init_threads.size() == 1);
  CHECK(all_within(init_threads, loop.thread_ids()));
  CHECK(all_within(preselect_threads, loop.thread_ids()));
  CHECK_FALSE(preselect_threads.contains(std::this_thread::get_id()));
  CHECK_FALSE(init_threads.contains(std::this_thread::get_id()));

  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(preselects.load() == 1);
}

TEST_CASE("an applet spawned from another applet's postselect starts after that callback returned") {
  runtime::event spawn_now{runtime::reset_mode::automatic, "spawn-now"};
  std::atomic<bool> parent_inside_postselect{false};
  std::atomic<int> child_preselects_when_spawn_returned{-1};
  std::atomic<int> child_preselects{0};
  std::atomic<bool> child_started_inside_parent{false};
  actorloop_test::latch_counter child_preselected;
  actorloop_test::thread_id_set child_threads;
  actors::applet_handle child; // written on the scheduler thread, read after the latch

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);

  actors::applet_callbacks child_callbacks;
  child_callbacks.name = "child";
  child_callbacks.init = [&](actors::applet_context&) {
    child_threads.insert();
    if (parent_inside_postselect.load())
      child_started_inside_parent = true;
  };
  child_callbacks.preselect = [&](actors::applet_context&) {
    child_threads.insert();
    if (parent_inside_postselect.load())
      child_started_inside_parent = true;
    ++child_preselects;
    child_preselected.increment();
  };

  actors::applet_callbacks parent_callbacks;
  parent_callbacks.name = "parent";
  parent_callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(spawn_now))
      context.add_wait(spawn_now);
  };
  parent_callbacks.postselect = [&](actors::applet_context& context,
                                    const runtime::waitable&) -> runtime::waitable {
    parent_inside_postselect = true;
    child = actors::spawn_applet(context.engine(), "loop", child_callbacks);
    child_preselects_when_spawn_returned = child_preselects.load();
    parent_inside_postselect = false;
    return {};
  };
  auto parent = actors::spawn_applet(engine, "loop", parent_callbacks);
  spawn_now.set();
  REQUIRE(child_preselected.wait_for_at_least(1, 5s));

  CHECK(child_preselects_when_spawn_returned.load() == 0);
  CHECK_FALSE(child_started_inside_parent.load());
  CHECK(all_within(child_threads, loop.thread_ids()));

  child.kill();
  parent.kill();
  REQUIRE(child.wait_for(5s));
  REQUIRE(parent.wait_for(5s));
  CHECK(child_preselects.load() == 1);
}
