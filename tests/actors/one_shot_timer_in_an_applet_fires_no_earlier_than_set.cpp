// A one-shot timer added by an applet fires its postselect no
// earlier than the delay it was set to; re-setting it in postselect gives a
// period of at least that delay (test_timer's pattern, at millisecond scale).
// Model: Open Files of_core documentation (ofc_timer_set; test_timer).
#include "applet_test_support.hpp"

#include <actorloop/runtime/timer.hpp>

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("a one-shot timer re-set in postselect fires 5 times, each no earlier than its delay") {
  constexpr auto delay = 20ms;
  constexpr int expirations = 5;
  runtime::timer alarm{"alarm"};
  std::vector<runtime::duration> lateness; // touched on the scheduler thread, read after the handle
  runtime::time_point armed_at{};
  std::atomic<int> postselects{0};
  std::atomic<int> destroys{0};

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "timer-test";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(alarm)) {
      armed_at = runtime::clock::now();
      alarm.set(delay);
      context.add_wait(alarm);
    }
  };
  callbacks.postselect = [&](actors::applet_context& context,
                             const runtime::waitable& fired) -> runtime::waitable {
    CHECK(fired == alarm);
    lateness.push_back(runtime::clock::now() - armed_at);
    if (++postselects == expirations) {
      context.kill();
    } else {
      armed_at = runtime::clock::now();
      alarm.set(delay);
    }
    return {};
  };
  callbacks.destroy = [&](actors::applet_context&) { ++destroys; };
  auto started = runtime::clock::now();
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(handle.wait_for(5s));

  CHECK(postselects.load() == expirations);
  CHECK(destroys.load() == 1);
  REQUIRE(lateness.size() == static_cast<std::size_t>(expirations));
  for (auto each : lateness)
    CHECK(each >= delay);
  CHECK(runtime::clock::now() - started >= expirations * delay);
}

TEST_CASE("a timer set far ahead does not fire while a short one does") {
  runtime::timer far_away{"far-away"};
  runtime::timer soon{"soon"};
  event_log log;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "two-timers";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (context.wait_count() == 0) {
      far_away.set(1h);
      soon.set(5ms);
      context.add_wait(far_away);
      context.add_wait(soon);
    }
  };
  callbacks.postselect = [&](actors::applet_context& context,
                             const runtime::waitable& fired) -> runtime::waitable {
    log.add(fired.name());
    context.kill();
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(handle.wait_for(5s));
  CHECK(log.entries() == std::vector<std::string>{"soon"});
  CHECK_FALSE(far_away.expired());
}
