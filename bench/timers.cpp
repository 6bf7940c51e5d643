// 100,000 active one-shot timers.
//
//  timers_100k_p50_lateness   deadlines spread evenly over a second (half a
//                             second with --quick): median of (firing time -
//                             deadline)
//  timers_100k_p99_lateness   99th percentile of it
//  timers_100k_rate           all 100,000 deadlines within a 10 ms window:
//                             timers / (last firing - first deadline), i.e.
//                             how fast the runtime gets through a burst of
//                             due timers
//
// Ours: 100 applets on the default scheduler (default engine, one worker per
// CPU) each register 1000 timers in init and, in postselect, record the
// lateness of the fired timer and remove it. Peer (alternative): 100,000 CAF
// delayed_anon_sends to 100 CAF event-based actors on a CAF scheduler with as
// many workers as our default scheduler, each message carrying its own
// deadline in ns; the actors record the lateness on receipt the same way.
// Both sides run with the same timer slack (1 ns: our workers set it, and
// the main thread sets it before either system starts so the CAF threads
// inherit it). Both sides report the CPU seconds the process used from the
// first deadline to the last firing (cpu_meter), so a side that spins for
// its timers shows what it pays.

#include "bench_support.hpp"

#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/timer.hpp>

#include <caf/all.hpp>

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;
using bench::bench_clock;

namespace {

constexpr std::int64_t total_timers = 100'000;
constexpr std::int64_t receivers = 100;
/// Time between the start of a run and its first deadline, so that all the
/// timers are registered (or all the delayed messages sent) before any is due.
/// The first try's lead time; a run whose setup overran it (a busy machine)
/// is repeated with twice the lead, up to `lead_tries` times. Setting up
/// takes 70-90 ms on a quiet machine; --quick starts from the shorter lead.
constexpr bench_clock::duration first_lead_time = 400ms;
constexpr bench_clock::duration first_lead_time_quick = 200ms;
constexpr int lead_tries = 4;
constexpr auto wait_limit = 60s;

std::int64_t to_nanoseconds(bench_clock::time_point when) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
}

/// The deadlines of one run: timer i is due at base + (i + 1) * span / N, and
/// belongs to receiver i % receivers.
struct schedule {
  bench_clock::time_point base;
  bench_clock::duration lead_time;
  std::vector<bench_clock::time_point> deadlines;

  schedule(bench_clock::duration span, bench_clock::duration lead) : lead_time(lead) {
    base = bench_clock::now() + lead_time;
    deadlines.reserve(total_timers);
    for (std::int64_t index = 0; index < total_timers; ++index)
      deadlines.push_back(base + span * (index + 1) / total_timers);
  }
};

/// What one side measured in one run.
struct outcome {
  double rate = 0;         // timers per second
  double p50 = 0;          // microseconds
  double p99 = 0;          // microseconds
  double maximum = 0;      // microseconds
  std::int64_t early = 0;  // firings before their deadline
  double setup_ms = 0;     // time to register all timers / send all messages
  double cpu_s = 0;        // CPU seconds from the first deadline to the last firing
  double lead_ms = 0;      // time between the start of the run and the first deadline
};

/// Shared by the receivers of one run; each receiver owns one slot of
/// `lateness` and only the last firing writes `last_fire`.
struct run_state {
  std::atomic<std::int64_t> fired{0};
  std::atomic<std::int64_t> ready_receivers{0};
  bench_clock::time_point last_fire;
  std::vector<std::vector<std::int64_t>> lateness =
    std::vector<std::vector<std::int64_t>>(static_cast<std::size_t>(receivers));

  /// Records one firing; returns true for the very last one.
  bool count_fire(bench_clock::time_point now) {
    if (fired.fetch_add(1, std::memory_order_acq_rel) + 1 == total_timers) {
      last_fire = now;
      return true;
    }
    return false;
  }
};

