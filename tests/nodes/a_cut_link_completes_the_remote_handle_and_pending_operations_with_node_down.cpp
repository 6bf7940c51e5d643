// ctest-timeout: 60
// Loss detection from a closed connection, through the fault proxy: with
// heartbeats off on both sides (so only the connection's reset can tell), a
// cut link (both sides reset) makes the remote applet handle ready with
// node_down, completes the pending set and push with node_down and sets the
// peer's down event; later operations fail with node_down at once. (The
// heartbeat is off by default; the test says so explicitly.)
#include "node_test_support.hpp"

#include <actorloop_test/fault_proxy.hpp>

using namespace node_test;

TEST_CASE("a cut link completes the remote handle and pending operations with node_down") {
  const std::vector<std::string> no_heartbeat{"--actorloop.node.heartbeat-interval=0s"};
  al::nodes::enable();
  node_process child{"child", no_heartbeat};
  actorloop_test::fault_proxy proxy{child.port()};
  {
    al::runtime::engine engine{small_engine(no_heartbeat)};
    al::nodes::node local{engine, {.name = "tester", .listen = {}}};
    CHECK(local.heartbeat_interval() == 0ms);
    CHECK(local.loss_timeout() == 0ms);
    auto peer = local.connect("127.0.0.1", proxy.port()).get();
    auto worker = peer.lookup_applet("worker").get();
    auto bell = peer.lookup_event("bell").get();
    auto queue = peer.lookup_queue<std::int64_t>("numbers").get();
    bell.set().get();
    child.expect("bell 1");

    // Held back by the link (a minute of delay), so still pending at the cut.
    proxy.set_mode(actorloop_test::fault_proxy::mode::delay, 60000ms);
    auto set = bell.set();
    auto push = queue.try_push(7);
    proxy.set_mode(actorloop_test::fault_proxy::mode::cut);
    CHECK(proxy.links_cut() == 1);

    REQUIRE(worker.wait_for(30s));
    CHECK(worker.exit_reason().code() == al::nodes::errc::node_down);
    REQUIRE(set.wait_for(30s));
    CHECK(set.error() == al::nodes::errc::node_down);
    REQUIRE(push.wait_for(30s));
    CHECK(push.error() == al::nodes::errc::node_down);
    REQUIRE(peer.down().wait_for(30s));
    auto after = bell.set();
    REQUIRE(after.wait_for(30s));
    CHECK(after.error() == al::nodes::errc::node_down);
    CHECK(local.statistics().peers_lost == 1);
  }
  child.stop();
}
