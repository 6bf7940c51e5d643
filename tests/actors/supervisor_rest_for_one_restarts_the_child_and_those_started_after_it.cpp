// rest_for_one: the children started after the one that ended are stopped in
// reverse order, then it and they are started again in order; earlier
// children are left alone.
#include "supervisor_test_support.hpp"

#include <doctest/doctest.h>

using namespace supervisor_test;

TEST_CASE("rest_for_one restarts the child that ended and those started after it, in order") {
  event_log log;
  worker_controls controls;
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "sup");
  make_scheduler(engine, "work");

  actors::supervisor_spec spec;
  spec.name = "rest";
  spec.strategy = actors::restart_strategy::rest_for_one;
  spec.intensity = {10, std::chrono::seconds(60)};
  spec.on_event = event_logger(log);
  for (auto name : {"a", "b", "c", "d"})
    spec.children.push_back(worker(name, controls, log));
  auto root = actors::spawn_supervisor(engine, "sup", spec);
  REQUIRE(log.wait_for_size(4, 5s));
  auto first_a = find_child(root.stats(), "a")->current;

  controls.end("b", ending::throws);
  const std::vector<std::string> expected{"destroy b", "ended b",   "stop d",    "destroy d",
                                          "stopped d", "stop c",    "destroy c", "stopped c",
                                          "start b",   "start c",   "start d"};
  REQUIRE(log.wait_for_size(4 + expected.size(), 5s));
  CHECK(tail(log, 4) == expected);

  // The last child ending touches nobody else.
  controls.end("d", ending::throws);
  REQUIRE(log.wait_for_size(4 + expected.size() + 3, 5s));
  CHECK(tail(log, 4 + expected.size()) ==
        std::vector<std::string>{"destroy d", "ended d", "start d"});

  auto stats = root.stats();
  CHECK(stats.restarts == 2);
  CHECK(find_child(stats, "a")->restarts == 0);
  CHECK(find_child(stats, "a")->current == first_a);
  CHECK(find_child(stats, "b")->restarts == 1);
  CHECK(find_child(stats, "c")->restarts == 1);
  CHECK(find_child(stats, "d")->restarts == 2);

  root.shutdown();
  REQUIRE(root.wait_for(5s));
  CHECK(root.exit_reason().is_normal());
  CHECK(engine.get_scheduler("work").empty());
}
