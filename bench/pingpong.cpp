// Ping-pong latency: one round trip = A wakes B, B wakes A.
//
//  pingpong_same_scheduler        two applets on one one-thread scheduler,
//                                 waking each other through auto-reset events,
//                                 vs two CAF event-based actors on a one-thread
//                                 CAF scheduler exchanging (atom, int64).
//  pingpong_cross_scheduler       the applets on two one-thread schedulers
//                                 pinned to different CPUs, vs two pinned
//                                 std::threads handing off through a mutex and
//                                 condition variables (alternative), and vs
//                                 two pinned threads handing off through a
//                                 raw futex word (limit).
//  pingpong_cross_scheduler_spin  the same with `scheduler_options::spin` =
//                                 50 us on both schedulers, vs two pinned
//                                 threads that spin for 50 us on the futex word
//                                 and then park on it (alternative: the same
//                                 policy written by hand), and vs two pinned
//                                 threads spinning on an atomic without end
//                                 (limit: the physical floor).
//
// Profiling aid: ACTORLOOP_BENCH_ONLY=<name>[,<name>...] (the three names
// above) runs only those comparisons.
//
// All sides run with timer slack 1 ns. cpu_s is the process CPU time (sum of
// the per-thread CPU clocks; no thread ends within a span) over the timed
// round trips, so a side that spins shows what it pays.

#include "bench_support.hpp"

#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>

#include <caf/all.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <memory>
#include <linux/futex.h>
#include <mutex>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;
using bench::bench_clock;

namespace {

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;

constexpr std::int64_t warmup_round_trips = 200;
constexpr auto wait_limit = 120s;

// -- ours: two applets and two auto-reset events -------------------------------

/// Shared by the two applets of one run. `ping_count` is written only by the
/// ping applet and `pong_count` only by the pong applet; the main thread reads
/// them after `done` (whose lock orders the accesses).
struct rally {
  std::int64_t target = 0;
  std::int64_t ping_count = 0;
  std::int64_t pong_count = 0;
  bench_clock::time_point start;
  bench_clock::time_point end;
  std::chrono::nanoseconds cpu_at_start{0};
  std::chrono::nanoseconds cpu_at_end{0};
  runtime::event done{runtime::reset_mode::manual, "done"};
};

/// Waits on its own event; every dispatch sets the other side's event.
class ball_applet final : public actors::applet {
public:
  ball_applet(runtime::event mine, runtime::event other, rally& shared, bool is_ping)
    : mine_(std::move(mine)), other_(std::move(other)), shared_(shared), is_ping_(is_ping) {}

