// wait_queue::when_room: a producer that must not block registers a
// one-shot callback on a full queue. It runs exactly once when a consumer
// makes room (try_pop, take_all, clear) or the queue closes, after the
// queue's locks are released (the callback can push at once), on the
// consumer's thread. With room, or closed, nothing is registered.
#include <actorloop/runtime/wait_queue.hpp>

#include <doctest/doctest.h>

#include <thread>

namespace runtime = actorloop::runtime;

TEST_CASE(
    "when_room registers nothing while there is room, on a closed queue or an unbounded one") {
  runtime::wait_queue<int> queue{2, "room"};
  int calls = 0;
  CHECK_FALSE(queue.when_room([&] { ++calls; }));
  runtime::wait_queue<int> unbounded;
  CHECK_FALSE(unbounded.when_room([&] { ++calls; }));
  REQUIRE(queue.try_push(1) == std::error_code{});
  REQUIRE(queue.try_push(2) == std::error_code{});
  queue.close();
  CHECK_FALSE(queue.when_room([&] { ++calls; }));
  CHECK(calls == 0);
}

TEST_CASE("a room callback runs once, on the consumer's thread, and may push") {
  runtime::wait_queue<int> queue{2, "room"};
  REQUIRE(queue.try_push(1) == std::error_code{});
  REQUIRE(queue.try_push(2) == std::error_code{});
  int calls = 0;
  std::thread::id ran_on;
  std::error_code pushed{runtime::errc::invalid_argument};
  REQUIRE(queue.when_room([&] {
    ++calls;
    ran_on = std::this_thread::get_id();
    pushed = queue.try_push(3); // no lock held: this must not deadlock
  }));
  CHECK(queue.try_push(9) == runtime::errc::queue_full);
  CHECK(calls == 0);
  std::thread consumer{[&] { CHECK(queue.try_pop() == 1); }};
  auto consumer_id = consumer.get_id();
  consumer.join();
  CHECK(calls == 1);
  CHECK(ran_on == consumer_id);
  CHECK(pushed == std::error_code{});
  CHECK(queue.size() == 2);
  // One-shot: more room does not run it again.
  CHECK(queue.try_pop() == 2);
  CHECK(queue.try_pop() == 3);
  CHECK(calls == 1);
}

TEST_CASE("take_all, clear and close each run every registered room callback once") {
  runtime::wait_queue<int> queue{1, "room"};
  REQUIRE(queue.try_push(1) == std::error_code{});
  int first = 0, second = 0;
  REQUIRE(queue.when_room([&] { ++first; }));
  REQUIRE(queue.when_room([&] { ++second; }));
  CHECK(queue.take_all().size() == 1);
  CHECK(first == 1);
  CHECK(second == 1);

  REQUIRE(queue.try_push(2) == std::error_code{});
  REQUIRE(queue.when_room([&] { ++first; }));
  queue.clear();
  CHECK(first == 2);
  CHECK(queue.empty());

  REQUIRE(queue.try_push(3) == std::error_code{});
  std::error_code after_close;
  REQUIRE(queue.when_room([&] { after_close = queue.try_push(4); }));
  queue.close();
  CHECK(after_close == runtime::errc::closed);
  CHECK(first == 2);
  CHECK(second == 1);
}
