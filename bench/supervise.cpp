// Supervision: restarting a failed child.
//
//  supervised_restart        time from a child's failure (just before it
//                            throws) to its replacement's first preselect,
//                            median over K failures in a crash loop: a child
//                            sets its own event, fails in the postselect
//                            for it, and its replacement does the same.
//  supervised_restart_storm  10,000 children of one simple_one_for_one
//                            supervisor fail at once; time until the last
//                            replacement has run its first preselect.
//
// Peers (both "alternative"):
//  - Erlang/OTP: an escript (written and run here, `-mode(compile)`, one
//    scheduler thread `+S 1:1`, logger off) with a one_for_one (storm:
//    simple_one_for_one) supervisor restarting a gen_server that sends itself
//    a message and stops abnormally in handle_info; times from
//    erlang:monotonic_time. Needs Debian's erlang-base (`escript`).
//  - raw CAF 0.17: an actor that spawns monitored children and respawns on
//    the down message; the child sends itself a message and quits with an
//    error in its handler (CAF's failure; a throw would also print a line per
//    failure); CAF scheduler with one thread.
// Ours: supervisor and children on one scheduler with one thread.
//
// Self-contained (no bench_support.hpp) so it can be aligned with that
// header's result format when merged. Result lines:
//   <name>: ours=<v> <unit> peer(<peer>)=<v> <unit> ratio=<r> peer_kind=alternative
//           runs=N ours_min=.. ours_max=.. peer_min=.. peer_max=..
// (one line each); ratio > 1 means ours is ahead. Commentary starts with "# ".

#include <actorloop/actors/supervisor.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;
using bench_clock = std::chrono::steady_clock;

