// Creation and destruction of applets.
//
//  applet_spawn       a plain thread spawns K applets on the default scheduler
//                     whose first preselect kills them, vs a plain thread
//                     spawning K CAF event-based actors that quit in
//                     make_behavior on a CAF scheduler with as many workers as
//                     our default scheduler. Both are timed from the first
//                     spawn to the last destroy (our destroy callback, CAF's
//                     on_exit). Applets (actors) per second.
//  fanout_spawn_100k  one applet on the default scheduler of a default engine
//                     (one worker per CPU) creates 100,000 applets that each
//                     fire one auto-reset event and exit (spawned by
//                     scheduler handle; they are queued on the parent's
//                     worker and idle workers steal them: docs/runtime.md,
//                     "Placement of spawned applets"); time
//                     until all are destroyed. Peer: one CAF actor spawning 100,000 actors
//                     that each send themselves one message and quit, on
//                     CAF's best configuration for this (max-threads=1: its
//                     work stealing is O(n) in the spawner's queue).
//  fanout_spawn_100k_1worker
//                     the same with both sides on one worker (our engine's
//                     default scheduler with one thread).
// All peers are CAF (alternative); cpu_s is the process CPU seconds of the
// timed span. The fan-outs run two unmeasured warm-up rounds on each side
// first (the first fan-outs of a process grow each worker's allocator arena
// and fault its pages in); the first, cold round's times are printed as a
// comment beside the figures.

#include "bench_support.hpp"

#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>

#include <caf/all.hpp>

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <vector>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;
using bench::bench_clock;

namespace {

using go_atom = caf::atom_constant<caf::atom("go")>;

constexpr auto wait_limit = 120s;

// -- applet_spawn: ours -----------------------------------------------------------------

class short_lived_applet final : public actors::applet {
public:
  short_lived_applet(std::atomic<std::int64_t>& destroyed, std::int64_t expected,
                     bench_clock::time_point& end)
    : destroyed_(destroyed), expected_(expected), end_(end) {}

  void preselect(actors::applet_context& context) override { context.kill(); }
  runtime::waitable postselect(actors::applet_context&, const runtime::waitable&) override {
    bench::fail("a short-lived applet got an event");
  }
  void destroy(actors::applet_context&) override {
    // The last destroy is the end point, as CAF's last on_exit is the peer's.
    if (destroyed_.fetch_add(1, std::memory_order_acq_rel) + 1 == expected_)
      end_ = bench_clock::now();
  }

private:
  std::atomic<std::int64_t>& destroyed_;
  std::int64_t expected_;
  bench_clock::time_point& end_;
};

double spawn_applets(runtime::engine& engine, std::int64_t count, bench::cpu_meter meter,
                     double& cpu_s) {
  std::atomic<std::int64_t> destroyed{0};
  bench_clock::time_point end;
  std::vector<actors::applet_handle> handles;
  handles.reserve(static_cast<std::size_t>(count));
  // By handle, as CAF's spawn needs no lookup either.
  const auto home = engine.get_scheduler("default");
  meter.start();
  auto start = bench_clock::now();
  for (std::int64_t index = 0; index < count; ++index)
    handles.push_back(actors::spawn_applet(
      engine, home, std::make_unique<short_lived_applet>(destroyed, count, end),
      "short-lived"));
  for (auto& handle : handles)
    if (!handle.wait_for(wait_limit))
      bench::fail("applet_spawn: an applet was not destroyed in time (%lld of %lld destroyed)",
                  static_cast<long long>(destroyed.load()), static_cast<long long>(count));
  cpu_s = meter.stop();
  if (destroyed.load() != count)
    bench::fail("applet_spawn: %lld destroy callbacks for %lld applets",
                static_cast<long long>(destroyed.load()), static_cast<long long>(count));
  for (auto& handle : handles)
    if (!handle.exit_reason().is_normal())
      bench::fail("applet_spawn: an applet ended abnormally: %s",
                  handle.exit_reason().message().c_str());
  return static_cast<double>(count) / bench::seconds_between(start, end);
}

// -- applet_spawn: peer -------------------------------------------------------------------

/// Counts exits and fulfils `done` at the last one.
struct exit_counter {
  std::int64_t expected = 0;
  std::atomic<std::int64_t> exits{0};
  bench_clock::time_point end;
  std::promise<void> done;

