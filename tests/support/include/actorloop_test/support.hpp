// Header-only helpers for actorloop tests.
//
// Deliberately no "eventually(pred, limit)" polling helper: tests wait on
// real synchronisation (condition variables), never on sleeps.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <set>
#include <thread>

namespace actorloop_test {

// Thread-safe counter that tests can block on until it reaches a value.
class latch_counter {
public:
  latch_counter() = default;
  latch_counter(const latch_counter&) = delete;
  latch_counter& operator=(const latch_counter&) = delete;

  void increment() {
    // Notify under the lock: a waiter that sees the new value may return and
    // destroy this latch (often a local) right away, so the notifying thread
    // must be done with the condition variable before the waiter can run.
    std::lock_guard<std::mutex> guard{mutex_};
    ++value_;
    cv_.notify_all();
  }

  std::size_t value() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return value_;
  }

  // Blocks until value() >= n or the timeout elapses; returns whether the
  // value was reached.
  template <class Rep, class Period>
  bool wait_for_at_least(std::size_t n, std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock<std::mutex> lock{mutex_};
    return cv_.wait_for(lock, timeout, [&] { return value_ >= n; });
  }

private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t value_ = 0;
};

// Thread-safe set of thread ids, e.g. to record which threads ran callbacks.
class thread_id_set {
public:
  thread_id_set() = default;
  thread_id_set(const thread_id_set&) = delete;
  thread_id_set& operator=(const thread_id_set&) = delete;

  // Returns true if the id was not in the set before.
  bool insert(std::thread::id id = std::this_thread::get_id()) {
    std::lock_guard<std::mutex> guard{mutex_};
    return ids_.insert(id).second;
  }

  bool contains(std::thread::id id) const {
    std::lock_guard<std::mutex> guard{mutex_};
    return ids_.count(id) != 0;
  }

  std::size_t size() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return ids_.size();
  }

  std::set<std::thread::id> snapshot() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return ids_;
  }

private:
  mutable std::mutex mutex_;
  std::set<std::thread::id> ids_;
};

} // namespace actorloop_test
