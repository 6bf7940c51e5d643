// one_for_all: when one child ends, the others are stopped in reverse start
// order, then every child is started again in order; each counts a restart.
#include "supervisor_test_support.hpp"

#include <doctest/doctest.h>

using namespace supervisor_test;

TEST_CASE("one_for_all stops the others in reverse start order, then restarts all in order") {
  event_log log;
  worker_controls controls;
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "sup");
  make_scheduler(engine, "work");

  actors::supervisor_spec spec;
  spec.name = "all";
  spec.strategy = actors::restart_strategy::one_for_all;
  spec.intensity = {10, std::chrono::seconds(60)};
  spec.on_event = event_logger(log);
  for (auto name : {"a", "b", "c", "d"})
    spec.children.push_back(worker(name, controls, log));
  auto root = actors::spawn_supervisor(engine, "sup", spec);
  REQUIRE(log.wait_for_size(4, 5s));

  controls.end("b", ending::throws);
  const std::vector<std::string> expected{
    "destroy b", "ended b",                             // the failure
    "stop d",    "destroy d", "stopped d",              // the others, last started first
    "stop c",    "destroy c", "stopped c", "stop a", "destroy a", "stopped a",
    "start a",   "start b",   "start c",   "start d"};  // all again, in order
  REQUIRE(log.wait_for_size(4 + expected.size(), 5s));
  CHECK(tail(log, 4) == expected);

  auto stats = root.stats();
  CHECK(stats.restarts == 1); // one decision, as OTP counts it
  for (auto& child : stats.children) {
    CHECK(child.restarts == 1);
    CHECK(child.status == actors::child_status::running);
  }
  CHECK(find_child(stats, "b")->last_reason.code() == runtime::errc::callback_threw);
  CHECK(find_child(stats, "a")->last_reason.is_normal());

  root.shutdown();
  REQUIRE(root.wait_for(5s));
  CHECK(root.exit_reason().is_normal());
  CHECK(log.size() == 4 + expected.size() + 1 + 4 * 3);
  CHECK(engine.get_scheduler("work").empty());
}
