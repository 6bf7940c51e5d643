#pragma once
// A scheduler's worker group: its workers, one shared run queue (plus each
// worker's own queue of applets spawned on it), one timer heap, parking, and
// the applets (members) that live on it.

#include "file_ring.hpp"
#include "worker.hpp"

#include <actorloop/runtime/detail/group_access.hpp>
#include <actorloop/runtime/scheduler.hpp>

#include <caf/resumable.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace actorloop::runtime::detail {

class coordinator;

void validate(const scheduler_options& options);

/// A named group of workers with one shared run queue and one timer heap.
class scheduler_group : public std::enable_shared_from_this<scheduler_group> {
public:
  scheduler_group(coordinator& owner, scheduler_options options,
                  std::shared_ptr<idle_poller> poller = nullptr);
  scheduler_group(const scheduler_group&) = delete;
  scheduler_group& operator=(const scheduler_group&) = delete;
  ~scheduler_group();

  /// Starts the workers; throws (leaving no thread behind) on failure.
  void start();

  /// Queues a job. `from_own_worker` skips waking a sibling when the only
  /// worker is the caller; `quiet` (only with from_own_worker) skips it
  /// for a job that finds the queue empty: the calling worker is firing
  /// timers and runs that job itself next (worker::run). Returns false once
  /// the workers have stopped.
  bool push(caf::resumable* job, bool from_own_worker, bool quiet = false);
  /// Queues a job on `self`'s own queue; only `self`'s thread calls this
  /// (applets spawned there, see worker::placement). Wakes a parked sibling
  /// to come and steal unless one is already looking for work.
  void push_local(caf::resumable* job, worker& self);

  /// scheduler::stop: destroys members, then stops the workers.
  void stop();
  /// Only kills members and waits for them (the default group keeps its
  /// workers for plain CAF actors until CAF shuts down).
  void shutdown_members();
  /// Stops and joins the workers; jobs still queued are handed back.
  void stop_workers();

  [[nodiscard]] const scheduler_options& options() const noexcept { return options_; }
  [[nodiscard]] coordinator& owner() const noexcept { return owner_; }
  [[nodiscard]] bool stopped() const;
  [[nodiscard]] scheduler_stats stats() const;
  [[nodiscard]] std::vector<std::thread::id> thread_ids() const;
  [[nodiscard]] std::vector<int> native_thread_ids() const;
  [[nodiscard]] std::size_t member_count() const;
  void wake_members();

  std::error_code attach(group_member& member);
  void detach(group_member& member) noexcept;
  void add_deadline(time_point deadline, std::weak_ptr<deadline_target> target);
  void count_dispatch() noexcept { events_dispatched_.fetch_add(1, std::memory_order_relaxed); }

  /// File I/O: the group's io_uring ring (see file_ring.hpp).
  [[nodiscard]] file_ring_slot& file_slot() noexcept { return files_; }
  [[nodiscard]] bool polled() const noexcept { return poller_ != nullptr; }
  /// Wakes one parked worker so it becomes the ring keeper.
  void wake_for_files() noexcept;

  /// Wakes `sleeper` (taken off its group's parked list by the caller)
  /// without consulting deferred_wakes: for that scope's end.
  static void wake_now(worker* sleeper) noexcept;

private:
  friend class worker;
  // Set for I/O schedulers: the worker parks in it instead of on its futex.
  std::shared_ptr<idle_poller> poller_;