  void count_one() {
    if (exits.fetch_add(1, std::memory_order_acq_rel) + 1 == expected) {
      end = bench_clock::now();
      done.set_value();
    }
  }
};

class quitting_actor final : public caf::event_based_actor {
public:
  quitting_actor(caf::actor_config& config, exit_counter* counter)
    : caf::event_based_actor(config), counter_(counter) {}

  caf::behavior make_behavior() override {
    quit();
    return {};
  }
  void on_exit() override { counter_->count_one(); }

private:
  exit_counter* counter_;
};

double spawn_caf_actors(caf::actor_system& system, std::int64_t count, bench::cpu_meter meter,
                        double& cpu_s) {
  exit_counter counter;
  counter.expected = count;
  auto finished = counter.done.get_future();
  meter.start();
  auto start = bench_clock::now();
  for (std::int64_t index = 0; index < count; ++index)
    system.spawn<quitting_actor>(&counter);
  if (finished.wait_for(wait_limit) != std::future_status::ready)
    bench::fail("applet_spawn (CAF): only %lld of %lld actors exited in time",
                static_cast<long long>(counter.exits.load()), static_cast<long long>(count));
  system.await_all_actors_done(); // on_exit has returned everywhere before `counter` goes
  cpu_s = meter.stop();
  if (counter.exits.load() != count)
    bench::fail("applet_spawn (CAF): %lld exits for %lld actors",
                static_cast<long long>(counter.exits.load()), static_cast<long long>(count));
  return static_cast<double>(count) / bench::seconds_between(start, counter.end);
}

// -- fanout_spawn_100k: ours ----------------------------------------------------------------

struct fanout_state {
  std::int64_t expected = 0;
  std::atomic<std::int64_t> destroyed{0};
  std::atomic<std::int64_t> fired{0};
  bench_clock::time_point end;
  runtime::event all_gone{runtime::reset_mode::manual, "all gone"};
};

/// Waits on its own auto-reset event, sets it, and exits when it fires.
class firing_child final : public actors::applet {
public:
  explicit firing_child(fanout_state& state) : state_(state) {}

  void init(actors::applet_context& context) override {
    context.add_wait(fire_);
    fire_.set();
  }
  void preselect(actors::applet_context&) override {}
  runtime::waitable postselect(actors::applet_context& context, const runtime::waitable&) override {
    state_.fired.fetch_add(1, std::memory_order_relaxed);
    context.kill();
    return {};
  }
  void destroy(actors::applet_context&) override {
    if (state_.destroyed.fetch_add(1, std::memory_order_acq_rel) + 1 == state_.expected) {
      state_.end = bench_clock::now();
      state_.all_gone.set();
    }
  }

private:
  fanout_state& state_;
  runtime::event fire_{runtime::reset_mode::automatic};
};

class fanout_parent final : public actors::applet {
public:
  explicit fanout_parent(fanout_state& state) : state_(state) {}

