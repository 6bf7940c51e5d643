#pragma once
// Shared helpers of the benchmarks: --quick parsing, medians, the result line
// that bench/run collects, commentary lines, loud failure, CPU pinning, the
// client/server placement with one pinned I/O worker per engine, the
// ACTORLOOP_BENCH_ONLY selection, and a CAF actor system configured from code.
//
// Result line contract (one per comparison of ours with one peer):
//   <name>: ours=<value> <unit> peer(<peer name>)=<value> <unit> ratio=<r> key=value...
// where r > 1 means ours is ahead and the values are medians over the runs.
// The key=value fields that follow are
//   peer_kind=alternative|limit  what the peer is: something a user would
//                                pick instead, or a hand-tuned floor that a
//                                runtime cannot beat by design
//   runs=N                       runs of each side, alternating: in each
//                                repetition every side runs once, in the
//                                order written in even repetitions and in the
//                                reverse order in odd ones (see in_turn)
//   ours_min, ours_max, peer_min, peer_max, ratio_min, ratio_max
//                                the spread over the runs (ratio per run pair)
//   cpu_s_ours, cpu_s_peer       (only where threads spin or park) median CPU
//                                seconds used during one measured span, see
//                                cpu_meter
// Every other line is commentary and starts with "# " so it can never be
// mistaken for a result.

#include <actorloop/netio/io_pool.hpp>
#include <actorloop/runtime/engine.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <dirent.h>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <pthread.h>
#include <sched.h>
#include <string>
#include <string_view>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <thread>
#include <utility>
#include <vector>

