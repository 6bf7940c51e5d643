// An orderly shutdown of a tree: every supervisor stops its children in
// reverse start order (a nested supervisor stops its own children first), and
// a child whose destroy overruns its shutdown limit is given up after the
// limit so the rest of the tree goes on without it.
#include "supervisor_test_support.hpp"

#include <doctest/doctest.h>

using namespace supervisor_test;

TEST_CASE("a tree shuts down in reverse order, giving up a child whose destroy overruns its limit") {
  constexpr auto limit = std::chrono::milliseconds(100);
  event_log log;
  worker_controls controls;
  gate release_slow;
  gate slow_initialised; // a child killed before its init never runs it
  std::atomic<bool> slow_released_in_time{true};
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "sup");
  make_scheduler(engine, "work");
  make_scheduler(engine, "slow"); // the overrunning destroy holds this thread

  std::mutex times_mutex;
  std::map<std::string, runtime::time_point> times;
  std::optional<actors::exit_reason> overrun_reason;
  actors::applet_handle slow_handle;
  auto timed = [&](std::string prefix) {
    return [&, prefix, logger = event_logger(log, prefix)](const actors::supervisor_event& event) {
      {
        std::lock_guard guard{times_mutex};
        times[prefix + to_string(event.what) + " " + event.child] = runtime::clock::now();
        if (event.what == actors::supervisor_event::kind::child_overran)
          overrun_reason = event.reason;
      }
      logger(event);
    };
  };

  auto slow = worker("slow", controls, log, "slow");
  slow.shutdown = limit;
  slow.callbacks = [&] {
    actors::applet_callbacks callbacks;
    callbacks.init = [&](actors::applet_context& context) {
      {
        std::lock_guard guard{times_mutex};
        slow_handle = context.self();
      }
      slow_initialised.open();
    };
    callbacks.destroy = [&](actors::applet_context&) {
      if (!release_slow.wait_for(10s))
        slow_released_in_time = false;
      log.add("destroy slow");
    };
    return callbacks;
  };

  actors::supervisor_spec mid;
  mid.name = "mid";
  mid.on_event = timed("mid: ");
  mid.children = {worker("m1", controls, log), slow, worker("m2", controls, log)};

  actors::supervisor_spec top;
  top.name = "top";
  top.on_event = timed("");
  top.children = {worker("a", controls, log), actors::supervisor_child(mid, "sup"),
                  worker("c", controls, log)};
  auto root = actors::spawn_supervisor(engine, "sup", top);
  REQUIRE(log.wait_for_size(6, 5s));
  CHECK(log.entries() == std::vector<std::string>{"start a", "start mid", "start c", "mid: start m1",
                                                  "mid: start slow", "mid: start m2"});

  REQUIRE(slow_initialised.wait_for(5s));
  root.shutdown();
  REQUIRE(root.wait_for(10s));
  CHECK(root.exit_reason().is_normal());
  CHECK(tail(log, 6) == std::vector<std::string>{
                          "shutting_down", "stop c", "destroy c", "stopped c", "stop mid",
                          "mid: shutting_down", "mid: stop m2", "destroy m2", "mid: stopped m2",
                          "mid: stop slow", "mid: overran slow", "mid: stop m1", "destroy m1",
                          "mid: stopped m1", "stopped mid", "stop a", "destroy a", "stopped a"});
  {
    std::lock_guard guard{times_mutex};
    CHECK(times["mid: child_overran slow"] - times["mid: child_stopping slow"] >= limit);
    REQUIRE(overrun_reason);
    CHECK(overrun_reason->code() == actors::supervisor_errc::shutdown_overrun);
    CHECK(overrun_reason->message().find("overran its shutdown limit of 100 ms") != std::string::npos);
    REQUIRE(slow_handle);
    CHECK(slow_handle.state() == actors::applet_state::destroying);
  }
  // The tree is gone while the overrunning destroy is still running.
  CHECK(log.count("destroy slow") == 0);
  CHECK(engine.get_scheduler("work").empty());
  CHECK(engine.get_scheduler("slow").applet_count() == 1);

  release_slow.open();
  actors::applet_handle slow_copy;
  {
    std::lock_guard guard{times_mutex};
    slow_copy = slow_handle;
  }
  REQUIRE(slow_copy.wait_for(5s));
  CHECK(slow_released_in_time.load());
  CHECK(log.count("destroy slow") == 1);
  CHECK(engine.get_scheduler("slow").empty());
}
