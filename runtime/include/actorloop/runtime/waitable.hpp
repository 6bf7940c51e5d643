#pragma once
/// @file
/// The waitable abstraction. Every waitable event (auto- and manual-reset
/// events, timers, wait queues, applet handles) derives from `waitable`, a
/// cheap, copyable, shared handle to one piece of state.
///
/// A waitable can be
///  - registered by an applet in its preselect callback (see actors/applet.hpp),
///  - added to a `wait_set` and waited on as part of a group by a plain thread,
///  - waited on alone with `wait`, `wait_for`, `wait_until` or `try_wait`.
///
/// Readiness is level-triggered, as in Open Files: a waitable stays ready while
/// its condition holds (a manual-reset event until reset, a wait queue while it
/// is non-empty, a one-shot timer while expired). Dispatching an auto-reset
/// event or a periodic timer tick consumes it.
///
/// Thread safety: distinct objects: safe. Shared objects: safe; every member
/// function may be called from any thread. The blocking waits refuse to run on
/// a scheduler thread (they throw `error` with `errc::would_block_scheduler`),
/// because blocking there would stall every applet on that scheduler.

#include <actorloop/runtime/clock.hpp>
#include <actorloop/runtime/error.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace actorloop::runtime {

/// What a waitable is.
enum class waitable_kind {
  auto_event,   ///< Reset by the dispatch (or wait) that consumes it.
  manual_event, ///< Stays set until `reset`.
  timer,        ///< One-shot or periodic deadline.
  wait_queue,   ///< Ready while non-empty.
  applet_exit,  ///< Ready once the applet has been destroyed.
  socket,       ///< Ready while an enabled readiness bit holds (netio).
  file_operation, ///< Ready once the overlapped file operation completed.
};

/// A printable name for a kind ("auto_event", ...).
[[nodiscard]] const char* to_string(waitable_kind kind) noexcept;

namespace detail {

struct access;

/// Something that waits: an applet registration, a wait set member, a thread
/// blocked in `waitable::wait`. Implemented inside the library.
class waiter {
public:
  virtual ~waiter() = default;
  /// The waitable became ready for this waiter. Runs with the waitable's lock
  /// held, on whatever thread made it ready: must be short and must not call
  /// back into the waitable.
  virtual void on_ready() noexcept = 0;
  /// Timers only: the deadline changed while this waiter is registered (lock held).
  virtual void on_deadline(time_point deadline) noexcept;
};

/// The waiters of one waitable: a vector that keeps its first two entries
/// inline, because nearly every waitable has one or two waiters and an
/// allocation per registration was a measurable part of an applet's cost.
/// Not thread-safe (guarded by the waitable's mutex).
class waiter_list {
public:
  waiter_list() noexcept = default;
  waiter_list(const waiter_list&) = delete;
  waiter_list& operator=(const waiter_list&) = delete;
  ~waiter_list() {
    if (data_ != inline_)
      delete[] data_;
  }

  [[nodiscard]] waiter** begin() noexcept { return data_; }
  [[nodiscard]] waiter** end() noexcept { return data_ + size_; }
  [[nodiscard]] waiter* const* begin() const noexcept { return data_; }
  [[nodiscard]] waiter* const* end() const noexcept { return data_ + size_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] waiter* operator[](std::size_t index) const noexcept { return data_[index]; }

  void push_back(waiter* who) {
    if (size_ == capacity_) {
      auto capacity = capacity_ * 2;
      auto* grown = new waiter*[capacity];
      for (std::size_t index = 0; index < size_; ++index)
        grown[index] = data_[index];
      if (data_ != inline_)
        delete[] data_;
      data_ = grown;
      capacity_ = capacity;
    }
    data_[size_++] = who;
  }

