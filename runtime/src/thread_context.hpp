#pragma once
// Per-thread facts about the calling thread, set by scheduler workers, and
// the per-thread holding back of worker wakes (deferred_wakes).

#include <cstddef>

namespace caf {
class execution_unit;
} // namespace caf

namespace actorloop::runtime::detail {

class scheduler_group;
class worker;

/// The group whose worker runs on this thread, or nullptr.
scheduler_group* current_worker_group() noexcept;

/// The CAF execution unit of this worker thread, or nullptr.
caf::execution_unit* current_execution_unit() noexcept;

void set_current_worker(scheduler_group* group, caf::execution_unit* unit) noexcept;

/// While one lives on this thread, the futex wakes of parked workers that
/// this thread makes (scheduler_group::wake) are held back and made when the
/// outermost scope ends. For code that makes work ready while it holds a
/// lock the woken worker takes first thing: a waitable's mutex, under which
/// `signal_locked` enqueues the waiting applet. Woken inside that lock, the
/// worker can reach the lock before its waker has left it, and then sleeps
/// on it once more (a second futex wait and wake on the hand-off's critical
/// path); declare the scope before the lock guard. The worker has been taken
/// off its group's parked list already, so the job cannot be lost, only its
/// start waits for the end of the scope: keep the scope short and never
/// block inside it. Scopes nest. At most `capacity` wakes are held; further
/// ones are made at once. Only for the thread that creates it (not movable).
class deferred_wakes {
public:
  static constexpr std::size_t capacity = 8;

  deferred_wakes() noexcept;
  ~deferred_wakes();
  deferred_wakes(const deferred_wakes&) = delete;
  deferred_wakes& operator=(const deferred_wakes&) = delete;
};

/// Called by scheduler_group::wake: true if a deferred_wakes scope on this
/// thread took `sleeper` (it is woken when the outermost scope ends).
bool hold_wake(worker* sleeper) noexcept;

} // namespace actorloop::runtime::detail