namespace bench {

using bench_clock = std::chrono::steady_clock;

/// Command-line settings common to every benchmark.
struct settings {
  bool quick = false;
  /// --smoke: the smallest sizes that still exercise every comparison (for
  /// the report-rendering test; the figures mean nothing).
  bool smoke = false;
  /// Alternating runs per side (ours, peer, ours, peer, ...): --repeat N, or
  /// 3 with --quick / 1 with --smoke, 5 otherwise.
  int repetitions = 5;
};

/// The timer slack every thread of a benchmark runs with: actorloop's workers
/// set 1 ns themselves; setting it on the main thread before anything starts
/// gives every thread created afterwards (CAF peer workers, plain peer
/// threads) the same value, since a new thread inherits its creator's slack.
inline constexpr unsigned long timer_slack_ns = 1;

inline settings parse_arguments(int argc, char** argv) {
  settings result;
  int repeat = 0;
  auto usage = [&] {
    std::fprintf(stderr, "usage: %s [--quick | --smoke] [--repeat N]\n", argv[0]);
    std::exit(2);
  };
  for (int index = 1; index < argc; ++index) {
    std::string_view argument{argv[index]};
    if (argument == "--quick") {
      result.quick = true;
    } else if (argument == "--smoke") {
      result.smoke = true;
      result.quick = true;
    } else if (argument == "--repeat" && index + 1 < argc) {
      char* end = nullptr;
      long value = std::strtol(argv[++index], &end, 10);
      if (end == argv[index] || *end != '\0' || value < 1 || value > 1000) {
        std::fprintf(stderr, "%s: --repeat needs a number from 1 to 1000, not '%s'\n", argv[0],
                     argv[index]);
        std::exit(2);
      }
      repeat = static_cast<int>(value);
    } else {
      usage();
    }
  }
  result.repetitions = repeat > 0 ? repeat : result.smoke ? 1 : result.quick ? 3 : 5;
  if (prctl(PR_SET_TIMERSLACK, timer_slack_ns, 0UL, 0UL, 0UL) != 0) {
    std::fprintf(stderr, "%s: PR_SET_TIMERSLACK failed\n", argv[0]);
    std::exit(1);
  }
  return result;
}

/// Prints one commentary line in a single write (lines never interleave).
template <class... Args>
void comment(const char* format, Args... args) {
  std::string line = "# ";
  char buffer[1024];
  if constexpr (sizeof...(Args) == 0)
    std::snprintf(buffer, sizeof buffer, "%s", format);
  else
    std::snprintf(buffer, sizeof buffer, format, args...);
  line += buffer;
  line += '\n';
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
}

/// Steps that `fail` runs before it ends the process: each stops a server
/// this benchmark started (redis-server, PostgreSQL), which would otherwise
/// outlive the failed run, keep its port and hold bench/run's stderr pipe
/// open. Added and removed by failure_cleanup, on the main thread only.
inline std::vector<std::pair<const void*, std::function<void()>>>& failure_cleanups() {
  static std::vector<std::pair<const void*, std::function<void()>>> steps;
  return steps;
}

/// Registers a step with `fail` for as long as this object lives (a member of
/// the server's owner, so the step never outlives what it stops).
class failure_cleanup {
public:
  explicit failure_cleanup(std::function<void()> step) {
    failure_cleanups().emplace_back(this, std::move(step));
  }
  ~failure_cleanup() {
    auto& steps = failure_cleanups();
    std::erase_if(steps, [this](const auto& each) { return each.first == this; });
  }
  failure_cleanup(const failure_cleanup&) = delete;
  failure_cleanup& operator=(const failure_cleanup&) = delete;
};

/// Reports a broken benchmark (counts that do not add up, a timeout) and ends
/// the process with a non-zero status, so bench/run fails loudly. Runs the
/// failure_cleanups (newest first, once: a failure inside one does not
/// start them again) but no destructors.
template <class... Args>
[[noreturn]] void fail(const char* format, Args... args) {
  char buffer[1024];
  if constexpr (sizeof...(Args) == 0)
    std::snprintf(buffer, sizeof buffer, "%s", format);
  else
    std::snprintf(buffer, sizeof buffer, format, args...);
  std::fflush(stdout);
  std::fprintf(stderr, "ERROR: %s\n", buffer);
  std::fflush(stderr);
  static bool cleaning = false;
  if (!cleaning) {
    cleaning = true;
    auto& steps = failure_cleanups();
    for (auto step = steps.rbegin(); step != steps.rend(); ++step)
      step->second();
  }
  std::_Exit(1); // Skip destructors: a wedged runtime must not hang the exit.
}

inline double median(std::vector<double> values) {
  if (values.empty())
    fail("median of no values");
  std::sort(values.begin(), values.end());
  auto middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

/// The value at quantile `q` (0..1) of `values` (nearest rank; sorts a copy).
inline double percentile(std::vector<double> values, double q) {
  if (values.empty())
    fail("percentile of no values");
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(q * static_cast<double>(values.size()));
  return values[std::min(rank, values.size() - 1)];
}

/// Whether a bigger value is better (rates) or a smaller one (times).
enum class better { higher, lower };

/// What the peer of a comparison is.
enum class peer_kind {
  /// What a user would pick instead (CAF, Asio, Redis, a mutex+condvar queue).
  alternative,
  /// A physical or hand-tuned floor a runtime cannot beat by design (raw
  /// epoll loops, spinning threads, a raw futex hand-off, blocking OpenSSL).
  limit,
};

/// Runs the sides of repetition `repetition` (from 0) of a comparison, each
/// once: in the order given in even repetitions and in the reverse order in
/// odd ones. With a fixed order the side that runs first would always meet
/// a machine the other had just left (a warm server and page cache, a CPU's
/// clock, the host's load drifting within the repetition), and the pairs'
/// ratios would carry that bias in one direction; reversing it every other
/// repetition gives each side the same mean position. Each side adds its
/// value to its own `side`, so run i of ours still pairs with run i of each
/// peer (report).
inline void in_turn(int repetition, std::initializer_list<std::function<void()>> sides) {
  if (repetition % 2 == 0) {
    for (const auto& each : sides)
      each();
  } else {
    for (auto each = std::rbegin(sides); each != std::rend(sides); ++each)
      (*each)();
  }
}

/// The runs of one side of a comparison: one value per run and, where its
/// threads spin or park, the CPU seconds of each run's measured span.
struct side {
  std::vector<double> values;
  std::vector<double> cpu_s;

  void add(double value) { values.push_back(value); }
  void add(double value, double cpu_seconds) {
    values.push_back(value);
    cpu_s.push_back(cpu_seconds);
  }
};

inline std::string format_value(double value) {
  char buffer[64];
  if (value >= 1000)
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
  else if (value >= 10)
    std::snprintf(buffer, sizeof buffer, "%.1f", value);
  else if (value >= 0.01 || value == 0)
    std::snprintf(buffer, sizeof buffer, "%.3f", value);
  else
    std::snprintf(buffer, sizeof buffer, "%.3g", value);
  return std::string{buffer};
}

/// Prints the one result line of a comparison of ours with one peer. The
/// runs of both sides are paired in order (run i of ours with run i of the
/// peer, made in the same repetition; see in_turn), so the ratio spread is
/// that of the pairs.
inline void report(std::string_view name, std::string_view unit, better direction, const side& ours,
                   std::string_view peer_name, peer_kind kind, const side& peer) {
  auto label = std::string{name};
  if (ours.values.empty() || ours.values.size() != peer.values.size())
    fail("%s: %zu runs of ours against %zu of the peer", label.c_str(), ours.values.size(),
         peer.values.size());
  if (ours.cpu_s.empty() != peer.cpu_s.empty())
    fail("%s: CPU time measured on one side only", label.c_str());
  std::vector<double> ratios;
  for (std::size_t run = 0; run < ours.values.size(); ++run) {
    double mine = ours.values[run];
    double theirs = peer.values[run];
    if (!(mine > 0) || !(theirs > 0))
      fail("%s: a non-positive measurement (ours=%g, peer=%g)", label.c_str(), mine, theirs);
    ratios.push_back(direction == better::higher ? mine / theirs : theirs / mine);
  }
  auto low = [](const std::vector<double>& values) {
    return *std::min_element(values.begin(), values.end());
  };
  auto high = [](const std::vector<double>& values) {
    return *std::max_element(values.begin(), values.end());
  };
  std::string line = label;
  line += ": ours=" + format_value(median(ours.values)) + " " + std::string{unit} + " peer(" +
          std::string{peer_name} + ")=" + format_value(median(peer.values)) + " " +
          std::string{unit} + " ratio=" + format_value(median(ratios));
  line += std::string{" peer_kind="} + (kind == peer_kind::alternative ? "alternative" : "limit");
  line += " runs=" + std::to_string(ratios.size());
  line += " ours_min=" + format_value(low(ours.values)) +
          " ours_max=" + format_value(high(ours.values));
  line += " peer_min=" + format_value(low(peer.values)) +
          " peer_max=" + format_value(high(peer.values));
  line += " ratio_min=" + format_value(low(ratios)) + " ratio_max=" + format_value(high(ratios));
  if (!ours.cpu_s.empty())
    line += " cpu_s_ours=" + format_value(median(ours.cpu_s)) +
            " cpu_s_peer=" + format_value(median(peer.cpu_s));
  line += "\n";
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
}

inline double seconds_between(bench_clock::time_point from, bench_clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

inline double nanoseconds_between(bench_clock::time_point from, bench_clock::time_point to) {
  return std::chrono::duration<double, std::nano>(to - from).count();
}

/// CPU time used by the whole process so far.
inline std::chrono::nanoseconds process_cpu_time() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

/// CPU time used by the whole process so far, exact even while other threads
/// are running: CLOCK_PROCESS_CPUTIME_ID leaves out what threads busy on other
/// CPUs used since their last scheduler tick (up to a few ms), whereas each
/// thread's own CPU clock includes it. Threads that exit are not counted, so
/// compare two readings only across a stretch in which no thread ends.
inline std::chrono::nanoseconds process_cpu_time_exact() {
  std::chrono::nanoseconds total{0};
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr)
    return process_cpu_time();
  while (dirent* entry = readdir(tasks)) {
    if (entry->d_name[0] == '.')
      continue;
    auto thread_id = static_cast<unsigned>(std::atoi(entry->d_name));
    // The kernel's encoding of a per-thread CPU clock: CPUCLOCK_SCHED (2) |
    // CPUCLOCK_PERTHREAD_MASK (4), with the inverted thread id above.
    auto clock_id = static_cast<clockid_t>((~thread_id << 3) | 6u);
    timespec used{};
    if (clock_gettime(clock_id, &used) == 0)
      total += std::chrono::seconds(used.tv_sec) + std::chrono::nanoseconds(used.tv_nsec);
  }
  closedir(tasks);
  return total;
}

/// Ids (tids) of this process's threads right now.
inline std::vector<pid_t> thread_ids() {
  std::vector<pid_t> result;
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr)
    fail("cannot list /proc/self/task");
  while (dirent* entry = readdir(tasks))
    if (entry->d_name[0] != '.')
      result.push_back(static_cast<pid_t>(std::atoi(entry->d_name)));
  closedir(tasks);
  std::sort(result.begin(), result.end());
  return result;
}

/// The threads in `after` that are not in `before` (both sorted).
inline std::vector<pid_t> threads_added(const std::vector<pid_t>& before,
                                        const std::vector<pid_t>& after) {
  std::vector<pid_t> result;
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::back_inserter(result));
  return result;
}

