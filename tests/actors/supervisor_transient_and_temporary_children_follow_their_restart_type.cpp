// Restart types after normal and abnormal ends: permanent always restarts,
// transient only after an abnormal end, temporary never (and is forgotten).
#include "supervisor_test_support.hpp"

#include <doctest/doctest.h>

using namespace supervisor_test;

TEST_CASE("transient and temporary children after normal and abnormal ends") {
  using actors::restart_type;
  event_log log;
  worker_controls controls;
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "sup");
  make_scheduler(engine, "work");

  actors::supervisor_spec spec;
  spec.name = "types";
  spec.intensity = {10, std::chrono::seconds(60)};
  spec.on_event = event_logger(log);
  spec.children.push_back(worker("perm", controls, log, "work", restart_type::permanent));
  spec.children.push_back(worker("trans-normal", controls, log, "work", restart_type::transient));
  spec.children.push_back(worker("trans-crash", controls, log, "work", restart_type::transient));
  spec.children.push_back(worker("temp-normal", controls, log, "work", restart_type::temporary));
  spec.children.push_back(worker("temp-crash", controls, log, "work", restart_type::temporary));
  auto root = actors::spawn_supervisor(engine, "sup", spec);
  REQUIRE(log.wait_for_size(5, 5s));

  // Each step waits for its own last entry, so anything a step wrongly
  // started would show up before the next step's entries.
  std::size_t seen = 5;
  auto step = [&](const std::string& name, ending how, std::vector<std::string> expected) {
    controls.end(name, how);
    REQUIRE(log.wait_for_size(seen + expected.size(), 5s));
    // The supervisor finishes a decision in one turn, so the next step's
    // trigger cannot overtake it.
    CHECK(tail(log, seen) == expected);
    seen += expected.size();
  };
  step("trans-normal", ending::normal, {"destroy trans-normal", "ended trans-normal"});
  step("trans-crash", ending::throws,
       {"destroy trans-crash", "ended trans-crash", "start trans-crash"});
  step("temp-normal", ending::normal, {"destroy temp-normal", "ended temp-normal"});
  step("temp-crash", ending::throws, {"destroy temp-crash", "ended temp-crash"});
  step("perm", ending::normal, {"destroy perm", "ended perm", "start perm"});
  step("perm", ending::throws, {"destroy perm", "ended perm", "start perm"});

  auto stats = root.stats();
  REQUIRE(stats.children.size() == 3); // the temporary ones are forgotten
  CHECK(stats.children[0].name == "perm");
  CHECK(stats.children[0].restarts == 2);
  CHECK(stats.children[1].name == "trans-normal");
  CHECK(stats.children[1].status == actors::child_status::down);
  CHECK(stats.children[1].restarts == 0);
  CHECK(stats.children[1].ended == 1);
  CHECK(stats.children[1].last_reason.is_normal());
  CHECK(stats.children[2].name == "trans-crash");
  CHECK(stats.children[2].restarts == 1);
  CHECK(stats.children[2].last_reason.code() == runtime::errc::callback_threw);
  CHECK(stats.restarts == 3);

  root.shutdown();
  REQUIRE(root.wait_for(5s));
  CHECK(tail(log, seen) == std::vector<std::string>{"shutting_down", "stop trans-crash",
                                                    "destroy trans-crash", "stopped trans-crash",
                                                    "stop perm", "destroy perm", "stopped perm"});
  CHECK(engine.get_scheduler("work").empty());
}
