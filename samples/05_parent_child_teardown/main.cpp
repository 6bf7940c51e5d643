// Sample 05: a parent applet creates children and tears them down one at a
// time (Open Files' test_dg, without the UDP part).
//
// The parent's first preselect spawns N child applets on its own scheduler,
// each with its own periodic timer. After a few ticks of the parent's timer the
// parent enters its teardown state: it kills one child and waits on that
// child's handle (an applet handle is itself a waitable, ready once the child's
// destroy callback has run). Only when that handle fires does it kill the next
// child. When the last child is gone the parent kills itself. The original
// shared one auto-reset "destroy" event between the children for this; here
// each handle notifies by itself, so no registration can race with the death.
//
// Usage: actorloop-sample-05-parent-child-teardown [--children N] [--rounds N]
//          [--period-ms N] [--actorloop.schedulers=...]
// The applets run on the scheduler "loop" (created with one thread unless the
// command line defines it).

#include <actorloop/actors/applet.hpp>
#include <actorloop/actors/registry.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/timer.hpp>

#include <sample_support.hpp>

#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;

using sample::say;
using sample::take_number_option;

namespace {

constexpr std::string_view scheduler_name = "loop";

/// The order in which things happened, shared by the parent and the children.
/// Locked because a scheduler given more than one thread on the command line
/// may run the children in parallel.
class event_log {
public:
  void add(std::string entry) {
    std::lock_guard guard{mutex_};
    entries_.push_back(std::move(entry));
  }
  std::vector<std::string> entries() const {
    std::lock_guard guard{mutex_};
    return entries_;
  }

private:
  mutable std::mutex mutex_;
  std::vector<std::string> entries_;
};

/// One child's counters; each child touches only its own.
struct child_report {
  int ticks = 0;
  int destroy_calls = 0;
};

struct teardown_settings {
  std::size_t children = 3;
  int rounds = 5;
  runtime::duration period = 100ms;
};

actors::applet_callbacks make_child(std::size_t index, runtime::duration period,
                                    child_report& report, event_log& log) {
  auto timer = std::make_shared<runtime::timer>("child " + std::to_string(index) + " timer");
  return {
    .name = "child-" + std::to_string(index),
    .init = [timer, period](actors::applet_context&) { timer->set_periodic(period); },
    .preselect =
      [timer](actors::applet_context& context) {
        context.wait_on(*timer);
      },
    .postselect = [&report, index](actors::applet_context&,
                                   const actors::waitable&) -> actors::waitable {
      ++report.ticks;
      say("child ", index, ": tick ", report.ticks);
      return {};
    },
    .destroy =
      [timer, &report, &log, index](actors::applet_context&) {
        ++report.destroy_calls;
        timer->cancel();
        log.add("destroyed " + std::to_string(index));
        say("child ", index, ": destroy");
      },
    .dump = {},
  };
}

class parent_applet final : public actors::applet {
public:
  parent_applet(teardown_settings settings, std::vector<child_report>& child_reports,
                std::vector<actors::applet_handle>& children, event_log& log, int& destroy_calls)
    : settings_(settings), child_reports_(child_reports), children_(children), log_(log),
      destroy_calls_(destroy_calls) {}

  void preselect(actors::applet_context& context) override {
    state entry;
    do {
      entry = state_;
      context.clear_wait();
      switch (state_) {
        case state::idle:
          spawn_children(context);
          timer_.set_periodic(settings_.period);
          state_ = state::running;
          break;
        case state::running:
          context.add_wait(timer_);
          break;
        case state::tearing_down:
          // Wait for the one child being killed, and for nothing else.
          context.add_wait(children_[next_child_]);
          break;
      }
    } while (state_ != entry);
  }

  actors::waitable postselect(actors::applet_context& context,
                              const actors::waitable& fired) override {
    if (state_ == state::running && fired == timer_) {
      ++ticks_;
      say("parent: tick ", ticks_, "/", settings_.rounds);
      if (ticks_ == settings_.rounds) {
        timer_.cancel();
        state_ = state::tearing_down;
        say("parent: tearing the children down, one at a time");
        kill_next_child();
      }
    } else if (state_ == state::tearing_down && fired == children_[next_child_]) {
      auto& child = children_[next_child_];
      log_.add("saw " + std::to_string(next_child_) + " gone");
      say("parent: child ", next_child_, " is gone (", to_string(child.state()), ", ",
          child.exit_reason().message(), ")");
      ++next_child_;
      if (next_child_ < children_.size()) {
        kill_next_child();
      } else {
        say("parent: every child is gone, the parent kills itself");
        context.kill();
      }
    }
    return {};
  }

