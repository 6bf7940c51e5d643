#pragma once
/// @file
/// Schedulers: named groups of worker threads that run applets.
///
/// A scheduler with one thread is Open Files' run-loop: its applets never run
/// at the same time, so their callbacks need no locks. A scheduler may pin its
/// threads to a CPU set and give them a thread priority. Schedulers live inside
/// CAF's scheduling: the engine installs a coordinator that routes every applet
/// (a CAF actor) to its own scheduler's workers, including messages sent from
/// another scheduler's thread, so affinity holds (CAF alone would run the
/// receiver on the sender's worker).
///
/// Thread safety of `scheduler` (a handle): distinct objects: safe. Shared
/// objects: safe. `stop` must not be called from the scheduler's own threads.

#include <actorloop/runtime/clock.hpp>
#include <actorloop/runtime/error.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace actorloop::runtime {

namespace detail {
class scheduler_group;
struct access;
} // namespace detail

/// A set of CPU numbers, as given to `pthread_setaffinity_np`.
class cpu_set {
public:
  cpu_set() = default;
  cpu_set(std::initializer_list<unsigned> cpus);
  /// Parses "0", "0,2", "0-3", "0-1,4". Throws `errc::bad_configuration`.
  [[nodiscard]] static cpu_set parse(std::string_view text);
  /// The CPUs this process may run on now (`sched_getaffinity`).
  [[nodiscard]] static cpu_set allowed();

  void add(unsigned cpu);
  [[nodiscard]] bool contains(unsigned cpu) const noexcept;
  [[nodiscard]] bool empty() const noexcept { return cpus_.empty(); }
  [[nodiscard]] const std::vector<unsigned>& cpus() const noexcept { return cpus_; }
  /// "0-1,4" style.
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const cpu_set&, const cpu_set&) = default;

private:
  std::vector<unsigned> cpus_; // sorted, unique
};

/// A thread priority. `normal` and `batch` take a nice value (-20..19; below
/// the current nice needs CAP_SYS_NICE); `fifo` and `round_robin` are the
/// real-time policies and take 1..99 (they need CAP_SYS_NICE or an RLIMIT_RTPRIO).
struct thread_priority {
  enum class policy { normal, batch, idle, fifo, round_robin };
  policy kind = policy::normal;
  int value = 0;

  [[nodiscard]] static thread_priority nice(int value) { return {policy::normal, value}; }
  [[nodiscard]] static thread_priority fifo(int value) { return {policy::fifo, value}; }
  [[nodiscard]] static thread_priority round_robin(int value) {
    return {policy::round_robin, value};
  }
  /// Parses "nice:5", "batch:0", "idle", "fifo:10", "rr:10".
  [[nodiscard]] static thread_priority parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const thread_priority&, const thread_priority&) = default;
};

/// How to build a scheduler.
struct scheduler_options {
  /// Unique name; letters, digits, '_', '-' and '.'.
  std::string name{};
  /// Worker threads (1 = an Open Files run-loop).
  std::size_t threads = 1;
  /// CPUs the workers are pinned to; empty = no pinning.
  cpu_set cpus{};
  /// Thread priority of the workers; empty = inherit.
  std::optional<thread_priority> priority{};
  /// How long an idle worker spins before it parks. Zero (the default) parks
  /// at once. Spinning cuts a cross-scheduler wake from about 50 µs (the cost
  /// of a futex wake on a VM) to about 1 µs, at the price of burning up to
  /// this much CPU after every burst of work (see docs/runtime.md).
  duration spin{0};
  /// Messages an applet may handle per turn before the next applet on the same
  /// worker gets one, and fired waitables it may dispatch per message (1
  /// gives Open Files' round-robin between ready applets; more lets an applet
  /// take a batch of completions in one turn).
  std::size_t throughput = 1;

  /// Parses one scheduler, e.g. "io:threads=1:cpus=0:priority=fifo/10:spin=20us".
  /// Keys: threads, cpus, priority (nice/N, batch/N, idle, fifo/N, rr/N),
  /// spin (ns, us, ms), throughput. Throws `errc::bad_configuration`.
  [[nodiscard]] static scheduler_options parse(std::string_view text);
  /// Parses a ';'-separated list of schedulers.
  [[nodiscard]] static std::vector<scheduler_options> parse_list(std::string_view text);
  [[nodiscard]] std::string to_string() const;
};

/// Counters of one scheduler. All counts are since the scheduler started.
struct scheduler_stats {
  std::string name;
  std::size_t threads = 0;
  /// Applet events dispatched (postselect calls, chained ones included).
  std::uint64_t events_dispatched = 0;
  /// Actor turns run by the workers.
  std::uint64_t turns = 0;
  /// Jobs waiting in the run queue right now.
  std::size_t queue_depth = 0;
  /// Timers waiting in the scheduler's timer heap right now.
  std::size_t timers_pending = 0;
  /// Time the workers spent working (not parked or spinning), summed over workers.
  duration busy_time{0};
  /// Time since the scheduler started.
  duration uptime{0};
  /// Live applets.
  std::size_t applets = 0;
  /// The backend of this scheduler's file operations: "uring" or "threads"
  /// ("" before its first one; see file.hpp).
  std::string file_io;
  /// File operations in this scheduler's io_uring ring right now.
  std::size_t file_operations_in_flight = 0;
};

/// A handle to a scheduler owned by an `engine`.
class scheduler {
public:
  scheduler() = default;
  explicit scheduler(std::shared_ptr<detail::scheduler_group> group) noexcept;

  [[nodiscard]] explicit operator bool() const noexcept { return group_ != nullptr; }
  [[nodiscard]] const std::string& name() const;
  [[nodiscard]] const scheduler_options& options() const;
  [[nodiscard]] scheduler_stats stats() const;
  /// The worker threads' ids.
  [[nodiscard]] std::vector<std::thread::id> thread_ids() const;
  /// The worker threads' kernel thread ids (for /proc and sched_getaffinity).
  [[nodiscard]] std::vector<int> native_thread_ids() const;
  /// True when the calling thread is one of this scheduler's workers.
  [[nodiscard]] bool runs_this_thread() const;
  /// Live applets on it.
  [[nodiscard]] std::size_t applet_count() const;
  /// True when no applet remains (the original's `ofc_sched_empty`).
  [[nodiscard]] bool empty() const { return applet_count() == 0; }
  /// A significant event: every applet on it re-runs preselect promptly
  /// (the original's `ofc_sched_wake`). Any thread.
  void wake();
  /// Destroys every applet on it (each `destroy` callback runs on this
  /// scheduler's thread and every waiter is notified), then joins the worker
  /// threads. Blocks until done. Idempotent. Throws `wrong_thread` if called
  /// from one of its own workers.
  void stop();
  [[nodiscard]] bool stopped() const;

  friend bool operator==(const scheduler& lhs, const scheduler& rhs) noexcept {
    return lhs.group_ == rhs.group_;
  }

private:
  friend struct detail::access;
  [[nodiscard]] detail::scheduler_group& checked_group() const;
  std::shared_ptr<detail::scheduler_group> group_;
};

} // namespace actorloop::runtime
