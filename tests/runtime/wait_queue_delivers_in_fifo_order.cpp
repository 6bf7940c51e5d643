// Wait queues: FIFO per producer, every item exactly once, ready while
// non-empty (level-triggered) and not ready once emptied.
#include <actorloop/runtime/wait_queue.hpp>
#include <actorloop/runtime/wait_set.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <numeric>
#include <cstddef>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;

TEST_CASE("a new wait queue is empty, unbounded and not ready") {
  runtime::wait_queue<int> queue{runtime::wait_queue<int>::unbounded, "inbox"};
  CHECK(queue.kind() == runtime::waitable_kind::wait_queue);
  CHECK(queue.name() == "inbox");
  CHECK(queue.empty());
  CHECK(queue.size() == 0);
  CHECK(queue.capacity() == runtime::wait_queue<int>::unbounded);
  CHECK_FALSE(queue.ready());
  CHECK_FALSE(queue.try_pop().has_value());
}

TEST_CASE("a wait queue stays ready while non-empty and emptying it clears readiness") {
  runtime::wait_queue<std::string> queue;
  REQUIRE_FALSE(queue.try_push("one"));
  REQUIRE_FALSE(queue.try_push("two"));
  queue.push("three");
  CHECK(queue.size() == 3);

  // Level-triggered: waiting does not consume an item.
  CHECK(queue.ready());
  CHECK(queue.try_wait());
  CHECK(queue.wait_for(0ms));
  CHECK(queue.size() == 3);

  CHECK(queue.try_pop() == std::optional<std::string>{"one"});
  CHECK(queue.ready()); // one of three taken: still ready
  CHECK(queue.try_pop() == std::optional<std::string>{"two"});
  CHECK(queue.ready());
  CHECK(queue.try_pop() == std::optional<std::string>{"three"});
  CHECK_FALSE(queue.ready());
  CHECK_FALSE(queue.try_wait());
  CHECK(queue.empty());
}

TEST_CASE("items from one producer thread arrive in FIFO order") {
  constexpr int item_count = 2000;
  runtime::wait_queue<int> queue;
  std::thread producer{[&] {
    for (int value = 0; value < item_count; ++value)
      queue.push(value);
  }};

  std::vector<int> received;
  for (int index = 0; index < item_count; ++index) {
    auto item = queue.pop_for(5s);
    REQUIRE(item.has_value());
    received.push_back(*item);
  }
  producer.join();

  std::vector<int> expected(item_count);
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(received == expected);
  CHECK(queue.empty());
  CHECK_FALSE(queue.ready());
}

TEST_CASE("items from two producer threads all arrive exactly once, each producer in order") {
  constexpr int producers = 2;
  constexpr int items_per_producer = 2000;
  runtime::wait_queue<int> queue;
  std::vector<std::thread> threads;
  for (int producer = 0; producer < producers; ++producer)
    threads.emplace_back([&queue, producer] {
      for (int index = 0; index < items_per_producer; ++index)
        queue.push(producer * items_per_producer + index);
    });

  std::vector<int> times_seen(producers * items_per_producer, 0);
  std::vector<int> last_from(producers, -1);
  bool in_order = true;
  for (int received = 0; received < producers * items_per_producer; ++received) {
    auto item = queue.pop_for(5s);
    REQUIRE(item.has_value());
    REQUIRE(*item >= 0);
    REQUIRE(*item < producers * items_per_producer);
    ++times_seen[static_cast<std::size_t>(*item)];
    auto producer = *item / items_per_producer;
    auto index = *item % items_per_producer;
    if (index != last_from[static_cast<std::size_t>(producer)] + 1)
      in_order = false;
    last_from[static_cast<std::size_t>(producer)] = index;
  }
  for (auto& each : threads)
    each.join();

  CHECK(in_order);
  std::size_t seen_exactly_once = 0;
  for (auto count : times_seen)
    if (count == 1)
      ++seen_exactly_once;
  CHECK(seen_exactly_once == times_seen.size());
  CHECK_FALSE(queue.try_pop().has_value());
}

TEST_CASE("pop returns at once from a non-empty queue and pop_for times out on an empty one") {
  runtime::wait_queue<int> queue;
  queue.push(7);
  CHECK(queue.pop() == 7);

  auto start = runtime::clock::now();
  CHECK_FALSE(queue.pop_for(20ms).has_value());
  CHECK(runtime::clock::now() - start >= 20ms);
}

TEST_CASE("a push from another thread wakes a blocked pop") {
  runtime::wait_queue<int> queue;
  runtime::wait_queue<int> started;
  std::optional<int> popped;
  runtime::duration blocked_for{};
  std::thread consumer{[&] {
    started.push(1);
    auto start = runtime::clock::now();
    popped = queue.pop_for(10s);
    blocked_for = runtime::clock::now() - start;
  }};
  REQUIRE(started.pop_for(5s).has_value());
  queue.push(42);
  consumer.join();
  CHECK(popped == std::optional<int>{42});
  CHECK(blocked_for < 2s);
}

TEST_CASE("clear() drops every item and clears readiness (the original left its event set)") {
  runtime::wait_queue<int> queue;
  for (int value = 0; value < 3; ++value)
    queue.push(value);
  REQUIRE(queue.ready());

  runtime::wait_set waiters;
  waiters.add(queue, 1);

  queue.clear();
  CHECK(queue.empty());
  CHECK_FALSE(queue.ready());
  CHECK_FALSE(queue.try_wait());
  CHECK_FALSE(queue.wait_for(10ms));
  CHECK(waiters.try_wait().status == runtime::wait_status::timed_out);

  // Usable again afterwards.
  queue.push(9);
  CHECK(queue.ready());
  auto result = waiters.wait_for(1s);
  CHECK(result.status == runtime::wait_status::fired);
  CHECK(result.cookie == 1u);
  CHECK(queue.try_pop() == std::optional<int>{9});
}
