// One-shot timers on the monotonic clock: never-set counts as expired, an
// expired timer stays ready until set again, cancel disarms.
#include <actorloop/runtime/clock.hpp>
#include <actorloop/runtime/timer.hpp>
#include <actorloop/runtime/detail/access.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <thread>

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;

namespace {

// Spins with yield (no timed pause) until `what` has at least `count` registered waiters.
bool await_waiter_count(const runtime::waitable& what, std::size_t count,
                        runtime::duration limit) {
  auto give_up = runtime::clock::now() + limit;
  while (runtime::detail::access::state(what)->waiter_count() < count) {
    if (runtime::clock::now() >= give_up)
      return false;
    std::this_thread::yield();
  }
  return true;
}

} // namespace

TEST_CASE("a timer that was never set counts as expired") {
  runtime::timer never_set{"never set"};
  CHECK(never_set.kind() == runtime::waitable_kind::timer);
  CHECK(never_set.name() == "never set");
  CHECK(never_set.expired());
  CHECK(never_set.ready());
  CHECK(never_set.remaining() == runtime::duration::zero());
  CHECK(never_set.period() == runtime::duration::zero());
  CHECK(never_set.wait_for(0ms));
  // Level-triggered: still expired after being waited on.
  CHECK(never_set.try_wait());
  CHECK(never_set.expired());
}

TEST_CASE("after set(d) a wait returns no earlier than d") {
  runtime::timer alarm;
  auto before_set = runtime::clock::now();
  alarm.set(30ms);
  bool expired_at_once = alarm.expired();
  auto after_set = runtime::clock::now();
  if (after_set - before_set < 30ms) // unless the machine stalled for 30 ms
    CHECK_FALSE(expired_at_once);

  REQUIRE(alarm.wait_for(5s));
  auto fired_after = runtime::clock::now() - before_set;
  CHECK(fired_after >= 30ms);
  CHECK(fired_after < 2s);
  CHECK(alarm.expired());
}

TEST_CASE("a timer has microsecond resolution (a 300 us timer fires after >= 300 us)") {
  runtime::timer alarm;
  auto start = runtime::clock::now();
  alarm.set(300us);
  REQUIRE(alarm.wait_for(1s));
  auto elapsed = runtime::clock::now() - start;
  CHECK(elapsed >= 300us);
  // Not rounded up to some coarse tick (generous bound for a loaded VM).
  CHECK(elapsed < 100ms);
}

TEST_CASE("set_at keeps the exact deadline, to the nanosecond") {
  runtime::timer alarm;
  auto deadline = runtime::clock::now() + 1h + 123456789ns;
  alarm.set_at(deadline);
  REQUIRE(alarm.deadline().has_value());
  CHECK(*alarm.deadline() == deadline);
  CHECK_FALSE(alarm.expired());
  auto left = alarm.remaining();
  CHECK(left > 59min);
  CHECK(left <= 1h + 123456789ns);
}

TEST_CASE("remaining() is zero once the deadline has passed, and set with a negative delay expires at once") {
  runtime::timer alarm;
  alarm.set(-5s);
  CHECK(alarm.expired());
  CHECK(alarm.remaining() == runtime::duration::zero());
  REQUIRE(alarm.deadline().has_value());
  CHECK(*alarm.deadline() <= runtime::clock::now());

  alarm.set_at(runtime::clock::now() - 1ms);
  CHECK(alarm.expired());
  CHECK(alarm.remaining() == runtime::duration::zero());
}

TEST_CASE("cancel disarms a timer: a cancelled timer is never ready until set again") {
  runtime::timer alarm;
  alarm.set(1ms);
  alarm.cancel();
  CHECK_FALSE(alarm.deadline().has_value());
  CHECK(alarm.remaining() == runtime::duration::max());
  CHECK_FALSE(alarm.expired());
  auto start = runtime::clock::now();
  CHECK_FALSE(alarm.wait_for(30ms));
  CHECK(runtime::clock::now() - start >= 30ms);
  CHECK_FALSE(alarm.try_wait());

  // Cancelling also disarms a never-set (expired) timer and an expired one.
  runtime::timer never_set;
  never_set.cancel();
  CHECK_FALSE(never_set.expired());
  CHECK_FALSE(never_set.try_wait());

  runtime::timer expired;
  expired.set(0ns);
  REQUIRE(expired.expired());
  expired.cancel();
  CHECK_FALSE(expired.expired());

  // Setting it again re-arms it.
  alarm.set(0ns);
  CHECK(alarm.wait_for(1s));
}

TEST_CASE("an expired one-shot timer stays ready (level) until set again") {
  runtime::timer alarm;
  alarm.set(1ms);
  REQUIRE(alarm.wait_for(5s));
  for (int round = 0; round < 3; ++round) {
    CHECK(alarm.expired());
    CHECK(alarm.try_wait());
    CHECK(alarm.wait_for(0ms));
  }
  alarm.set(1h);
  CHECK_FALSE(alarm.expired());
  CHECK_FALSE(alarm.try_wait());
  CHECK(alarm.period() == runtime::duration::zero());
}

TEST_CASE("setting an armed timer again moves its deadline") {
  runtime::timer alarm;
  alarm.set(1h);
  auto start = runtime::clock::now();
  alarm.set(10ms);
  REQUIRE(alarm.wait_for(5s));
  CHECK(runtime::clock::now() - start >= 10ms);
  CHECK(runtime::clock::now() - start < 2s);
}

TEST_CASE("re-setting a timer from another thread wakes a wait blocked on the old deadline") {
  runtime::timer alarm;
  alarm.set(1h);
  std::atomic<bool> fired{false};
  runtime::duration blocked_for{};
  std::thread waiter{[&] {
    auto start = runtime::clock::now();
    fired = alarm.wait_for(10s);
    blocked_for = runtime::clock::now() - start;
  }};
  REQUIRE(await_waiter_count(alarm, 1, 5s));
  alarm.set(5ms);
  waiter.join();
  CHECK(fired.load());
  CHECK(blocked_for < 2s);
}
