// ctest-timeout: 60
// A remote push that waits for room on a full queue of a node process: it
// stays pending (a try_push sent after it on the same handle is refused
// because it waits), and when the process is killed with SIGKILL it
// completes with node_down, as do the pushes queued behind it. A push made
// afterwards fails with node_down at once. An applet spawned there before
// (its remote handle) becomes ready with node_down too.
#include "node_test_support.hpp"

using namespace node_test;

TEST_CASE(
    "a remote push waiting for room completes with node_down when the home process is killed") {
  al::nodes::enable();
  node_process child{"child"};
  al::runtime::engine engine{small_engine()};
  al::nodes::node local{engine, {.name = "tester", .listen = {}}};
  auto peer = local.connect("127.0.0.1", child.port()).get();
  auto queue = peer.lookup_queue<std::int64_t>("numbers").get();
  auto spawned = peer.spawn("probe", "loop", caf::make_message(std::string{"lost"})).get();
  CHECK(child.expect("probe lost") == "probe lost init on loop own-thread=yes");
  for (std::int64_t value = 1; value <= 4; ++value)
    queue.push(value).get(); // room: each completes at once
  auto waiting = queue.push(5);
  auto behind = queue.push(6);
  auto probe = queue.try_push(7);
  REQUIRE(probe.wait_for(20s));
  CHECK(probe.error() == al::nodes::errc::queue_full);
  CHECK_FALSE(waiting.done());
  CHECK_FALSE(behind.done());

  CHECK(child.kill9() == 128 + SIGKILL);
  REQUIRE(waiting.wait_for(20s));
  CHECK(waiting.error() == al::nodes::errc::node_down);
  CHECK(waiting.error_message().find("numbers") != std::string::npos);
  REQUIRE(behind.wait_for(20s));
  CHECK(behind.error() == al::nodes::errc::node_down);
  REQUIRE(peer.down().wait_for(20s));
  REQUIRE(spawned.wait_for(20s));
  CHECK(spawned.exit_reason().code() == al::nodes::errc::node_down);
  auto after = queue.push(8);
  REQUIRE(after.wait_for(20s));
  CHECK(after.error() == al::nodes::errc::node_down);
}
