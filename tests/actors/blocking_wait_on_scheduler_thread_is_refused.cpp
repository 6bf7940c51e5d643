// Blocking waits on a scheduler thread would stall every applet of that
// scheduler: they throw would_block_scheduler instead, while the non-blocking
// forms (try_wait, try_push, try_pop) keep working there.
#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/error.hpp>
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/thread.hpp>
#include <actorloop/runtime/timer.hpp>
#include <actorloop/runtime/wait_queue.hpp>
#include <actorloop/runtime/wait_set.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;

namespace {

// The error code a call throws as runtime::error; empty if it throws nothing.
std::error_code error_code_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const runtime::error& failure) {
    return failure.code();
  }
  return {};
}

// What the applet observed on its scheduler thread.
struct observations {
  bool ran_on_scheduler_thread = false;
  std::error_code event_wait;
  std::error_code event_wait_for;
  std::error_code event_wait_until;
  std::error_code timer_wait_for;
  std::error_code queue_pop_for;
  std::error_code full_queue_push;
  std::error_code wait_set_wait_for;
  std::error_code wait_set_wait;
  std::error_code handle_dump;
  bool event_try_wait = false;
  bool wait_set_try_wait_fired = false;
  std::error_code roomy_queue_push;
  std::optional<int> queue_try_pop;
  bool event_still_set_after_refusal = false;
};

// Runs every blocking call once on the scheduler thread and records the outcome.
void observe(actors::applet_context& context, observations& seen,
             const actors::applet_handle& other_applet) {
  seen.ran_on_scheduler_thread = context.scheduler().runs_this_thread();

  runtime::event ready_event;
  ready_event.set(); // refused even though it would not have to block
  seen.event_wait = error_code_of([&] { ready_event.wait(); });
  seen.event_wait_for = error_code_of([&] { (void)ready_event.wait_for(1s); });
  seen.event_wait_until =
    error_code_of([&] { (void)ready_event.wait_until(runtime::clock::now() + 1s); });
  seen.event_still_set_after_refusal = ready_event.test();

  runtime::timer alarm;
  alarm.set(1h);
  seen.timer_wait_for = error_code_of([&] { (void)alarm.wait_for(1s); });

  runtime::wait_queue<int> empty_queue;
  seen.queue_pop_for = error_code_of([&] { (void)empty_queue.pop_for(1s); });

  runtime::wait_queue<int> full_queue{1};
  full_queue.push(1); // room: does not block
  seen.full_queue_push = error_code_of([&] { full_queue.push(2); });

  runtime::wait_set set;
  runtime::event never_set;
  set.add(never_set, 1);
  seen.wait_set_wait_for = error_code_of([&] { (void)set.wait_for(1s); });
  seen.wait_set_wait = error_code_of([&] { (void)set.wait(); });

  seen.handle_dump = error_code_of([&] { (void)other_applet.dump(1s); });

  // The non-blocking forms are fine on a scheduler thread.
  seen.event_try_wait = ready_event.try_wait();
  runtime::event member;
  member.set();
  set.add(member, 2);
  seen.wait_set_try_wait_fired = set.try_wait().status == runtime::wait_status::fired;
  runtime::wait_queue<int> roomy_queue;
  seen.roomy_queue_push = error_code_of([&] { roomy_queue.push(3); });
  seen.queue_try_pop = roomy_queue.try_pop();
}

void check_refusals(const observations& seen) {
  CHECK(seen.ran_on_scheduler_thread);
  CHECK(seen.event_wait == runtime::errc::would_block_scheduler);
  CHECK(seen.event_wait_for == runtime::errc::would_block_scheduler);
  CHECK(seen.event_wait_until == runtime::errc::would_block_scheduler);
  CHECK(seen.timer_wait_for == runtime::errc::would_block_scheduler);
  CHECK(seen.queue_pop_for == runtime::errc::would_block_scheduler);
  CHECK(seen.full_queue_push == runtime::errc::would_block_scheduler);
  CHECK(seen.wait_set_wait_for == runtime::errc::would_block_scheduler);
  CHECK(seen.wait_set_wait == runtime::errc::would_block_scheduler);
  CHECK(seen.handle_dump == runtime::errc::would_block_scheduler);
  // A refused wait did not consume the event.
  CHECK(seen.event_still_set_after_refusal);
  CHECK(seen.event_try_wait);
  CHECK(seen.wait_set_try_wait_fired);
  CHECK(seen.roomy_queue_push == std::error_code{});
  CHECK(seen.queue_try_pop == std::optional<int>{3});
}

// Spawns an applet on `scheduler_name` that observes in its first preselect
// and then kills itself; returns once it is destroyed.
observations observe_on(runtime::engine& engine, const std::string& scheduler_name) {
  observations seen;
  std::atomic<int> preselects{0};
  std::atomic<int> destroys{0};

  // Something else to call dump on: an applet that only waits.
  runtime::event never_set;
  actors::applet_callbacks bystander_callbacks;
  bystander_callbacks.name = "bystander";
  bystander_callbacks.preselect = [never_set](actors::applet_context& context) {
    if (!context.waiting_on(never_set))
      context.add_wait(never_set);
  };
  auto bystander = actors::spawn_applet(engine, scheduler_name, bystander_callbacks);

  actors::applet_callbacks callbacks;
  callbacks.name = "observer";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (preselects.fetch_add(1) == 0)
      observe(context, seen, bystander);
    context.kill();
  };
  callbacks.destroy = [&](actors::applet_context&) { ++destroys; };
  auto observer = actors::spawn_applet(engine, scheduler_name, callbacks);

  REQUIRE(observer.wait_for(10s));
  CHECK(observer.state() == actors::applet_state::destroyed);
  CHECK(observer.exit_reason().is_normal());
  CHECK(preselects.load() == 1);
  CHECK(destroys.load() == 1);

  bystander.kill();
  REQUIRE(bystander.wait_for(10s));
  CHECK_FALSE(bystander.alive());
  return seen;
}

runtime::engine_options small_engine() {
  runtime::engine_options options;
  options.default_threads = 1;
  return options;
}

} // namespace

TEST_CASE("blocking waits in an applet callback on the default scheduler throw would_block_scheduler") {
  runtime::engine engine{small_engine()};
  check_refusals(observe_on(engine, "default"));
}

TEST_CASE("blocking waits in an applet callback on a one-thread scheduler throw would_block_scheduler") {
  runtime::engine engine{small_engine()};
  runtime::scheduler_options options;
  options.name = "loop";
  options.threads = 1;
  auto loop = engine.create_scheduler(options);
  check_refusals(observe_on(engine, "loop"));
  // The refused calls did not stall the scheduler: it is still alive and idle.
  CHECK_FALSE(loop.stopped());
  CHECK(loop.empty());
}

TEST_CASE("the same blocking waits work on a plain thread") {
  runtime::event ready_event;
  ready_event.set();
  CHECK(ready_event.wait_for(1s));
  runtime::wait_set set;
  set.wake();
  CHECK(set.wait_for(1s).status == runtime::wait_status::woken);
}
