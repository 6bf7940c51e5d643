#pragma once
// A small mutex for the file I/O hot path (an open file's operation list, a
// ring's submission queue): one atomic word, locked and unlocked inline.
//
// Each 4 KiB read takes two such locks. std::mutex costs a call into
// pthread_mutex_lock/unlock (about 55 instructions a pair, with its type and
// owner bookkeeping); this one is a compare-exchange and an exchange when
// uncontended, and sleeps on a futex otherwise, like a glibc normal mutex
// (no spinning, no fairness). The algorithm is "Mutex, Take 2" from Ulrich
// Drepper, "Futexes Are Tricky": 0 free, 1 locked, 2 locked and maybe
// waited on; only an unlock that finds 2 makes the wake system call.
//
// Meets the Lockable requirements (std::lock_guard, std::unique_lock).
// Not recursive. Any thread.

#include "futex.hpp"

#include <atomic>
#include <cstdint>

namespace actorloop::runtime::detail {

class file_lock {
public:
  file_lock() noexcept = default;
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;

  void lock() noexcept {
    std::uint32_t seen = 0;
    if (!state_.compare_exchange_strong(seen, 1, std::memory_order_acquire,
                                        std::memory_order_relaxed))
      lock_contended(seen);
  }

  [[nodiscard]] bool try_lock() noexcept {
    std::uint32_t seen = 0;
    return state_.compare_exchange_strong(seen, 1, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

  void unlock() noexcept {
    if (state_.exchange(0, std::memory_order_release) == 2)
      futex_wake(state_);
  }

private:
  void lock_contended(std::uint32_t seen) noexcept {
    // Mark the lock as waited on before sleeping, so the holder's unlock
    // wakes us; whoever takes it this way keeps the mark (a wake too many
    // costs one system call, a wake too few a hang).
    if (seen != 2)
      seen = state_.exchange(2, std::memory_order_acquire);
    while (seen != 0) {
      futex_wait(state_, 2, nullptr);
      seen = state_.exchange(2, std::memory_order_acquire);
    }
  }

  std::atomic<std::uint32_t> state_{0};
};

} // namespace actorloop::runtime::detail