  void init(actors::applet_context& context) override {
    // By handle (its own scheduler), as CAF's self->spawn needs no lookup.
    const auto home = context.scheduler();
    for (std::int64_t index = 0; index < state_.expected; ++index) {
      [[maybe_unused]] auto child = actors::spawn_applet(
        context.engine(), home, std::make_unique<firing_child>(state_), "child");
    }
    context.kill();
  }
  void preselect(actors::applet_context&) override {}
  runtime::waitable postselect(actors::applet_context&, const runtime::waitable&) override {
    return {};
  }

private:
  fanout_state& state_;
};

double fanout_applets(runtime::engine& engine, std::int64_t children, bench::cpu_meter meter,
                      double& cpu_s) {
  fanout_state state;
  state.expected = children;
  meter.start();
  auto start = bench_clock::now();
  auto parent = actors::spawn_applet(engine, "default", std::make_unique<fanout_parent>(state),
                                     "parent");
  if (!state.all_gone.wait_for(wait_limit))
    bench::fail("fanout_spawn_100k: only %lld of %lld children destroyed in time",
                static_cast<long long>(state.destroyed.load()), static_cast<long long>(children));
  cpu_s = meter.stop();
  if (!parent.wait_for(10s))
    bench::fail("fanout_spawn_100k: the parent applet was not destroyed");
  if (!parent.exit_reason().is_normal())
    bench::fail("fanout_spawn_100k: the parent failed: %s", parent.exit_reason().message().c_str());
  if (state.fired.load() != children || state.destroyed.load() != children)
    bench::fail("fanout_spawn_100k: %lld children fired and %lld were destroyed, expected %lld",
                static_cast<long long>(state.fired.load()),
                static_cast<long long>(state.destroyed.load()), static_cast<long long>(children));
  return bench::seconds_between(start, state.end);
}

// -- fanout_spawn_100k: peer ---------------------------------------------------------------

struct caf_fanout_state {
  exit_counter exits;
  std::atomic<std::int64_t> fired{0};
};

class caf_firing_child final : public caf::event_based_actor {
public:
  caf_firing_child(caf::actor_config& config, caf_fanout_state* state)
    : caf::event_based_actor(config), state_(state) {}

  caf::behavior make_behavior() override {
    send(this, go_atom::value);
    return {
      [this](go_atom) {
        state_->fired.fetch_add(1, std::memory_order_relaxed);
        quit();
      },
    };
  }
  void on_exit() override { state_->exits.count_one(); }

private:
  caf_fanout_state* state_;
};

void caf_fanout_parent(caf::event_based_actor* self, caf_fanout_state* state) {
  for (std::int64_t index = 0; index < state->exits.expected; ++index)
    self->spawn<caf_firing_child>(state);
  self->quit();
}

double fanout_caf(caf::actor_system& system, std::int64_t children, bench::cpu_meter meter,
                  double& cpu_s) {
  caf_fanout_state state;
  state.exits.expected = children;
  auto finished = state.exits.done.get_future();
  meter.start();
  auto start = bench_clock::now();
  system.spawn(caf_fanout_parent, &state);
  if (finished.wait_for(wait_limit) != std::future_status::ready)
    bench::fail("fanout_spawn_100k (CAF): only %lld of %lld children exited in time",
                static_cast<long long>(state.exits.exits.load()),
                static_cast<long long>(children));
  cpu_s = meter.stop();
  system.await_all_actors_done();
  if (state.fired.load() != children || state.exits.exits.load() != children)
    bench::fail("fanout_spawn_100k (CAF): %lld children fired and %lld exited, expected %lld",
                static_cast<long long>(state.fired.load()),
                static_cast<long long>(state.exits.exits.load()), static_cast<long long>(children));
  return bench::seconds_between(start, state.exits.end);
}

} // namespace