outcome summarise(const schedule& plan, run_state& state, bench_clock::time_point ready) {
  std::vector<double> lateness_us;
  lateness_us.reserve(total_timers);
  outcome result;
  for (auto& slot : state.lateness)
    for (auto nanoseconds : slot) {
      if (nanoseconds < 0)
        ++result.early;
      lateness_us.push_back(static_cast<double>(nanoseconds) / 1000.0);
    }
  if (static_cast<std::int64_t>(lateness_us.size()) != total_timers)
    bench::fail("timers: %zu lateness samples for %lld timers", lateness_us.size(),
                static_cast<long long>(total_timers));
  result.p50 = bench::percentile(lateness_us, 0.50);
  result.p99 = bench::percentile(lateness_us, 0.99);
  result.maximum = bench::percentile(lateness_us, 1.0);
  result.rate = static_cast<double>(total_timers) / bench::seconds_between(plan.base, state.last_fire);
  result.setup_ms = std::chrono::duration<double, std::milli>(ready - (plan.base - plan.lead_time)).count();
  result.lead_ms = std::chrono::duration<double, std::milli>(plan.lead_time).count();
  return result;
}

// -- ours -------------------------------------------------------------------------

class timer_applet final : public actors::applet {
public:
  timer_applet(std::int64_t slot, const schedule& plan, run_state& state,
               runtime::event& all_ready, runtime::event& all_fired)
    : slot_(slot), plan_(plan), state_(state), all_ready_(all_ready), all_fired_(all_fired) {}

  void init(actors::applet_context& context) override {
    auto& lateness = state_.lateness[static_cast<std::size_t>(slot_)];
    lateness.reserve(static_cast<std::size_t>(total_timers / receivers));
    for (auto index = slot_; index < total_timers; index += receivers) {
      runtime::timer each;
      each.set_at(plan_.deadlines[static_cast<std::size_t>(index)]);
      context.add_wait(each);
      deadlines_.emplace(each.id(), plan_.deadlines[static_cast<std::size_t>(index)]);
      timers_.push_back(std::move(each));
    }
    if (state_.ready_receivers.fetch_add(1, std::memory_order_acq_rel) + 1 == receivers)
      all_ready_.set();
  }
  void preselect(actors::applet_context&) override {
    // The registrations made in init persist; each fired timer is removed.
  }
  runtime::waitable postselect(actors::applet_context& context,
                               const runtime::waitable& fired) override {
    auto now = runtime::clock::now();
    auto found = deadlines_.find(fired.id());
    if (found == deadlines_.end())
      bench::fail("timers: an applet got an event it does not know (id %llu)",
                  static_cast<unsigned long long>(fired.id()));
    state_.lateness[static_cast<std::size_t>(slot_)].push_back(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - found->second).count());
    if (!context.remove_wait(fired))
      bench::fail("timers: remove_wait of a fired timer failed");
    if (state_.count_fire(now))
      all_fired_.set();
    // The applet stays until every timer of the run has fired: destroying it
    // (and its 1000 timers) here would delay the other applets' last timers.
    return {};
  }

private:
  std::int64_t slot_;
  const schedule& plan_;
  run_state& state_;
  runtime::event& all_ready_;
  runtime::event& all_fired_;
  std::vector<runtime::timer> timers_;
  std::unordered_map<std::uint64_t, bench_clock::time_point> deadlines_;
};

outcome run_applets(runtime::engine& engine, bench_clock::duration span,
                    bench_clock::duration lead, bench::cpu_meter meter) {
  run_state state;
  runtime::event all_ready{runtime::reset_mode::manual, "all ready"};
  runtime::event all_fired{runtime::reset_mode::manual, "all fired"};
  schedule plan{span, lead};
  std::vector<actors::applet_handle> handles;
  for (std::int64_t slot = 0; slot < receivers; ++slot)
    handles.push_back(actors::spawn_applet(
      engine, "default",
      std::make_unique<timer_applet>(slot, plan, state, all_ready, all_fired), "timers"));
  if (!all_ready.wait_for(wait_limit))
    bench::fail("timers: the applets did not register their timers in time");
  auto ready = bench_clock::now();
  std::this_thread::sleep_until(plan.base); // measure CPU from the first deadline on
  meter.start();
  if (!all_fired.wait_for(wait_limit))
    bench::fail("timers: only %lld of %lld timers fired in time",
                static_cast<long long>(state.fired.load()), static_cast<long long>(total_timers));
  auto cpu_s = meter.stop();
  for (auto& handle : handles)
    handle.kill();
  for (auto& handle : handles)
    if (!handle.wait_for(10s))
      bench::fail("timers: an applet was not destroyed within 10 s of kill");
  auto result = summarise(plan, state, ready);
  result.cpu_s = cpu_s;
  if (result.early > 0)
    bench::fail("timers: %lld timers fired before their deadline", static_cast<long long>(result.early));
  return result;
}