namespace {

// -- output and helpers ----------------------------------------------------------------

[[noreturn]] void fail(const std::string& text) {
  std::fflush(stdout);
  std::fprintf(stderr, "ERROR: %s\n", text.c_str());
  std::fflush(stderr);
  std::_Exit(1); // a wedged runtime must not hang the exit
}

void comment(const std::string& text) {
  std::string line = "# " + text + "\n";
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
}

double median(std::vector<double> values) {
  if (values.empty())
    fail("median of no values");
  std::sort(values.begin(), values.end());
  auto middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

std::string format(double value) {
  char buffer[64];
  if (value >= 1000)
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
  else if (value >= 10)
    std::snprintf(buffer, sizeof buffer, "%.1f", value);
  else
    std::snprintf(buffer, sizeof buffer, "%.3f", value);
  return buffer;
}

/// Times: lower is better, so ratio = peer / ours.
void report(std::string_view name, const std::vector<double>& ours, std::string_view unit,
            std::string_view peer_name, const std::vector<double>& peer) {
  auto ours_median = median(ours);
  auto peer_median = median(peer);
  if (!(ours_median > 0) || !(peer_median > 0))
    fail(std::string{name} + ": a non-positive measurement");
  std::string line{name};
  line += ": ours=" + format(ours_median) + " " + std::string{unit} + " peer(" +
          std::string{peer_name} + ")=" + format(peer_median) + " " + std::string{unit} +
          " ratio=" + format(peer_median / ours_median) + " peer_kind=alternative runs=" +
          std::to_string(std::min(ours.size(), peer.size())) +
          " ours_min=" + format(*std::min_element(ours.begin(), ours.end())) +
          " ours_max=" + format(*std::max_element(ours.begin(), ours.end())) +
          " peer_min=" + format(*std::min_element(peer.begin(), peer.end())) +
          " peer_max=" + format(*std::max_element(peer.begin(), peer.end())) + "\n";
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
}

double to_us(std::int64_t nanoseconds) {
  return static_cast<double>(nanoseconds) / 1000.0;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           bench_clock::now().time_since_epoch())
    .count();
}

struct sizes {
  int repetitions = 5;
  int failures = 2000;     // per latency run
  int storm_children = 10'000;
};

// -- ours: the crash loop -----------------------------------------------------------------

struct loop_shared {
  int wanted = 0;
  int seen = 0; // touched on the one scheduler thread only
  std::int64_t failed_at = 0;
  std::vector<std::int64_t> samples;
  runtime::event done{runtime::reset_mode::manual, "loop-done"};
};

class looping_child final : public actors::applet {
public:
  explicit looping_child(loop_shared& shared) : shared_(shared) {}
  void preselect(actors::applet_context& context) override {
    if (!first_)
      return;
    first_ = false;
    if (shared_.failed_at != 0)
      shared_.samples.push_back(now_ns() - shared_.failed_at);
    if (++shared_.seen > shared_.wanted) {
      shared_.done.set();
      return; // the last one stays up
    }
    context.add_wait(kick_);
    kick_.set();
  }
  runtime::waitable postselect(actors::applet_context&, const runtime::waitable&) override {
    shared_.failed_at = now_ns();
    throw std::runtime_error("planned failure");
  }

private:
  loop_shared& shared_;
  bool first_ = true;
  runtime::event kick_{runtime::reset_mode::automatic, "kick"};
};

/// One crash loop of `failures` under a fresh supervisor; appends the samples.
void ours_crash_loop(runtime::engine& engine, int failures, std::vector<double>& values) {
  loop_shared shared;
  shared.wanted = failures;
  shared.samples.reserve(static_cast<std::size_t>(failures));
  actors::supervisor_spec spec;
  spec.name = "bench-sup";
  spec.intensity = {static_cast<std::size_t>(failures) + 10, std::chrono::hours(1)};
  actors::child_spec child;
  child.name = "looper";
  child.scheduler = "bench";
  child.make = [&shared] { return std::make_unique<looping_child>(shared); };
  spec.children.push_back(child);
  auto supervisor = actors::spawn_supervisor(engine, "bench", spec);
  if (!shared.done.wait_for(120s))
    fail("supervised_restart: the crash loop did not finish");
  supervisor.shutdown();
  if (!supervisor.wait_for(30s))
    fail("supervised_restart: the supervisor did not shut down");
  if (shared.samples.size() != static_cast<std::size_t>(failures))
    fail("supervised_restart: " + std::to_string(shared.samples.size()) + " samples for " +
         std::to_string(failures) + " failures");
  auto stats = supervisor.stats();
  if (stats.restarts != static_cast<std::size_t>(failures))
    fail("supervised_restart: the supervisor counted " + std::to_string(stats.restarts) +
         " restarts");
  for (auto sample : shared.samples)
    values.push_back(to_us(sample));
}

// Failures come in short loops under fresh supervisors, so the intensity
// window never holds more than one loop's restarts: OTP keeps that window as
// a list filtered on every restart (O(restarts in the window)), and a long
// loop would measure that list rather than a restart.
constexpr int failures_per_loop = 10;

double ours_latency_us(runtime::engine& engine, int failures) {
  std::vector<double> values;
  for (int done = 0; done < failures; done += failures_per_loop)
    ours_crash_loop(engine, failures_per_loop, values);
  return median(values);
}

// -- ours: the storm ------------------------------------------------------------------------

struct storm_shared {
  runtime::event storm{runtime::reset_mode::manual, "storm"};
  std::atomic<int> epoch{0};
  std::atomic<int> armed{0};
  runtime::event all_armed{runtime::reset_mode::manual, "all-armed"};
  std::atomic<int> replaced{0};
  int children = 0;
  std::atomic<std::int64_t> last_start{0};
  runtime::event all_back{runtime::reset_mode::manual, "all-back"};
};

class storm_child final : public actors::applet {
public:
  explicit storm_child(storm_shared& shared) : shared_(shared) {}
  void init(actors::applet_context&) override { born_ = shared_.epoch.load(); }
  void preselect(actors::applet_context& context) override {
    if (!first_)
      return;
    first_ = false;
    if (born_ == 0) {
      context.add_wait(shared_.storm);
      if (shared_.armed.fetch_add(1) + 1 == shared_.children)
        shared_.all_armed.set();
      return;
    }
    auto now = now_ns();
    shared_.last_start.store(now);
    if (shared_.replaced.fetch_add(1) + 1 == shared_.children)
      shared_.all_back.set();
  }
  runtime::waitable postselect(actors::applet_context&, const runtime::waitable&) override {
    throw std::runtime_error("storm");
  }

private:
  storm_shared& shared_;
  int born_ = 0;
  bool first_ = true;
};

double ours_storm_ms(runtime::engine& engine, int children) {
  storm_shared shared;
  shared.children = children;
  actors::supervisor_spec spec;
  spec.name = "storm-sup";
  spec.strategy = actors::restart_strategy::simple_one_for_one;
  spec.intensity = {static_cast<std::size_t>(children) + 10, std::chrono::hours(1)};
  actors::child_spec child;
  child.name = "w";
  child.scheduler = "bench";
  child.make = [&shared] { return std::make_unique<storm_child>(shared); };
  spec.child_template = child;
  auto supervisor = actors::spawn_supervisor(engine, "bench", spec);
  std::vector<std::future<actors::child_result>> started;
  started.reserve(static_cast<std::size_t>(children));
  for (int index = 0; index < children; ++index)
    started.push_back(supervisor.start_child());
  for (auto& one : started)
    if (auto answer = one.get(); !answer)
      fail("supervised_restart_storm: start_child: " + answer.message);
  // Every child waits for the storm (their first preselects run after
  // start_child's answer).
  if (!shared.all_armed.wait_for(120s))
    fail("supervised_restart_storm: the children did not arm");
  shared.epoch = 1;
  auto start = now_ns();
  shared.storm.set();
  if (!shared.all_back.wait_for(120s))
    fail("supervised_restart_storm: not every child came back");
  auto elapsed = shared.last_start.load() - start;
  supervisor.shutdown();
  if (!supervisor.wait_for(60s))
    fail("supervised_restart_storm: the supervisor did not shut down");
  if (supervisor.stats().restarts != static_cast<std::size_t>(children))
    fail("supervised_restart_storm: wrong restart count");
  return static_cast<double>(elapsed) / 1e6;
}

// -- raw CAF: monitor and respawn ----------------------------------------------------------

using crash_atom = caf::atom_constant<caf::atom("crash")>;
using storm_atom = caf::atom_constant<caf::atom("storm")>;

struct caf_loop {
  int wanted = 0;
  int seen = 0;
  std::int64_t failed_at = 0;
  std::vector<std::int64_t> samples;
  std::promise<void> done;
};

caf::behavior caf_looping_child(caf::event_based_actor* self, caf_loop* loop) {
  // The behaviour's creation is the replacement's first turn.
  if (loop->failed_at != 0)
    loop->samples.push_back(now_ns() - loop->failed_at);
  if (++loop->seen > loop->wanted) {
    loop->done.set_value();
    return {[](crash_atom) {}};
  }
  self->send(self, crash_atom::value);
  return {[self, loop](crash_atom) {
    loop->failed_at = now_ns();
    // CAF's own way to fail (a throw would also print a line per failure).
    self->quit(caf::sec::runtime_error);
  }};
}

caf::behavior caf_loop_supervisor(caf::event_based_actor* self, caf_loop* loop) {
  self->spawn<caf::monitored>(caf_looping_child, loop);
  self->set_down_handler([self, loop](caf::down_msg&) {
    if (loop->seen <= loop->wanted)
      self->spawn<caf::monitored>(caf_looping_child, loop);
    else
      self->quit();
  });
  return {[](crash_atom) {}};
}

caf::actor_system_config& one_thread_config(caf::actor_system_config& config) {
  config.set("scheduler.max-threads", static_cast<int64_t>(1));
  return config;
}

double caf_latency_us(int failures) {
  caf::actor_system_config config;
  caf::actor_system system{one_thread_config(config)};
  std::vector<double> values;
  for (int done = 0; done < failures; done += failures_per_loop) {
    caf_loop loop;
    loop.wanted = failures_per_loop;
    auto finished = loop.done.get_future();
    auto supervisor = system.spawn(caf_loop_supervisor, &loop);
    if (finished.wait_for(120s) != std::future_status::ready)
      fail("supervised_restart (CAF): the crash loop did not finish");
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
    system.await_all_actors_done();
    if (loop.samples.size() != static_cast<std::size_t>(failures_per_loop))
      fail("supervised_restart (CAF): wrong sample count");
    for (auto sample : loop.samples)
      values.push_back(to_us(sample));
  }
  return median(values);
}

struct caf_storm {
  int children = 0;
  int replaced = 0;
  int armed = 0;
  std::int64_t start = 0;
  std::int64_t last_start = 0;
  std::promise<void> ready;
  std::promise<void> done;
};

caf::behavior caf_storm_child(caf::event_based_actor* self, caf_storm* storm, bool replacement) {
  if (replacement) {
    storm->last_start = now_ns();
    if (++storm->replaced == storm->children)
      storm->done.set_value();
    return {[](crash_atom) {}};
  }
  return {[self](crash_atom) { self->quit(caf::sec::runtime_error); }};
}

caf::behavior caf_storm_supervisor(caf::event_based_actor* self, caf_storm* storm) {
  auto children = std::make_shared<std::vector<caf::actor>>();
  for (int index = 0; index < storm->children; ++index)
    children->push_back(self->spawn<caf::monitored>(caf_storm_child, storm, false));
  storm->ready.set_value();
  self->set_down_handler([self, storm](caf::down_msg&) {
    self->spawn<caf::monitored>(caf_storm_child, storm, true);
  });
  return {[self, storm, children](storm_atom) {
    storm->start = now_ns();
    for (auto& child : *children)
      self->send(child, crash_atom::value);
    children->clear();
  }};
}

double caf_storm_ms(int children) {
  caf::actor_system_config config;
  caf::actor_system system{one_thread_config(config)};
  caf_storm storm;
  storm.children = children;
  auto ready = storm.ready.get_future();
  auto finished = storm.done.get_future();
  auto supervisor = system.spawn(caf_storm_supervisor, &storm);
  ready.wait();
  caf::anon_send(supervisor, storm_atom::value);
  if (finished.wait_for(120s) != std::future_status::ready)
    fail("supervised_restart_storm (CAF): not every child came back");
  auto elapsed = storm.last_start - storm.start;
  caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
  system.await_all_actors_done();
  return static_cast<double>(elapsed) / 1e6;
}

// -- Erlang/OTP -------------------------------------------------------------------------------

constexpr std::string_view erlang_script = R"ERL(#!/usr/bin/env escript
%%! +S 1:1
%% Written and run by actorloop's bench_supervise: OTP supervisors restarting
%% a gen_server. One module holds both behaviours' callbacks; init/1 tells
%% them apart by its argument.
-mode(compile).
-export([init/1, handle_info/2, handle_call/3, handle_cast/2]).

main([Failures, PerLoop, Children, Repetitions]) ->
    logger:set_primary_config(level, none),
    K = list_to_integer(Failures),
    L = list_to_integer(PerLoop),
    N = list_to_integer(Children),
    R = list_to_integer(Repetitions),
    persistent_term:put(collector, self()),
    ets:new(epoch, [named_table, public, set, {read_concurrency, true}]),
    ets:new(loop, [named_table, public, set]),
    lists:foreach(fun(_) -> io:format("latency_ns ~p~n", [median(loops(K, L, []))]) end, lists:seq(1, R)),
    lists:foreach(fun(_) -> io:format("storm_ns ~p~n", [storm(N)]) end, lists:seq(1, R)),
    halt(0).

loops(K, _, Acc) when K =< 0 -> Acc;
loops(K, L, Acc) -> loops(K - L, L, latency(L) ++ Acc).

median(Samples) ->
    Sorted = lists:sort(Samples),
    lists:nth(length(Sorted) div 2 + 1, Sorted).

%% One crash loop of K failures under a fresh supervisor; the samples.
latency(K) ->
    ets:insert(loop, [{n, 0}, {k, K}]),
    {ok, Sup} = supervisor:start_link(?MODULE, {sup, one_for_one, K + 10}),
    {ok, _} = supervisor:start_child(Sup, #{id => looper,
        start => {gen_server, start_link, [?MODULE, {worker, loop}, []]},
        restart => permanent, shutdown => 5000, type => worker}),
    receive {started, _} -> ok end,
    Samples = collect(K, []),
    unlink(Sup),
    exit(Sup, kill),
    flush_started(),
    Samples.

