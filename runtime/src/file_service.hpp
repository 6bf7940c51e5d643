#pragma once
// Per-engine file I/O state: which backend runs (from --actorloop.file-io and
// what the kernel allows), the blocking I/O thread pool, and the routing of
// each new operation to a backend.

#include "file_operation.hpp"

#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/scheduler.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace actorloop::runtime::detail {

class file_ring;
class file_threads;

/// The `actorloop.file-io` setting.
enum class file_io_mode { automatic, uring, threads };

/// Parses "", "auto", "uring" or "threads"; throws `errc::bad_configuration`
/// naming the text otherwise.
[[nodiscard]] file_io_mode parse_file_io(const std::string& text);

/// Whether io_uring can be used here; on false, `reason` says why
/// (ENOSYS, EPERM, kernel.io_uring_disabled, missing features). Probed once
/// per process.
[[nodiscard]] bool uring_available(std::string& reason);

class file_service {
public:
  /// The engine's service, created on first use. Throws like `file::open`
  /// when the configured backend cannot run.
  [[nodiscard]] static std::shared_ptr<file_service> of(engine& owner);

  file_service(engine& owner, file_io_mode mode);
  file_service(const file_service&) = delete;
  file_service& operator=(const file_service&) = delete;
  ~file_service();

  /// The backend for an operation started on the calling thread: the
  /// caller's own scheduler's ring, the default scheduler's ring for plain
  /// threads and I/O schedulers, or the thread pool. Null once the engine is
  /// gone.
  [[nodiscard]] std::shared_ptr<file_backend> backend_for_caller();

  /// Every scheduler's ring, created if need be (I/O schedulers have none);
  /// empty with the thread pool or once the engine is gone.
  [[nodiscard]] std::vector<std::shared_ptr<file_ring>> rings();

  /// Whether operations run on io_uring rings (else the thread pool).
  [[nodiscard]] bool uses_uring() const noexcept { return use_uring_; }

  /// The engine is going away: no new operations; the pool finishes its
  /// queue and its threads end.
  void shutdown() noexcept;

private:
  std::shared_ptr<file_backend> threads_locked(scheduler_group* group);

  const engine* const home_;           // the engine, for the lock-free hot path
  std::atomic<bool> shut_{false};      // shutdown() began
  std::mutex mutex_;
  engine* owner_;
  bool use_uring_;
  scheduler default_;
  std::shared_ptr<file_threads> threads_;
};

} // namespace actorloop::runtime::detail
