// Sample 06 (the flagship): applets on pinned schedulers talking to each other.
//
// Two schedulers, "ping" and "pong", each one thread pinned to its own CPU
// (an Open Files run-loop per CPU). They come from the command line, e.g.
//   --actorloop.schedulers="ping:threads=1:cpus=0;pong:threads=1:cpus=1:spin=20us"
// and, when the command line does not define them, from code: "ping" on the
// first CPU this process may use, "pong" on the last one.
//
// Four applets run at once:
//  - ping (on "ping") and pong (on "pong") play ping-pong with two auto-reset
//    events for a fixed number of round trips: each set crosses schedulers and
//    wakes the other side's thread;
//  - a producer (on "ping") streams numbered messages through a bounded wait
//    queue to a consumer (on "pong"). When the queue is full the producer waits
//    on a "room" event that the consumer sets after each drain (flow control
//    without blocking a scheduler thread).
// Every callback checks that it runs on its own scheduler's thread (and on
// that scheduler's CPUs). The main thread waits for the four applet handles
// with one wait set, then prints each scheduler's statistics and the registry.
// The exit status is 0 only if every count is exact and every check passed.
//
// Usage: actorloop-sample-06-pinned-schedulers [--rounds N] [--messages N]
//          [--queue-capacity N] [--actorloop.schedulers=...]

#include <actorloop/actors/applet.hpp>
#include <actorloop/actors/registry.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/scheduler.hpp>
#include <actorloop/runtime/wait_queue.hpp>
#include <actorloop/runtime/wait_set.hpp>

#include <sample_support.hpp>

#include <sched.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iomanip>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;

using sample::say;
using sample::take_number_option;

namespace {

constexpr std::string_view ping_scheduler = "ping";
constexpr std::string_view pong_scheduler = "pong";

double to_milliseconds(runtime::duration value) {
  return std::chrono::duration<double, std::milli>(value).count();
}

/// Checks, in every callback of one applet, that it runs where it belongs.
/// Each applet owns one and uses it only on its own thread; main reads it
/// after the applet handle is ready.
class placement_check {
public:
  explicit placement_check(runtime::scheduler expected)
    : expected_(std::move(expected)), threads_(expected_.thread_ids()),
      cpus_(expected_.options().cpus) {}

  void check(const actors::applet_context& context) {
    ++callbacks_;
    if (!expected_.runs_this_thread() || !(context.scheduler() == expected_))
      ++wrong_scheduler_;
    if (std::find(threads_.begin(), threads_.end(), std::this_thread::get_id()) == threads_.end())
      ++wrong_thread_;
    int cpu = sched_getcpu();
    if (cpu >= 0)
      cpus_seen_.insert(static_cast<unsigned>(cpu));
    if (!cpus_.empty() && (cpu < 0 || !cpus_.contains(static_cast<unsigned>(cpu))))
      ++wrong_cpu_;
  }

  [[nodiscard]] std::uint64_t callbacks() const { return callbacks_; }
  [[nodiscard]] std::uint64_t violations() const {
    return wrong_scheduler_ + wrong_thread_ + wrong_cpu_;
  }
  [[nodiscard]] std::string summary() const {
    std::ostringstream text;
    text << callbacks_ << " callbacks on '" << expected_.name() << "', " << wrong_scheduler_
         << " off the scheduler, " << wrong_thread_ << " on a foreign thread, " << wrong_cpu_
         << " off its CPUs; CPUs seen:";
    for (auto cpu : cpus_seen_)
      text << ' ' << cpu;
    return text.str();
  }

private:
  runtime::scheduler expected_;
  std::vector<std::thread::id> threads_;
  runtime::cpu_set cpus_;
  std::uint64_t callbacks_ = 0;
  std::uint64_t wrong_scheduler_ = 0;
  std::uint64_t wrong_thread_ = 0;
  std::uint64_t wrong_cpu_ = 0;
  std::set<unsigned> cpus_seen_;
};

/// Counters and checks of one applet.
struct applet_report {
  applet_report(std::string name, runtime::scheduler where)
    : name(std::move(name)), placement(std::move(where)) {}
  const std::string name;
  placement_check placement;
  std::uint64_t postselects = 0;
  std::uint64_t destroy_calls = 0;
};

struct settings {
  std::uint64_t rounds = 10'000;
  std::uint64_t messages = 1'000'000;
  std::size_t queue_capacity = 256;
};

/// State shared by the four applets. Each member is written by one applet only
/// (noted below); main reads after every applet handle is ready.
struct flagship {
  flagship(const settings& chosen, runtime::scheduler ping, runtime::scheduler pong)
    : config(chosen), queue(chosen.queue_capacity, "stream"), ping_report("ping", ping),
      pong_report("pong", pong), producer_report("producer", ping),
      consumer_report("consumer", pong) {}