  /// Removes the entry at `position`, keeping the order of the others.
  void erase(waiter** position) noexcept {
    for (auto* next = position + 1; next != end(); ++next)
      next[-1] = *next;
    --size_;
  }

private:
  static constexpr std::size_t inline_capacity = 2;
  waiter* inline_[inline_capacity] = {};
  waiter** data_ = inline_;
  std::size_t size_ = 0;
  std::size_t capacity_ = inline_capacity;
};

/// The shared state behind every waitable. Subclasses define readiness.
class waitable_state {
public:
  waitable_state(waitable_kind kind, std::string name);
  waitable_state(const waitable_state&) = delete;
  waitable_state& operator=(const waitable_state&) = delete;
  virtual ~waitable_state();

  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
  [[nodiscard]] waitable_kind kind() const noexcept { return kind_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  /// Registers a waiter. If the waitable is ready now, `on_ready` runs before
  /// this returns. Errors: `already_waiting`, `closed`.
  [[nodiscard]] std::error_code attach(waiter& who);
  /// Unregisters a waiter. An auto-reset event that is still set is passed on
  /// to another waiter, so a departing waiter never swallows a wake.
  void detach(waiter& who) noexcept;

  /// Tests readiness without consuming.
  [[nodiscard]] bool ready() const;
  /// Tests readiness for `who` without consuming: false while a wake-one
  /// set is reserved for another waiter (see `try_consume`).
  [[nodiscard]] bool ready_for(const waiter* who) const;
  /// Tests readiness and, if ready, consumes it (resets an auto-reset event,
  /// advances a periodic timer). Returns whether it was ready.
  ///
  /// Fairness of wake-one waitables: a `signal_locked` that wakes one waiter
  /// reserves the readiness for that waiter (chosen round-robin in
  /// registration order) until it consumes it or detaches. Meanwhile only
  /// that waiter can consume it: another waiter, or a caller that is no
  /// registered waiter (`who` null), gets false. Readiness that no signal
  /// reserved (a timer that came due, a set with nobody waiting) goes to
  /// whoever consumes first.
  [[nodiscard]] bool try_consume(const waiter* who = nullptr);
  /// The next deadline for timers; empty for everything else or when disarmed.
  [[nodiscard]] std::optional<time_point> deadline() const;
  /// Closes the waitable: it is never ready again and all waiters are told
  /// (they drop it). Idempotent.
  void close();
  [[nodiscard]] bool is_closed() const;
  /// Number of registered waiters.
  [[nodiscard]] std::size_t waiter_count() const;

  /// Blocks the calling (non-scheduler) thread until ready and consumed, or
  /// until `limit`. Returns whether it was consumed.
  bool block_until(const time_point* limit);

protected:
  // The hooks below run with `mutex_` held.
  [[nodiscard]] virtual bool ready_locked() const = 0;
  virtual void consume_locked() {}
  /// True if one wake should reach exactly one waiter (auto-reset events,
  /// periodic timer ticks); false to wake every waiter.
  [[nodiscard]] virtual bool wakes_one_locked() const { return false; }
  [[nodiscard]] virtual std::optional<time_point> deadline_locked() const { return std::nullopt; }

  /// Call after the state became ready: wakes one or all waiters.
  void signal_locked() noexcept;
  /// Call after a timer deadline moved.
  void deadline_changed_locked() noexcept;
  /// For states that, once ready, stay ready until closed, wake every
  /// waiter and consume nothing (a completed file operation): call with the
  /// lock held when that readiness is reached, before `signal_locked`. From
  /// then on `try_consume`, `ready` and `ready_for` answer without the lock.
  void latch_ready_locked() noexcept { latched_.store(true, std::memory_order_release); }

  mutable std::mutex mutex_;

private:
  void wake_one_locked(std::size_t start) noexcept;

  const std::uint64_t id_;
  const waitable_kind kind_;
  const std::string name_;
  waiter_list waiters_;
  std::size_t next_to_wake_ = 0;
  // The waiter the current wake-one readiness is reserved for, or null.
  const waiter* chosen_ = nullptr;
  // Written under mutex_; read without it where a latched state answers
  // alone (see latch_ready_locked) and by is_closed.
  std::atomic<bool> closed_{false};
  std::atomic<bool> latched_{false};
};

/// True when the calling thread is a worker of some actorloop scheduler.
[[nodiscard]] bool on_scheduler_thread() noexcept;

/// Throws `errc::would_block_scheduler` when called on a scheduler thread.
void refuse_blocking_on_scheduler(const char* operation);

} // namespace detail

/// A shared handle to any waitable. Empty when default-constructed.
/// Two handles compare equal when they refer to the same waitable.
class waitable {
public:
  waitable() = default;
  explicit waitable(std::shared_ptr<detail::waitable_state> state) noexcept
    : state_(std::move(state)) {}

  [[nodiscard]] explicit operator bool() const noexcept { return state_ != nullptr; }
  /// Unique id, stable for the life of the waitable (0 when empty).
  [[nodiscard]] std::uint64_t id() const noexcept { return state_ ? state_->id() : 0; }
  [[nodiscard]] waitable_kind kind() const;
  /// The debug name given at construction ("" if none).
  [[nodiscard]] const std::string& name() const;

  /// Non-consuming readiness test.
  [[nodiscard]] bool ready() const;
  /// Consumes readiness if present (an auto-reset event is reset). Never blocks.
  [[nodiscard]] bool try_wait();
  /// Blocks until ready (and consumes it, for auto-reset events and periodic
  /// timer ticks). Throws on a scheduler thread or when the waitable is closed.
  void wait();
  /// As `wait`, with a timeout. Returns false on timeout.
  [[nodiscard]] bool wait_for(duration timeout);
  [[nodiscard]] bool wait_until(time_point deadline);
  /// Closes it: never ready again; waiters drop it; blocked waits throw `closed`.
  void close();
  [[nodiscard]] bool closed() const;

  friend bool operator==(const waitable& lhs, const waitable& rhs) noexcept {
    return lhs.state_ == rhs.state_;
  }

protected:
  friend struct detail::access;
  [[nodiscard]] detail::waitable_state& checked_state() const;

  std::shared_ptr<detail::waitable_state> state_;
};

} // namespace actorloop::runtime
