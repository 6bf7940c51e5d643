#pragma once
/// @file
/// The I/O workers of an engine. Each I/O worker is a one-thread actorloop
/// scheduler ("io.0", "io.1", ...) whose thread parks in epoll instead of on a
/// futex, plus one CAF actor on it that receives commands through its mailbox.
/// Every socket belongs to exactly one I/O worker: its readiness handlers,
/// protocol decoding and async-mode callbacks all run on that worker's thread,
/// one after another. Connections are spread across the workers round robin.
///
/// Thread safety: distinct objects: safe. Shared objects: safe (the pool is
/// created once per engine and then only read).

#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/scheduler.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace actorloop::netio {

struct io_pool_options {
  /// Number of I/O workers (at least 1).
  std::size_t workers = 1;
  /// CPUs to pin to. Worker i is pinned to the i-th CPU of the set (modulo
  /// its size); empty = no pinning.
  runtime::cpu_set cpus;
  /// Thread priority of every worker; empty = inherit.
  std::optional<runtime::thread_priority> priority;
  /// How long an idle worker keeps polling its sockets and its mailbox
  /// (`epoll_wait` with a zero timeout, in a loop) before it sleeps in
  /// `epoll_wait`. Zero (the default) sleeps at once. A worker that spins
  /// is on its CPU for up to this long after its last work, every time it
  /// goes idle: readiness that comes within the spin is handled without a
  /// wake-up (the sender's kernel then has no sleeping thread to wake, and
  /// the worker no switch back in), which pays where a peer streams data a
  /// little slower than the worker consumes it, at the price of that CPU
  /// time. A timer due within the spin ends it.
  runtime::duration spin{0};

  /// Parses "workers=2:cpus=0-1:priority=fifo/10:spin=50us" (every part
  /// optional; spin takes ns, us or ms as `scheduler_options::parse` does).
  /// Throws `netio::error` with `errc::bad_configuration` naming the part.
  [[nodiscard]] static io_pool_options parse(std::string_view text);
};

/// Statistics of one I/O worker.
struct io_worker_stats {
  std::string name;                    ///< "io.0"
  std::size_t sockets = 0;             ///< sockets registered now
  std::uint64_t readiness_events = 0;  ///< epoll events handled
  std::uint64_t commands = 0;          ///< mailbox commands run
  /// Readiness-interest changes of registered sockets (epoll_ctl
  /// EPOLL_CTL_MOD calls): a socket's interest changes only when reading
  /// pauses or resumes or a write comes up short, not per message.
  std::uint64_t interest_changes = 0;
  std::thread::id thread;              ///< the worker's thread
  /// The actorloop scheduler the worker runs as (`engine::get_scheduler`
  /// finds it by this name; today the same as `name`).
  std::string scheduler;
  /// The worker thread's kernel thread id (for /proc, `top -H`,
  /// sched_getaffinity), so a user can check where I/O runs.
  int native_thread = 0;
  /// With `io_pool_options::spin`: the times the worker went idle and
  /// spun, and how many of those spins found readiness or a command before
  /// they ran out (the rest ended in a sleep, or at a timer).
  std::uint64_t spins = 0;
  std::uint64_t spins_found_work = 0;
};

/// Starts the engine's I/O workers with `options`. Call at most once, before
/// anything else uses the network; otherwise the first use starts them with
/// the options from the engine configuration key `actorloop.io`
/// (`--actorloop.io=workers=2:cpus=0-1`), or one unpinned worker.
/// Throws `errc::invalid_argument` if the workers were started already.
void start_io_workers(runtime::engine& engine, const io_pool_options& options);

/// Number of I/O workers (starting them with the defaults if needed).
[[nodiscard]] std::size_t io_worker_count(runtime::engine& engine);

/// Statistics of every I/O worker, in index order.
[[nodiscard]] std::vector<io_worker_stats> io_worker_statistics(runtime::engine& engine);

/// True when the calling thread is one of the engine's I/O workers.
[[nodiscard]] bool on_io_worker(runtime::engine& engine);

} // namespace actorloop::netio
