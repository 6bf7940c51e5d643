// Dynamic children: start_child answers with the first handle, stop_child
// stops one in order (its destroy runs, it is not restarted and leaves the
// statistics), and an unknown child is refused with no_such_child.
#include "supervisor_test_support.hpp"

#include <doctest/doctest.h>

using namespace supervisor_test;

TEST_CASE("stop_child removes a dynamic child for good; an unknown one is refused") {
  event_log log;
  worker_controls controls;
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "sup");
  make_scheduler(engine, "work");

  actors::supervisor_spec spec;
  spec.name = "pool";
  spec.strategy = actors::restart_strategy::simple_one_for_one;
  spec.child_template = worker("w", controls, log);
  spec.on_event = event_logger(log);
  auto pool = actors::spawn_supervisor(engine, "sup", spec);

  auto first = pool.start_child().get().child;
  auto second = pool.start_child().get().child;
  auto third = pool.start_child().get().child;
  CHECK(first.name() == "w-1");
  CHECK(third.name() == "w-3");
  CHECK(log.entries() == std::vector<std::string>{"start w-1", "start w-2", "start w-3"});

  CHECK(pool.stop_child(second).get());
  CHECK(second.state() == actors::applet_state::destroyed);
  CHECK(tail(log, 3) == std::vector<std::string>{"stop w-2", "destroy w", "stopped w-2"});
  auto stats = pool.stats();
  REQUIRE(stats.children.size() == 2);
  CHECK(stats.children[0].name == "w-1");
  CHECK(stats.children[1].name == "w-3");
  CHECK(stats.restarts == 0);

  // A handle that is not (or no longer) a child of this supervisor.
  auto gone = pool.stop_child(second).get();
  CHECK(gone.error == actors::supervisor_errc::no_such_child);
  CHECK(gone.message.find("is not its child") != std::string::npos);
  auto stranger = actors::spawn_applet(engine, "work", actors::applet_callbacks{});
  CHECK(pool.stop_child(stranger).get().error == actors::supervisor_errc::no_such_child);
  stranger.kill();
  REQUIRE(stranger.wait_for(5s));

  // A start that fails is reported and not kept.
  actors::child_spec broken;
  broken.name = "broken";
  broken.scheduler = "no-such-scheduler";
  broken.callbacks = [] { return actors::applet_callbacks{}; };
  auto failed = pool.start_child(broken).get();
  CHECK(failed.error == actors::supervisor_errc::start_failed);
  CHECK(failed.message.find("no-such-scheduler") != std::string::npos);
  CHECK(!failed.child);
  CHECK(pool.stats().children.size() == 2);

  pool.shutdown();
  REQUIRE(pool.wait_for(5s));
  CHECK(tail(log, 6) == std::vector<std::string>{"shutting_down", "stop w-3", "destroy w",
                                                 "stopped w-3", "stop w-1", "destroy w",
                                                 "stopped w-1"});
  CHECK(first.state() == actors::applet_state::destroyed);
  CHECK(engine.get_scheduler("work").empty());
}
