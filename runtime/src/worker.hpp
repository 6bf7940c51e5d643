#pragma once
// One worker thread of a scheduler group: the CAF execution unit it runs
// actors on, and its loop (run queue, timers, spinning, parking).

#include <actorloop/runtime/clock.hpp>
#include <actorloop/runtime/detail/group_access.hpp>

#include <caf/execution_unit.hpp>
#include <caf/resumable.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>
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
  unsigned jobs_since_file_submit_ = 0;
  bool parked_ = false; // guarded by the group mutex
  // Parked as the group's io_uring keeper: wakers post a NOP, not a futex wake.
  std::atomic<bool> parked_in_ring_{false};
};

} // namespace actorloop::runtime::detail