  void init(actors::applet_context& context) override { context.add_wait(mine_); }
  void preselect(actors::applet_context&) override {
    // The registration made in init persists between turns.
  }
  runtime::waitable postselect(actors::applet_context&, const runtime::waitable&) override {
    if (!is_ping_) {
      ++shared_.pong_count;
      other_.set();
      return {};
    }
    auto count = ++shared_.ping_count;
    if (count == warmup_round_trips) {
      shared_.cpu_at_start = bench::process_cpu_time_exact();
      shared_.start = bench_clock::now();
    }
    if (count == shared_.target) {
      shared_.end = bench_clock::now();
      shared_.cpu_at_end = bench::process_cpu_time_exact();
      shared_.done.set();
      return {};
    }
    other_.set();
    return {};
  }

private:
  runtime::event mine_;
  runtime::event other_;
  rally& shared_;
  bool is_ping_;
};

/// Process CPU time burnt while idle right after a burst, and the CPU used
/// during the burst (in CPUs: CPU seconds per wall second).
struct cpu_cost {
  double idle_microseconds = 0;
  double burst_cpus = 0;
};

constexpr auto idle_stretch = 100ms;

/// One timed run of `round_trips` (plus warm-up); returns ns per round trip.
/// With `cost`, the applets stay alive (and idle) for `idle_stretch` after the
/// burst while the process CPU time is measured.
double run_applets(runtime::engine& engine, std::string_view ping_scheduler,
                   std::string_view pong_scheduler, std::int64_t round_trips, double& cpu_s,
                   cpu_cost* cost = nullptr) {
  rally shared;
  shared.target = warmup_round_trips + round_trips;
  runtime::event ping_event{runtime::reset_mode::automatic, "ping"};
  runtime::event pong_event{runtime::reset_mode::automatic, "pong"};
  auto ping = actors::spawn_applet(
    engine, ping_scheduler, std::make_unique<ball_applet>(ping_event, pong_event, shared, true),
    "ping");
  auto pong = actors::spawn_applet(
    engine, pong_scheduler, std::make_unique<ball_applet>(pong_event, ping_event, shared, false),
    "pong");
  pong_event.set(); // The serve: pong answers, ping counts the first round trip.
  if (!shared.done.wait_for(wait_limit))
    bench::fail("applet ping-pong did not finish within %lld s (ping=%lld pong=%lld of %lld)",
                static_cast<long long>(wait_limit.count()),
                static_cast<long long>(shared.ping_count),
                static_cast<long long>(shared.pong_count), static_cast<long long>(shared.target));
  cpu_s = std::chrono::duration<double>(shared.cpu_at_end - shared.cpu_at_start).count();
  if (cost != nullptr) {
    std::this_thread::sleep_until(shared.end + idle_stretch);
    auto idle_cpu = bench::process_cpu_time_exact() - shared.cpu_at_end;
    cost->idle_microseconds = std::chrono::duration<double, std::micro>(idle_cpu).count();
    cost->burst_cpus = std::chrono::duration<double>(shared.cpu_at_end - shared.cpu_at_start).count() /
                       bench::seconds_between(shared.start, shared.end);
  }
  ping.kill();
  pong.kill();
  if (!ping.wait_for(10s) || !pong.wait_for(10s))
    bench::fail("ping-pong applets were not destroyed within 10 s of kill");
  if (shared.ping_count != shared.target || shared.pong_count != shared.target)
    bench::fail("applet ping-pong counts do not add up: ping=%lld pong=%lld expected %lld each",
                static_cast<long long>(shared.ping_count),
                static_cast<long long>(shared.pong_count), static_cast<long long>(shared.target));
  return bench::nanoseconds_between(shared.start, shared.end) / static_cast<double>(round_trips);
}

// -- peer: two CAF event-based actors -------------------------------------------

/// Touched only by the actors (one CAF thread), read by main after `done`.
struct caf_rally {
  std::int64_t target = 0;
  std::int64_t ping_count = 0;
  std::int64_t pong_count = 0;
  bench_clock::time_point start;
  bench_clock::time_point end;
  std::chrono::nanoseconds cpu_at_start{0};
  std::chrono::nanoseconds cpu_at_end{0};
  std::promise<void> done;
};

caf::behavior caf_pong(caf::event_based_actor*, caf_rally* shared) {
  return {
    [shared](ping_atom, std::int64_t value) {
      ++shared->pong_count;
      return std::make_tuple(pong_atom::value, value);
    },
  };
}

caf::behavior caf_ping(caf::event_based_actor* self, caf::actor pong, caf_rally* shared) {
  self->send(pong, ping_atom::value, std::int64_t{0});
  return {
    [self, shared](pong_atom, std::int64_t value) -> caf::message {
      auto count = ++shared->ping_count;
      if (count == warmup_round_trips) {
        shared->cpu_at_start = bench::process_cpu_time_exact();
        shared->start = bench_clock::now();
      }
      if (count == shared->target) {
        shared->end = bench_clock::now();
        shared->cpu_at_end = bench::process_cpu_time_exact();
        shared->done.set_value();
        self->quit();
        return caf::message{}; // An empty result sends no reply.
      }
      return caf::make_message(ping_atom::value, value + 1);
    },
  };
}

double run_caf_actors(caf::actor_system& system, std::int64_t round_trips, double& cpu_s) {
  caf_rally shared;
  shared.target = warmup_round_trips + round_trips;
  auto finished = shared.done.get_future();
  auto pong = system.spawn(caf_pong, &shared);
  auto ping = system.spawn(caf_ping, pong, &shared);
  if (finished.wait_for(wait_limit) != std::future_status::ready)
    bench::fail("CAF ping-pong did not finish in time");
  caf::anon_send_exit(pong, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(ping, caf::exit_reason::user_shutdown);
  // Make sure both are gone before the counters go out of scope.
  caf::scoped_actor waiter{system};
  waiter->wait_for(ping, pong);
  if (shared.ping_count != shared.target || shared.pong_count != shared.target)
    bench::fail("CAF ping-pong counts do not add up: ping=%lld pong=%lld expected %lld each",
                static_cast<long long>(shared.ping_count),
                static_cast<long long>(shared.pong_count), static_cast<long long>(shared.target));
  cpu_s = std::chrono::duration<double>(shared.cpu_at_end - shared.cpu_at_start).count();
  return bench::nanoseconds_between(shared.start, shared.end) / static_cast<double>(round_trips);
}

// -- peers: two pinned plain threads --------------------------------------------

/// Hand-off through one mutex and two condition variables.
double run_condition_variable_threads(unsigned ping_cpu, unsigned pong_cpu,
                                      std::int64_t round_trips, double& cpu_s) {
  std::mutex mutex;
  std::condition_variable pong_turn_changed;
  std::condition_variable ping_turn_changed;
  bool pong_turn = false;
  bool stop = false;
  std::int64_t pong_count = 0;
  std::thread pong{[&] {
    bench::pin_this_thread(pong_cpu);
    std::unique_lock lock{mutex};
    for (;;) {
      pong_turn_changed.wait(lock, [&] { return pong_turn || stop; });
      if (stop)
        return;
      ++pong_count;
      pong_turn = false;
      lock.unlock();
      ping_turn_changed.notify_one();
      lock.lock();
    }
  }};
  double result = 0;
  std::thread ping{[&] {
    bench::pin_this_thread(ping_cpu);
    bench_clock::time_point start;
    std::chrono::nanoseconds cpu_at_start{0};
    const auto total = warmup_round_trips + round_trips;
    for (std::int64_t count = 0; count < total; ++count) {
      if (count == warmup_round_trips) {
        cpu_at_start = bench::process_cpu_time_exact();
        start = bench_clock::now();
      }
      {
        std::lock_guard lock{mutex};
        pong_turn = true;
      }
      pong_turn_changed.notify_one();
      std::unique_lock lock{mutex};
      ping_turn_changed.wait(lock, [&] { return !pong_turn; });
    }
    result = bench::nanoseconds_between(start, bench_clock::now()) / static_cast<double>(round_trips);
    cpu_s = std::chrono::duration<double>(bench::process_cpu_time_exact() - cpu_at_start).count();
    {
      std::lock_guard lock{mutex};
      stop = true;
    }
    pong_turn_changed.notify_one();
  }};
  ping.join();
  pong.join();
  if (pong_count != warmup_round_trips + round_trips)
    bench::fail("condition-variable ping-pong counts do not add up: %lld of %lld",
                static_cast<long long>(pong_count),
                static_cast<long long>(warmup_round_trips + round_trips));
  return result;
}

/// Hand-off by spinning on one atomic: odd values are pong's turn.
double run_spinning_threads(unsigned ping_cpu, unsigned pong_cpu, std::int64_t round_trips,
                            double& cpu_s) {
  const auto total = warmup_round_trips + round_trips;
  std::atomic<std::int64_t> ball{0};
  auto relax = [] {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  };
  std::thread pong{[&] {
    bench::pin_this_thread(pong_cpu);
    for (std::int64_t count = 0; count < total; ++count) {
      while (ball.load(std::memory_order_acquire) != 2 * count + 1)
        relax();
      ball.store(2 * count + 2, std::memory_order_release);
    }
  }};
  double result = 0;
  std::thread ping{[&] {
    bench::pin_this_thread(ping_cpu);
    bench_clock::time_point start;
    std::chrono::nanoseconds cpu_at_start{0};
    for (std::int64_t count = 0; count < total; ++count) {
      if (count == warmup_round_trips) {
        cpu_at_start = bench::process_cpu_time_exact();
        start = bench_clock::now();
      }
      ball.store(2 * count + 1, std::memory_order_release);
      while (ball.load(std::memory_order_acquire) != 2 * count + 2)
        relax();
    }
    result = bench::nanoseconds_between(start, bench_clock::now()) / static_cast<double>(round_trips);
    cpu_s = std::chrono::duration<double>(bench::process_cpu_time_exact() - cpu_at_start).count();
  }};
  ping.join();
  pong.join();
  if (ball.load() != 2 * total)
    bench::fail("spinning ping-pong ended with the ball at %lld, expected %lld",
                static_cast<long long>(ball.load()), static_cast<long long>(2 * total));
  return result;
}

/// Hand-off through one futex word between two pinned threads: odd values
/// are pong's turn. A waiter first spins for `spin` (0: not at all) watching
/// the word, then announces that it sleeps and parks in FUTEX_WAIT; the waker
/// stores the next value and calls FUTEX_WAKE only if the other side
/// announced that it sleeps (both with sequentially consistent order, so
/// either the waker sees the announcement or the sleeper sees the new value
/// before it parks: no lost wake-up).
double run_futex_threads(unsigned ping_cpu, unsigned pong_cpu, std::int64_t round_trips,
                         std::chrono::nanoseconds spin, double& cpu_s) {
  const auto total = warmup_round_trips + round_trips;
  // The futex word must be a plain 32-bit int; std::atomic<int> has its layout.
  std::atomic<int> ball{0};
  std::atomic<bool> sleeping[2] = {false, false};
  static_assert(sizeof(std::atomic<int>) == sizeof(int));
  auto word = reinterpret_cast<int*>(&ball);
  auto wait_for_value = [&](int wanted, int me) {
    if (spin.count() > 0) {
      auto until = bench_clock::now() + spin;
      do {
        for (int check = 0; check < 64; ++check) {
          if (ball.load(std::memory_order_acquire) == wanted)
            return;
#if defined(__x86_64__) || defined(__i386__)
          __builtin_ia32_pause();
#endif
        }
      } while (bench_clock::now() < until);
    }
    sleeping[me].store(true, std::memory_order_seq_cst);
    for (;;) {
      int seen = ball.load(std::memory_order_seq_cst);
      if (seen == wanted)
        break;
      syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
    }
    sleeping[me].store(false, std::memory_order_relaxed);
  };
  auto hand_over = [&](int value, int other) {
    ball.store(value, std::memory_order_seq_cst);
    if (sleeping[other].load(std::memory_order_seq_cst))
      syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  };
  std::int64_t pong_count = 0;
  std::thread pong{[&] {
    bench::pin_this_thread(pong_cpu);
    for (std::int64_t count = 0; count < total; ++count) {
      // The ball's value wraps every 2^30 round trips: far more than a run makes.
      wait_for_value(static_cast<int>((2 * count + 1) & 0x7fffffff), 1);
      ++pong_count;
      hand_over(static_cast<int>((2 * count + 2) & 0x7fffffff), 0);
    }
  }};
  double result = 0;
  std::thread ping{[&] {
    bench::pin_this_thread(ping_cpu);
    bench_clock::time_point start;
    std::chrono::nanoseconds cpu_at_start{0};
    for (std::int64_t count = 0; count < total; ++count) {
      if (count == warmup_round_trips) {
        cpu_at_start = bench::process_cpu_time_exact();
        start = bench_clock::now();
      }
      hand_over(static_cast<int>((2 * count + 1) & 0x7fffffff), 1);
      wait_for_value(static_cast<int>((2 * count + 2) & 0x7fffffff), 0);
    }
    result = bench::nanoseconds_between(start, bench_clock::now()) / static_cast<double>(round_trips);
    cpu_s = std::chrono::duration<double>(bench::process_cpu_time_exact() - cpu_at_start).count();
  }};
  ping.join();
  pong.join();
  if (pong_count != total)
    bench::fail("futex ping-pong counts do not add up: %lld of %lld",
                static_cast<long long>(pong_count), static_cast<long long>(total));
  return result;
}

// -- the benchmarks -------------------------------------------------------------------

void same_scheduler(const bench::settings& settings) {
  bench::comment("pingpong_same_scheduler: two applets on one one-thread scheduler waking each "
                 "other through two auto-reset events, vs two CAF event-based actors exchanging "
                 "(atom, int64) on a CAF scheduler with max-threads=1; ns per round trip");
  const std::int64_t round_trips = settings.smoke ? 5'000 : settings.quick ? 50'000 : 200'000;
  runtime::engine_options options;
  runtime::scheduler_options loop;
  loop.name = "pingpong";
  loop.threads = 1;
  options.schedulers.push_back(loop);
  runtime::engine engine{options};
  bench::caf_peer_system peer{1};
  bench::side ours;
  bench::side theirs;
  for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
    double cpu_s = 0;
    bench::in_turn(repetition, {[&] {
                                  double latency = run_applets(engine, "pingpong", "pingpong",
                                                               round_trips, cpu_s);
                                  ours.add(latency, cpu_s);
                                },
                                [&] {
                                  double latency = run_caf_actors(peer.get(), round_trips, cpu_s);
                                  theirs.add(latency, cpu_s);
                                }});
  }
  bench::report("pingpong_same_scheduler", "ns/roundtrip", bench::better::lower, ours,
                "caf event-based actors, max-threads=1", bench::peer_kind::alternative, theirs);
}

struct cpu_pair {
  unsigned ping = 0;
  unsigned pong = 0;
  bool distinct = false;
};

cpu_pair pick_cpus() {
  auto allowed = bench::allowed_cpus();
  cpu_pair result;
  result.ping = allowed.front();
  result.pong = allowed.back();
  result.distinct = result.ping != result.pong;
  if (!result.distinct)
    bench::comment("NOTE: only CPU %u is allowed, so both sides share it: the cross-scheduler "
                   "figures measure a same-CPU hand-off",
                   result.ping);
  return result;
}

void cross_scheduler(const bench::settings& settings, bool spin, cpu_cost& cost_out) {
  const auto cpus = pick_cpus();
  const char* name = spin ? "pingpong_cross_scheduler_spin" : "pingpong_cross_scheduler";
  if (spin)
    bench::comment("pingpong_cross_scheduler_spin: applets on two one-thread schedulers pinned to "
                   "CPUs %u and %u with spin=50us, vs two pinned threads spinning 50 us on a "
                   "futex word then parking on it, and vs two pinned threads spinning on an "
                   "atomic (acquire/release, the physical limit); ns per round trip",
                   cpus.ping, cpus.pong);
  else
    bench::comment("pingpong_cross_scheduler: applets on two one-thread schedulers pinned to "
                   "CPUs %u and %u (no spin), vs two pinned std::threads handing off through "
                   "std::mutex + std::condition_variable, and vs a raw futex hand-off between "
                   "two pinned threads; ns per round trip",
                   cpus.ping, cpus.pong);
  const std::int64_t round_trips =
    settings.smoke ? 1'000
                   : spin ? (settings.quick ? 20'000 : 100'000) : (settings.quick ? 3'000 : 10'000);
  runtime::engine_options options;
  for (auto [side, cpu] : {std::pair{"left", cpus.ping}, std::pair{"right", cpus.pong}}) {
    runtime::scheduler_options each;
    each.name = side;
    each.threads = 1;
    each.cpus = runtime::cpu_set{cpu};
    if (spin)
      each.spin = 50us;
    options.schedulers.push_back(each);
  }
  runtime::engine engine{options};
  bench::side ours;
  bench::side alternative;
  bench::side limit;
  std::vector<double> idle_costs;
  std::vector<double> burst_cpus;
  for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
    double cpu_s = 0;
    bench::in_turn(
      repetition,
      {[&] {
         cpu_cost cost;
         double latency = run_applets(engine, "left", "right", round_trips, cpu_s, &cost);
         ours.add(latency, cpu_s);
         idle_costs.push_back(cost.idle_microseconds);
         burst_cpus.push_back(cost.burst_cpus);
       },
       [&] {
         double latency =
           spin ? run_futex_threads(cpus.ping, cpus.pong, round_trips, 50us, cpu_s)
                : run_condition_variable_threads(cpus.ping, cpus.pong, round_trips, cpu_s);
         alternative.add(latency, cpu_s);
       },
       [&] {
         double latency = spin ? run_spinning_threads(cpus.ping, cpus.pong, round_trips, cpu_s)
                               : run_futex_threads(cpus.ping, cpus.pong, round_trips, 0us, cpu_s);
         limit.add(latency, cpu_s);
       }});
  }
  cost_out.idle_microseconds = bench::median(idle_costs);
  cost_out.burst_cpus = bench::median(burst_cpus);
  bench::report(name, "ns/roundtrip", bench::better::lower, ours,
                spin ? "pinned threads, spin 50us then futex wait"
                     : "pinned std::threads, mutex+condition_variable",
                bench::peer_kind::alternative, alternative);
  bench::report(name, "ns/roundtrip", bench::better::lower, ours,
                spin ? "pinned threads spinning on std::atomic" : "pinned threads, raw futex hand-off",
                bench::peer_kind::limit, limit);
}

} // namespace

int main(int argc, char** argv) {
  auto settings = bench::parse_arguments(argc, argv);
  try {
    if (bench::selected("pingpong_same_scheduler"))
      same_scheduler(settings);
    cpu_cost without_spin;
    cpu_cost with_spin;
    bool cross = bench::selected("pingpong_cross_scheduler");
    bool cross_spin = bench::selected("pingpong_cross_scheduler_spin");
    if (cross)
      cross_scheduler(settings, false, without_spin);
    if (cross_spin)
      cross_scheduler(settings, true, with_spin);
    if (cross && cross_spin)
      bench::comment("CPU cost of spin=50us: process CPU time (sum of per-thread CPU clocks) in "
                     "the %lld ms idle stretch right after a burst (applets alive, nothing to do; "
                     "includes ~100 us of measuring): spin=%.0f us, no spin=%.0f us; "
                     "CPU in use during the burst: spin=%.2f CPUs, no spin=%.2f CPUs (medians)",
                     static_cast<long long>(idle_stretch.count()), with_spin.idle_microseconds,
                     without_spin.idle_microseconds, with_spin.burst_cpus,
                     without_spin.burst_cpus);
  } catch (const std::exception& failure) {
    bench::fail("pingpong: %s", failure.what());
  }
  return 0;
}
