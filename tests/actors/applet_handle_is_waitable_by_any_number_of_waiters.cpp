// An applet handle is a waitable that becomes ready once
// the applet has been destroyed and stays ready: any number of applets, wait
// sets and threads see the destruction, each exactly once, after the destroy
// callback; a handle of an applet already gone is ready at once.
// Model: Open Files of_core documentation (ofc_app_set_wait); actorloop makes
// the handle itself waitable, so no registration race exists.
#include "applet_test_support.hpp"

#include <actorloop/runtime/wait_set.hpp>

#include <doctest/doctest.h>

using namespace applet_test;

namespace {

// An applet that waits for `target` to go and records what it saw.
struct watcher {
  actorloop_test::latch_counter preselected;
  actorloop_test::latch_counter notices;
  actorloop_test::latch_counter pings_seen;
  std::atomic<int> target_destroys_at_notice{-1};
  std::atomic<bool> target_destroyed_at_notice{false};
  runtime::event ping{runtime::reset_mode::automatic, "ping"};
  actorloop_test::thread_id_set threads;
};

actors::applet_callbacks watching(watcher& self, const actors::applet_handle& target,
                                  const std::atomic<int>& target_destroys) {
  actors::applet_callbacks callbacks;
  callbacks.name = "watcher";
  callbacks.preselect = [&self, target](actors::applet_context& context) {
    if (self.notices.value() == 0 && !context.waiting_on(target))
      context.add_wait(target);
    if (!context.waiting_on(self.ping))
      context.add_wait(self.ping);
    self.preselected.increment();
  };
  callbacks.postselect = [&self, &target_destroys, target](
                           actors::applet_context& context,
                           const runtime::waitable& fired) -> runtime::waitable {
    self.threads.insert();
    if (fired == target) {
      self.target_destroys_at_notice = target_destroys.load();
      self.target_destroyed_at_notice = target.state() == actors::applet_state::destroyed;
      // The handle stays ready for good: stop waiting, or it fires every turn.
      context.remove_wait(fired);
      self.notices.increment();
    } else {
      self.pings_seen.increment();
    }
    return {};
  };
  return callbacks;
}

} // namespace

TEST_CASE("two applets, a wait set and a thread all see one applet's destruction exactly once") {
  std::atomic<int> target_destroys{0};
  runtime::event never_set{runtime::reset_mode::manual, "never-set"};
  watcher same_scheduler;
  watcher other_scheduler;
  actorloop_test::latch_counter target_preselected;

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);
  auto other = make_scheduler(engine, "other", 1);

  actors::applet_callbacks target_callbacks;
  target_callbacks.name = "target";
  target_callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(never_set))
      context.add_wait(never_set);
    target_preselected.increment();
  };
  target_callbacks.destroy = [&](actors::applet_context&) { ++target_destroys; };
  auto target = actors::spawn_applet(engine, "loop", target_callbacks);
  REQUIRE(target_preselected.wait_for_at_least(1, 5s));

  auto first_watcher =
    actors::spawn_applet(engine, "loop", watching(same_scheduler, target, target_destroys));
  auto second_watcher =
    actors::spawn_applet(engine, "other", watching(other_scheduler, target, target_destroys));
  REQUIRE(same_scheduler.preselected.wait_for_at_least(1, 5s));
  REQUIRE(other_scheduler.preselected.wait_for_at_least(1, 5s));

  runtime::wait_set set;
  set.add(target, 42);
  CHECK(set.try_wait().status == runtime::wait_status::timed_out);

  std::atomic<int> thread_saw_destroys{-1};
  std::atomic<bool> thread_woke{false};
  actorloop_test::latch_counter thread_started;
  std::thread waiting_thread{[&] {
    thread_started.increment();
    if (target.wait_for(5s)) {
      thread_woke = true;
      thread_saw_destroys = target_destroys.load();
    }
  }};
  REQUIRE(thread_started.wait_for_at_least(1, 5s));

  target.kill();

  auto result = set.wait_for(5s);
  waiting_thread.join();
  REQUIRE(result.status == runtime::wait_status::fired);
  CHECK(result.fired == target);
  CHECK(result.cookie == 42);
  CHECK(target_destroys.load() == 1);
  CHECK(set.remove(target));

  CHECK(thread_woke.load());
  CHECK(thread_saw_destroys.load() == 1);

  REQUIRE(same_scheduler.notices.wait_for_at_least(1, 5s));
  REQUIRE(other_scheduler.notices.wait_for_at_least(1, 5s));
  // A round trip through each watcher before counting exactly.
  for (watcher* each : {&same_scheduler, &other_scheduler}) {
    each->ping.set();
    REQUIRE(each->pings_seen.wait_for_at_least(1, 5s));
    CHECK(each->notices.value() == 1);
    CHECK(each->target_destroys_at_notice.load() == 1);
    CHECK(each->target_destroyed_at_notice.load());
  }
  CHECK(all_within(same_scheduler.threads, loop.thread_ids()));
  CHECK(all_within(other_scheduler.threads, other.thread_ids()));

  first_watcher.kill();
  second_watcher.kill();
  REQUIRE(first_watcher.wait_for(5s));
  REQUIRE(second_watcher.wait_for(5s));
}

TEST_CASE("the handle of an applet already destroyed is ready at once for every kind of waiter") {
  std::atomic<int> target_destroys{0};
  watcher late;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks target_callbacks;
  target_callbacks.name = "short-lived";
  target_callbacks.preselect = [](actors::applet_context& context) { context.kill(); };
  target_callbacks.destroy = [&](actors::applet_context&) { ++target_destroys; };
  auto target = actors::spawn_applet(engine, "loop", target_callbacks);
  REQUIRE(target.wait_for(5s));

  // Waiting does not consume it.
  CHECK(target.ready());
  CHECK(target.try_wait());
  CHECK(target.try_wait());
  CHECK(target.wait_for(0ms));

  runtime::wait_set set;
  set.add(target, 7);
  auto result = set.try_wait();
  CHECK(result.status == runtime::wait_status::fired);
  CHECK(result.cookie == 7);

  auto watcher_handle = actors::spawn_applet(engine, "loop", watching(late, target, target_destroys));
  REQUIRE(late.notices.wait_for_at_least(1, 5s));
  late.ping.set();
  REQUIRE(late.pings_seen.wait_for_at_least(1, 5s));
  CHECK(late.notices.value() == 1);
  CHECK(target_destroys.load() == 1);

  watcher_handle.kill();
  REQUIRE(watcher_handle.wait_for(5s));
}
