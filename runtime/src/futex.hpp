#pragma once
// Parking an idle worker: a futex word it sleeps on and a waker bumps.

#include <actorloop/runtime/clock.hpp>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace actorloop::runtime::detail {

inline /// Sleeps while `word` still holds `seen`, until woken or `deadline`
/// (monotonic clock). Returns on any wake; the caller re-checks.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t seen,
                const time_point* deadline) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  timespec absolute{};
  if (deadline) {
    auto since_epoch = deadline->time_since_epoch();
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    absolute.tv_sec = static_cast<time_t>(seconds.count());
    absolute.tv_nsec = static_cast<long>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - seconds).count());
  }
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, the clock
  // steady_clock uses on Linux.
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word),
          FUTEX_WAIT_BITSET_PRIVATE, seen, deadline ? &absolute : nullptr, nullptr,
          FUTEX_BITSET_MATCH_ANY);
}

inline void futex_wake(std::atomic<std::uint32_t>& word) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr,
          nullptr, 0);
}

} // namespace actorloop::runtime::detail