%% Nothing should be left; make sure no stray message reaches the next loop.
flush_started() ->
    receive {started, _} -> flush_started(); {crashed, _} -> flush_started()
    after 0 -> ok
    end.

collect(0, Acc) -> Acc;
collect(K, Acc) ->
    receive {crashed, T0} -> ok end,
    receive {started, T1} -> ok end,
    collect(K - 1, [T1 - T0 | Acc]).

storm(N) ->
    ets:insert(epoch, {e, 0}),
    {ok, Sup} = supervisor:start_link(?MODULE, {sup_simple, N + 10}),
    Pids = [begin {ok, P} = supervisor:start_child(Sup, [{worker, storm}, []]), P end
            || _ <- lists:seq(1, N)],
    ets:insert(epoch, {e, 1}),
    T0 = erlang:monotonic_time(nanosecond),
    [P ! crash || P <- Pids],
    Last = wait_started(N, T0),
    unlink(Sup),
    exit(Sup, kill),
    Last - T0.

wait_started(0, Last) -> Last;
wait_started(N, Last) ->
    receive {started, T} -> wait_started(N - 1, max(T, Last)) end.

init({sup, Strategy, Intensity}) ->
    {ok, {#{strategy => Strategy, intensity => Intensity, period => 3600}, []}};
init({sup_simple, Intensity}) ->
    {ok, {#{strategy => simple_one_for_one, intensity => Intensity, period => 3600},
          [#{id => worker, start => {gen_server, start_link, [?MODULE]},
             restart => permanent, shutdown => 5000, type => worker}]}};
init({worker, loop}) ->
    persistent_term:get(collector) ! {started, erlang:monotonic_time(nanosecond)},
    %% Instances 1..K fail; the one after the last failure stays up.
    N = ets:update_counter(loop, n, 1),
    [{k, K}] = ets:lookup(loop, k),
    if N =< K -> self() ! crash; true -> ok end,
    {ok, loop};
init({worker, storm}) ->
    case ets:lookup(epoch, e) of
        [{e, 1}] -> persistent_term:get(collector) ! {started, erlang:monotonic_time(nanosecond)};
        _ -> ok
    end,
    {ok, storm}.

handle_info(crash, loop) ->
    persistent_term:get(collector) ! {crashed, erlang:monotonic_time(nanosecond)},
    {stop, planned_failure, loop};
handle_info(crash, storm) ->
    {stop, storm, storm}.

handle_call(_, _, State) -> {reply, ok, State}.
handle_cast(_, State) -> {noreply, State}.
)ERL";

