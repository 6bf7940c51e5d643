// Bounded and closed wait queues: try_push refuses without taking the value,
// push blocks until a consumer makes room, close ends pushing.
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/wait_queue.hpp>

#include <actorloop_test/error_code_of.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;
using actorloop_test::error_code_of;

TEST_CASE("a wait queue with capacity 0 is refused with invalid_argument") {
  CHECK(error_code_of([] { runtime::wait_queue<int> queue{0, "nothing fits"}; }) ==
        runtime::errc::invalid_argument);
}

TEST_CASE("try_push on a full queue gives queue_full and leaves the value with the caller") {
  runtime::wait_queue<std::unique_ptr<int>> queue{2, "small"};
  CHECK(queue.capacity() == 2);
  CHECK(queue.try_push(std::make_unique<int>(1)) == std::error_code{});
  CHECK(queue.try_push(std::make_unique<int>(2)) == std::error_code{});
  CHECK(queue.size() == 2);

  auto third = std::make_unique<int>(3);
  CHECK(queue.try_push(std::move(third)) == runtime::errc::queue_full);
  // Not consumed: the caller still owns it and can use it.
  REQUIRE(third != nullptr);
  CHECK(*third == 3);
  CHECK(queue.size() == 2);

  // Once there is room, the same value goes in and comes out intact.
  auto first = queue.try_pop();
  REQUIRE(first.has_value());
  CHECK(**first == 1);
  CHECK(queue.try_push(std::move(third)) == std::error_code{});
  CHECK(third == nullptr);
  auto second = queue.try_pop();
  REQUIRE(second.has_value());
  CHECK(**second == 2);
  auto last = queue.try_pop();
  REQUIRE(last.has_value());
  CHECK(**last == 3);
}

TEST_CASE("try_push of a copy on a full queue also gives queue_full") {
  runtime::wait_queue<std::string> queue{1};
  const std::string text = "kept";
  CHECK(queue.try_push(text) == std::error_code{});
  CHECK(queue.try_push(text) == runtime::errc::queue_full);
  CHECK(text == "kept");
  CHECK(queue.size() == 1);
}

TEST_CASE("push on a full queue blocks until a consumer thread pops") {
  runtime::wait_queue<std::string> queue{1, "one slot"};
  queue.push("first");
  REQUIRE(queue.try_push("probe") == runtime::errc::queue_full);

  runtime::event consumer_go;
  std::atomic<bool> push_returned{false};
  std::atomic<bool> push_had_returned_before_pop{true};
  std::optional<std::string> consumer_got;
  std::thread consumer{[&] {
    if (!consumer_go.wait_for(10s))
      return;
    // The producer's push cannot have returned yet: the queue is still full.
    push_had_returned_before_pop = push_returned.load();
    consumer_got = queue.try_pop();
  }};

  consumer_go.set();
  queue.push("second"); // blocks until the consumer took "first"
  push_returned = true;
  consumer.join();

  CHECK_FALSE(push_had_returned_before_pop.load());
  CHECK(consumer_got == std::optional<std::string>{"first"});
  CHECK(queue.size() == 1);
  CHECK(queue.try_pop() == std::optional<std::string>{"second"});
}

TEST_CASE("close(): try_push returns closed, push throws closed, the queue is never ready again") {
  runtime::wait_queue<int> queue{runtime::wait_queue<int>::unbounded, "closing"};
  queue.push(1);
  queue.close();
  CHECK(queue.closed());
  CHECK(queue.try_push(2) == runtime::errc::closed);
  CHECK(error_code_of([&] { queue.push(3); }) == runtime::errc::closed);
  CHECK_FALSE(queue.ready());
  CHECK_FALSE(queue.try_wait());
  CHECK(error_code_of([&] { queue.wait(); }) == runtime::errc::closed);
  CHECK(error_code_of([&] { (void)queue.wait_for(10ms); }) == runtime::errc::closed);
}

TEST_CASE("close() releases a producer blocked on a full queue with closed") {
  runtime::wait_queue<int> queue{1};
  queue.push(1);
  runtime::event about_to_push{runtime::reset_mode::manual};
  std::error_code push_result;
  std::thread producer{[&] {
    about_to_push.set();
    push_result = error_code_of([&] { queue.push(2); });
  }};
  REQUIRE(about_to_push.wait_for(5s));
  queue.close();
  producer.join(); // returns only if close released the blocked push
  CHECK(push_result == runtime::errc::closed);
}
