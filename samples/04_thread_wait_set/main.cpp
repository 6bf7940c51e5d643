// Sample 04: a plain thread blocking on a wait set, next to an applet
// (Open Files' test_thread and the threaded model).
//
// A worker thread (actorloop::runtime::thread) blocks on a wait set holding a
// periodic heartbeat timer and an auto-reset "poke" event, and prints every
// wake. An applet on a scheduler has its own periodic timer: each tick pokes
// the worker (setting an event from a scheduler thread wakes the plain thread
// at once), and the fifth tick makes the applet kill itself. The main thread
// waits on the applet handle, then stops the worker cooperatively:
// request_stop() wakes the wait set given to set_wake_target(), so the worker
// returns from its wait with wait_status::woken, sees the stop request and
// returns. Its exit event is set and main joins it.
//
// Usage: actorloop-sample-04-thread-wait-set [--period-ms N] [--actorloop.schedulers=...]
// The applet runs on the scheduler "loop" (created with one thread unless the
// command line defines it).

#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/thread.hpp>
#include <actorloop/runtime/timer.hpp>
#include <actorloop/runtime/wait_set.hpp>

#include <sample_support.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;

using sample::say;
using sample::take_number_option;

namespace {

constexpr int applet_ticks = 5;
constexpr std::string_view scheduler_name = "loop";

// Cookies given to wait_set::add; wait() hands them back with the fired member.
constexpr std::uintptr_t heartbeat_cookie = 1;
constexpr std::uintptr_t poke_cookie = 2;

/// What the worker thread saw. Written by the worker only; main reads it
/// after join().
struct worker_report {
  int heartbeats = 0;
  int pokes = 0;
  int wakes_without_stop = 0;
  int stop_wakes = 0;
  int timeouts = 0;
};

/// What the applet did. Written on the scheduler thread only; main reads it
/// after the applet handle is ready.
struct applet_report {
  int ticks = 0;
  int pokes_sent = 0;
  int destroy_calls = 0;
};

/// The worker's body: block on the wait set until a wake says stop.
void work(std::stop_token stop, runtime::wait_set& waits, worker_report& report) {
  say("worker: waiting on the wait set (heartbeat timer + poke event)");
  for (;;) {
    auto result = waits.wait_for(10s);
    switch (result.status) {
      case runtime::wait_status::fired:
        if (result.cookie == heartbeat_cookie)
          say("worker: heartbeat ", ++report.heartbeats);
        else if (result.cookie == poke_cookie)
          say("worker: poked by the applet (", ++report.pokes, ")");
        break;
      case runtime::wait_status::woken:
        if (stop.stop_requested()) {
          ++report.stop_wakes;
          say("worker: woken, stop requested: returning");
          return;
        }
        ++report.wakes_without_stop;
        break;
      case runtime::wait_status::timed_out:
        ++report.timeouts; // nothing for 10 s: something is wrong, but keep waiting for stop
        break;
    }
  }
}

actors::applet_callbacks make_poking_applet(runtime::duration period, runtime::timer& timer,
                                            runtime::event poke, applet_report& report) {
  return {
    .name = "poker",
    .init =
      [&timer, period](actors::applet_context&) {
        say("applet: init, periodic timer every ",
            std::chrono::duration_cast<std::chrono::milliseconds>(period).count(), " ms");
        timer.set_periodic(period);
      },
    .preselect =
      [&timer](actors::applet_context& context) {
        context.wait_on(timer); // registrations persist between turns
      },
    .postselect = [&report, poke](actors::applet_context& context,
                                  const actors::waitable&) mutable -> actors::waitable {
      ++report.ticks;
      if (report.ticks < applet_ticks) {
        say("applet: tick ", report.ticks, ", poking the worker");
        ++report.pokes_sent;
        poke.set();
      } else {
        say("applet: tick ", report.ticks, ", the applet kills itself");
        context.kill();
      }
      return {};
    },
    .destroy =
      [&report, &timer](actors::applet_context&) {
        ++report.destroy_calls;
        timer.cancel();
        say("applet: destroy");
      },
    .dump = {},
  };
}

void print_usage() {
  say("sample options:\n  --period-ms N   applet timer period in milliseconds (default 100)\n",
      "actorloop options:\n", runtime::engine::options_help());
}

int run(int argc, char** argv) {
  auto period =
    std::chrono::milliseconds(take_number_option(argc, argv, "--period-ms").value_or(100));
  // Everything the threads and the applet touch outlives the engine.
  worker_report worker_seen;
  applet_report applet_did;
  runtime::timer applet_timer{"applet timer"};
  runtime::engine engine(argc, argv);
  if (engine.help_printed()) {
    print_usage();
    return 0;
  }
  sample::ensure_loop_scheduler(engine, scheduler_name);

  runtime::timer heartbeat{"heartbeat"};
  runtime::event poke{runtime::reset_mode::automatic, "poke"};
  runtime::event worker_exit{runtime::reset_mode::manual, "worker exit"};
  runtime::wait_set waits;
  waits.add(heartbeat, heartbeat_cookie);
  waits.add(poke, poke_cookie);
  heartbeat.set_periodic(period * 2 / 5);

  runtime::thread worker{"worker",
                         [&](std::stop_token stop) { work(stop, waits, worker_seen); },
                         worker_exit};
  worker.set_wake_target(&waits); // request_stop() will wake the blocked wait

  auto handle = actors::spawn_applet(engine, scheduler_name,
                                     make_poking_applet(period, applet_timer, poke, applet_did));
  say("main: spawned applet ", handle.applet_id(), ", waiting on its handle");
  bool applet_finished = handle.wait_for(period * applet_ticks * 5 + 10s);
  say("main: ", applet_finished ? "the applet is gone" : "the applet did not finish in time",
      ", stopping the worker");
  worker.request_stop();
  worker.join();
  say("main: worker joined");

  sample::checklist checks;
  checks.expect(applet_finished, "the applet did not finish in time");
  auto saw = [](int expected, int actual) {
    return "expected " + std::to_string(expected) + ", saw " + std::to_string(actual);
  };
  checks.expect(applet_did.ticks == applet_ticks, "applet ticks: " + saw(applet_ticks, applet_did.ticks));
  checks.expect(applet_did.destroy_calls == 1,
         "applet destroy calls: " + saw(1, applet_did.destroy_calls));
  checks.expect(worker_seen.pokes == applet_did.pokes_sent,
         "pokes seen by the worker: " + saw(applet_did.pokes_sent, worker_seen.pokes));
  checks.expect(worker_seen.heartbeats > 0, "the worker saw no heartbeat");
  checks.expect(worker_seen.stop_wakes == 1, "stop wakes: " + saw(1, worker_seen.stop_wakes));
  checks.expect(worker_seen.wakes_without_stop == 0,
         "wakes without a stop request: " + saw(0, worker_seen.wakes_without_stop));
  checks.expect(worker_seen.timeouts == 0, "the worker's wait timed out");
  checks.expect(worker_exit.test(), "the worker's exit event is not set");
  say("main: worker saw ", worker_seen.heartbeats, " heartbeats and ", worker_seen.pokes, " pokes");
  return checks.verdict();
}

} // namespace

int main(int argc, char** argv) {
  return sample::guarded_main([&] { return run(argc, argv); }, print_usage);
}
