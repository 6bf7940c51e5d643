// Sample 02: an auto-reset event set by a timer (Open Files' test_event).
//
// One applet waits on two things at once: an auto-reset event and a one-shot
// timer, both registered again in every preselect (the original's idiom). Each
// timer postselect sets the event and re-arms the timer; the event is then
// delivered to the same applet in its next turn. The applet sets the event
// twice per tick to show that an event is not a counter: two sets before the
// dispatch still give one delivery, and the delivery resets the event. After
// ten deliveries the applet kills itself.
//
// Usage: actorloop-sample-02-event [--period-ms N] [--actorloop.schedulers=...]
// The applet runs on the scheduler "loop" (created with one thread unless the
// command line defines it). This sample writes the applet as plain callables.

#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/timer.hpp>

#include <sample_support.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;

using sample::say;
using sample::take_number_option;

namespace {

constexpr int expected_deliveries = 10;
constexpr std::string_view scheduler_name = "loop";

/// The applet's state. Touched only by the applet's callbacks (on its
/// scheduler thread) and by main after the applet handle is ready.
struct event_test {
  explicit event_test(runtime::duration period) : period(period) {}

  const runtime::duration period;
  runtime::event event{runtime::reset_mode::automatic, "EVENT TEST"};
  runtime::timer timer{"EVENT TIMER"};
  int timer_ticks = 0;
  int event_sets = 0;
  int deliveries = 0;
  int still_set_after_delivery = 0;
  int destroy_calls = 0;
};

actors::applet_callbacks make_event_applet(event_test& test) {
  return {
    .name = "event-test",
    .init =
      [&test](actors::applet_context&) {
        say("init: arming the timer");
        test.timer.set(test.period);
      },
    .preselect =
      [&test](actors::applet_context& context) {
        // Register everything from scratch, as the original test apps do;
        // only the final set of registrations counts.
        context.clear_wait();
        context.add_wait(test.event);
        context.add_wait(test.timer);
      },
    .postselect = [&test](actors::applet_context& context,
                          const actors::waitable& fired) -> actors::waitable {
      if (fired == test.timer) {
        ++test.timer_ticks;
        test.event.set();
        test.event.set();
        test.event_sets += 2;
        say("postselect: timer tick ", test.timer_ticks, ", event set twice");
        test.timer.set(test.period);
      } else if (fired == test.event) {
        ++test.deliveries;
        // The dispatch consumed the auto-reset event.
        if (test.event.test())
          ++test.still_set_after_delivery;
        say("postselect: event delivered ", test.deliveries, "/", expected_deliveries);
        if (test.deliveries == expected_deliveries) {
          say("postselect: ", expected_deliveries, " deliveries, the applet kills itself");
          context.kill();
        }
      }
      return {};
    },
    .destroy =
      [&test](actors::applet_context&) {
        ++test.destroy_calls;
        test.timer.cancel();
        say("destroy: timer cancelled");
      },
    .dump = {},
  };
}

void print_usage() {
  say("sample options:\n  --period-ms N   timer period in milliseconds (default 100)\n",
      "actorloop options:\n", runtime::engine::options_help());
}

int run(int argc, char** argv) {
  auto period =
    std::chrono::milliseconds(take_number_option(argc, argv, "--period-ms").value_or(100));
  // The applet's state outlives the engine: destroying the engine may still run destroy.
  event_test test{period};
  runtime::engine engine(argc, argv);
  if (engine.help_printed()) {
    print_usage();
    return 0;
  }
  sample::ensure_loop_scheduler(engine, scheduler_name);

  auto handle = actors::spawn_applet(engine, scheduler_name, make_event_applet(test));
  say("main: spawned applet ", handle.applet_id(), ", waiting on its handle");
  if (!handle.wait_for(period * expected_deliveries * 5 + 10s)) {
    say("FAIL: the applet did not finish in time (", test.deliveries, " deliveries)");
    return 1;
  }
  say("main: the applet handle is ready: ", handle.exit_reason().message());

  sample::checklist checks;
  checks.expect(test.deliveries == expected_deliveries,
         "expected " + std::to_string(expected_deliveries) + " event deliveries, saw " +
             std::to_string(test.deliveries));
  checks.expect(test.timer_ticks == expected_deliveries,
         "expected " + std::to_string(expected_deliveries) + " timer ticks, saw " +
             std::to_string(test.timer_ticks));
  checks.expect(test.event_sets == 2 * test.timer_ticks, "event sets do not match the ticks");
  checks.expect(test.still_set_after_delivery == 0,
         "the event was still set after " + std::to_string(test.still_set_after_delivery) +
             " deliveries (auto-reset did not consume it)");
  checks.expect(test.destroy_calls == 1, "destroy ran " + std::to_string(test.destroy_calls) + " times");
  checks.expect(handle.state() == actors::applet_state::destroyed, "the applet is not destroyed");
  checks.expect(handle.exit_reason().is_normal(), "abnormal exit: " + handle.exit_reason().message());
  return checks.verdict();
}

} // namespace

int main(int argc, char** argv) {
  return sample::guarded_main([&] { return run(argc, argv); }, print_usage);
}