struct erlang_results {
  std::vector<double> latency_us;
  std::vector<double> storm_ms;
};

erlang_results run_erlang(const sizes& size) {
  char directory[] = "/tmp/actorloop-bench-supervise-XXXXXX";
  if (mkdtemp(directory) == nullptr)
    fail("mkdtemp failed");
  std::string path = std::string{directory} + "/supervise_bench.escript";
  {
    std::ofstream out{path};
    out << erlang_script;
    if (!out)
      fail("cannot write " + path);
  }
  // In the temporary directory, so a crash dump would land there too.
  std::string command = "cd " + std::string{directory} + " && escript " + path + " " +
                        std::to_string(size.failures) + " " + std::to_string(failures_per_loop) + " " +
                        std::to_string(size.storm_children) + " " +
                        std::to_string(size.repetitions) + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr)
    fail("cannot run escript (is Debian's erlang-base installed?)");
  erlang_results results;
  std::string output;
  char line[512];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    output += line;
    long long value = 0;
    if (std::sscanf(line, "latency_ns %lld", &value) == 1)
      results.latency_us.push_back(static_cast<double>(value) / 1000.0);
    else if (std::sscanf(line, "storm_ns %lld", &value) == 1)
      results.storm_ms.push_back(static_cast<double>(value) / 1e6);
  }
  int status = pclose(pipe);
  std::remove(path.c_str());
  std::remove((std::string{directory} + "/erl_crash.dump").c_str());
  rmdir(directory);
  if (status != 0 || results.latency_us.size() != static_cast<std::size_t>(size.repetitions) ||
      results.storm_ms.size() != static_cast<std::size_t>(size.repetitions))
    fail("the Erlang peer failed (status " + std::to_string(status) + "):\n" + output);
  return results;
}

} // namespace

