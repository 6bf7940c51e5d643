// one_for_one: only the child that ended is restarted, on the same scheduler,
// from a fresh instance; the statistics and the dump say how often and why;
// an orderly shutdown stops the children in reverse start order.
#include "supervisor_test_support.hpp"

#include <doctest/doctest.h>

using namespace supervisor_test;

TEST_CASE("one_for_one restarts only the child that ended, and shuts down in reverse order") {
  event_log log;
  worker_controls controls;
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "sup");
  make_scheduler(engine, "work");

  actors::supervisor_spec spec;
  spec.name = "root";
  spec.strategy = actors::restart_strategy::one_for_one;
  spec.intensity = {10, std::chrono::seconds(60)};
  spec.on_event = event_logger(log);
  for (auto name : {"a", "b", "c"})
    spec.children.push_back(worker(name, controls, log));
  auto root = actors::spawn_supervisor(engine, "sup", spec);

  REQUIRE(log.wait_for_size(3, 5s));
  CHECK(log.entries() == std::vector<std::string>{"start a", "start b", "start c"});
  auto first_b = find_child(root.stats(), "b")->current;
  REQUIRE(first_b);

  controls.end("b", ending::throws);
  REQUIRE(log.wait_for_size(6, 5s));
  CHECK(tail(log, 3) == std::vector<std::string>{"destroy b", "ended b", "start b"});

  auto stats = root.stats();
  CHECK(stats.restarts == 1);
  REQUIRE(stats.children.size() == 3);
  CHECK(stats.children[0].name == "a");
  CHECK(stats.children[0].restarts == 0);
  CHECK(stats.children[2].restarts == 0);
  auto* b = find_child(stats, "b");
  REQUIRE(b != nullptr);
  CHECK(b->restarts == 1);
  CHECK(b->starts == 2);
  CHECK(b->ended == 1);
  CHECK(b->status == actors::child_status::running);
  CHECK(b->last_reason.code() == runtime::errc::callback_threw);
  CHECK(b->last_reason.message().find("b crashed") != std::string::npos);
  // A fresh applet on the same scheduler.
  REQUIRE(b->current);
  CHECK(b->current != first_b);
  CHECK(b->current.scheduler_name() == "work");
  CHECK(first_b.state() == actors::applet_state::destroyed);
  auto dump = root.dump();
  CHECK(dump.find("b [permanent, running, on 'work'] restarts=1 last end:") != std::string::npos);
  CHECK(dump.find("a [permanent, running, on 'work'] restarts=0") != std::string::npos);

  root.shutdown();
  REQUIRE(root.wait_for(5s));
  CHECK(root.exit_reason().is_normal());
  CHECK(tail(log, 6) == std::vector<std::string>{"shutting_down", "stop c", "destroy c", "stopped c",
                                                 "stop b", "destroy b", "stopped b", "stop a",
                                                 "destroy a", "stopped a"});
  CHECK(log.count("destroy b") == 2);
  CHECK(engine.get_scheduler("work").empty());
  CHECK(engine.get_scheduler("sup").empty());
}
