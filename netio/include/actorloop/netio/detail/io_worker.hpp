#pragma once
// One I/O worker: an epoll poller that a one-thread actorloop scheduler parks
// in, and a CAF actor on that scheduler whose mailbox carries commands.
// Internal (namespace netio::detail): shared by netio and the pg module,
// which hosts its connections on the same core; not a stable API.

#include <actorloop/netio/io_pool.hpp>
#include <actorloop/runtime/detail/group_access.hpp>
#include <actorloop/runtime/engine.hpp>

#include <caf/actor.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace actorloop::netio::detail {

/// Something registered for readiness on an I/O worker. `on_io` runs on the
/// worker's thread only.
class io_handler {
public:
  virtual ~io_handler() = default;
  virtual void on_io(std::uint32_t epoll_events) noexcept = 0;
  /// The worker is stopping: release the socket (the handler may be destroyed
  /// right after). Runs on the worker's thread.
  virtual void on_worker_stopping() noexcept {}
};

class io_worker final : public runtime::detail::idle_poller,
                        public runtime::detail::group_member {
public:
  io_worker(runtime::engine& engine, std::size_t index);
  ~io_worker() override;
  io_worker(const io_worker&) = delete;
  io_worker& operator=(const io_worker&) = delete;

  /// Creates the scheduler and the worker actor.
  void start(const io_pool_options& options);

  // -- idle_poller (the worker's thread, except wake) ---------------------------
  void wait(const runtime::time_point* deadline) noexcept override;
  void poll_ready() noexcept override;
  void wake() noexcept override;

  // -- group_member -------------------------------------------------------------
  void request_shutdown() noexcept override;
  void request_preselect() noexcept override {}

  // -- registration (the worker's thread) ----------------------------------------
  [[nodiscard]] std::error_code add(int fd, std::uint32_t events, io_handler& handler);
  [[nodiscard]] std::error_code modify(int fd, std::uint32_t events, io_handler& handler);
  void remove(int fd, io_handler& handler) noexcept;

  /// Runs `command` on the worker's thread, after the commands posted before
  /// it. Returns false (and drops nothing: `command` is not run) once the
  /// worker stopped.
  bool post(std::function<void()> command);
  /// Like `post`, but runs `command` at once when called on the worker's thread.
  bool run_or_post(std::function<void()> command);
  /// Runs the commands in the mailbox (the worker actor's message handler).
  void drain_commands();

  [[nodiscard]] bool on_this_thread() const noexcept {
    return std::this_thread::get_id() == thread_id_.load(std::memory_order_acquire);
  }
  [[nodiscard]] std::thread::id thread_id() const noexcept { return thread_id_.load(); }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] runtime::engine& engine() const noexcept { return engine_; }
  [[nodiscard]] io_worker_stats stats() const;
  /// Calls `target` on this worker's thread once `deadline` is reached
  /// (the worker scheduler's timer heap); nothing if it is gone by then.
  /// The one place netio reaches into the runtime's scheduler internals.
  void schedule_deadline(runtime::time_point deadline,
                         std::weak_ptr<runtime::detail::deadline_target> target);
  [[nodiscard]] bool stopping() const noexcept { return stopping_.load(); }

  /// Lends the worker's receive buffer, of at least `bytes`, to one read and
  /// the delivery of what it read (the worker's thread only): every socket
  /// of the worker reads into the same memory, which stays in the CPU's
  /// cache, instead of into a buffer of its own per connection. nullptr when
  /// it is lent already (a read nested inside another's delivery) or when
  /// called on another thread: the caller then reads into a buffer of its
  /// own. Give it back with `return_read_buffer`.
  [[nodiscard]] std::byte* borrow_read_buffer(std::size_t bytes);
  void return_read_buffer() noexcept { read_buffer_lent_ = false; }

private:
  /// One epoll_wait and the handling of what it returned; the number of
  /// events (0 on timeout, negative on failure, e.g. EINTR).
  int dispatch(int timeout_milliseconds) noexcept;
  /// Polls (`dispatch(0)`) until something is ready, `spin_` has passed or
  /// `deadline` (if any) is reached; true if something was ready.
  bool spin_before_sleep(const runtime::time_point* deadline) noexcept;

  runtime::engine& engine_;
  const std::size_t index_;
  const std::string name_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<std::thread::id> thread_id_{};
  std::atomic<int> native_thread_id_{0};
  std::optional<runtime::scheduler> scheduler_;
  std::unique_ptr<std::byte[]> read_buffer_;
  std::size_t read_buffer_bytes_ = 0;
  bool read_buffer_lent_ = false;
  caf::actor actor_;

  // Handlers registered now; a handler removed during a dispatch batch is
  // skipped for the rest of that batch (its memory may be gone).
  std::unordered_set<io_handler*> handlers_;
  std::unordered_set<io_handler*> removed_in_batch_;
  bool dispatching_ = false;

  std::mutex mailbox_mutex_;
  std::vector<std::function<void()>> mailbox_;
  bool doorbell_rung_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};

  std::atomic<std::uint64_t> readiness_events_{0};
  std::atomic<std::uint64_t> commands_{0};
  std::atomic<std::uint64_t> interest_changes_{0};
  runtime::duration spin_{0}; // set by start, before the thread runs
  std::atomic<std::uint64_t> spins_{0};
  std::atomic<std::uint64_t> spins_found_work_{0};
  std::atomic<std::size_t> socket_count_{0};
};

/// The engine's I/O workers (an engine extension, created on first use).
class io_pool {
public:
  explicit io_pool(runtime::engine& engine) : engine_(engine) {}
  void start(const io_pool_options& options);
  [[nodiscard]] bool started() const noexcept { return started_.load(); }
  /// The next worker in round-robin order.
  [[nodiscard]] io_worker& next_worker();
  /// Same, as a shared reference (for objects that may outlive the pool's
  /// other users, such as resolver callbacks).
  [[nodiscard]] std::shared_ptr<io_worker> next_shared_worker();
  [[nodiscard]] io_worker& worker(std::size_t index) { return *workers_.at(index); }
  /// Worker `index` as a shared reference; throws netio::error
  /// (errc::invalid_argument) naming `index` and the pool's size when the
  /// pool has no such worker. `what` names the caller's setting.
  [[nodiscard]] std::shared_ptr<io_worker> shared_worker(std::size_t index, const char* what);
  [[nodiscard]] std::size_t size() const noexcept { return workers_.size(); }
  /// The worker whose thread is the caller, or nullptr.
  [[nodiscard]] io_worker* current() const noexcept;

private:
  runtime::engine& engine_;
  std::mutex mutex_;
  std::atomic<bool> started_{false};
  std::vector<std::shared_ptr<io_worker>> workers_;
  std::atomic<std::size_t> next_{0};
};

/// The engine's pool, started with the configured defaults on first use.
[[nodiscard]] io_pool& pool_of(runtime::engine& engine);


} // namespace actorloop::netio::detail
