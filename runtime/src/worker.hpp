#pragma once
// One worker thread of a scheduler group: the CAF execution unit it runs
// actors on, its own run queue of applets spawned on it, and its loop (run
// queues, stealing, timers, spinning, parking).

#include <actorloop/runtime/clock.hpp>
#include <actorloop/runtime/detail/group_access.hpp>

#include <caf/execution_unit.hpp>
#include <caf/resumable.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace actorloop::runtime::detail {

class scheduler_group;

/// The clock of idle-time accounting, in nanoseconds.
inline std::int64_t now_nanoseconds() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch())
    .count();
}

/// One worker thread of a group. It is the CAF execution unit that actors run
/// on, so CAF's "run the receiver on the sender's worker" shortcut comes back
/// to `exec_later`, where we route by the receiver's group instead.
class worker final : public caf::execution_unit {
public:
  worker(scheduler_group& group, std::size_t index);
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;
  ~worker() override;

  void exec_later(caf::resumable* job) override;

  /// The execution unit that launches an actor spawned on this worker's
  /// thread: its first turn goes to this worker's own queue (see
  /// `spawn_placement` in group_access.hpp and docs/runtime.md).
  [[nodiscard]] caf::execution_unit& placement() noexcept { return placement_; }

  /// Starts the thread. The thread fulfils `ready` once it has applied its
  /// pinning and priority: with an empty code, or with the error (and
  /// `failure_text` describing it).
  void start(std::promise<std::error_code>& ready, std::string& failure_text);
  void join();

  [[nodiscard]] scheduler_group& group() const noexcept { return group_; }
  [[nodiscard]] std::thread::id thread_id() const noexcept { return thread_id_; }
  [[nodiscard]] int native_id() const noexcept { return native_id_.load(); }
  /// Nanoseconds spent parked or spinning, including a current idle stretch.
  [[nodiscard]] std::int64_t idle_nanoseconds(std::int64_t now) const noexcept;

private:
  friend class scheduler_group;
  friend class coordinator;

  /// Launches an actor onto its worker's own queue (see `placement`).
  class local_placement final : public caf::execution_unit {
  public:
    explicit local_placement(worker& owner);
    void exec_later(caf::resumable* job) override;

  private:
    worker& owner_;
  };

  void run(std::promise<std::error_code>& ready, std::string& failure_text);
  std::error_code configure_thread(std::string& failure_text);

  // -- the worker's own queue -------------------------------------------------
  // Filled only by this worker's thread (applets spawned here); emptied by it
  // from the front and by idle siblings that steal its older half.
  void push_local(caf::resumable* job);
  caf::resumable* pop_local();
  /// Moves the older half (at least one) of this worker's queue into
  /// `thief`'s queue and returns the first of them; nullptr if empty.
  caf::resumable* steal_into(worker& thief);

  scheduler_group& group_;
  std::size_t index_;
  std::thread thread_;
  std::thread::id thread_id_;
  std::atomic<int> native_id_{0};
  std::atomic<std::int64_t> idle_nanoseconds_{0};
  std::atomic<std::int64_t> idle_since_{0}; // 0 while working
  std::vector<std::weak_ptr<deadline_target>> due_;
  // Set while this worker fires due timers: its pushes of the jobs they make
  // ready wake no sibling (it takes the first itself right after; see run).
  // Atomic only because route() reads it through the sending unit.
  std::atomic<bool> quiet_pushes_{false};
  // Parking: the worker sleeps on this futex word; a waker bumps it. Cheaper
  // than a condition variable (no second mutex hand-off on wake).
  std::atomic<std::uint32_t> wake_word_{0};
  // Jobs run since the I/O poller (if any) last looked at its sockets.
  unsigned jobs_since_poll_ = 0;
  unsigned jobs_since_file_submit_ = 0;
  bool parked_ = false; // guarded by the group mutex
  // Woken to look for work in its siblings' queues and not yet found any
  // (see scheduler_group::searching_).
  std::atomic<bool> searching_{false};
  // Jobs taken in a row from the own queue while the shared one had work.
  unsigned local_streak_ = 0;
  std::mutex local_mutex_;
  std::deque<caf::resumable*> local_;
  // local_.size(), for lock-free looks by siblings, spinners and the owner;
  // seq_cst against the group's idle count (see push_local and the parking).
  std::atomic<std::size_t> local_size_{0};
  std::vector<caf::resumable*> stolen_; // steal_into's scratch, thief's thread only
  local_placement placement_;
  // Parked as the group's io_uring keeper: wakers post a NOP, not a futex wake.
  std::atomic<bool> parked_in_ring_{false};
};

} // namespace actorloop::runtime::detail
