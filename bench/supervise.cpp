// Supervision: restarting a failed child.
//
//  supervised_restart        time from a child's failure (just before it
//                            throws) to its replacement's first preselect,
//                            median over K failures (2,000; 500 with --quick)
//                            in crash loops of 10 under fresh supervisors: a
//                            child sets its own event, fails in the
//                            postselect for it, and its replacement does the
//                            same. One value per run: that run's median.
//  supervised_restart_storm  10,000 children of one simple_one_for_one
//                            supervisor fail at once; time until the last
//                            replacement has run its first preselect.
//
// Peers (both "alternative"):
//  - Erlang/OTP: an escript (written to a temporary directory and run here
//    as a child process for the whole benchmark, `-mode(compile)`, one
//    scheduler thread `+S 1:1`, logger off) with a one_for_one (storm:
//    simple_one_for_one) supervisor restarting a gen_server that sends itself
//    a message and stops abnormally in handle_info; times from
//    erlang:monotonic_time. It answers one command per run on its stdin
//    (`latency K L`, `storm N` then `go`), so its runs alternate with ours
//    and CAF's. Needs Debian's erlang-base (`escript`).
//  - raw CAF 0.17: an actor that spawns monitored children and respawns on
//    the down message; the child sends itself a message and quits with an
//    error in its handler (CAF's failure; a throw would also print a line per
//    failure); one CAF system with scheduler.max-threads=1 for all runs.
// Ours: supervisor and children on one scheduler with one thread.
// Runs alternate: ours, Erlang, CAF, ours, ... (after one short warm-up run
// of each side). Every side runs with 1 ns timer slack: the escript is forked
// from the main thread after parse_arguments set it, and a process's threads
// inherit it across fork and exec.
//
// cpu_s: ours and CAF, bench::cpu_meter (this process's CPU time minus the
// idle other system's threads); Erlang, the CPU time of every thread of the
// escript's process (/proc/<pid>/task/*/schedstat, nanoseconds on CPU). The
// span is the whole run for supervised_restart (supervisor start and
// shutdown included, the same on every side) and the timed span for the
// storm (the storm's start to the last replacement's start, read from
// outside the timed code).

#include "bench_support.hpp"

#include <actorloop/actors/supervisor.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>

#include <caf/all.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;
using bench::bench_clock;

namespace {

[[noreturn]] void fail(const std::string& text) {
  bench::fail("%s", text.c_str());
}

double to_us(std::int64_t nanoseconds) {
  return static_cast<double>(nanoseconds) / 1000.0;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           bench_clock::now().time_since_epoch())
    .count();
}

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
  return bench::median(values);
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