/// Runs fanout_spawn_100k on an engine whose default scheduler has
/// `default_threads` workers (0 = one per CPU) against CAF with one worker.
void fanout(const bench::settings& settings, const char* name, std::size_t default_threads) {
  const std::int64_t children = settings.smoke ? 10'000 : 100'000;
  runtime::engine_options options;
  options.default_threads = default_threads;
  bench::thread_watch watch_ours;
  runtime::engine engine{options};
  auto our_threads = watch_ours.take();
  const auto workers = engine.get_scheduler("default").native_thread_ids().size();
  bench::caf_peer_system peer{1};
  bench::comment("%s: one applet on the default scheduler (%zu workers) creates %lld applets that "
                 "each fire one auto-reset event and exit, vs one CAF actor spawning %lld actors "
                 "that each send themselves one message and quit (CAF scheduler.max-threads=1); "
                 "seconds until all are destroyed",
                 name, workers, static_cast<long long>(children), static_cast<long long>(children));
  // Warm-up, the same on both sides: the first rounds of a fresh process are
  // slower on both (page faults while each worker's allocator arena grows;
  // ours has one arena per worker to grow, and a round's parent may land on
  // either worker), so two rounds each are run and not counted.
  constexpr int warm_up_rounds = 2;
  double cold_ours = 0;
  double cold_theirs = 0;
  for (int round = 0; round < warm_up_rounds; ++round) {
    double cpu_s = 0;
    double seconds = fanout_applets(engine, children, bench::cpu_meter{peer.threads()}, cpu_s);
    if (round == 0)
      cold_ours = seconds;
    seconds = fanout_caf(peer.get(), children, bench::cpu_meter{our_threads}, cpu_s);
    if (round == 0)
      cold_theirs = seconds;
  }
  bench::comment("%s: first (cold) warm-up round, not in the figures: ours %.3f s, peer %.3f s",
                 name, cold_ours, cold_theirs);
  bench::side ours;
  bench::side theirs;
  for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
    double cpu_s = 0;
    bench::in_turn(repetition,
                   {[&] {
                      double seconds =
                        fanout_applets(engine, children, bench::cpu_meter{peer.threads()}, cpu_s);
                      ours.add(seconds, cpu_s);
                    },
                    [&] {
                      double seconds =
                        fanout_caf(peer.get(), children, bench::cpu_meter{our_threads}, cpu_s);
                      theirs.add(seconds, cpu_s);
                    }});
  }
  bench::report(name, "s", bench::better::lower, ours, "caf spawn, max-threads=1",
                bench::peer_kind::alternative, theirs);
}

int main(int argc, char** argv) {
  auto settings = bench::parse_arguments(argc, argv);
  try {
    {
      const std::int64_t count = settings.smoke ? 5'000 : settings.quick ? 20'000 : 50'000;
      bench::thread_watch watch_ours;
      runtime::engine engine;
      auto our_threads = watch_ours.take();
      const auto workers = engine.get_scheduler("default").native_thread_ids().size();
      bench::caf_peer_system peer{workers};
      bench::comment("applet_spawn: a plain thread spawns %lld applets on the default scheduler "
                     "(%zu workers; first preselect kills them), vs spawning %lld CAF "
                     "event-based actors that quit in make_behavior (CAF scheduler.max-threads="
                     "%zu); from the first spawn to the last destroy / on_exit; "
                     "creations+destructions per second",
                     static_cast<long long>(count), workers, static_cast<long long>(count),
                     workers);
      bench::side ours;
      bench::side theirs;
      for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
        double cpu_s = 0;
        bench::in_turn(repetition,
                       {[&] {
                          double rate =
                            spawn_applets(engine, count, bench::cpu_meter{peer.threads()}, cpu_s);
                          ours.add(rate, cpu_s);
                        },
                        [&] {
                          double rate = spawn_caf_actors(peer.get(), count,
                                                         bench::cpu_meter{our_threads}, cpu_s);
                          theirs.add(rate, cpu_s);
                        }});
      }
      bench::report("applet_spawn", "applets/s", bench::better::higher, ours,
                    "caf spawn of event-based actors, max-threads=" + std::to_string(workers),
                    bench::peer_kind::alternative, theirs);
    }
    bench::comment("fanout_spawn_100k: with CAF's default work-stealing scheduler the peer "
                   "takes 60-110 s (earlier measurements; CAF 0.17's stealing is O(n) in the "
                   "spawner's queue), so CAF runs on its best configuration, one worker");
    fanout(settings, "fanout_spawn_100k", 0);
    fanout(settings, "fanout_spawn_100k_1worker", 1);
  } catch (const std::exception& failure) {
    bench::fail("spawn: %s", failure.what());
  }
  return 0;
}
