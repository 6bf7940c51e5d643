// ctest-timeout: 60
// A wait_queue<std::int64_t> of capacity 4 exported by a node process: four
// remote try_push calls are queued there, the fifth completes with
// queue_full (and is not queued), and after the home node drains the queue
// a push is accepted again. The statistics count exactly what was sent.
#include "node_test_support.hpp"

using namespace node_test;

TEST_CASE("a remote bounded queue refuses the fifth item with queue_full and keeps the rest") {
  al::nodes::enable();
  node_process child{"child"};
  {
    al::runtime::engine engine{small_engine()};
    al::nodes::node local{engine, {.name = "tester", .listen = {}}};
    auto peer = local.connect("127.0.0.1", child.port()).get();
    CHECK(peer.name() == "child");
    auto queue = peer.lookup_queue<std::int64_t>("numbers").get();
    CHECK(queue.node_name() == "child");
    for (std::int64_t value = 1; value <= 4; ++value)
      queue.try_push(value).get();
    auto refused = queue.try_push(5);
    REQUIRE(refused.wait_for(10s));
    CHECK(refused.error() == al::nodes::errc::queue_full);
    CHECK(refused.error_message().find("numbers") != std::string::npos);
    try {
      refused.get();
      FAIL("get() of a refused push must throw");
    } catch (const al::nodes::error& failure) {
      CHECK(failure.code() == al::nodes::errc::queue_full);
    }

    child.send("drain");
    CHECK(child.expect("drained") == "drained 4 sum 10");
    queue.try_push(6).get();
    child.send("drain");
    CHECK(child.expect("drained") == "drained 1 sum 6");

    auto stats = local.statistics();
    CHECK(stats.peers == 1);
    CHECK(stats.lookups_made == 1);
    CHECK(stats.messages_out == 7); // one lookup, six pushes
    CHECK(stats.messages_in == 7);  // their answers
    CHECK(stats.bytes_out > 0);
    CHECK(stats.bytes_in > 0);
    CHECK(stats.failures == 1); // the refused push
    CHECK(stats.peers_lost == 0);
  }
  child.stop();
}
