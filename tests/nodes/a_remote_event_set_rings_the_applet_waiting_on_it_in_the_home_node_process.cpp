// ctest-timeout: 60
// set() on an event exported by a node process sets it there: the applet
// waiting on it in that process runs once per set. Each set completes only
// once the home node has set the event.
#include "node_test_support.hpp"

using namespace node_test;

TEST_CASE("a remote event set rings the applet waiting on it in the home node process") {
  al::nodes::enable();
  node_process child{"child"};
  {
    al::runtime::engine engine{small_engine()};
    al::nodes::node local{engine, {.name = "tester", .listen = {}}};
    auto peer = local.connect("127.0.0.1", child.port()).get();
    auto bell = peer.lookup_event("bell").get();
    CHECK(bell.name() == "bell");
    for (int ring = 1; ring <= 3; ++ring) {
      bell.set().get();
      CHECK(child.expect("bell") == "bell " + std::to_string(ring));
    }
    // A second connect to the same node gives the same peer.
    auto again = local.connect("127.0.0.1", child.port()).get();
    CHECK(again.name() == "child");
    CHECK(local.statistics().peers == 1);
  }
  child.stop();
}
