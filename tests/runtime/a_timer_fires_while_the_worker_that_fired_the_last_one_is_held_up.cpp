// On a scheduler of two workers with dense timers, one worker (the timer
// keeper) spins for the next deadline, fires it and runs the job it made
// ready, keeping the timer role meanwhile; the other parks. If that job
// holds its worker (a long callback), the other worker must take the timers
// over: a timer armed from inside the long callback fires while it still
// runs. Nothing waits for time: the long callback waits for the second
// timer's postselect (bounded), so a lost hand-over fails the test.
#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/timer.hpp>

#include <actorloop_test/support.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;

namespace {

// A one-shot gate with a bounded wait (std primitives: it is waited on from
// an applet's callback, where the runtime's blocking waits refuse to run).
class keeper_gate {
public:
  void open() {
    {
      std::lock_guard guard{mutex_};
      open_ = true;
    }
    opened_.notify_all();
  }
  bool wait_for(std::chrono::milliseconds limit) {
    std::unique_lock guard{mutex_};
    return opened_.wait_for(guard, limit, [&] { return open_; });
  }

private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
};

} // namespace

TEST_CASE("a timer armed inside a long callback fires on the other worker while the callback "
          "still runs") {
  runtime::engine_options engine_options;
  engine_options.default_threads = 1;
  runtime::engine engine{engine_options};
  runtime::scheduler_options options;
  options.name = "pair";
  options.threads = 2;
  engine.create_scheduler(options);

  // Dense ticks keep a keeper spinning, so the long callback is usually run
  // by the keeper that fired its timer.
  runtime::timer tick{"tick"};
  runtime::timer long_one{"long"};
  runtime::timer armed_inside{"armed inside"};
  // Armed far ahead until the test moves them (a never-set timer counts
  // as expired).
  tick.set(1h);
  long_one.set(1h);
  armed_inside.set(1h);
  actorloop_test::latch_counter ticks;
  actorloop_test::latch_counter registered;
  keeper_gate second_fired;
  keeper_gate long_done;
  std::atomic<bool> long_running{false};
  std::atomic<bool> fired_during_long{false};
  std::atomic<bool> long_released_in_time{false};

  actors::applet_callbacks ticker;
  ticker.name = "ticker";
  ticker.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(tick)) {
      context.add_wait(tick);
      registered.increment();
    }
  };
  ticker.postselect = [&](actors::applet_context&, const runtime::waitable&) -> runtime::waitable {
    ticks.increment();
    return {};
  };
  actors::applet_callbacks holder;
  holder.name = "holder";
  // The holder and the second applet wait once: a one-shot timer that has
  // fired stays expired, and an expired timer waited on again is dispatched
  // on every turn, so waiting again would run their postselects again (a
  // second long callback, and a second run of `second` that overwrites
  // `fired_during_long` once the first long callback has ended).
  bool holder_waiting = false;
  holder.preselect = [&](actors::applet_context& context) {
    if (!std::exchange(holder_waiting, true)) {
      context.add_wait(long_one);
      registered.increment();
    }
  };
  holder.postselect = [&](actors::applet_context& context,
                          const runtime::waitable&) -> runtime::waitable {
    long_running = true;
    armed_inside.set(1ms);
    long_released_in_time = second_fired.wait_for(20s);
    long_running = false;
    context.remove_wait(long_one);
    long_done.open();
    return {};
  };
  actors::applet_callbacks second;
  second.name = "second";
  bool second_waiting = false;
  second.preselect = [&](actors::applet_context& context) {
    if (!std::exchange(second_waiting, true)) {
      context.add_wait(armed_inside);
      registered.increment();
    }
  };
  actorloop_test::latch_counter second_runs;
  second.postselect = [&](actors::applet_context& context,
                          const runtime::waitable&) -> runtime::waitable {
    second_runs.increment();
    fired_during_long = long_running.load();
    context.remove_wait(armed_inside);
    second_fired.open();
    return {};
  };

  auto ticker_handle = actors::spawn_applet(engine, "pair", ticker);
  auto holder_handle = actors::spawn_applet(engine, "pair", holder);
  auto second_handle = actors::spawn_applet(engine, "pair", second);
  REQUIRE(registered.wait_for_at_least(3, 10s));
  tick.set_periodic(20us);
  REQUIRE(ticks.wait_for_at_least(50, 10s));
  long_one.set(100us);
  REQUIRE(long_done.wait_for(30s));
  CHECK(long_released_in_time.load());
  CHECK(fired_during_long.load());
  CHECK(second_runs.value() == 1);
  // The ticks went on meanwhile and after.
  auto before = ticks.value();
  CHECK(ticks.wait_for_at_least(before + 10, 10s));

  tick.cancel();
  for (auto* handle : {&ticker_handle, &holder_handle, &second_handle})
    handle->kill();
  for (auto* handle : {&ticker_handle, &holder_handle, &second_handle})
    REQUIRE(handle->wait_for(10s));
}
