// ctest-timeout: 60
// kill -9 of a node process in the middle of an exchange: the remote applet
// handle becomes ready with node_down, the peer's down event fires, and every
// one of the pushes sent meanwhile completes (queued, queue_full or
// node_down): none hangs. Later operations fail with node_down at once.
#include "node_test_support.hpp"

using namespace node_test;

TEST_CASE("a node process killed with SIGKILL completes every pending operation with node_down") {
  constexpr int pushes = 200;
  al::nodes::enable();
  node_process child{"child"};
  {
    al::runtime::engine engine{small_engine()};
    al::nodes::node local{engine, {.name = "tester", .listen = {}}};
    auto peer = local.connect("127.0.0.1", child.port()).get();
    auto worker = peer.lookup_applet("worker").get();
    auto queue = peer.lookup_queue<std::int64_t>("numbers").get();
    auto bell = peer.lookup_event("bell").get();

    std::vector<al::nodes::operation> sent;
    for (int each = 0; each < pushes; ++each)
      sent.push_back(queue.try_push(each));
    CHECK(child.kill9() == 128 + SIGKILL);

    REQUIRE(worker.wait_for(20s));
    CHECK(worker.exit_reason().code() == al::nodes::errc::node_down);
    REQUIRE(peer.down().wait_for(20s));

    int queued = 0, full = 0, down = 0;
    for (auto& each : sent) {
      REQUIRE(each.wait_for(20s));
      auto code = each.error();
      if (!code)
        ++queued;
      else if (code == al::nodes::errc::queue_full)
        ++full;
      else if (code == al::nodes::errc::node_down)
        ++down;
    }
    CHECK(queued + full + down == pushes);
    CHECK(queued <= 4);

    auto after = bell.set();
    REQUIRE(after.wait_for(20s));
    CHECK(after.error() == al::nodes::errc::node_down);
    auto lookup = peer.lookup_event("bell");
    REQUIRE(lookup.wait_for(20s));
    CHECK(lookup.error() == al::nodes::errc::node_down);
    CHECK(local.statistics().peers_lost == 1);
  }
}