/// CPU time one thread of this process has used (0 once it has exited).
inline std::chrono::nanoseconds thread_cpu_time(pid_t thread_id) {
  // The kernel's encoding of a per-thread CPU clock: CPUCLOCK_SCHED (2) |
  // CPUCLOCK_PERTHREAD_MASK (4), with the inverted thread id above.
  auto clock_id = static_cast<clockid_t>((~static_cast<unsigned>(thread_id) << 3) | 6u);
  timespec used{};
  if (clock_gettime(clock_id, &used) != 0)
    return std::chrono::nanoseconds{0};
  return std::chrono::seconds(used.tv_sec) + std::chrono::nanoseconds(used.tv_nsec);
}

/// CPU seconds one side of a comparison uses during its measured span: the
/// whole process's CPU time over the span minus what the threads of the
/// *other* side used meanwhile (their per-thread CPU clocks), so the idle
/// threads of the side not being measured are not charged to this one. The
/// main thread and plain threads of the run are charged to the side being
/// measured.
/// The process's CPU time over the span is the larger of two deltas that can
/// each only fall short: getrusage(RUSAGE_SELF) user + system (counts threads
/// that end within the span, but lags by up to a scheduler tick for each
/// thread running on another CPU at the moment of reading) and the sum of
/// the per-thread CPU clocks of /proc/self/task (exact for threads alive at
/// both ends, blind to threads that end within the span).
class cpu_meter {
public:
  cpu_meter() = default;
  explicit cpu_meter(std::vector<pid_t> other_side) : other_side_(std::move(other_side)) {}