int main(int argc, char** argv) {
  sizes size;
  for (int index = 1; index < argc; ++index) {
    std::string_view argument{argv[index]};
    if (argument == "--quick") {
      size.repetitions = 3;
      size.failures = 500;
    } else if (argument == "--smoke") {
      size.repetitions = 1;
      size.failures = 50;
      size.storm_children = 1000;
    } else if (argument == "--repeat" && index + 1 < argc) {
      size.repetitions = std::atoi(argv[++index]);
      if (size.repetitions < 1)
        fail("--repeat needs a positive number");
    } else {
      std::fprintf(stderr, "usage: %s [--quick | --smoke] [--repeat N]\n", argv[0]);
      return 2;
    }
  }
  comment("supervised_restart: " + std::to_string(size.failures) +
          " failures per run; storm: " + std::to_string(size.storm_children) +
          " children; everything on one thread per side");

  std::vector<double> ours_latency, ours_storm, caf_latency, caf_storm_values;
  {
    runtime::engine_options options;
    options.default_threads = 1;
    runtime::engine engine{options};
    runtime::scheduler_options bench_scheduler;
    bench_scheduler.name = "bench";
    bench_scheduler.threads = 1;
    engine.create_scheduler(bench_scheduler);
    (void)ours_latency_us(engine, size.failures / 10 + 1); // warm-up
    for (int run = 0; run < size.repetitions; ++run) {
      ours_latency.push_back(ours_latency_us(engine, size.failures));
      caf_latency.push_back(caf_latency_us(size.failures));
    }
    for (int run = 0; run < size.repetitions; ++run) {
      ours_storm.push_back(ours_storm_ms(engine, size.storm_children));
      caf_storm_values.push_back(caf_storm_ms(size.storm_children));
    }
  }
  auto erlang = run_erlang(size);

  const std::string erlang_peer = "Erlang/OTP supervisor + gen_server";
  const std::string caf_peer = "raw CAF monitor+respawn";
  report("supervised_restart", ours_latency, "us", erlang_peer, erlang.latency_us);
  report("supervised_restart", ours_latency, "us", caf_peer, caf_latency);
  report("supervised_restart_storm", ours_storm, "ms", erlang_peer, erlang.storm_ms);
  report("supervised_restart_storm", ours_storm, "ms", caf_peer, caf_storm_values);
  return 0;
}
