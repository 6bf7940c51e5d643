// Once an applet is killed, neither its preselect nor its
// postselect runs again, even with events pending; its destroy runs once.
// Its handle reports it as going (destroying or destroyed) right after kill.
// Model: Open Files of_core documentation (ofc_app_kill).
#include "applet_test_support.hpp"

#include <actorloop/runtime/wait_queue.hpp>

#include <doctest/doctest.h>

using namespace applet_test;

namespace {

struct victim_counts {
  std::atomic<int> preselects{0};
  std::atomic<int> postselects{0};
  std::atomic<int> destroys{0};
  actorloop_test::latch_counter preselected;
};

} // namespace

TEST_CASE("killed by a sibling while its events are pending, the victim gets no further callback") {
  victim_counts victim_seen;
  runtime::event first{runtime::reset_mode::automatic, "first"};
  runtime::event second{runtime::reset_mode::automatic, "second"};
  runtime::event level{runtime::reset_mode::manual, "level"};
  runtime::wait_queue<int> queue{runtime::wait_queue<int>::unbounded, "queue"};
  runtime::event trigger{runtime::reset_mode::automatic, "trigger"};
  actors::applet_handle victim; // set before the trigger, read by the killer after it
  std::atomic<bool> victim_going_right_after_kill{false};
  actorloop_test::latch_counter killer_done;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks victim_callbacks;
  victim_callbacks.name = "victim";
  victim_callbacks.preselect = [&](actors::applet_context& context) {
    ++victim_seen.preselects;
    for (const runtime::waitable& each :
         {runtime::waitable{first}, runtime::waitable{second}, runtime::waitable{level},
          runtime::waitable{queue}})
      if (!context.waiting_on(each))
        context.add_wait(each);
    victim_seen.preselected.increment();
  };
  victim_callbacks.postselect = [&](actors::applet_context&,
                                    const runtime::waitable&) -> runtime::waitable {
    ++victim_seen.postselects;
    return {};
  };
  victim_callbacks.destroy = [&](actors::applet_context&) { ++victim_seen.destroys; };
  victim = actors::spawn_applet(engine, "loop", victim_callbacks);
  REQUIRE(victim_seen.preselected.wait_for_at_least(1, 5s));

  actors::applet_callbacks killer_callbacks;
  killer_callbacks.name = "killer";
  killer_callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(trigger))
      context.add_wait(trigger);
  };
  killer_callbacks.postselect = [&](actors::applet_context&,
                                    const runtime::waitable&) -> runtime::waitable {
    // Same thread as the victim: it cannot run between these lines.
    first.set();
    second.set();
    level.set();
    CHECK(queue.try_push(1) == std::error_code{});
    victim.kill();
    auto state = victim.state();
    victim_going_right_after_kill =
      state == actors::applet_state::destroying || state == actors::applet_state::destroyed;
    killer_done.increment();
    return {};
  };
  auto killer = actors::spawn_applet(engine, "loop", killer_callbacks);
  trigger.set();
  REQUIRE(killer_done.wait_for_at_least(1, 5s));
  REQUIRE(victim.wait_for(5s));

  CHECK(victim_going_right_after_kill.load());
  CHECK(victim_seen.preselects.load() == 1);
  CHECK(victim_seen.postselects.load() == 0);
  CHECK(victim_seen.destroys.load() == 1);
  CHECK(victim.exit_reason().is_normal());
  // Nothing was consumed on the victim's behalf.
  CHECK(first.test());
  CHECK(second.test());
  CHECK(level.test());
  CHECK(queue.size() == 1);

  killer.kill();
  REQUIRE(killer.wait_for(5s));
}

TEST_CASE("killed from a foreign thread during its postselect, the applet gets no further callback") {
  victim_counts seen;
  runtime::event level{runtime::reset_mode::manual, "level"};
  gate entered;
  std::atomic<bool> kill_seen_in_time{false};
  actors::applet_handle handle; // assigned before the level is set

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "busy";
  callbacks.preselect = [&](actors::applet_context& context) {
    ++seen.preselects;
    context.wait_on(level);
    seen.preselected.increment();
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable&) -> runtime::waitable {
    ++seen.postselects;
    entered.open();
    // Stay inside until the kill is requested: kill() waits for this to return.
    auto limit = std::chrono::steady_clock::now() + 5s;
    while (handle.state() == actors::applet_state::running &&
           std::chrono::steady_clock::now() < limit)
      std::this_thread::yield();
    kill_seen_in_time = handle.state() != actors::applet_state::running;
    return {};
  };
  callbacks.destroy = [&](actors::applet_context&) { ++seen.destroys; };
  handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(seen.preselected.wait_for_at_least(1, 5s));

  // The manual event would re-dispatch on every turn; the kill lands mid-postselect.
  level.set();
  REQUIRE(entered.wait_for(5s));
  handle.kill();
  // kill() returned after that postselect, and no callback follows it.
  CHECK(kill_seen_in_time.load());
  CHECK(seen.postselects.load() == 1);
  CHECK(seen.preselects.load() == 1);
  auto state = handle.state();
  CHECK((state == actors::applet_state::destroying || state == actors::applet_state::destroyed));
  REQUIRE(handle.wait_for(5s));

  CHECK(seen.postselects.load() == 1);
  CHECK(seen.preselects.load() == 1);
  CHECK(seen.destroys.load() == 1);
  CHECK(level.test());
  CHECK(handle.exit_reason().is_normal());
}
