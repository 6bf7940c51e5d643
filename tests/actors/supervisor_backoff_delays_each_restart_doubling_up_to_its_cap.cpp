// Back-off: a crash loop is slowed down. Each restart of a child within the
// intensity period waits twice as long as the one before, up to the cap.
#include "supervisor_test_support.hpp"

#include <doctest/doctest.h>

using namespace supervisor_test;

TEST_CASE("back-off delays each restart, doubling up to its cap") {
  constexpr auto initial = std::chrono::milliseconds(20);
  constexpr auto cap = std::chrono::milliseconds(50);
  event_log log;
  worker_controls controls;
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "sup");
  make_scheduler(engine, "work");

  std::mutex times_mutex;
  std::vector<runtime::time_point> ended;
  std::vector<runtime::time_point> started;
  actors::supervisor_spec spec;
  spec.name = "slowed";
  spec.intensity = {10, std::chrono::seconds(60)};
  spec.backoff = {initial, cap};
  spec.children.push_back(worker("a", controls, log));
  spec.on_event = [&, logger = event_logger(log)](const actors::supervisor_event& event) {
    {
      std::lock_guard guard{times_mutex};
      if (event.what == actors::supervisor_event::kind::child_ended)
        ended.push_back(runtime::clock::now());
      if (event.what == actors::supervisor_event::kind::child_started)
        started.push_back(runtime::clock::now());
    }
    logger(event);
  };
  auto root = actors::spawn_supervisor(engine, "sup", spec);
  REQUIRE(log.wait_for_size(1, 5s));

  // While the first restart waits, the child is reported as pending.
  controls.end("a", ending::throws);
  REQUIRE(log.wait_for_size(3, 5s));
  for (std::size_t round = 2; round <= 4; ++round) {
    controls.end("a", ending::throws);
    REQUIRE(log.wait_for_size(1 + 3 * round, 5s));
  }
  CHECK(log.count("start a") == 5);
  CHECK(log.count("ended a") == 4);

  const std::vector<runtime::duration> expected{initial, 2 * initial, cap, cap};
  {
    std::lock_guard guard{times_mutex};
    REQUIRE(ended.size() == 4);
    REQUIRE(started.size() == 5);
    for (std::size_t index = 0; index < expected.size(); ++index) {
      auto waited = started[index + 1] - ended[index];
      INFO("restart " << index + 1);
      CHECK(waited >= expected[index]);
    }
  }
  CHECK(find_child(root.stats(), "a")->restarts == 4);

  // A restart still pending when the shutdown comes is cancelled.
  controls.end("a", ending::throws);
  REQUIRE(log.wait_for_size(1 + 3 * 4 + 2, 5s));
  root.shutdown();
  REQUIRE(root.wait_for(5s));
  CHECK(tail(log, 15) == std::vector<std::string>{"shutting_down"});
  CHECK(find_child(root.stats(), "a")->status == actors::child_status::down);
  CHECK(engine.get_scheduler("work").empty());
}
