// ctest-timeout: 120
// Fairness of auto-reset events among applets: each set belongs to the next
// registered waiter in turn (registration order); no other waiter may take it,
// not even the previous consumer still finishing its turn when the next set
// arrives (its level re-check used to take the set meant for the next waiter).
// Here every consumer sets the event again from its own postselect and then
// keeps working, on schedulers with one and with two workers.
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

namespace {

void busy_work() {
  volatile unsigned sink = 0;
  for (unsigned step = 0; step < 20000; ++step)
    sink = sink + step;
}

struct shared_log {
  std::mutex mutex;
  std::string order;
  actorloop_test::latch_counter dispatches;
};

std::string expected_order(std::size_t waiters, std::size_t total) {
  std::string order;
  for (std::size_t index = 0; index < total; ++index)
    order += static_cast<char>('0' + index % waiters);
  return order;
}

void run_round_robin(std::size_t threads) {
  constexpr std::size_t waiters = 3;
  constexpr std::size_t total = 300;
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", threads);
  runtime::event token{runtime::reset_mode::automatic, "token"};
  shared_log log;
  actorloop_test::latch_counter registered;

  std::vector<actors::applet_handle> handles;
  for (std::size_t index = 0; index < waiters; ++index) {
    actors::applet_callbacks callbacks;
    callbacks.name = "waiter-" + std::to_string(index);
    callbacks.preselect = [&](actors::applet_context& context) {
      if (!context.waiting_on(token)) {
        context.add_wait(token);
        registered.increment();
      }
    };
    callbacks.postselect = [&, index](actors::applet_context&,
                                      const runtime::waitable&) -> runtime::waitable {
      std::size_t count = 0;
      {
        std::lock_guard guard{log.mutex};
        log.order += static_cast<char>('0' + index);
        count = log.order.size();
      }
      log.dispatches.increment();
      if (count < total) {
        token.set(); // meant for the next waiter, while this turn goes on
        busy_work();
      }
      return {};
    };
    handles.push_back(actors::spawn_applet(engine, "loop", callbacks));
    // Register one after the other: the rotation follows registration order.
    REQUIRE(registered.wait_for_at_least(index + 1, 5s));
  }
  token.set();
  REQUIRE(log.dispatches.wait_for_at_least(total, 30s));
  for (auto& each : handles)
    each.kill();
  for (auto& each : handles)
    REQUIRE(each.wait_for(5s));
  std::lock_guard guard{log.mutex};
  CHECK(log.order == expected_order(waiters, total));
  CHECK_FALSE(token.test()); // the last consumer set nothing
}

} // namespace

TEST_CASE("auto-reset sets go to three waiting applets strictly in turn on a one-thread scheduler") {
  run_round_robin(1);
}

TEST_CASE("auto-reset sets go to three waiting applets strictly in turn on a two-thread scheduler") {
  run_round_robin(2);
}
