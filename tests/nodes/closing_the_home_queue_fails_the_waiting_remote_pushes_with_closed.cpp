// ctest-timeout: 60
// Remote pushes that wait for room on a full queue of a node process, and
// the home node closes the queue: every waiting push completes with closed,
// none of their items is queued (the home node still holds exactly the four
// items that fitted), and a later push fails with closed. The node keeps
// serving: its event can still be set.
#include "node_test_support.hpp"

using namespace node_test;

TEST_CASE("closing the home queue fails the waiting remote pushes with closed") {
  al::nodes::enable();
  node_process child{"child"};
  {
    al::runtime::engine engine{small_engine()};
    al::nodes::node local{engine, {.name = "tester", .listen = {}}};
    auto peer = local.connect("127.0.0.1", child.port()).get();
    auto queue = peer.lookup_queue<std::int64_t>("numbers").get();
    for (std::int64_t value = 1; value <= 4; ++value)
      queue.try_push(value).get();
    std::vector<al::nodes::operation> waiting;
    for (std::int64_t value = 5; value <= 7; ++value)
      waiting.push_back(queue.push(value));
    waiting.push_back(queue.push_all({8, 9}));
    auto probe = queue.try_push(10);
    REQUIRE(probe.wait_for(20s));
    CHECK(probe.error() == al::nodes::errc::queue_full);
    for (auto& each : waiting)
      CHECK_FALSE(each.done());

    child.send("close-numbers");
    CHECK(child.expect("numbers closed") == "numbers closed");
    for (auto& each : waiting) {
      REQUIRE(each.wait_for(20s));
      CHECK(each.error() == al::nodes::errc::closed);
    }
    CHECK(waiting.back().error_message().find("0 of its 2 items") != std::string::npos);
    auto later = queue.push(11);
    REQUIRE(later.wait_for(20s));
    CHECK(later.error() == al::nodes::errc::closed);

    child.send("drain");
    CHECK(child.expect("drained") == "drained 4 sum 10");
    auto bell = peer.lookup_event("bell").get();
    bell.set().get();
    CHECK(child.expect("bell") == "bell 1");
  }
  child.stop();
}
