// Manual-reset events: level-triggered, set until reset, and a set releases
// every blocked waiter.
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

TEST_CASE("a manual-reset event stays set across waits until reset") {
  runtime::event gate{runtime::reset_mode::manual, "gate"};
  CHECK(gate.mode() == runtime::reset_mode::manual);
  CHECK(gate.kind() == runtime::waitable_kind::manual_event);
  CHECK_FALSE(gate.test());

  gate.set();
  for (int round = 0; round < 3; ++round) {
    CHECK(gate.wait_for(1s));
    CHECK(gate.try_wait());
    CHECK(gate.test());
  }
  gate.wait(); // returns at once while set

  gate.reset();
  CHECK_FALSE(gate.test());
  CHECK_FALSE(gate.try_wait());
  auto start = runtime::clock::now();
  CHECK_FALSE(gate.wait_for(20ms));
  CHECK(runtime::clock::now() - start >= 20ms);
}

TEST_CASE("a set manual-reset event can be set again without effect and reset once") {
  runtime::event gate{runtime::reset_mode::manual};
  gate.set();
  gate.set();
  CHECK(gate.test());
  gate.reset();
  CHECK_FALSE(gate.test());
  gate.reset(); // resetting a clear event is harmless
  CHECK_FALSE(gate.test());
}

TEST_CASE("one set of a manual-reset event releases every blocked waiter") {
  constexpr std::size_t waiter_threads = 4;
  runtime::event gate{runtime::reset_mode::manual, "gate"};
  actorloop_test::latch_counter released;
  std::atomic<std::size_t> timed_out{0};

  std::vector<std::thread> waiters;
  for (std::size_t index = 0; index < waiter_threads; ++index)
    waiters.emplace_back([&] {
      if (gate.wait_for(10s))
        released.increment();
      else
        ++timed_out;
    });

  REQUIRE(await_waiter_count(gate, waiter_threads, 5s));
  auto start = runtime::clock::now();
  gate.set();
  REQUIRE(released.wait_for_at_least(waiter_threads, 5s));
  CHECK(runtime::clock::now() - start < 2s);
  for (auto& each : waiters)
    each.join();

  CHECK(released.value() == waiter_threads);
  CHECK(timed_out.load() == 0);
  // Releasing the waiters did not reset it.
  CHECK(gate.test());
  CHECK(runtime::detail::access::state(gate)->waiter_count() == 0);
}
