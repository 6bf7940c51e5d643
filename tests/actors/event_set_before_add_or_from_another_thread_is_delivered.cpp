// An event set before it is added is delivered after the add;
// an event set from another thread while the scheduler is idle wakes the
// applet promptly; an event set in another applet's postselect is delivered
// on a later turn (test_event's pattern).
// Model: Open Files of_core documentation ("Waitable Events"; ofc_waitset_add).
#include "applet_test_support.hpp"

#include <actorloop/runtime/timer.hpp>

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("an event set before the applet adds it is delivered once after the add") {
  runtime::event early{runtime::reset_mode::automatic, "early"};
  runtime::event probe{runtime::reset_mode::automatic, "probe"};
  event_log log;
  std::atomic<bool> add_early{false};
  actorloop_test::latch_counter preselects;

  early.set(); // before the applet exists

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "late-adder";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(probe))
      context.add_wait(probe);
    if (add_early.load() && !context.waiting_on(early))
      context.add_wait(early);
    preselects.increment();
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    log.add(fired.name());
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(preselects.wait_for_at_least(1, 5s));

  // Not registered yet: a probe round trip passes without it.
  probe.set();
  REQUIRE(log.wait_for_size(1, 5s));
  CHECK(early.test());

  // Registered on the next preselect (forced by a wake): delivered then.
  add_early = true;
  loop.wake();
  REQUIRE(log.wait_for_size(2, 5s));
  probe.set();
  REQUIRE(log.wait_for_size(3, 5s));

  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(log.entries() == std::vector<std::string>{"probe", "early", "probe"});
  CHECK_FALSE(early.test());
}

TEST_CASE("an event set from another thread wakes an idle applet within a second") {
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};
  actorloop_test::latch_counter preselects;
  actorloop_test::latch_counter postselects;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "idle-listener";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(doorbell))
      context.add_wait(doorbell);
    preselects.increment();
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable&) -> runtime::waitable {
    postselects.increment();
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);

  for (std::size_t round = 1; round <= 5; ++round) {
    REQUIRE(preselects.wait_for_at_least(round, 5s));
    std::thread setter{[&doorbell] { doorbell.set(); }};
    setter.join();
    REQUIRE(postselects.wait_for_at_least(round, 1s));
  }
  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(postselects.value() == 5);
}

TEST_CASE("an event set in one applet's postselect is delivered to another applet (test_event)") {
  constexpr std::size_t rounds = 10;
  runtime::event handoff{runtime::reset_mode::automatic, "handoff"};
  runtime::timer tick{"tick"};
  actorloop_test::latch_counter deliveries;
  std::atomic<int> ticks{0};

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  // The producer sets the event on every timer tick (every 2 ms).
  actors::applet_callbacks producer_callbacks;
  producer_callbacks.name = "producer";
  producer_callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(tick)) {
      tick.set(2ms);
      context.add_wait(tick);
    }
  };
  producer_callbacks.postselect = [&](actors::applet_context& context,
                                      const runtime::waitable&) -> runtime::waitable {
    ++ticks;
    handoff.set();
    if (deliveries.value() < rounds)
      tick.set(2ms);
    else
      context.kill();
    return {};
  };

  actors::applet_callbacks consumer_callbacks;
  consumer_callbacks.name = "consumer";
  consumer_callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(handoff))
      context.add_wait(handoff);
  };
  consumer_callbacks.postselect = [&](actors::applet_context& context,
                                      const runtime::waitable&) -> runtime::waitable {
    deliveries.increment();
    if (deliveries.value() == rounds)
      context.kill();
    return {};
  };
  auto consumer = actors::spawn_applet(engine, "loop", consumer_callbacks);
  auto producer = actors::spawn_applet(engine, "loop", producer_callbacks);

  REQUIRE(consumer.wait_for(5s));
  REQUIRE(producer.wait_for(5s));
  CHECK(deliveries.value() == rounds);
  // Each tick's set was delivered before the next tick (2 ms apart), and the
  // producer stops after the tick that follows the tenth delivery.
  CHECK(ticks.load() == static_cast<int>(rounds) + 1);
}
