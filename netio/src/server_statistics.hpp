#pragma once
// The server's statistics counters, and the signal that lets a thread wait
// for them to change (message_server::wait_for_statistics) instead of
// polling.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace actorloop::netio::detail {

/// Rung by every counter change. Ringing costs one atomic read-modify-write
/// while no thread waits; only a waiting thread makes it take the mutex.
class statistics_signal {
public:
  /// After a figure changed (its own store already made).
  void changed() noexcept {
    // A read-modify-write, not a load: the waiter's increment and this are
    // ordered on `waiters_`, so either the waiter synchronises with this
    // (and its predicate sees the new figure) or this sees the waiter and
    // wakes it. (ThreadSanitizer does not support standalone fences.)
    if (waiters_.fetch_add(0, std::memory_order_acq_rel) == 0)
      return;
    { std::lock_guard guard{mutex_}; }
    wake_.notify_all();
  }

  /// Blocks until `holds()` or `deadline`; returns the last `holds()`.
  template <class Predicate, class TimePoint>
  bool wait(Predicate holds, TimePoint deadline) {
    waiters_.fetch_add(1, std::memory_order_acq_rel);
    std::unique_lock lock{mutex_};
    bool result = wake_.wait_until(lock, deadline, holds);
    lock.unlock();
    waiters_.fetch_sub(1);
    return result;
  }

private:
  std::atomic<int> waiters_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
};

/// A statistics figure: an atomic count that rings its signal on change.
class statistics_counter {
public:
  explicit statistics_counter(statistics_signal& signal) noexcept : signal_(signal) {}
  statistics_counter(const statistics_counter&) = delete;
  statistics_counter& operator=(const statistics_counter&) = delete;

  std::uint64_t fetch_add(std::uint64_t amount,
                          std::memory_order order = std::memory_order_seq_cst) noexcept {
    auto before = value_.fetch_add(amount, order);
    signal_.changed();
    return before;
  }
  std::uint64_t fetch_sub(std::uint64_t amount,
                          std::memory_order order = std::memory_order_seq_cst) noexcept {
    auto before = value_.fetch_sub(amount, order);
    signal_.changed();
    return before;
  }
  [[nodiscard]] std::uint64_t load() const noexcept { return value_.load(); }

private:
  std::atomic<std::uint64_t> value_{0};
  statistics_signal& signal_;
};

} // namespace actorloop::netio::detail
