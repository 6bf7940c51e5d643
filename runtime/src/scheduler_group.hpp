#pragma once
// A scheduler's worker group: its workers, one shared run queue, one timer
// heap, parking, and the applets (members) that live on it.

#include "file_ring.hpp"
#include "worker.hpp"

#include <actorloop/runtime/detail/group_access.hpp>
#include <actorloop/runtime/scheduler.hpp>

#include <caf/resumable.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
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
  /// worker is the caller. Returns false once the workers have stopped.
  bool push(caf::resumable* job, bool from_own_worker);

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

private:
  friend class worker;
  // Set for I/O schedulers: the worker parks in it instead of on its futex.
  std::shared_ptr<idle_poller> poller_;

  /// Takes one parked worker off the list (mutex held); wake it after unlocking.
  worker* unpark_one_locked() noexcept;
  /// Like `unpark_one_locked`, preferring the worker that watches the timers.
  worker* unpark_for_timers_locked() noexcept;
  static void wake(worker* sleeper) noexcept;

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
  // The one parked worker that sleeps until the nearest timer deadline; the
  // others park without a timeout, so a busy timer heap wakes one thread.
  worker* timer_keeper_ = nullptr;
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
