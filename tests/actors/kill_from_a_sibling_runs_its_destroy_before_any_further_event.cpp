// When applet A kills applet B (same scheduler) from A's
// callback, B's destroy runs on the scheduler thread before B gets any
// further event, and A, waiting on B's handle, hears of it afterwards.
// Model: Open Files of_core documentation (ofc_app_kill).
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("a sibling's kill runs B's destroy before any further event for B") {
  event_log log;
  runtime::event b_event{runtime::reset_mode::automatic, "b-event"};
  runtime::event trigger{runtime::reset_mode::automatic, "trigger"};
  actors::applet_handle b_handle; // set before the trigger, read by A after it
  std::atomic<bool> a_killed_b{false};
  actorloop_test::latch_counter b_preselected;
  actorloop_test::thread_id_set b_destroy_threads;

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);

  actors::applet_callbacks b_callbacks;
  b_callbacks.name = "b";
  b_callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(b_event))
      context.add_wait(b_event);
    b_preselected.increment();
  };
  b_callbacks.postselect = [&](actors::applet_context&,
                               const runtime::waitable& fired) -> runtime::waitable {
    log.add("b postselect " + fired.name());
    return {};
  };
  b_callbacks.destroy = [&](actors::applet_context&) {
    log.add("b destroy");
    b_destroy_threads.insert();
  };
  b_handle = actors::spawn_applet(engine, "loop", b_callbacks);
  REQUIRE(b_preselected.wait_for_at_least(1, 5s));

  actors::applet_callbacks a_callbacks;
  a_callbacks.name = "a";
  a_callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(trigger))
      context.add_wait(trigger);
    if (a_killed_b.load() && !context.waiting_on(b_handle))
      context.add_wait(b_handle);
  };
  a_callbacks.postselect = [&](actors::applet_context& context,
                               const runtime::waitable& fired) -> runtime::waitable {
    if (fired == trigger) {
      b_event.set(); // an event is pending for B...
      b_handle.kill(); // ...when A kills it
      a_killed_b = true;
      log.add("a killed b");
    } else if (fired == b_handle) {
      log.add("a saw b gone");
      context.kill();
    }
    return {};
  };
  auto a_handle = actors::spawn_applet(engine, "loop", a_callbacks);
  trigger.set();
  REQUIRE(a_handle.wait_for(5s));
  REQUIRE(b_handle.wait_for(5s));

  CHECK(log.entries() == std::vector<std::string>{"a killed b", "b destroy", "a saw b gone"});
  CHECK(b_event.test()); // B never consumed it
  CHECK(all_within(b_destroy_threads, loop.thread_ids()));
  CHECK(b_handle.exit_reason().is_normal());
}
