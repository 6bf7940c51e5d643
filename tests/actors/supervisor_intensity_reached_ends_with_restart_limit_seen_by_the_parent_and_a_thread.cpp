// Intensity: one restart more than allowed within the period and the
// supervisor stops its other children in reverse order and ends with
// restart_limit; its parent supervisor sees that reason (and, allowing no
// restarts itself, ends the same way), and so does a plain thread waiting on
// the root.
#include "supervisor_test_support.hpp"

#include <doctest/doctest.h>

using namespace supervisor_test;

TEST_CASE("intensity reached: restart_limit reaches the parent supervisor and a thread waiting on the root") {
  event_log log;
  worker_controls controls;
  runtime::engine engine{small_engine_options()};
  // Both supervisors on one thread, so their events interleave in one order.
  make_scheduler(engine, "sup");
  make_scheduler(engine, "work");

  std::mutex reason_mutex;
  std::optional<actors::exit_reason> seen_by_parent;

  actors::supervisor_spec mid;
  mid.name = "mid";
  mid.intensity = {2, std::chrono::seconds(60)};
  mid.on_event = event_logger(log, "mid: ");
  mid.children.push_back(worker("a", controls, log));
  mid.children.push_back(worker("b", controls, log));

  actors::supervisor_spec top;
  top.name = "top";
  top.intensity = {0, std::chrono::seconds(60)};
  top.children.push_back(actors::supervisor_child(mid, "sup"));
  top.on_event = [&, logger = event_logger(log, "top: ")](const actors::supervisor_event& event) {
    if (event.what == actors::supervisor_event::kind::child_ended) {
      std::lock_guard guard{reason_mutex};
      seen_by_parent = event.reason;
    }
    logger(event);
  };
  auto root = actors::spawn_supervisor(engine, "sup", top);

  // A plain thread that waits for the whole tree.
  std::optional<actors::exit_reason> seen_by_thread;
  std::thread watcher{[&] {
    if (root.wait_for(10s))
      seen_by_thread = root.exit_reason();
  }};

  REQUIRE(log.wait_for_size(3, 5s));
  CHECK(log.entries() == std::vector<std::string>{"top: start mid", "mid: start a", "mid: start b"});

  for (int restart = 1; restart <= 2; ++restart) {
    controls.end("a", ending::throws);
    REQUIRE(log.wait_for_size(3 + 3 * static_cast<std::size_t>(restart), 5s));
  }
  CHECK(tail(log, 3) == std::vector<std::string>{"destroy a", "mid: ended a", "mid: start a",
                                                 "destroy a", "mid: ended a", "mid: start a"});
  controls.end("a", ending::throws); // the third within the period: one too many

  REQUIRE(root.wait_for(5s));
  watcher.join();
  CHECK(tail(log, 9) == std::vector<std::string>{"destroy a", "mid: ended a", "mid: restart_limit",
                                                 "mid: stop b", "destroy b", "mid: stopped b",
                                                 "top: ended mid", "top: restart_limit"});

  auto is_restart_limit = [](const actors::exit_reason& reason) {
    return reason.code() == actors::supervisor_errc::restart_limit;
  };
  {
    std::lock_guard guard{reason_mutex};
    REQUIRE(seen_by_parent);
    CHECK(is_restart_limit(*seen_by_parent));
    CHECK(seen_by_parent->message().find("supervisor 'mid': more than 2 restarts") !=
          std::string::npos);
    CHECK(seen_by_parent->message().find("a crashed") != std::string::npos);
  }
  REQUIRE(seen_by_thread);
  CHECK(is_restart_limit(*seen_by_thread));
  CHECK(seen_by_thread->message().find("supervisor 'top': more than 0 restarts") !=
        std::string::npos);
  CHECK(root.exit_reason().code().category() == actors::supervisor_category());
  CHECK(std::string{actors::supervisor_category().name()} == "actorloop.supervisor");

  auto stats = root.stats();
  CHECK(stats.stopping);
  CHECK(stats.restarts == 1);
  // A stopped supervisor refuses dynamic children with a clear error.
  auto refused = root.start_child(worker("late", controls, log));
  auto answer = refused.get();
  CHECK(!answer);
  CHECK(answer.error == actors::supervisor_errc::supervisor_ended);
  CHECK(answer.message.find("start_child after it began to stop") != std::string::npos);
  CHECK(engine.get_scheduler("work").empty());
  CHECK(engine.get_scheduler("sup").empty());
}
