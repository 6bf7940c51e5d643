// Periodic timers: each wait consumes one tick, the deadline moves one period
// on, and ticks missed while nobody consumed them coalesce into one.
#include <actorloop/runtime/clock.hpp>
#include <actorloop/runtime/error.hpp>
#include <actorloop/runtime/timer.hpp>

#include <actorloop_test/error_code_of.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <string>
#include <system_error>

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;
using actorloop_test::error_code_of;

TEST_CASE("set_periodic with a non-positive period throws invalid_argument") {
  runtime::timer ticker{"ticker"};
  CHECK(error_code_of([&] { ticker.set_periodic(0ns); }) == runtime::errc::invalid_argument);
  CHECK(error_code_of([&] { ticker.set_periodic(-1ms); }) == runtime::errc::invalid_argument);
  CHECK(error_code_of([&] { ticker.set_periodic(0ns, runtime::clock::now()); }) ==
        runtime::errc::invalid_argument);
  CHECK(error_code_of([&] { ticker.set_periodic(-1s, runtime::clock::now()); }) ==
        runtime::errc::invalid_argument);
  // A refused call leaves the timer as it was (never set: expired, one-shot).
  CHECK(ticker.period() == runtime::duration::zero());
  CHECK(ticker.expired());
}

TEST_CASE("a periodic timer's first tick comes one period after set_periodic") {
  runtime::timer ticker;
  auto before = runtime::clock::now();
  ticker.set_periodic(20ms);
  auto after = runtime::clock::now();
  CHECK(ticker.period() == 20ms);
  REQUIRE(ticker.deadline().has_value());
  CHECK(*ticker.deadline() >= before + 20ms);
  CHECK(*ticker.deadline() <= after + 20ms);
  CHECK(ticker.remaining() <= 20ms);

  REQUIRE(ticker.wait_for(5s));
  CHECK(runtime::clock::now() - before >= 20ms);
}

TEST_CASE("a periodic timer: each wait consumes one tick and the deadline advances by one period") {
  constexpr auto period = 50ms;
  runtime::timer ticker;
  auto first = runtime::clock::now() + period;
  ticker.set_periodic(period, first);
  REQUIRE(ticker.deadline().has_value());
  CHECK(*ticker.deadline() == first);

  REQUIRE(ticker.wait_for(5s));
  auto consumed_at = runtime::clock::now();
  CHECK(consumed_at >= first);
  REQUIRE(ticker.deadline().has_value());
  auto next = *ticker.deadline();
  bool another_tick = ticker.try_wait();
  auto checked_at = runtime::clock::now();
  if (checked_at < first + period) {
    // Consumed within its period: exactly one period on, and the tick is gone.
    CHECK(next == first + period);
    CHECK_FALSE(another_tick);
  }
  // Whatever the delay, the phase is kept and the next tick is in the future.
  CHECK((next - first) % period == runtime::duration::zero());
  CHECK(next > first);
  CHECK(ticker.period() == period);

  REQUIRE(ticker.wait_for(5s));
  CHECK(runtime::clock::now() >= next);
}

TEST_CASE("a periodic timer ticks once per period: five waits take at least five periods") {
  constexpr auto period = 5ms;
  runtime::timer ticker;
  auto start = runtime::clock::now();
  ticker.set_periodic(period);
  for (int tick = 0; tick < 5; ++tick)
    REQUIRE(ticker.wait_for(5s));
  auto elapsed = runtime::clock::now() - start;
  CHECK(elapsed >= 5 * period);
  CHECK(elapsed < 3s);
}

TEST_CASE("a periodic timer coalesces missed ticks into one") {
  constexpr auto period = 100ms;
  runtime::timer ticker;
  // First tick 950 ms ago: ticks at -950, -850, ..., -50 ms were all missed.
  auto now = runtime::clock::now();
  auto first = now - 950ms;
  ticker.set_periodic(period, first);
  CHECK(ticker.expired());

  CHECK(ticker.try_wait()); // one tick for all ten missed ones
  auto consumed_at = runtime::clock::now();
  REQUIRE(ticker.deadline().has_value());
  auto next = *ticker.deadline();
  CHECK(next > consumed_at);
  CHECK((next - first) % period == runtime::duration::zero());
  bool another_tick = ticker.try_wait();
  auto checked_at = runtime::clock::now();
  if (checked_at < first + 10 * period) {
    CHECK(next == first + 10 * period);
    // No burst of queued ticks.
    CHECK_FALSE(another_tick);
  }
}

TEST_CASE("cancel stops a periodic timer, and set turns it back into a one-shot") {
  runtime::timer ticker;
  ticker.set_periodic(1ms);
  REQUIRE(ticker.wait_for(5s));
  ticker.cancel();
  CHECK_FALSE(ticker.deadline().has_value());
  CHECK_FALSE(ticker.wait_for(20ms));

  ticker.set(0ns);
  CHECK(ticker.period() == runtime::duration::zero());
  REQUIRE(ticker.wait_for(1s));
  CHECK(ticker.try_wait()); // one-shot again: stays expired
}
