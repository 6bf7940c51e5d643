// Auto-reset events: each set is consumed by exactly one test-and-consume,
// one wait, or one blocked waiter (Win32's single release).
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/detail/access.hpp>

#include <actorloop_test/support.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;

namespace {

// Spins with yield (no timed pause) until `what` has at least `count` registered waiters,
// i.e. the waiting threads are inside their blocking wait.
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

TEST_CASE("a new auto-reset event is not set and reports its kind and name") {
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};
  CHECK(doorbell.mode() == runtime::reset_mode::automatic);
  CHECK(doorbell.kind() == runtime::waitable_kind::auto_event);
  CHECK(doorbell.name() == "doorbell");
  CHECK(doorbell.id() != 0);
  CHECK(doorbell.id() != runtime::event{}.id());
  CHECK_FALSE(doorbell.test());
  CHECK_FALSE(doorbell.ready());
  CHECK_FALSE(doorbell.try_wait());
}

TEST_CASE("test does not consume an auto-reset event, try_wait does") {
  runtime::event doorbell;
  doorbell.set();
  CHECK(doorbell.test());
  CHECK(doorbell.test()); // still set: test never consumes
  CHECK(doorbell.try_wait());
  CHECK_FALSE(doorbell.test());
  CHECK_FALSE(doorbell.try_wait());
}

TEST_CASE("two sets before a wait give one wait, not two (an event is not a counter)") {
  runtime::event doorbell;
  doorbell.set();
  doorbell.set();
  CHECK(doorbell.wait_for(1s));
  CHECK_FALSE(doorbell.test());
  CHECK_FALSE(doorbell.try_wait());
  CHECK_FALSE(doorbell.wait_for(0ms));
}

TEST_CASE("wait on an auto-reset event returns once per set and leaves it reset") {
  runtime::event doorbell;
  for (int round = 0; round < 3; ++round) {
    doorbell.set();
    CHECK(doorbell.wait_for(1s));
    CHECK_FALSE(doorbell.test());
  }
}

TEST_CASE("reset clears an auto-reset event that nobody consumed") {
  runtime::event doorbell;
  doorbell.set();
  doorbell.reset();
  CHECK_FALSE(doorbell.test());
  CHECK_FALSE(doorbell.try_wait());
}

TEST_CASE("wait_for on an auto-reset event that is never set times out after the timeout") {
  runtime::event doorbell;
  auto start = runtime::clock::now();
  CHECK_FALSE(doorbell.wait_for(20ms));
  CHECK(runtime::clock::now() - start >= 20ms);
  CHECK_FALSE(doorbell.wait_until(runtime::clock::now() - 1ms));
}

TEST_CASE("a set from another thread wakes a blocked wait promptly") {
  runtime::event doorbell;
  std::atomic<bool> returned_set{false};
  runtime::duration blocked_for{};
  runtime::event waiter_done{runtime::reset_mode::manual};

  std::thread waiter{[&] {
    auto start = runtime::clock::now();
    returned_set = doorbell.wait_for(10s);
    blocked_for = runtime::clock::now() - start;
    waiter_done.set();
  }};

  // The waiter is registered, so the set below reaches a blocked wait.
  REQUIRE(await_waiter_count(doorbell, 1, 5s));
  doorbell.set();
  REQUIRE(waiter_done.wait_for(5s));
  waiter.join();

  CHECK(returned_set.load());
  // Far below the 10 s timeout: the set itself woke the waiter.
  CHECK(blocked_for < 2s);
  CHECK_FALSE(doorbell.test()); // the waiter consumed it
  CHECK(runtime::detail::access::state(doorbell)->waiter_count() == 0);
}

TEST_CASE("an auto-reset event releases exactly one blocked waiter per set") {
  constexpr std::size_t waiter_threads = 4;
  runtime::event doorbell{runtime::reset_mode::automatic, "shared doorbell"};
  actorloop_test::latch_counter released;
  std::atomic<std::size_t> timed_out{0};

  std::vector<std::thread> waiters;
  for (std::size_t index = 0; index < waiter_threads; ++index)
    waiters.emplace_back([&] {
      if (doorbell.wait_for(10s))
        released.increment();
      else
        ++timed_out;
    });

  REQUIRE(await_waiter_count(doorbell, waiter_threads, 5s));
  for (std::size_t round = 1; round <= waiter_threads; ++round) {
    doorbell.set();
    REQUIRE(released.wait_for_at_least(round, 5s));
    // Exactly one more waiter left per set; the rest are still blocked.
    CHECK(released.value() == round);
    CHECK(runtime::detail::access::state(doorbell)->waiter_count() == waiter_threads - round);
  }
  for (auto& each : waiters)
    each.join();

  CHECK(released.value() == waiter_threads);
  CHECK(timed_out.load() == 0);
  // Every set was consumed by one waiter: a broadcast that released several
  // waiters on one set would leave a later set unconsumed here.
  CHECK_FALSE(doorbell.test());
}