  const settings config;
  runtime::event ping_to_pong{runtime::reset_mode::automatic, "ping->pong"};
  runtime::event pong_to_ping{runtime::reset_mode::automatic, "pong->ping"};
  runtime::wait_queue<std::uint64_t> queue;
  runtime::event room{runtime::reset_mode::automatic, "room in the stream"};

  applet_report ping_report;
  applet_report pong_report;
  applet_report producer_report;
  applet_report consumer_report;

  // ping's
  std::uint64_t round_trips = 0;
  runtime::time_point ping_started{};
  runtime::duration ping_pong_time{};
  // pong's
  std::uint64_t replies = 0;
  // the producer's
  std::uint64_t pushed = 0;
  std::uint64_t queue_full_waits = 0;
  runtime::time_point stream_started{};
  // the consumer's
  std::uint64_t received = 0;
  std::uint64_t out_of_order = 0;
  runtime::duration stream_time{};
};

/// What every applet of this sample does besides its role: each callback
/// checks its placement, postselects and destroy calls are counted, and
/// destroy says so. `role` gives the role's own work (any callback may be
/// empty); the result is what spawn_applet takes.
actors::applet_callbacks observed(applet_report& report, actors::applet_callbacks role) {
  return {
    .name = report.name,
    .init =
      [&report, init = std::move(role.init)](actors::applet_context& context) {
        report.placement.check(context);
        if (init)
          init(context);
      },
    .preselect =
      [&report, preselect = std::move(role.preselect)](actors::applet_context& context) {
        report.placement.check(context);
        preselect(context);
      },
    .postselect =
      [&report, postselect = std::move(role.postselect)](
        actors::applet_context& context, const actors::waitable& fired) -> actors::waitable {
        report.placement.check(context);
        ++report.postselects;
        return postselect(context, fired);
      },
    .destroy =
      [&report](actors::applet_context& context) {
        report.placement.check(context);
        ++report.destroy_calls;
        say(report.name, ": destroy");
      },
    .dump = {},
  };
}

actors::applet_callbacks make_ping(flagship& shared) {
  return observed(
    shared.ping_report,
    {
      .init =
        [&](actors::applet_context&) {
          say("ping: serving the first ball (", shared.config.rounds, " round trips to go)");
          shared.ping_started = runtime::clock::now();
          shared.ping_to_pong.set(); // kept set until pong registers and takes it
        },
      .preselect = [&](actors::applet_context& context) { context.wait_on(shared.pong_to_ping); },
      .postselect = [&](actors::applet_context& context,
                        const actors::waitable&) -> actors::waitable {
        ++shared.round_trips;
        if (shared.round_trips % std::max<std::uint64_t>(shared.config.rounds / 5, 1) == 0)
          say("ping: ", shared.round_trips, " round trips");
        if (shared.round_trips == shared.config.rounds) {
          shared.ping_pong_time = runtime::clock::now() - shared.ping_started;
          context.kill();
        } else {
          shared.ping_to_pong.set();
        }
        return {};
      },
    });
}

actors::applet_callbacks make_pong(flagship& shared) {
  return observed(
    shared.pong_report,
    {
      .preselect = [&](actors::applet_context& context) { context.wait_on(shared.ping_to_pong); },
      .postselect = [&](actors::applet_context& context,
                        const actors::waitable&) -> actors::waitable {
        ++shared.replies;
        shared.pong_to_ping.set();
        if (shared.replies == shared.config.rounds)
          context.kill(); // that was the last ball
        return {};
      },
    });
}

actors::applet_callbacks make_producer(flagship& shared) {
  return observed(
    shared.producer_report,
    {
      .init =
        [&](actors::applet_context&) {
          say("producer: streaming ", shared.config.messages, " messages through a queue of ",
              shared.config.queue_capacity);
          shared.stream_started = runtime::clock::now();
          shared.room.set(); // the queue starts empty
        },
      .preselect = [&](actors::applet_context& context) { context.wait_on(shared.room); },
      .postselect = [&](actors::applet_context& context,
                        const actors::waitable&) -> actors::waitable {
        // Fill the queue, but never block a scheduler thread on a full one:
        // wait for "room" instead, which the consumer sets after each drain.
        while (shared.pushed < shared.config.messages) {
          auto refused = shared.queue.try_push(shared.pushed + 1);
          if (refused == runtime::errc::queue_full) {
            ++shared.queue_full_waits;
            return {};
          }
          if (refused)
            throw runtime::error(refused, "producer: push refused");
          ++shared.pushed;
        }
        say("producer: all ", shared.pushed, " messages queued");
        context.kill();
        return {};
      },
    });
}

actors::applet_callbacks make_consumer(flagship& shared) {
  return observed(
    shared.consumer_report,
    {
      .preselect = [&](actors::applet_context& context) { context.wait_on(shared.queue); },
      .postselect = [&](actors::applet_context& context,
                        const actors::waitable&) -> actors::waitable {
        while (auto value = shared.queue.try_pop()) {
          if (*value != shared.received + 1)
            ++shared.out_of_order;
          shared.received = *value;
        }
        shared.room.set();
        if (shared.received == shared.config.messages) {
          shared.stream_time = runtime::clock::now() - shared.stream_started;
          say("consumer: all ", shared.received, " messages received");
          context.kill();
        }
        return {};
      },
    });
}

/// Uses the scheduler the command line defined, or creates it pinned to `cpu`.
runtime::scheduler ensure_scheduler(runtime::engine& engine, std::string_view name, unsigned cpu) {
  if (auto configured = engine.find_scheduler(name)) {
    say("main: scheduler '", name, "' from the command line: ", configured->options().to_string());
    return *configured;
  }
  runtime::scheduler_options options;
  options.name = name;
  options.threads = 1;
  options.cpus = {cpu};
  auto created = engine.create_scheduler(options);
  say("main: created scheduler '", name, "' from code: ", created.options().to_string());
  return created;
}

void print_statistics(runtime::engine& engine) {
  say("scheduler statistics:");
  say("  ", std::left, std::setw(8), "name", std::right, std::setw(8), "threads", std::setw(8),
      "cpus", std::setw(12), "events", std::setw(12), "turns", std::setw(7), "queue",
      std::setw(7), "timers", std::setw(11), "busy ms", std::setw(11), "uptime ms",
      std::setw(8), "applets");
  for (auto& scheduler : engine.schedulers()) {
    auto stats = scheduler.stats();
    auto& cpus = scheduler.options().cpus;
    say("  ", std::left, std::setw(8), stats.name, std::right, std::setw(8), stats.threads,
        std::setw(8), cpus.empty() ? std::string{"any"} : cpus.to_string(), std::setw(12),
        stats.events_dispatched, std::setw(12), stats.turns, std::setw(7), stats.queue_depth,
        std::setw(7), stats.timers_pending, std::setw(11), std::fixed, std::setprecision(1),
        to_milliseconds(stats.busy_time), std::setw(11), to_milliseconds(stats.uptime),
        std::setw(8), stats.applets);
  }
}

void print_usage() {
  say("sample options:\n"
      "  --rounds N           ping-pong round trips across the schedulers (default 10000)\n"
      "  --messages N         messages streamed through the wait queue (default 1000000)\n"
      "  --queue-capacity N   capacity of that queue (default 256)\n",
      "actorloop options:\n", runtime::engine::options_help(),
      "The sample uses the schedulers \"ping\" and \"pong\"; without --actorloop.schedulers\n"
      "it creates them with one thread each, pinned to the first and the last usable CPU.");
}

int run(int argc, char** argv) {
  settings chosen;
  chosen.rounds =
    static_cast<std::uint64_t>(take_number_option(argc, argv, "--rounds").value_or(10'000));
  chosen.messages =
    static_cast<std::uint64_t>(take_number_option(argc, argv, "--messages").value_or(1'000'000));
  chosen.queue_capacity =
    static_cast<std::size_t>(take_number_option(argc, argv, "--queue-capacity").value_or(256));

  // The applets' shared state outlives the engine, which may still run destroy
  // callbacks on its way out; it is built once the schedulers exist.
  std::optional<flagship> state;
  runtime::engine engine(argc, argv);
  if (engine.help_printed()) {
    print_usage();
    return 0;
  }
  auto usable = runtime::cpu_set::allowed();
  say("main: usable CPUs ", usable.to_string());
  auto ping = ensure_scheduler(engine, ping_scheduler, usable.cpus().front());
  auto pong = ensure_scheduler(engine, pong_scheduler, usable.cpus().back());
  auto& shared = state.emplace(chosen, ping, pong);

  const std::array<std::string_view, 4> names{"pong", "consumer", "ping", "producer"};
  std::array handles{
    actors::spawn_applet(engine, pong_scheduler, make_pong(shared)),
    actors::spawn_applet(engine, pong_scheduler, make_consumer(shared)),
    actors::spawn_applet(engine, ping_scheduler, make_ping(shared)),
    actors::spawn_applet(engine, ping_scheduler, make_producer(shared)),
  };
  say("main: spawned ", handles.size(), " applets; the registry now:");
  say(actors::describe(engine));

  // One wait set for all four handles; a handle stays ready for good, so each
  // one leaves the set once it has fired.
  runtime::wait_set waits;
  for (std::size_t index = 0; index < handles.size(); ++index)
    waits.add(handles[index], index);
  auto deadline = runtime::clock::now() + 30s +
                  std::chrono::milliseconds(chosen.rounds + chosen.messages / 100);
  std::size_t finished = 0;
  while (finished < handles.size()) {
    auto result = waits.wait_until(deadline);
    if (result.status == runtime::wait_status::timed_out) {
      say("FAIL: the applets did not finish in time");
      return 1; // destroying the engine destroys the applets
    }
    if (result.status != runtime::wait_status::fired)
      continue;
    auto& handle = handles[result.cookie];
    say("main: applet '", names[result.cookie], "' on '", handle.scheduler_name(),
        "' finished: ", handle.exit_reason().message());
    waits.remove(handle);
    ++finished;
  }

  auto round_trip = shared.ping_pong_time / std::max<std::uint64_t>(shared.round_trips, 1);
  say("ping-pong: ", shared.round_trips, " round trips in ", std::fixed, std::setprecision(1),
      to_milliseconds(shared.ping_pong_time), " ms, ",
      std::chrono::duration<double, std::micro>(round_trip).count(), " us per round trip");
  auto stream_seconds = std::max(std::chrono::duration<double>(shared.stream_time).count(), 1e-9);
  say("stream: ", shared.received, " messages in ", std::fixed, std::setprecision(1),
      to_milliseconds(shared.stream_time), " ms, ", std::setprecision(0),
      static_cast<double>(shared.received) / stream_seconds,
      " messages/s; the queue was full ", shared.queue_full_waits, " times");
  for (auto* report : {&shared.ping_report, &shared.pong_report, &shared.producer_report,
                       &shared.consumer_report})
    say("placement of ", report->name, ": ", report->placement.summary());
  print_statistics(engine);
  say("registry at exit:");
  say(actors::describe(engine));

  sample::checklist checks;
  auto saw = [](std::uint64_t expected, std::uint64_t actual) {
    return "expected " + std::to_string(expected) + ", saw " + std::to_string(actual);
  };
  checks.expect(shared.round_trips == chosen.rounds,
         "round trips: " + saw(chosen.rounds, shared.round_trips));
  checks.expect(shared.replies == chosen.rounds, "pong replies: " + saw(chosen.rounds, shared.replies));
  checks.expect(shared.pushed == chosen.messages,
         "messages pushed: " + saw(chosen.messages, shared.pushed));
  checks.expect(shared.received == chosen.messages,
         "messages received: " + saw(chosen.messages, shared.received));
  checks.expect(shared.out_of_order == 0, std::to_string(shared.out_of_order) + " messages out of order");
  for (auto* report : {&shared.ping_report, &shared.pong_report, &shared.producer_report,
                       &shared.consumer_report}) {
    checks.expect(report->placement.violations() == 0,
           report->name + " placement: " + report->placement.summary());
    checks.expect(report->destroy_calls == 1,
           report->name + " destroy calls: " + saw(1, report->destroy_calls));
  }
  for (auto& handle : handles)
    checks.expect(handle.exit_reason().is_normal(), "abnormal exit: " + handle.exit_reason().message());
  // The schedulers count exactly the postselects of their own applets.
  auto ping_stats = ping.stats();
  auto pong_stats = pong.stats();
  auto ping_expected = shared.ping_report.postselects + shared.producer_report.postselects;
  auto pong_expected = shared.pong_report.postselects + shared.consumer_report.postselects;
  checks.expect(ping_stats.events_dispatched == ping_expected,
         "events dispatched on 'ping': " + saw(ping_expected, ping_stats.events_dispatched));
  checks.expect(pong_stats.events_dispatched == pong_expected,
         "events dispatched on 'pong': " + saw(pong_expected, pong_stats.events_dispatched));
  checks.expect(ping_stats.applets == 0 && pong_stats.applets == 0, "applets left on the schedulers");
  checks.expect(actors::list_applets(engine).empty(), "applets left in the registry");
  return checks.verdict();
}

} // namespace

int main(int argc, char** argv) {
  return sample::guarded_main([&] { return run(argc, argv); }, print_usage);
}
