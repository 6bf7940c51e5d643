// wait_queue::take_all: every item queued at the call, oldest first, in one
// call; the queue is then empty and not ready, and producers blocked on a
// full queue get room.
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/wait_queue.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;

TEST_CASE("take_all returns every queued item in FIFO order and leaves the queue empty") {
  runtime::wait_queue<std::unique_ptr<int>> queue{runtime::wait_queue<std::unique_ptr<int>>::unbounded,
                                                  "batch"};
  for (int item = 0; item < 5; ++item)
    REQUIRE(queue.try_push(std::make_unique<int>(item)) == std::error_code{});
  REQUIRE(queue.ready());

  auto taken = queue.take_all();
  REQUIRE(taken.size() == 5);
  for (int item = 0; item < 5; ++item) {
    REQUIRE(taken[static_cast<std::size_t>(item)] != nullptr);
    CHECK(*taken[static_cast<std::size_t>(item)] == item);
  }
  CHECK(queue.empty());
  CHECK_FALSE(queue.ready());
  CHECK_FALSE(queue.try_wait());

  // Nothing queued: an empty batch, and the queue still works afterwards.
  CHECK(queue.take_all().empty());
  REQUIRE(queue.try_push(std::make_unique<int>(7)) == std::error_code{});
  CHECK(queue.ready());
  auto again = queue.take_all();
  REQUIRE(again.size() == 1);
  CHECK(*again.front() == 7);
}

TEST_CASE("take_all on a full bounded queue releases a producer blocked in push") {
  runtime::wait_queue<std::string> queue{2, "two slots"};
  queue.push("a");
  queue.push("b");
  runtime::event about_to_push{runtime::reset_mode::manual};
  std::thread producer{[&] {
    about_to_push.set();
    queue.push("c"); // blocks until there is room
  }};
  REQUIRE(about_to_push.wait_for(5s));
  std::deque<std::string> seen;
  // The producer may or may not have pushed yet; collect until all three came.
  while (seen.size() < 3) {
    for (auto& item : queue.take_all())
      seen.push_back(std::move(item));
    if (seen.size() < 3)
      REQUIRE(queue.wait_for(5s)); // ready again once "c" is in; a timeout fails
  }
  producer.join(); // returns only if take_all made room
  CHECK(seen == std::deque<std::string>{"a", "b", "c"});
  CHECK(queue.empty());
}

TEST_CASE("take_all on a closed queue still hands over what was queued before close") {
  runtime::wait_queue<int> queue{runtime::wait_queue<int>::unbounded, "closing"};
  queue.push(1);
  queue.push(2);
  queue.close();
  auto taken = queue.take_all();
  CHECK(taken == std::deque<int>{1, 2});
  CHECK(queue.take_all().empty());
  CHECK(queue.try_push(3) == runtime::errc::closed);
}
