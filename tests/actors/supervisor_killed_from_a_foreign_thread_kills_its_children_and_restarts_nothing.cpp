// A supervisor killed from a foreign thread (an abrupt end, not `shutdown`)
// kills every live child, last started first, restarts nothing, refuses
// further requests, and leaves no applet behind.
#include "supervisor_test_support.hpp"

#include <doctest/doctest.h>

using namespace supervisor_test;

TEST_CASE("a supervisor killed from a foreign thread kills its children and restarts nothing") {
  event_log log;
  worker_controls controls;
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "sup");
  make_scheduler(engine, "work");

  actors::supervisor_spec spec;
  spec.name = "victim";
  spec.intensity = {10, std::chrono::seconds(60)};
  spec.on_event = event_logger(log);
  for (auto name : {"a", "b", "c"})
    spec.children.push_back(worker(name, controls, log));
  auto victim = actors::spawn_supervisor(engine, "sup", spec);
  REQUIRE(log.wait_for_size(3, 5s));
  // One restart first, so the kill meets a supervisor that has done work.
  controls.end("b", ending::throws);
  REQUIRE(log.wait_for_size(6, 5s));

  std::vector<actors::applet_handle> children;
  for (auto& child : victim.stats().children)
    children.push_back(child.current);
  REQUIRE(children.size() == 3);

  std::thread foreign{[&] { victim.kill(); }};
  foreign.join();
  REQUIRE(victim.wait_for(5s));
  CHECK(victim.exit_reason().is_normal());
  for (auto& child : children) {
    REQUIRE(child.wait_for(5s));
    CHECK(child.exit_reason().is_normal());
  }
  // Each child destroyed once more (the kills go out last started first, but
  // an abrupt end does not wait, so the destroys run in their schedulers'
  // order); no supervisor event followed the kill.
  auto after = tail(log, 6);
  std::sort(after.begin(), after.end());
  CHECK(after == std::vector<std::string>{"destroy a", "destroy b", "destroy c"});
  CHECK(log.count("destroy b") == 2);

  auto stats = victim.stats();
  CHECK(stats.stopping);
  CHECK(stats.restarts == 1);
  auto refused = victim.start_child(worker("late", controls, log));
  auto answer = refused.get();
  CHECK(!answer);
  CHECK(answer.error == actors::supervisor_errc::supervisor_ended);
  CHECK(answer.message.find("start_child after it began to stop") != std::string::npos);
  CHECK(engine.get_scheduler("work").empty());
  CHECK(engine.get_scheduler("sup").empty());
}