// -- peer -------------------------------------------------------------------------

caf::behavior caf_timer_receiver(caf::event_based_actor*, run_state* state, std::int64_t slot,
                                 std::promise<void>* all_fired) {
  auto& lateness = state->lateness[static_cast<std::size_t>(slot)];
  lateness.reserve(static_cast<std::size_t>(total_timers / receivers));
  return {
    [state, slot, all_fired](std::int64_t deadline_ns) {
      auto now = bench_clock::now();
      auto& mine = state->lateness[static_cast<std::size_t>(slot)];
      mine.push_back(to_nanoseconds(now) - deadline_ns);
      if (state->count_fire(now))
        all_fired->set_value();
    },
  };
}

outcome run_caf(caf::actor_system& system, bench_clock::duration span, bench_clock::duration lead,
                bench::cpu_meter meter) {
  run_state state;
  std::promise<void> all_fired;
  auto finished = all_fired.get_future();
  std::vector<caf::actor> actors;
  for (std::int64_t slot = 0; slot < receivers; ++slot)
    actors.push_back(system.spawn(caf_timer_receiver, &state, slot, &all_fired));
  schedule plan{span, lead};
  for (std::int64_t index = 0; index < total_timers; ++index) {
    auto deadline = plan.deadlines[static_cast<std::size_t>(index)];
    caf::delayed_anon_send(actors[static_cast<std::size_t>(index % receivers)],
                           deadline - bench_clock::now(), to_nanoseconds(deadline));
  }
  auto ready = bench_clock::now();
  std::this_thread::sleep_until(plan.base); // measure CPU from the first deadline on
  meter.start();
  if (finished.wait_for(wait_limit) != std::future_status::ready)
    bench::fail("timers (CAF): only %lld of %lld delayed messages arrived in time",
                static_cast<long long>(state.fired.load()), static_cast<long long>(total_timers));
  auto cpu_s = meter.stop();
  for (auto& each : actors)
    caf::anon_send_exit(each, caf::exit_reason::user_shutdown);
  caf::scoped_actor waiter{system};
  for (auto& each : actors)
    waiter->wait_for(each);
  auto result = summarise(plan, state, ready);
  result.cpu_s = cpu_s;
  return result;
}

} // namespace

