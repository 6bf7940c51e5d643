// When K registered waitables are ready at once, the applet gets
// K separate postselect calls, each with exactly one of them, and its
// preselect re-runs between them (each is its own turn).
// Model: Open Files of_core documentation (the scheduler loop: one triggered
// handle per wait).
#include "applet_test_support.hpp"

#include <actorloop/runtime/timer.hpp>
#include <actorloop/runtime/wait_queue.hpp>

#include <doctest/doctest.h>

#include <set>

using namespace applet_test;

TEST_CASE("four waitables of four kinds ready at once give four postselects, one each") {
  runtime::event auto_event{runtime::reset_mode::automatic, "auto"};
  runtime::event manual_event{runtime::reset_mode::manual, "manual"};
  runtime::timer expired_timer{"expired"};
  runtime::wait_queue<int> queue{runtime::wait_queue<int>::unbounded, "queue"};
  runtime::event finish{runtime::reset_mode::automatic, "finish"};
  event_log log;

  // All four are ready before the applet even exists.
  auto_event.set();
  manual_event.set();
  expired_timer.set_at(runtime::clock::now() - 1ms);
  REQUIRE(queue.try_push(7) == std::error_code{});

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "multiplexer";
  callbacks.preselect = [&](actors::applet_context& context) {
    log.add("preselect");
    if (context.wait_count() == 0) {
      context.add_wait(auto_event);
      context.add_wait(manual_event);
      context.add_wait(expired_timer);
      context.add_wait(queue);
      context.add_wait(finish);
    }
  };
  callbacks.postselect = [&](actors::applet_context& context,
                             const runtime::waitable& fired) -> runtime::waitable {
    log.add("postselect " + fired.name());
    // Each handler clears the readiness of the one it was given.
    if (fired == manual_event)
      manual_event.reset();
    else if (fired == expired_timer)
      expired_timer.cancel();
    else if (fired == queue)
      CHECK(queue.try_pop() == std::optional<int>{7});
    else if (fired == finish)
      context.kill();
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);

  // preselect + 4 × (postselect, preselect)
  REQUIRE(log.wait_for_size(9, 5s));
  finish.set();
  REQUIRE(handle.wait_for(5s));

  auto entries = log.entries();
  REQUIRE(entries.size() == 10);
  std::set<std::string> handled;
  for (std::size_t index = 0; index < 8; index += 2) {
    CHECK(entries[index] == "preselect");
    handled.insert(entries[index + 1]);
  }
  CHECK(handled == std::set<std::string>{"postselect auto", "postselect expired",
                                         "postselect manual", "postselect queue"});
  CHECK(entries[8] == "preselect");
  CHECK(entries[9] == "postselect finish");
  CHECK_FALSE(auto_event.test());
}

TEST_CASE("five auto events set before the applet starts give five postselects, each once") {
  constexpr std::size_t event_count = 5;
  std::vector<runtime::event> events;
  for (std::size_t index = 0; index < event_count; ++index) {
    events.emplace_back(runtime::reset_mode::automatic, "event-" + std::to_string(index));
    events.back().set();
  }
  event_log fired_names;
  actorloop_test::latch_counter postselects;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "five";
  callbacks.preselect = [&](actors::applet_context& context) {
    for (auto& each : events)
      if (!context.waiting_on(each))
        context.add_wait(each);
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    fired_names.add(fired.name());
    postselects.increment();
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(postselects.wait_for_at_least(event_count, 5s));

  // A round trip through the applet before counting: nothing else was pending.
  events[0].set();
  REQUIRE(postselects.wait_for_at_least(event_count + 1, 5s));
  handle.kill();
  REQUIRE(handle.wait_for(5s));

  auto names = fired_names.entries();
  REQUIRE(names.size() == event_count + 1);
  std::set<std::string> distinct(names.begin(), names.begin() + event_count);
  CHECK(distinct.size() == event_count);
  CHECK(names.back() == "event-0");
  for (auto& each : events)
    CHECK_FALSE(each.test());
}
