// ctest-timeout: 90
// A remote push that waits for room. A wait_queue<std::int64_t> of capacity 4
// is exported by one node; another node (a second engine in this process)
// sends 1,000 numbers with push, all in flight at once (500 single pushes,
// then 5 push_all batches of 100). The home node parks what does not fit. A
// later try_push through the same handle is refused with queue_full because
// earlier pushes wait (the lane keeps their order). Only then does a consumer
// applet start, taking one item per turn, so it is slower than the pusher: it
// receives 0..999 exactly once and in order, never sees more than 4 items
// queued, and every push completes successfully.
#include "node_test_support.hpp"

#include <atomic>
#include <numeric>

using namespace node_test;

TEST_CASE("a remote push waits for room and a slow consumer gets a thousand items once, in order, "
          "within the bound") {
  constexpr std::int64_t total = 1000;
  constexpr std::size_t capacity = 4;
  al::nodes::enable();
  al::runtime::wait_queue<std::int64_t> numbers{capacity, "numbers"};

  al::runtime::engine home_engine{small_engine()};
  auto consumer_loop = home_engine.create_scheduler({.name = "consumer", .threads = 1});
  al::nodes::node home{home_engine, {.name = "home", .listen = "127.0.0.1:0"}};
  home.export_queue("numbers", numbers);

  al::runtime::engine away_engine{small_engine()};
  al::nodes::node away{away_engine, {.name = "away", .listen = {}}};
  auto peer = away.connect("127.0.0.1", home.port()).get();
  auto queue = peer.lookup_queue<std::int64_t>("numbers").get();

  std::vector<al::nodes::operation> pushes;
  for (std::int64_t value = 0; value < total / 2; ++value)
    pushes.push_back(queue.push(value));
  for (std::int64_t batch = 0; batch < 5; ++batch) {
    std::vector<std::int64_t> values(100);
    std::iota(values.begin(), values.end(), total / 2 + batch * 100);
    pushes.push_back(queue.push_all(std::move(values)));
  }
  // Sent after every push on the same ordered lane: refused, since earlier
  // pushes wait for room there. So pushes are parked now, the queue is full
  // and no consumer runs yet.
  auto refused = queue.try_push(-1);
  REQUIRE(refused.wait_for(20s));
  CHECK(refused.error() == al::nodes::errc::queue_full);
  CHECK(refused.error_message().find("wait for room") != std::string::npos);
  CHECK(numbers.size() == capacity);
  // The first four found room at once; every later one waits.
  for (std::size_t each = 0; each < pushes.size(); ++each) {
    if (each < capacity) {
      REQUIRE(pushes[each].wait_for(20s));
      CHECK_FALSE(pushes[each].error());
    } else {
      CHECK_FALSE(pushes[each].done());
    }
  }

  // Written only on the consumer's one thread; read after it is gone.
  std::vector<std::int64_t> received;
  std::size_t largest = 0;
  auto consumer = al::actors::spawn_applet(
      home_engine, consumer_loop,
      al::actors::applet_callbacks{
          .name = "consumer",
          .preselect = [&](al::actors::applet_context& context) { context.wait_on(numbers); },
          .postselect = [&](al::actors::applet_context& context,
                            const al::runtime::waitable&) -> al::runtime::waitable {
            largest = std::max(largest, numbers.size());
            if (auto item = numbers.try_pop())
              received.push_back(*item);
            largest = std::max(largest, numbers.size());
            if (received.size() == static_cast<std::size_t>(total))
              context.kill();
            return {};
          }});
  for (auto& each : pushes)
    each.get(); // throws if any push failed
  REQUIRE(consumer.wait_for(30s));
  CHECK(consumer.exit_reason().is_normal());
  REQUIRE(received.size() == static_cast<std::size_t>(total));
  std::vector<std::int64_t> expected(total);
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(received == expected);
  CHECK(largest <= capacity);
  CHECK(numbers.empty());
  // The refused try_push is the only failure either side saw.
  CHECK(away.statistics().failures == 1);
  CHECK(home.statistics().failures == 1);
}
