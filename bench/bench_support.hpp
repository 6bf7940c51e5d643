#pragma once
// Shared helpers of the benchmarks: --quick parsing, medians, the result line
// that bench/run collects, commentary lines, loud failure, CPU pinning and a
// CAF actor system configured from code.
//
// Result line contract (one per comparison):
//   <name>: ours=<value> <unit> peer(<peer name>)=<value> <unit> ratio=<r>
// where r > 1 means ours is ahead. Every other line is commentary and starts
// with "# " so it can never be mistaken for a result.

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <dirent.h>
#include <memory>
#include <pthread.h>
#include <sched.h>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace bench {

using bench_clock = std::chrono::steady_clock;

/// Command-line settings common to every benchmark.
struct settings {
  bool quick = false;
  /// Repetitions per side: 3 with --quick, 5 otherwise.
  int repetitions = 5;
};

inline settings parse_arguments(int argc, char** argv) {
  settings result;
  for (int index = 1; index < argc; ++index) {
    std::string_view argument{argv[index]};
    if (argument == "--quick") {
      result.quick = true;
    } else {
      std::fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
      std::exit(2);
    }
  }
  result.repetitions = result.quick ? 3 : 5;
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

/// Reports a broken benchmark (counts that do not add up, a timeout) and ends
/// the process with a non-zero status, so bench/run fails loudly.
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

/// Prints the one result line of a comparison.
inline void report(std::string_view name, double ours, std::string_view unit,
                   std::string_view peer_name, double peer, better direction) {
  if (!(ours > 0) || !(peer > 0))
    fail("%.*s: a non-positive measurement (ours=%g, peer=%g)", static_cast<int>(name.size()),
         name.data(), ours, peer);
  double ratio = direction == better::higher ? ours / peer : peer / ours;
  auto format = [](double value) {
    char buffer[64];
    if (value >= 1000)
      std::snprintf(buffer, sizeof buffer, "%.0f", value);
    else if (value >= 10)
      std::snprintf(buffer, sizeof buffer, "%.1f", value);
    else
      std::snprintf(buffer, sizeof buffer, "%.3f", value);
    return std::string{buffer};
  };
  std::string line{name};
  line += ": ours=" + format(ours) + " " + std::string{unit} + " peer(" + std::string{peer_name} +
          ")=" + format(peer) + " " + std::string{unit} + " ratio=" + format(ratio) + "\n";
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

/// A separate CAF actor system for the peer side. `max_threads` = 0 keeps
/// CAF's default scheduler (work stealing, max(4, cores) workers).
class caf_peer_system {
public:
  explicit caf_peer_system(std::size_t max_threads = 0) {
    if (max_threads > 0)
      config_.set("scheduler.max-threads", static_cast<int64_t>(max_threads));
    system_ = std::make_unique<caf::actor_system>(config_);
  }
  caf::actor_system& get() { return *system_; }

private:
  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
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