  /// Takes one parked worker off the list (mutex held); wake it after unlocking.
  worker* unpark_one_locked() noexcept;
  /// Like `unpark_one_locked`, preferring the worker that watches the timers.
  worker* unpark_for_timers_locked() noexcept;
  /// Wakes `sleeper` (nullptr: nobody), or leaves that to the end of a
  /// deferred_wakes scope on this thread (see thread_context.hpp).
  static void wake(worker* sleeper) noexcept;
  /// Keeps `idle_workers_` equal to parked_.size() (mutex held).
  void note_parked_locked() noexcept {
    idle_workers_.store(parked_.size(), std::memory_order_seq_cst);
  }
  /// Keeps `next_deadline_` equal to the heap's earliest deadline (mutex held).
  void note_timers_locked() noexcept {
    next_deadline_.store(timers_.empty() ? std::numeric_limits<std::int64_t>::max()
                                         : timers_.top().deadline.time_since_epoch().count(),
                         std::memory_order_relaxed);
  }
  /// True if the earliest timer is due (a clock read only while timers are
  /// pending); lock-free, for the own-queue fast path.
  [[nodiscard]] bool timer_due() const noexcept {
    auto next = next_deadline_.load(std::memory_order_relaxed);
    return next != std::numeric_limits<std::int64_t>::max() &&
           clock::now().time_since_epoch().count() >= next;
  }
  /// True if a sibling of `self` has jobs in its own queue.
  [[nodiscard]] bool siblings_have_local_work(const worker& self) const noexcept;
  /// Steals from the first sibling (after `thief` in order) with jobs in its
  /// own queue; the first stolen job, or nullptr.
  caf::resumable* steal_for(worker& thief);
  /// A searching worker found work (or parks): it no longer counts as one;
  /// if it was the last and more own-queue work waits, wake another.
  void stop_searching(worker& self, bool found_work);
  /// Wakes one parked worker to steal from the own queues, unless a worker
  /// searches already (push_local and the search hand-off of stop_searching).
  void wake_searcher();

  struct timer_entry {
    time_point deadline;
    std::weak_ptr<deadline_target> target;
    bool operator>(const timer_entry& other) const noexcept { return deadline > other.deadline; }
  };

  coordinator& owner_;
  const scheduler_options options_;
  const time_point started_;

  // Run queue, timer heap and parking, all under one mutex.
  mutable std::mutex mutex_;
  std::deque<caf::resumable*> queue_;
  std::atomic<std::size_t> queued_{0}; // lock-free view of queue_.size() for spinners
  std::priority_queue<timer_entry, std::vector<timer_entry>, std::greater<>> timers_;
  std::vector<worker*> parked_; // workers asleep, most recent last
  // Lock-free views for the own-queue fast paths: parked_.size(); workers
  // woken to steal that have not found work yet (a push to an own queue
  // wakes a parked worker only when none is searching, so a stream of
  // spawns costs one wake, not one per spawn); the earliest timer deadline
  // (clock ticks since epoch, max if none).
  std::atomic<std::size_t> idle_workers_{0};
  std::atomic<std::size_t> searching_{0};
  std::atomic<std::int64_t> next_deadline_{std::numeric_limits<std::int64_t>::max()};
  // The timer keeper: the one worker that watches the nearest deadline,
  // parked until it (a timed park) or spinning for it when it is within
  // timer_spin_threshold; it keeps the role while it fires the due timers and
  // runs the first job they made ready, so that with dense timers one thread
  // spins, not every idle one. The others park without a timeout, or, while
  // the keeper is awake (spinning or busy), with a backup timeout of the
  // nearest deadline plus timer_backup_grace, so a keeper that is held up
  // (a long job, its thread descheduled) delays a timer by at most about
  // that much. An idle worker takes the role from a keeper that is busy.
  worker* timer_keeper_ = nullptr;
  bool keeper_spinning_ = false; // the keeper is in its pre-deadline spin
  bool stop_requested_ = false;

  std::vector<std::unique_ptr<worker>> workers_;

  // Members (applets).
  mutable std::mutex members_mutex_;
  std::condition_variable members_gone_;
  group_member* members_ = nullptr; // intrusive list head
  std::size_t member_count_ = 0;
  bool stopping_ = false;
  bool workers_stopped_ = false;

  file_ring_slot files_; // drained in stop_workers once the workers joined

  std::atomic<std::uint64_t> events_dispatched_{0};
  std::atomic<std::uint64_t> turns_{0};
};

} // namespace actorloop::runtime::detail