/// One storm; `cpu_s` gets the CPU seconds of the timed span.
double ours_storm_ms(runtime::engine& engine, int children, bench::cpu_meter meter,
                     double& cpu_s) {
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
  meter.start();
  auto start = now_ns();
  shared.storm.set();
  if (!shared.all_back.wait_for(120s))
    fail("supervised_restart_storm: not every child came back");
  cpu_s = meter.stop();
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

double caf_latency_us(caf::actor_system& system, int failures) {
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
  return bench::median(values);
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

/// One storm; `cpu_s` gets the CPU seconds of the timed span.
double caf_storm_ms(caf::actor_system& system, int children, bench::cpu_meter meter,
                    double& cpu_s) {
  caf_storm storm;
  storm.children = children;
  auto ready = storm.ready.get_future();
  auto finished = storm.done.get_future();
  auto supervisor = system.spawn(caf_storm_supervisor, &storm);
  ready.wait();
  meter.start();
  caf::anon_send(supervisor, storm_atom::value);
  if (finished.wait_for(120s) != std::future_status::ready)
    fail("supervised_restart_storm (CAF): not every child came back");
  cpu_s = meter.stop();
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
%% them apart by its argument. Commands, one a line on stdin, each answered
%% on stdout:
%%   latency K L   K failures in crash loops of L  -> "latency_ns <median>"
%%   storm N       N children armed                -> "armed"
%%   go            (after storm) the storm          -> "storm_ns <ns>", then,
%%                 once the supervisor is gone, "clean"
%%   quit          (or end of input) halts
-mode(compile).
-export([init/1, handle_info/2, handle_call/3, handle_cast/2]).

main([]) ->
    logger:set_primary_config(level, none),
    persistent_term:put(collector, self()),
    ets:new(epoch, [named_table, public, set, {read_concurrency, true}]),
    ets:new(loop, [named_table, public, set]),
    io:format("ready~n"),
    serve().

serve() ->
    case io:get_line("") of
        eof -> halt(0);
        {error, _} -> halt(1);
        Line ->
            case string:lexemes(string:trim(Line), " ") of
                ["latency", K, L] ->
                    Samples = loops(list_to_integer(K), list_to_integer(L), []),
                    io:format("latency_ns ~p~n", [median(Samples)]),
                    serve();
                ["storm", N] ->
                    storm(list_to_integer(N)),
                    serve();
                ["quit"] -> halt(0);
                Other ->
                    io:format(standard_error, "unknown command ~p~n", [Other]),
                    halt(1)
            end
    end.

%% Kills a supervisor (and so its children) and waits until it is gone, so
%% no teardown runs into the next measurement.
stop_sup(Sup) ->
    unlink(Sup),
    Ref = erlang:monitor(process, Sup),
    exit(Sup, kill),
    receive {'DOWN', Ref, process, Sup, _} -> ok end.

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
    stop_sup(Sup),
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
    io:format("armed~n"),
    "go" = string:trim(io:get_line("")),
    T0 = erlang:monotonic_time(nanosecond),
    [P ! crash || P <- Pids],
    Last = wait_started(N, T0),
    io:format("storm_ns ~p~n", [Last - T0]),
    stop_sup(Sup),
    io:format("clean~n").

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

/// The escript running as a child process for the whole benchmark, driven
/// one command a line over a pipe to its stdin; its answers come back on a
/// pipe from its stdout (its stderr is ours, so its errors show up).
class erlang_peer {
public:
  erlang_peer() {
    char directory[] = "/tmp/actorloop-bench-supervise-XXXXXX";
    if (::mkdtemp(directory) == nullptr)
      fail(std::string{"mkdtemp failed: "} + std::strerror(errno));
    directory_ = directory;
    script_ = directory_ + "/supervise_bench.escript";
    {
      std::ofstream out{script_};
      out << erlang_script;
      if (!out)
        fail("cannot write " + script_);
    }
    int to_child[2];
    int from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0)
      fail(std::string{"pipe2 failed: "} + std::strerror(errno));
    // Forked from the main thread, which carries the 1 ns timer slack that
    // the child and every thread it starts inherit.
    pid_ = ::fork();
    if (pid_ < 0)
      fail(std::string{"fork failed: "} + std::strerror(errno));
    if (pid_ == 0) {
      // In the temporary directory, so a crash dump would land there too.
      if (::chdir(directory) != 0 || ::dup2(to_child[0], 0) < 0 || ::dup2(from_child[1], 1) < 0)
        ::_exit(126);
      ::execlp("escript", "escript", script_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_child_ = to_child[1];
    from_child_ = ::fdopen(from_child[0], "r");
    if (from_child_ == nullptr)
      fail("fdopen failed");
    expect("ready");
  }
  ~erlang_peer() {
    if (to_child_ >= 0) {
      send("quit");
      ::close(to_child_);
    }
    if (from_child_ != nullptr)
      std::fclose(from_child_);
    int status = 0;
    if (pid_ > 0)
      ::waitpid(pid_, &status, 0);
    std::remove(script_.c_str());
    std::remove((directory_ + "/erl_crash.dump").c_str());
    ::rmdir(directory_.c_str());
  }
  erlang_peer(const erlang_peer&) = delete;
  erlang_peer& operator=(const erlang_peer&) = delete;

  void send(const std::string& command) {
    auto line = command + "\n";
    if (::write(to_child_, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
      fail("the Erlang peer does not take commands any more (" + command +
           "): " + std::strerror(errno));
  }
  /// The next line the escript prints (without the newline).
  std::string receive() {
    char buffer[512];
    if (std::fgets(buffer, sizeof buffer, from_child_) == nullptr)
      fail("the Erlang peer (escript, Debian's erlang-base) ended early; its errors are above");
    std::string line{buffer};
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
      line.pop_back();
    return line;
  }
  void expect(std::string_view wanted) {
    auto line = receive();
    if (line != wanted)
      fail("the Erlang peer said '" + line + "' instead of '" + std::string{wanted} + "'");
  }
  /// The number after `prefix` in the next line.
  long long receive_value(std::string_view prefix) {
    auto line = receive();
    long long value = 0;
    if (line.rfind(prefix, 0) != 0 ||
        std::sscanf(line.c_str() + prefix.size(), " %lld", &value) != 1)
      fail("the Erlang peer said '" + line + "' instead of '" + std::string{prefix} + " N'");
    return value;
  }

  /// CPU seconds all threads of the escript's process have used so far.
  [[nodiscard]] double cpu_seconds() const {
    double total = 0;
    auto dir = "/proc/" + std::to_string(pid_) + "/task";
    DIR* tasks = ::opendir(dir.c_str());
    if (tasks == nullptr)
      fail("cannot read " + dir);
    while (dirent* entry = ::readdir(tasks)) {
      if (entry->d_name[0] == '.')
        continue;
      std::FILE* file = std::fopen((dir + "/" + entry->d_name + "/schedstat").c_str(), "r");
      if (file == nullptr)
        continue; // the thread has just ended
      unsigned long long on_cpu_ns = 0;
      if (std::fscanf(file, "%llu", &on_cpu_ns) == 1)
        total += static_cast<double>(on_cpu_ns) / 1e9;
      std::fclose(file);
    }
    ::closedir(tasks);
    return total;
  }
  /// The escript's timer slack in ns (from /proc), or -1 if unreadable.
  [[nodiscard]] long long timer_slack_ns() const {
    std::ifstream in{"/proc/" + std::to_string(pid_) + "/timerslack_ns"};
    long long value = -1;
    in >> value;
    return in ? value : -1;
  }

  /// One supervised_restart run: the median restart in us; `cpu_s` gets the
  /// escript's CPU seconds over the run.
  double latency_us(int failures, double& cpu_s) {
    double before = cpu_seconds();
    send("latency " + std::to_string(failures) + " " + std::to_string(failures_per_loop));
    auto median_ns = receive_value("latency_ns");
    cpu_s = cpu_seconds() - before;
    return static_cast<double>(median_ns) / 1000.0;
  }
  /// One storm run: ms until the last replacement started; `cpu_s` gets the
  /// escript's CPU seconds from "go" to the answer.
  double storm_ms(int children, double& cpu_s) {
    send("storm " + std::to_string(children));
    expect("armed");
    double before = cpu_seconds();
    send("go");
    auto elapsed_ns = receive_value("storm_ns");
    cpu_s = cpu_seconds() - before;
    expect("clean");
    return static_cast<double>(elapsed_ns) / 1e6;
  }

private:
  std::string directory_;
  std::string script_;
  pid_t pid_ = -1;
  int to_child_ = -1;
  std::FILE* from_child_ = nullptr;
};

} // namespace

int main(int argc, char** argv) {
  auto settings = bench::parse_arguments(argc, argv);
  const int failures = settings.smoke ? 50 : settings.quick ? 500 : 2000;
  const int storm_children = settings.smoke ? 1000 : settings.quick ? 5'000 : 10'000;
  // A dead escript must show as an error from write, not kill us silently.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    erlang_peer erlang; // first: forked before any other thread exists
    bench::thread_watch watch_ours;
    runtime::engine_options options;
    options.default_threads = 1;
    runtime::engine engine{options};
    runtime::scheduler_options bench_scheduler;
    bench_scheduler.name = "bench";
    bench_scheduler.threads = 1;
    engine.create_scheduler(bench_scheduler);
    auto our_threads = watch_ours.take();
    bench::caf_peer_system caf_peer{1};

    bench::comment("supervised_restart: %d failures per run in crash loops of %d; storm: %d "
                   "children; ours on a one-thread scheduler, Erlang +S 1:1, CAF "
                   "max-threads=1; Erlang's timer slack %lld ns",
                   failures, failures_per_loop, storm_children, erlang.timer_slack_ns());

    // Warm-up of every side (code loading, allocator, first supervisor).
    double ignored = 0;
    (void)ours_latency_us(engine, failures_per_loop * 5);
    (void)erlang.latency_us(failures_per_loop * 5, ignored);
    (void)caf_latency_us(caf_peer.get(), failures_per_loop * 5);

    bench::side ours_latency;
    bench::side erlang_latency;
    bench::side caf_latency;
    for (int run = 0; run < settings.repetitions; ++run) {
      bench::in_turn(run, {[&] {
                             bench::cpu_meter ours_meter{caf_peer.threads()};
                             ours_meter.start();
                             double value = ours_latency_us(engine, failures);
                             ours_latency.add(value, ours_meter.stop());
                           },
                           [&] {
                             double cpu_s = 0;
                             double value = erlang.latency_us(failures, cpu_s);
                             erlang_latency.add(value, cpu_s);
                           },
                           [&] {
                             bench::cpu_meter caf_meter{our_threads};
                             caf_meter.start();
                             double value = caf_latency_us(caf_peer.get(), failures);
                             caf_latency.add(value, caf_meter.stop());
                           }});
    }

    bench::side ours_storm;
    bench::side erlang_storm;
    bench::side caf_storms;
    for (int run = 0; run < settings.repetitions; ++run) {
      double cpu_s = 0;
      bench::in_turn(run, {[&] {
                             double value = ours_storm_ms(
                               engine, storm_children, bench::cpu_meter{caf_peer.threads()}, cpu_s);
                             ours_storm.add(value, cpu_s);
                           },
                           [&] {
                             double value = erlang.storm_ms(storm_children, cpu_s);
                             erlang_storm.add(value, cpu_s);
                           },
                           [&] {
                             double value = caf_storm_ms(caf_peer.get(), storm_children,
                                                         bench::cpu_meter{our_threads}, cpu_s);
                             caf_storms.add(value, cpu_s);
                           }});
    }

    const std::string erlang_name = "Erlang/OTP supervisor + gen_server, +S 1:1";
    const std::string caf_name = "raw CAF monitor+respawn, max-threads=1";
    constexpr auto lower = bench::better::lower;
    constexpr auto alternative = bench::peer_kind::alternative;
    bench::report("supervised_restart", "us", lower, ours_latency, erlang_name, alternative,
                  erlang_latency);
    bench::report("supervised_restart", "us", lower, ours_latency, caf_name, alternative,
                  caf_latency);
    bench::report("supervised_restart_storm", "ms", lower, ours_storm, erlang_name, alternative,
                  erlang_storm);
    bench::report("supervised_restart_storm", "ms", lower, ours_storm, caf_name, alternative,
                  caf_storms);
  } catch (const std::exception& failure) {
    fail(std::string{"supervise: "} + failure.what());
  }
  return 0;
}