int main(int argc, char** argv) {
  auto settings = bench::parse_arguments(argc, argv);
  try {
    const bench_clock::duration span = settings.smoke ? 200ms : settings.quick ? 300ms : 1000ms;
    const bench_clock::duration first_lead =
      settings.quick ? first_lead_time_quick : first_lead_time;
    const bench_clock::duration burst = 10ms;
    const auto span_ms = std::chrono::duration_cast<std::chrono::milliseconds>(span).count();
    bench::thread_watch watch_ours;
    runtime::engine engine;
    auto our_threads = watch_ours.take();
    const auto workers = engine.get_scheduler("default").native_thread_ids().size();
    bench::caf_peer_system peer{workers};
    bench::comment("timers_100k: 100000 one-shot timers waited on by 100 applets x 1000 timers on "
                   "the default scheduler (%zu workers), vs 100000 CAF delayed_anon_sends to 100 "
                   "CAF actors (scheduler.max-threads=%zu); timer slack %lu ns on both sides; "
                   "lateness = firing - deadline with deadlines spread over %lld ms; rate = "
                   "timers / (last firing - first deadline) with all deadlines within %lld ms; "
                   "cpu_s = process CPU seconds from the first deadline to the last firing",
                   workers, workers, bench::timer_slack_ns, static_cast<long long>(span_ms),
                   static_cast<long long>(burst / 1ms));
    std::vector<outcome> ours;
    std::vector<outcome> theirs;
    std::vector<outcome> ours_burst;
    std::vector<outcome> theirs_burst;
    bench::cpu_meter our_meter{peer.threads()};
    bench::cpu_meter peer_meter{our_threads};
    // A run whose setup overran its lead time missed early deadlines by
    // construction: it is repeated with a longer lead (never kept).
    int retries = 0;
    auto timed = [&](auto&& run) {
      auto lead = first_lead;
      for (int attempt = 1;; ++attempt) {
        outcome result = run(lead);
        if (result.setup_ms <= result.lead_ms)
          return result;
        if (attempt == lead_tries)
          bench::fail("timers: setting up took %.0f ms, longer than the %.0f ms lead time, %d "
                      "times in a row", result.setup_ms, result.lead_ms, lead_tries);
        ++retries;
        lead *= 2;
      }
    };
    // One repetition of one spread of deadlines (the 1 s span or the 10 ms
    // burst), both sides in turn.
    auto both = [&](int repetition, const auto& spread, std::vector<outcome>& mine,
                    std::vector<outcome>& peers) {
      bench::in_turn(repetition, {[&] {
                                    mine.push_back(timed([&](auto lead) {
                                      return run_applets(engine, spread, lead, our_meter);
                                    }));
                                  },
                                  [&] {
                                    peers.push_back(timed([&](auto lead) {
                                      return run_caf(peer.get(), spread, lead, peer_meter);
                                    }));
                                  }});
    };
    for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
      both(repetition, span, ours, theirs);
      both(repetition, burst, ours_burst, theirs_burst);
    }
    if (retries > 0)
      bench::comment("timers_100k: %d run(s) repeated with a longer lead time because setting up "
                     "took longer than the lead (a busy machine)", retries);
    auto median_of = [](const std::vector<outcome>& runs, double outcome::*field) {
      std::vector<double> values;
      for (auto& run : runs)
        values.push_back(run.*field);
      return bench::median(values);
    };
    auto side_of = [](const std::vector<outcome>& runs, double outcome::*field) {
      bench::side result;
      for (auto& run : runs)
        result.add(run.*field, run.cpu_s);
      return result;
    };
    std::int64_t caf_early = 0;
    for (auto& run : theirs)
      caf_early += run.early;
    for (auto& run : theirs_burst)
      caf_early += run.early;
    bench::comment("timers_100k: setup (register / send 100000) median: ours=%.0f ms, CAF=%.0f ms; "
                   "max lateness median: ours=%.0f us, CAF=%.0f us; CAF messages before their "
                   "deadline: %lld; burst p99 lateness: ours=%.0f us, CAF=%.0f us",
                   median_of(ours, &outcome::setup_ms), median_of(theirs, &outcome::setup_ms),
                   median_of(ours, &outcome::maximum), median_of(theirs, &outcome::maximum),
                   static_cast<long long>(caf_early), median_of(ours_burst, &outcome::p99),
                   median_of(theirs_burst, &outcome::p99));
    std::string peer_name = "caf delayed_anon_send to 100 actors, max-threads=" +
                            std::to_string(workers);
    const auto kind = bench::peer_kind::alternative;
    bench::report("timers_100k_rate", "timers/s", bench::better::higher,
                  side_of(ours_burst, &outcome::rate), peer_name, kind,
                  side_of(theirs_burst, &outcome::rate));
    bench::report("timers_100k_p50_lateness", "us", bench::better::lower,
                  side_of(ours, &outcome::p50), peer_name, kind, side_of(theirs, &outcome::p50));
    bench::report("timers_100k_p99_lateness", "us", bench::better::lower,
                  side_of(ours, &outcome::p99), peer_name, kind, side_of(theirs, &outcome::p99));
  } catch (const std::exception& failure) {
    bench::fail("timers: %s", failure.what());
  }
  return 0;
}
