// 100,000 active one-shot timers with deadlines spread evenly over a second.
//
//  timers_100k_rate           timers fired per second of the spread
//  timers_100k_p50_lateness   median of (firing time - deadline)
//  timers_100k_p99_lateness   99th percentile of it
//
// Ours: 100 applets on the default scheduler (default engine) each register
// 1000 timers in init and, in postselect, record the lateness of the fired
// timer and remove it. Peer: 100,000 CAF delayed_anon_sends to 100 CAF
// event-based actors (default CAF config), each message carrying its own
// deadline in ns; the actors record the lateness on receipt the same way.

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
constexpr auto lead_time = 400ms;
constexpr auto wait_limit = 60s;

std::int64_t to_nanoseconds(bench_clock::time_point when) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
}

/// The deadlines of one run: timer i is due at base + (i + 1) * span / N, and
/// belongs to receiver i % receivers.
struct schedule {
  bench_clock::time_point base;
  std::vector<bench_clock::time_point> deadlines;

  schedule(bench_clock::duration span) {
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
  result.setup_ms = std::chrono::duration<double, std::milli>(ready - (plan.base - lead_time)).count();
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

outcome run_applets(runtime::engine& engine, bench_clock::duration span) {
  run_state state;
  runtime::event all_ready{runtime::reset_mode::manual, "all ready"};
  runtime::event all_fired{runtime::reset_mode::manual, "all fired"};
  schedule plan{span};
  std::vector<actors::applet_handle> handles;
  for (std::int64_t slot = 0; slot < receivers; ++slot)
    handles.push_back(actors::spawn_applet(
      engine, "default",
      std::make_unique<timer_applet>(slot, plan, state, all_ready, all_fired), "timers"));
  if (!all_ready.wait_for(wait_limit))
    bench::fail("timers: the applets did not register their timers in time");
  auto ready = bench_clock::now();
  if (!all_fired.wait_for(wait_limit))
    bench::fail("timers: only %lld of %lld timers fired in time",
                static_cast<long long>(state.fired.load()), static_cast<long long>(total_timers));
  for (auto& handle : handles)
    handle.kill();
  for (auto& handle : handles)
    if (!handle.wait_for(10s))
      bench::fail("timers: an applet was not destroyed within 10 s of kill");
  auto result = summarise(plan, state, ready);
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

outcome run_caf(caf::actor_system& system, bench_clock::duration span) {
  run_state state;
  std::promise<void> all_fired;
  auto finished = all_fired.get_future();
  std::vector<caf::actor> actors;
  for (std::int64_t slot = 0; slot < receivers; ++slot)
    actors.push_back(system.spawn(caf_timer_receiver, &state, slot, &all_fired));
  schedule plan{span};
  for (std::int64_t index = 0; index < total_timers; ++index) {
    auto deadline = plan.deadlines[static_cast<std::size_t>(index)];
    caf::delayed_anon_send(actors[static_cast<std::size_t>(index % receivers)],
                           deadline - bench_clock::now(), to_nanoseconds(deadline));
  }
  auto ready = bench_clock::now();
  if (finished.wait_for(wait_limit) != std::future_status::ready)
    bench::fail("timers (CAF): only %lld of %lld delayed messages arrived in time",
                static_cast<long long>(state.fired.load()), static_cast<long long>(total_timers));
  for (auto& each : actors)
    caf::anon_send_exit(each, caf::exit_reason::user_shutdown);
  caf::scoped_actor waiter{system};
  for (auto& each : actors)
    waiter->wait_for(each);
  return summarise(plan, state, ready);
}

} // namespace

int main(int argc, char** argv) {
  auto settings = bench::parse_arguments(argc, argv);
  try {
    const bench_clock::duration span = settings.quick ? 500ms : 1000ms;
    const auto span_ms = std::chrono::duration_cast<std::chrono::milliseconds>(span).count();
    bench::comment("timers_100k: 100000 one-shot timers, deadlines spread evenly over %lld ms, "
                   "waited on by 100 applets x 1000 timers on the default scheduler, vs 100000 "
                   "CAF delayed_anon_sends to 100 CAF actors (default config); rate = timers / "
                   "(last firing - start of the spread), lateness = firing - deadline",
                   static_cast<long long>(span_ms));
    runtime::engine engine;
    bench::caf_peer_system peer;
    std::vector<outcome> ours;
    std::vector<outcome> theirs;
    for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
      ours.push_back(run_applets(engine, span));
      theirs.push_back(run_caf(peer.get(), span));
      for (auto* side : {&ours.back(), &theirs.back()})
        if (side->setup_ms > std::chrono::duration<double, std::milli>(lead_time).count())
          bench::fail("timers: setting up took %.0f ms, longer than the %lld ms lead time, so "
                      "early deadlines were missed by construction",
                      side->setup_ms, static_cast<long long>(lead_time.count()));
    }
    auto median_of = [](const std::vector<outcome>& runs, double outcome::*field) {
      std::vector<double> values;
      for (auto& run : runs)
        values.push_back(run.*field);
      return bench::median(values);
    };
    std::int64_t caf_early = 0;
    for (auto& run : theirs)
      caf_early += run.early;
    bench::comment("timers_100k: setup (register / send 100000) median: ours=%.0f ms, CAF=%.0f ms; "
                   "max lateness median: ours=%.0f us, CAF=%.0f us; CAF messages before their "
                   "deadline: %lld",
                   median_of(ours, &outcome::setup_ms), median_of(theirs, &outcome::setup_ms),
                   median_of(ours, &outcome::maximum), median_of(theirs, &outcome::maximum),
                   static_cast<long long>(caf_early));
    const char* peer_name = "caf delayed_anon_send to 100 actors, default config";
    bench::report("timers_100k_rate", median_of(ours, &outcome::rate), "timers/s", peer_name,
                  median_of(theirs, &outcome::rate), bench::better::higher);
    bench::report("timers_100k_p50_lateness", median_of(ours, &outcome::p50), "us", peer_name,
                  median_of(theirs, &outcome::p50), bench::better::lower);
    bench::report("timers_100k_p99_lateness", median_of(ours, &outcome::p99), "us", peer_name,
                  median_of(theirs, &outcome::p99), bench::better::lower);
  } catch (const std::exception& failure) {
    bench::fail("timers: %s", failure.what());
  }
  return 0;
}
