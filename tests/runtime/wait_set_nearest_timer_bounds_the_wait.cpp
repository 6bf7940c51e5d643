// Timers in wait sets: the nearest deadline among the members bounds how long
// a wait blocks, whatever the insertion order, and a deadline moved while a
// wait is blocked is honoured.
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/timer.hpp>
#include <actorloop/runtime/wait_set.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;

TEST_CASE("of a 5 ms and a 500 ms timer, the 5 ms one is returned first, quickly") {
  runtime::wait_set set;
  runtime::timer slow{"500ms"};
  runtime::timer fast{"5ms"};
  auto start = runtime::clock::now();
  slow.set(500ms);
  fast.set(5ms);
  // The slow one first, so insertion order cannot explain the result.
  set.add(slow, 500);
  set.add(fast, 5);

  auto first = set.wait_for(5s);
  auto first_after = runtime::clock::now() - start;
  CHECK(first.status == runtime::wait_status::fired);
  CHECK(first.cookie == 5u);
  CHECK(first.fired == fast);
  CHECK(first_after >= 5ms);
  CHECK(first_after < 400ms);

  // An expired one-shot stays ready; take it out to see the slow one.
  REQUIRE(set.remove(fast));
  auto second = set.wait_for(5s);
  auto second_after = runtime::clock::now() - start;
  CHECK(second.status == runtime::wait_status::fired);
  CHECK(second.cookie == 500u);
  CHECK(second_after >= 500ms);
  CHECK(second_after < 3s);
}

TEST_CASE("a timer deadline bounds a wait that has no timeout of its own") {
  runtime::wait_set set;
  runtime::timer alarm;
  auto start = runtime::clock::now();
  alarm.set(10ms);
  set.add(alarm, 1);
  auto result = set.wait_until(runtime::clock::now() + 10s);
  auto elapsed = runtime::clock::now() - start;
  CHECK(result.status == runtime::wait_status::fired);
  CHECK(elapsed >= 10ms);
  CHECK(elapsed < 2s);
}

TEST_CASE("the wait's own timeout wins over a later timer") {
  runtime::wait_set set;
  runtime::timer far;
  far.set(1h);
  set.add(far, 1);
  auto start = runtime::clock::now();
  auto result = set.wait_for(20ms);
  auto elapsed = runtime::clock::now() - start;
  CHECK(result.status == runtime::wait_status::timed_out);
  CHECK(elapsed >= 20ms);
  CHECK(elapsed < 2s);
}

TEST_CASE("a timer re-set to fire sooner while a wait is blocked fires on the new deadline") {
  runtime::wait_set set;
  runtime::timer alarm;
  alarm.set(1h);
  set.add(alarm, 1);
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
  alarm.set(5ms);
  waiter.join();
  CHECK(result.status == runtime::wait_status::fired);
  CHECK(result.cookie == 1u);
  CHECK(blocked_for < 2s);
}

TEST_CASE("a periodic member fires once per period") {
  runtime::wait_set set;
  runtime::timer ticker;
  auto start = runtime::clock::now();
  ticker.set_periodic(5ms);
  set.add(ticker, 1);
  for (int tick = 0; tick < 4; ++tick) {
    auto result = set.wait_for(5s);
    REQUIRE(result.status == runtime::wait_status::fired);
    CHECK(result.cookie == 1u);
  }
  CHECK(runtime::clock::now() - start >= 20ms);
}