  void start() {
    start_usage_ = usage_time();
    start_exact_ = process_cpu_time_exact();
    start_other_ = other();
  }
  /// CPU seconds since `start`.
  [[nodiscard]] double stop() const {
    auto exact = process_cpu_time_exact() - start_exact_;
    auto usage = usage_time() - start_usage_;
    auto used = std::max(exact, usage) - (other() - start_other_);
    return std::max(0.0, std::chrono::duration<double>(used).count());
  }

private:
  static std::chrono::nanoseconds usage_time() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto micro = [](const timeval& value) {
      return std::chrono::seconds(value.tv_sec) + std::chrono::microseconds(value.tv_usec);
    };
    return micro(usage.ru_utime) + micro(usage.ru_stime);
  }
  std::chrono::nanoseconds other() const {
    std::chrono::nanoseconds sum{0};
    for (auto thread_id : other_side_)
      sum += thread_cpu_time(thread_id);
    return sum;
  }

  std::vector<pid_t> other_side_;
  std::chrono::nanoseconds start_usage_{0};
  std::chrono::nanoseconds start_exact_{0};
  std::chrono::nanoseconds start_other_{0};
};

/// The CPUs this process may use, ascending.
inline std::vector<unsigned> allowed_cpus() {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  std::vector<unsigned> result;
  if (sched_getaffinity(0, sizeof mask, &mask) != 0)
    fail("sched_getaffinity failed");
  for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &mask))
      result.push_back(cpu);
  if (result.empty())
    fail("no CPU allowed");
  return result;
}

