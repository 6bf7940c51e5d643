// Wait set wake-ups: wake() interrupts a blocked wait at once, a wake with
// nobody waiting is kept for the next wait, and a member made ready from
// another thread rings the doorbell.
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/wait_set.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;

TEST_CASE("wake() from another thread makes a blocked wait return woken") {
  runtime::wait_set set;
  runtime::event never_set;
  set.add(never_set, 1);
  runtime::event about_to_wait{runtime::reset_mode::manual};
  runtime::wait_result result;
  runtime::duration blocked_for{};

  std::thread waiter{[&] {
    about_to_wait.set();
    auto start = runtime::clock::now();
    result = set.wait_for(10s);
    blocked_for = runtime::clock::now() - start;
  }};
  REQUIRE(about_to_wait.wait_for(5s));
  set.wake();
  waiter.join();

  CHECK(result.status == runtime::wait_status::woken);
  CHECK_FALSE(static_cast<bool>(result.fired));
  CHECK(result.cookie == 0u);
  // Far below the 10 s timeout: the wake ended the wait.
  CHECK(blocked_for < 2s);
}

TEST_CASE("a wake that arrives before the wait is not lost, and counts once") {
  runtime::wait_set set;
  set.wake();
  auto start = runtime::clock::now();
  auto first = set.wait_for(5s);
  CHECK(first.status == runtime::wait_status::woken);
  CHECK(runtime::clock::now() - start < 2s);
  // One wake, one woken wait.
  CHECK(set.wait_for(20ms).status == runtime::wait_status::timed_out);
}

TEST_CASE("a pending wake is reported by try_wait too") {
  runtime::wait_set set;
  set.wake();
  CHECK(set.try_wait().status == runtime::wait_status::woken);
  CHECK(set.try_wait().status == runtime::wait_status::timed_out);
}

TEST_CASE("wait_for with nothing ready times out with status timed_out") {
  runtime::wait_set set;
  runtime::event never_set;
  set.add(never_set, 1);
  auto start = runtime::clock::now();
  auto result = set.wait_for(30ms);
  auto elapsed = runtime::clock::now() - start;
  CHECK(result.status == runtime::wait_status::timed_out);
  CHECK_FALSE(static_cast<bool>(result.fired));
  CHECK(elapsed >= 30ms);
  CHECK(elapsed < 2s);

  // An empty set times out the same way.
  runtime::wait_set empty;
  CHECK(empty.wait_until(runtime::clock::now() + 10ms).status == runtime::wait_status::timed_out);
}

TEST_CASE("an event set from another thread wakes a blocked wait promptly") {
  runtime::wait_set set;
  runtime::event doorbell;
  set.add(doorbell, 11);
  runtime::event about_to_wait{runtime::reset_mode::manual};
  runtime::wait_result result;
  runtime::duration blocked_for{};

  std::thread waiter{[&] {
    about_to_wait.set();
    auto start = runtime::clock::now();
    result = set.wait_for(10s);
    blocked_for = runtime::clock::now() - start;
  }};
  REQUIRE(about_to_wait.wait_for(5s));
  doorbell.set();
  waiter.join();

  CHECK(result.status == runtime::wait_status::fired);
  CHECK(result.cookie == 11u);
  CHECK(result.fired == doorbell);
  CHECK(blocked_for < 2s);
  CHECK_FALSE(doorbell.test());
}

TEST_CASE("a member added by another thread while a wait is blocked is seen") {
  runtime::wait_set set;
  runtime::event about_to_wait{runtime::reset_mode::manual};
  runtime::wait_result result;
  std::thread waiter{[&] {
    about_to_wait.set();
    result = set.wait_for(10s);
  }};
  REQUIRE(about_to_wait.wait_for(5s));
  runtime::event ready_already;
  ready_already.set();
  set.add(ready_already, 4);
  waiter.join();
  CHECK(result.status == runtime::wait_status::fired);
  CHECK(result.cookie == 4u);
}

TEST_CASE("wakes and fired members are both delivered, one per wait") {
  runtime::wait_set set;
  runtime::event doorbell;
  set.add(doorbell, 1);
  doorbell.set();
  set.wake();
  int fired = 0;
  int woken = 0;
  for (int round = 0; round < 2; ++round) {
    auto result = set.wait_for(5s);
    if (result.status == runtime::wait_status::fired)
      ++fired;
    if (result.status == runtime::wait_status::woken)
      ++woken;
  }
  CHECK(fired == 1);
  CHECK(woken == 1);
  CHECK(set.try_wait().status == runtime::wait_status::timed_out);
}
