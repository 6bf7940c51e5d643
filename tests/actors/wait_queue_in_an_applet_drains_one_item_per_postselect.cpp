// A push from any thread wakes the applet waiting on a wait
// queue; the queue stays ready while non-empty, so an applet taking one item
// per postselect is dispatched once per item until it is empty, in FIFO order.
// Model: Open Files of_core documentation (ofc_waitq_enqueue).
#include "applet_test_support.hpp"

#include <actorloop/runtime/wait_queue.hpp>

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("ten items pushed from another thread give ten postselects, in FIFO order") {
  constexpr int item_count = 10;
  runtime::wait_queue<int> queue{runtime::wait_queue<int>::unbounded, "inbox"};
  runtime::event probe{runtime::reset_mode::automatic, "probe"};
  std::vector<int> received; // scheduler thread only until the handle is ready
  std::atomic<int> empty_dispatches{0};
  actorloop_test::latch_counter items_seen;
  actorloop_test::latch_counter probes_seen;
  actorloop_test::latch_counter preselected;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "consumer";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(queue))
      context.add_wait(queue);
    if (!context.waiting_on(probe))
      context.add_wait(probe);
    preselected.increment();
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    if (fired == probe) {
      probes_seen.increment();
      return {};
    }
    if (auto item = queue.try_pop()) {
      received.push_back(*item);
      items_seen.increment();
    } else {
      ++empty_dispatches;
    }
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(preselected.wait_for_at_least(1, 5s));

  std::thread producer{[&queue] {
    for (int item = 0; item < item_count; ++item)
      queue.push(item);
  }};
  producer.join();
  REQUIRE(items_seen.wait_for_at_least(item_count, 5s));
  probe.set();
  REQUIRE(probes_seen.wait_for_at_least(1, 5s));

  // A second batch after the queue ran dry wakes it again.
  std::thread second_producer{[&queue] { queue.push(item_count); }};
  second_producer.join();
  REQUIRE(items_seen.wait_for_at_least(item_count + 1, 5s));
  probe.set();
  REQUIRE(probes_seen.wait_for_at_least(2, 5s));

  handle.kill();
  REQUIRE(handle.wait_for(5s));
  std::vector<int> expected;
  for (int item = 0; item <= item_count; ++item)
    expected.push_back(item);
  CHECK(received == expected);
  CHECK(items_seen.value() == static_cast<std::size_t>(item_count + 1));
  CHECK(empty_dispatches.load() == 0);
  CHECK(queue.empty());
  CHECK_FALSE(queue.ready());
}

TEST_CASE("emptying the queue with clear stops the dispatches") {
  runtime::wait_queue<int> queue{runtime::wait_queue<int>::unbounded, "inbox"};
  runtime::event probe{runtime::reset_mode::automatic, "probe"};
  actorloop_test::latch_counter queue_dispatches;
  actorloop_test::latch_counter probes_seen;

  for (int item = 0; item < 5; ++item)
    REQUIRE(queue.try_push(item) == std::error_code{});

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "clearer";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(queue))
      context.add_wait(queue);
    if (!context.waiting_on(probe))
      context.add_wait(probe);
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    if (fired == probe) {
      probes_seen.increment();
    } else {
      queue_dispatches.increment();
      CHECK(queue.try_pop() == std::optional<int>{static_cast<int>(queue_dispatches.value()) - 1});
      if (queue_dispatches.value() == 2)
        queue.clear(); // three left, dropped at once
    }
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(queue_dispatches.wait_for_at_least(2, 5s));
  probe.set();
  REQUIRE(probes_seen.wait_for_at_least(1, 5s));
  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(queue_dispatches.value() == 2);
  CHECK(queue.empty());
}