  void destroy(actors::applet_context&) override {
    ++destroy_calls_;
    timer_.cancel();
    say("parent: destroy");
  }

private:
  enum class state { idle, running, tearing_down };

  void spawn_children(actors::applet_context& context) {
    // Applets may create applets; the children share the parent's scheduler.
    auto scheduler = context.scheduler().name();
    for (std::size_t index = 0; index < settings_.children; ++index) {
      children_.push_back(actors::spawn_applet(
        context.engine(), scheduler,
        make_child(index, settings_.period, child_reports_[index], log_)));
      say("parent: spawned child ", index, " (applet ", children_.back().applet_id(), ")");
    }
  }

  void kill_next_child() {
    log_.add("kill " + std::to_string(next_child_));
    say("parent: killing child ", next_child_, " and waiting on its handle");
    children_[next_child_].kill();
  }

  const teardown_settings settings_;
  std::vector<child_report>& child_reports_;
  std::vector<actors::applet_handle>& children_;
  event_log& log_;
  int& destroy_calls_;
  runtime::timer timer_{"parent timer"};
  state state_ = state::idle;
  int ticks_ = 0;
  std::size_t next_child_ = 0;
};

void print_usage() {
  say("sample options:\n"
      "  --children N    child applets (default 3)\n"
      "  --rounds N      parent timer ticks before the teardown (default 5)\n"
      "  --period-ms N   timer period in milliseconds (default 100)\n",
      "actorloop options:\n", runtime::engine::options_help());
}

int run(int argc, char** argv) {
  teardown_settings settings;
  settings.children =
    static_cast<std::size_t>(take_number_option(argc, argv, "--children").value_or(3));
  settings.rounds = static_cast<int>(take_number_option(argc, argv, "--rounds").value_or(5));
  settings.period =
    std::chrono::milliseconds(take_number_option(argc, argv, "--period-ms").value_or(100));

  // Everything the applets touch outlives the engine.
  std::vector<child_report> child_reports(settings.children);
  std::vector<actors::applet_handle> children; // written by the parent only
  event_log log;
  int parent_destroy_calls = 0;
  runtime::engine engine(argc, argv);
  if (engine.help_printed()) {
    print_usage();
    return 0;
  }
  sample::ensure_loop_scheduler(engine, scheduler_name);

  auto parent = actors::spawn_applet(
    engine, scheduler_name,
    std::make_unique<parent_applet>(settings, child_reports, children, log, parent_destroy_calls),
    "parent");
  say("main: spawned the parent (applet ", parent.applet_id(), "), waiting on its handle");
  if (!parent.wait_for(settings.period * settings.rounds * 5 + 10s)) {
    say("FAIL: the parent did not finish in time");
    return 1;
  }
  say("main: the parent is gone: ", parent.exit_reason().message());

  sample::checklist checks;
  // The order proves one-at-a-time teardown: each child died before the next was killed.
  std::vector<std::string> expected_order;
  for (std::size_t index = 0; index < settings.children; ++index) {
    expected_order.push_back("kill " + std::to_string(index));
    expected_order.push_back("destroyed " + std::to_string(index));
    expected_order.push_back("saw " + std::to_string(index) + " gone");
  }
  auto order = log.entries();
  checks.expect(order == expected_order, "the teardown did not happen one child at a time");
  if (order != expected_order)
    for (auto& entry : order)
      say("  logged: ", entry);
  checks.expect(children.size() == settings.children,
         "spawned " + std::to_string(children.size()) + " children");
  for (std::size_t index = 0; index < children.size(); ++index) {
    auto& report = child_reports[index];
    say("main: child ", index, " ticked ", report.ticks, " times");
    checks.expect(report.destroy_calls == 1, "child " + std::to_string(index) + " destroy ran " +
                                        std::to_string(report.destroy_calls) + " times");
    checks.expect(report.ticks > 0, "child " + std::to_string(index) + " never ticked");
    checks.expect(children[index].state() == actors::applet_state::destroyed,
           "child " + std::to_string(index) + " is not destroyed");
    checks.expect(children[index].exit_reason().is_normal(),
           "child " + std::to_string(index) + ": " + children[index].exit_reason().message());
  }
  checks.expect(parent_destroy_calls == 1,
         "the parent's destroy ran " + std::to_string(parent_destroy_calls) + " times");
  checks.expect(parent.exit_reason().is_normal(), "parent: " + parent.exit_reason().message());
  auto live = actors::list_applets(engine);
  checks.expect(live.empty(), std::to_string(live.size()) + " applets are still registered");
  checks.expect(engine.get_scheduler(scheduler_name).empty(), "the scheduler still has applets");
  return checks.verdict();
}

} // namespace

int main(int argc, char** argv) {
  return sample::guarded_main([&] { return run(argc, argv); }, print_usage);
}
