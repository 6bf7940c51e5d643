// Among several timers an applet waits on, the one with the
// nearest deadline fires first, whatever the order they were added in; timers
// that expire together are delivered one per postselect.
// Model: Open Files of_core documentation (timers in the scheduler loop).
#include "applet_test_support.hpp"

#include <actorloop/runtime/timer.hpp>

#include <doctest/doctest.h>

#include <set>

using namespace applet_test;

TEST_CASE("three timers added far-first fire nearest-first") {
  runtime::timer far_timer{"far"};
  runtime::timer near_timer{"near"};
  runtime::timer middle_timer{"middle"};
  event_log log;
  std::vector<runtime::duration> offsets; // scheduler thread only until the handle is ready
  runtime::time_point armed_at{};

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "three-timers";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (log.size() == 0 && context.wait_count() == 0) {
      armed_at = runtime::clock::now();
      far_timer.set(90ms);
      near_timer.set(30ms);
      middle_timer.set(60ms);
      context.add_wait(far_timer);
      context.add_wait(near_timer);
      context.add_wait(middle_timer);
    }
  };
  callbacks.postselect = [&](actors::applet_context& context,
                             const runtime::waitable& fired) -> runtime::waitable {
    offsets.push_back(runtime::clock::now() - armed_at);
    log.add(fired.name());
    context.remove_wait(fired); // one-shot: otherwise it fires on every turn
    if (log.size() == 3)
      context.kill();
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(handle.wait_for(5s));

  CHECK(log.entries() == std::vector<std::string>{"near", "middle", "far"});
  REQUIRE(offsets.size() == 3);
  CHECK(offsets[0] >= 30ms);
  CHECK(offsets[1] >= 60ms);
  CHECK(offsets[2] >= 90ms);
}

TEST_CASE("timers that expire together are delivered one per postselect") {
  constexpr std::size_t timer_count = 4;
  std::vector<runtime::timer> timers;
  for (std::size_t index = 0; index < timer_count; ++index)
    timers.emplace_back("timer-" + std::to_string(index));
  event_log log;
  std::atomic<int> preselects{0};

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "together";
  callbacks.preselect = [&](actors::applet_context& context) {
    ++preselects;
    if (log.size() == 0 && context.wait_count() == 0) {
      auto deadline = runtime::clock::now() + 5ms;
      for (auto& each : timers) {
        each.set_at(deadline);
        context.add_wait(each);
      }
    }
  };
  callbacks.postselect = [&](actors::applet_context& context,
                             const runtime::waitable& fired) -> runtime::waitable {
    log.add(fired.name());
    CHECK(context.remove_wait(fired));
    if (log.size() == timer_count)
      context.kill();
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(handle.wait_for(5s));

  auto names = log.entries();
  CHECK(names.size() == timer_count);
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == timer_count);
  // One preselect at the start and one after each postselect but the last.
  CHECK(preselects.load() == static_cast<int>(timer_count));
}