/// Pins the calling thread to one CPU; fails loudly if the OS refuses.
inline void pin_this_thread(unsigned cpu) {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  CPU_SET(cpu, &mask);
  if (int failed = pthread_setaffinity_np(pthread_self(), sizeof mask, &mask); failed != 0)
    fail("pinning a thread to CPU %u failed (error %d)", cpu, failed);
}

/// Where the two ends of a client/server comparison run, alike for every
/// side: every client end on `client_cpu`, every server end on `server_cpu`
/// (equal when only one CPU is allowed).
struct placement {
  unsigned client_cpu = 0;
  unsigned server_cpu = 0;
};

/// Client ends on the first allowed CPU, server ends on the last, so that
/// every exchange crosses threads and CPUs; says so when only one is allowed.
inline placement client_server_placement() {
  auto cpus = allowed_cpus();
  placement where{cpus.front(), cpus.back()};
  if (where.client_cpu == where.server_cpu)
    comment("NOTE: only CPU %u is allowed, so client and server ends share it", where.client_cpu);
  return where;
}

/// An engine of one default scheduler thread and one I/O worker, the worker
/// pinned to `cpu` when one is given. Pinned, ours gets the placement above
/// from two of them, a server engine and a client engine (a client
/// connection can name its worker, connection_options::io_worker, but a
/// server spreads the sockets it accepts over its engine's workers round
/// robin; with one pool of two workers the ends of a connection would share
/// a worker or not by turns). Nothing else runs there, so one idle default
/// worker is enough.
inline std::unique_ptr<actorloop::runtime::engine>
engine_with_one_io_worker(std::optional<unsigned> cpu) {
  actorloop::runtime::engine_options options;
  options.default_threads = 1;
  auto result = std::make_unique<actorloop::runtime::engine>(options);
  actorloop::netio::io_pool_options pool;
  pool.workers = 1;
  if (cpu)
    pool.cpus = actorloop::runtime::cpu_set{*cpu};
  actorloop::netio::start_io_workers(*result, pool);
  return result;
}

/// Whether ACTORLOOP_BENCH_ONLY (a comma-separated list of comparison names)
/// is unset or names `name`: a profile (perf record, valgrind
/// --tool=callgrind) then covers only the comparisons it names.
inline bool selected(std::string_view name) {
  const char* only = std::getenv("ACTORLOOP_BENCH_ONLY");
  if (only == nullptr || *only == '\0')
    return true;
  std::string_view list{only};
  while (!list.empty()) {
    auto comma = list.find(',');
    if (list.substr(0, comma) == name)
      return true;
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

/// A separate CAF actor system for the peer side. `max_threads` = 0 keeps
/// CAF's default scheduler (work stealing, max(4, cores) workers); pass our
/// side's thread count for a like-for-like comparison. Its threads inherit
/// the main thread's timer slack (set in parse_arguments).
class caf_peer_system {
public:
  explicit caf_peer_system(std::size_t max_threads = 0) {
    if (max_threads > 0)
      config_.set("scheduler.max-threads", static_cast<int64_t>(max_threads));
    auto before = thread_ids();
    system_ = std::make_unique<caf::actor_system>(config_);
    threads_ = threads_added(before, thread_ids());
  }
  caf::actor_system& get() { return *system_; }
  /// The threads this system started (for cpu_meter of the other side).
  [[nodiscard]] const std::vector<pid_t>& threads() const { return threads_; }

private:
  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  std::vector<pid_t> threads_;
};

/// Records the threads that a block of code starts: construct before,
/// call `take` after.
class thread_watch {
public:
  thread_watch() : before_(thread_ids()) {}
  [[nodiscard]] std::vector<pid_t> take() const { return threads_added(before_, thread_ids()); }

private:
  std::vector<pid_t> before_;
};

/// Number of threads of this process right now (from /proc).
inline std::size_t process_thread_count() {
  std::FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr)
    return 0;
  char line[256];
  std::size_t threads = 0;
  while (std::fgets(line, sizeof line, status) != nullptr)
    if (std::sscanf(line, "Threads: %zu", &threads) == 1)
      break;
  std::fclose(status);
  return threads;
}

} // namespace bench
