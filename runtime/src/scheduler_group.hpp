#pragma once
// A scheduler's worker group and the CAF coordinator that routes to groups.

#include <actorloop/runtime/detail/group_access.hpp>
#include <actorloop/runtime/scheduler.hpp>

#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/execution_unit.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_set>
#include <vector>

namespace actorloop::runtime::detail {

class coordinator;
class scheduler_group;

void validate(const scheduler_options& options);

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
  void run(std::promise<std::error_code>& ready, std::string& failure_text);
  std::error_code configure_thread(std::string& failure_text);

  scheduler_group& group_;
  std::size_t index_;
  std::thread thread_;
  std::thread::id thread_id_;
  std::atomic<int> native_id_{0};
  std::atomic<std::int64_t> idle_nanoseconds_{0};
  std::atomic<std::int64_t> idle_since_{0}; // 0 while working
  std::vector<std::weak_ptr<deadline_target>> due_;
  // Parking: the worker sleeps on this futex word; a waker bumps it. Cheaper
  // than a condition variable (no second mutex hand-off on wake).
  std::atomic<std::uint32_t> wake_word_{0};
  // Jobs run since the I/O poller (if any) last looked at its sockets.
  unsigned jobs_since_poll_ = 0;
  bool parked_ = false; // guarded by the group mutex
};

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

  std::atomic<std::uint64_t> events_dispatched_{0};
  std::atomic<std::uint64_t> turns_{0};
};

/// CAF's clock, minus a cost every actor paid: CAF cancels an actor's
/// timeouts when it terminates, which wakes the clock thread even for actors
/// that never set one (every applet). This clock remembers which actors set a
/// timeout and skips the cancel for the others.
class engine_clock final : public caf::detail::thread_safe_actor_clock {
public:
  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            uint64_t id) override;
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override;
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         uint64_t id) override;
  void cancel_timeouts(caf::abstract_actor* self) override;

private:
  void remember(caf::abstract_actor* self);
  std::mutex mutex_;
  std::unordered_set<caf::abstract_actor*> with_timeouts_;
};

/// The CAF scheduler module actorloop installs. It owns the "default" group
/// and routes every job to its group.
class coordinator final : public caf::scheduler::abstract_coordinator {
public:
  explicit coordinator(caf::actor_system& system);
  ~coordinator() override;

  static caf::actor_system::module* make(caf::actor_system& system, caf::detail::type_list<>);

  void enqueue(caf::resumable* job) override;
  caf::detail::thread_safe_actor_clock& clock() noexcept override { return clock_; }

  /// Routes a job to its group; `from` is the worker that calls, if any.
  void route(caf::resumable* job, worker* from);

  [[nodiscard]] const std::shared_ptr<scheduler_group>& default_group() const noexcept {
    return default_group_;
  }
  /// Keeps stopped groups alive: actors that died on them may still point to them.
  void retire(std::shared_ptr<scheduler_group> group);

protected:
  void start() override;
  void stop() override;

private:
  engine_clock clock_;
  std::thread clock_thread_;
  std::shared_ptr<scheduler_group> default_group_;
  std::mutex retired_mutex_;
  std::vector<std::shared_ptr<scheduler_group>> retired_;
};

} // namespace actorloop::runtime::detail
