// ctest-timeout: 90
// Heartbeat-based loss detection through the fault proxy: with the link
// black-holed (nothing passes, nothing is closed), BASP hears nothing from
// the node process for the loss timeout and closes the connection. The
// remote applet handle then becomes ready with node_down, the pending set
// and push complete with node_down, the peer's down event fires and later
// operations fail with node_down: all within the loss timeout plus a few
// heartbeat intervals, and not before the loss timeout minus one interval.
// The node process sends heartbeats but waits a minute before it gives up on
// a silent peer, and its link is cut once the test side has seen the loss:
// CAF 0.17.6 leaks its BASP broker at exit (LeakSanitizer: a cycle of CAF
// allocations only) in a process whose accepted connection it closed for a
// timeout, so the test keeps the node process off that path.
#include "node_test_support.hpp"

#include <actorloop_test/fault_proxy.hpp>

using namespace node_test;

TEST_CASE("a black-holed link completes the remote handle and pending operations with node_down "
          "within the loss timeout") {
  constexpr auto interval = 500ms;
  constexpr auto timeout = 3000ms;
  const std::vector<std::string> heartbeat{"--actorloop.node.heartbeat-interval=500ms",
                                           "--actorloop.node.loss-timeout=3s"};
  al::nodes::enable();
  node_process child{"child", {"--actorloop.node.heartbeat-interval=500ms",
                               "--actorloop.node.loss-timeout=60s"}};
  actorloop_test::fault_proxy proxy{child.port()};
  {
    al::runtime::engine engine{small_engine(heartbeat)};
    al::nodes::node local{engine, {.name = "tester", .listen = {}}};
    CHECK(local.heartbeat_interval() == interval);
    CHECK(local.loss_timeout() == timeout);
    auto peer = local.connect("127.0.0.1", proxy.port()).get();
    auto worker = peer.lookup_applet("worker").get();
    auto bell = peer.lookup_event("bell").get();
    auto queue = peer.lookup_queue<std::int64_t>("numbers").get();
    // The link carries heartbeats and answers while it passes: longer than
    // the loss timeout without a loss.
    for (int round = 1; round <= 3; ++round) {
      bell.set().get();
      child.expect("bell " + std::to_string(round));
    }
    CHECK_FALSE(worker.ready());

    proxy.set_mode(actorloop_test::fault_proxy::mode::black_hole);
    auto started = std::chrono::steady_clock::now();
    auto set = bell.set();
    auto push = queue.try_push(7);
    // Watchdog bounds only: the waits end when BASP declares the loss.
    REQUIRE(worker.wait_for(30s));
    auto detected = std::chrono::steady_clock::now() - started;
    CHECK(worker.exit_reason().code() == al::nodes::errc::node_down);
    REQUIRE(set.wait_for(30s));
    CHECK(set.error() == al::nodes::errc::node_down);
    REQUIRE(push.wait_for(30s));
    CHECK(push.error() == al::nodes::errc::node_down);
    REQUIRE(peer.down().wait_for(30s));
    MESSAGE("black hole detected after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(detected).count() << " ms");
    CHECK(detected >= timeout - interval);
    CHECK(detected < timeout + 10 * interval);
    // The proxy closed nothing: BASP gave up on a silent, open connection.
    CHECK(proxy.links_cut() == 0);
    CHECK(proxy.bytes_dropped() > 0);

    auto after = bell.set();
    REQUIRE(after.wait_for(30s));
    CHECK(after.error() == al::nodes::errc::node_down);
    CHECK(local.statistics().peers_lost == 1);
  }
  // The node process loses the link by a reset, and still serves.
  proxy.set_mode(actorloop_test::fault_proxy::mode::cut);
  CHECK(proxy.links_cut() == 1);
  {
    al::runtime::engine engine{small_engine(heartbeat)};
    al::nodes::node local{engine, {.name = "again", .listen = {}}};
    local.connect("127.0.0.1", child.port()).get().lookup_event("bell").get().set().get();
    child.expect("bell 4");
  }
  child.stop();
}
