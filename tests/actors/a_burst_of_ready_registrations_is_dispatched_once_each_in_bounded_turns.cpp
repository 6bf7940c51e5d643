// Many registrations of one applet that become ready together (set by
// another thread while the scheduler thread is busy, so they reach the
// applet as one batch through its inbox and one doorbell message) are each
// dispatched exactly once and in a bounded number of turns: up to
// `throughput` per message, and a worker's turn of the applet handles up to
// `throughput` messages (docs/runtime.md), so at most throughput² before the
// applet yields. Another applet on the same one-thread scheduler, ready all
// along, gets a turn between every two of those turns (the round-robin rule
// of ready_applets_take_turns_round_robin.cpp holds for a batch too).
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

#include <array>
#include <map>

using namespace applet_test;

TEST_CASE("64 events made ready at once are dispatched once each, at most 16 per turn, "
          "alternating with another ready applet") {
  constexpr std::size_t burst = 64;
  constexpr std::size_t throughput = 4;
  std::vector<runtime::event> events;
  for (std::size_t index = 0; index < burst; ++index)
    events.emplace_back(runtime::reset_mode::automatic, "burst-" + std::to_string(index));
  runtime::event level{runtime::reset_mode::manual, "level"};
  std::atomic<std::size_t> burst_dispatched{0};
  event_log order;
  actorloop_test::latch_counter registered;

  runtime::engine engine{small_engine_options()};
  runtime::scheduler_options options;
  options.name = "loop";
  options.threads = 1;
  options.throughput = throughput;
  engine.create_scheduler(options);

  actors::applet_callbacks many;
  many.name = "many";
  many.preselect = [&](actors::applet_context& context) {
    if (context.wait_count() == 0 && burst_dispatched.load() == 0) {
      for (auto& each : events)
        context.add_wait(each);
      registered.increment();
    }
  };
  many.postselect = [&](actors::applet_context& context,
                        const runtime::waitable& fired) -> runtime::waitable {
    order.add("m " + fired.name());
    CHECK(context.remove_wait(fired));
    burst_dispatched.fetch_add(1);
    return {};
  };
  actors::applet_callbacks other;
  other.name = "other";
  other.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(level)) {
      context.add_wait(level);
      registered.increment();
    }
  };
  other.postselect = [&](actors::applet_context&, const runtime::waitable&) -> runtime::waitable {
    // Level-triggered: ready on every turn until the burst is through.
    if (burst_dispatched.load() == burst) {
      level.reset();
      order.add("o last");
    } else {
      order.add("o");
    }
    return {};
  };
  std::vector<actors::applet_handle> handles;
  handles.push_back(actors::spawn_applet(engine, "loop", many));
  handles.push_back(actors::spawn_applet(engine, "loop", other));
  REQUIRE(registered.wait_for_at_least(2, 5s));

  {
    // Everything becomes ready while the thread is held: the burst first.
    scheduler_hold hold{engine, "loop"};
    REQUIRE(hold.hold());
    for (auto& each : events)
      each.set();
    level.set();
    hold.release();
    CHECK(hold.released_in_time());
  }
  REQUIRE(order.wait_for_entry("o last", 10s));
  for (auto& handle : handles)
    handle.kill();
  for (auto& handle : handles)
    REQUIRE(handle.wait_for(5s));

  auto entries = order.entries();
  CAPTURE(entries);
  // Exactly once each, in the order they became ready (the inbox is FIFO).
  std::vector<std::string> burst_order;
  std::map<std::string, int> seen;
  for (auto& entry : entries)
    if (entry.rfind("m ", 0) == 0) {
      burst_order.push_back(entry.substr(2));
      ++seen[entry.substr(2)];
    }
  REQUIRE(burst_order.size() == burst);
  for (std::size_t index = 0; index < burst; ++index) {
    CHECK(burst_order[index] == "burst-" + std::to_string(index));
    CHECK(seen["burst-" + std::to_string(index)] == 1);
  }
  // Turns: runs of "m" entries are whole turns of at most throughput²
  // dispatches (each a batch: more than one), and "other" runs between
  // every two of them.
  REQUIRE(entries.front().rfind("m ", 0) == 0); // the burst became ready first
  std::vector<std::size_t> runs;
  bool in_run = false;
  for (auto& entry : entries) {
    bool mine = entry.rfind("m ", 0) == 0;
    if (mine && !in_run)
      runs.push_back(0);
    if (mine)
      ++runs.back();
    in_run = mine;
  }
  CAPTURE(runs);
  CHECK(runs.size() >= burst / (throughput * throughput));
  for (auto run : runs) {
    CHECK(run > 1);
    CHECK(run <= throughput * throughput);
  }
}
