// Sample 01: one applet and one timer (Open Files' test_timer).
//
// The applet's first preselect arms a one-shot timer and registers it. Every
// postselect on the timer counts the expiration and arms the timer again. After
// ten expirations the applet kills itself; its destroy callback cancels the
// timer. Meanwhile the main thread blocks on the applet handle, which becomes
// ready once the applet has been destroyed.
//
// Usage: actorloop-sample-01-timer [--period-ms N] [--actorloop.schedulers=...]
// The applet runs on the scheduler "loop"; if the command line does not define
// it, the sample creates it with one thread (an Open Files run-loop).

#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/timer.hpp>

#include <sample_support.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
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

constexpr int expected_expirations = 10;
constexpr std::string_view scheduler_name = "loop";

long to_milliseconds(runtime::duration value) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(value).count());
}

/// What the applet saw. Written on the scheduler thread only; main reads it
/// after the applet handle is ready, which orders those writes before the reads.
struct timer_report {
  int expirations = 0;
  int early_expirations = 0;
  int destroy_calls = 0;
};

/// The test_timer applet, written as a class with Open Files' state machine.
class timer_applet final : public actors::applet {
public:
  timer_applet(runtime::duration period, timer_report& report)
    : period_(period), report_(report) {}

  void preselect(actors::applet_context& context) override {
    // The original's idiom: register from scratch and loop while the state
    // changes, so a transition re-runs the registration of the new state.
    state entry;
    do {
      entry = state_;
      context.clear_wait();
      switch (state_) {
        case state::idle:
          say("preselect: arming the timer for ", to_milliseconds(period_), " ms");
          arm();
          state_ = state::running;
          break;
        case state::running:
          context.add_wait(timer_);
          break;
      }
    } while (state_ != entry);
  }

  actors::waitable postselect(actors::applet_context& context,
                              const actors::waitable& fired) override {
    if (fired != timer_)
      return {};
    auto waited = runtime::clock::now() - armed_at_;
    if (waited < period_)
      ++report_.early_expirations;
    ++report_.expirations;
    say("postselect: timer expired ", report_.expirations, "/", expected_expirations, " after ",
        to_milliseconds(waited), " ms");
    if (report_.expirations == expected_expirations) {
      say("postselect: ", expected_expirations, " expirations, the applet kills itself");
      context.kill();
    } else {
      arm(); // a one-shot timer stays expired until it is set again
    }
    return {};
  }

  void destroy(actors::applet_context&) override {
    ++report_.destroy_calls;
    timer_.cancel();
    say("destroy: timer cancelled");
  }

private:
  enum class state { idle, running };

  void arm() {
    armed_at_ = runtime::clock::now();
    timer_.set(period_);
  }

  const runtime::duration period_;
  timer_report& report_;
  runtime::timer timer_{"TIMER TEST"};
  runtime::time_point armed_at_{};
  state state_ = state::idle;
};

void print_usage() {
  say("sample options:\n  --period-ms N   timer period in milliseconds (default 100)\n",
      "actorloop options:\n", runtime::engine::options_help());
}

int run(int argc, char** argv) {
  auto period =
    std::chrono::milliseconds(take_number_option(argc, argv, "--period-ms").value_or(100));
  // The report outlives the engine: destroying the engine may still run destroy.
  timer_report report;
  runtime::engine engine(argc, argv);
  if (engine.help_printed()) {
    print_usage();
    return 0;
  }
  sample::ensure_loop_scheduler(engine, scheduler_name);

  auto handle = actors::spawn_applet(engine, scheduler_name,
                                     std::make_unique<timer_applet>(period, report), "timer-test");
  say("main: spawned applet ", handle.applet_id(), " on scheduler '", handle.scheduler_name(),
      "', waiting on its handle");
  if (!handle.wait_for(period * expected_expirations * 5 + 10s)) {
    say("FAIL: the applet did not finish in time (", report.expirations, " expirations)");
    return 1;
  }
  say("main: the applet handle is ready: ", handle.exit_reason().message());

  sample::checklist checks;
  checks.expect(report.expirations == expected_expirations,
         "expected " + std::to_string(expected_expirations) + " expirations, saw " +
             std::to_string(report.expirations));
  checks.expect(report.early_expirations == 0,
         std::to_string(report.early_expirations) + " expirations came before the period");
  checks.expect(report.destroy_calls == 1,
         "destroy ran " + std::to_string(report.destroy_calls) + " times");
  checks.expect(handle.state() == actors::applet_state::destroyed, "the applet is not destroyed");
  checks.expect(handle.exit_reason().is_normal(), "abnormal exit: " + handle.exit_reason().message());
  return checks.verdict();
}

} // namespace

int main(int argc, char** argv) {
  return sample::guarded_main([&] { return run(argc, argv); }, print_usage);
}
