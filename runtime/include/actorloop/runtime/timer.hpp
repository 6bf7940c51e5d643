#pragma once
/// @file
/// Timers on the monotonic clock, with nanosecond resolution.
///
/// A one-shot timer is ready while its deadline has passed, and stays ready
/// (level-triggered) until it is set again or cancelled: an applet that keeps
/// waiting on an expired one-shot timer is dispatched on every turn, as in Open
/// Files. A timer that was never set counts as expired, also as in Open Files.
/// `cancel` disarms it: a cancelled timer is never ready.
///
/// A periodic timer is ready once per period; each dispatch (or wait) consumes
/// one tick and moves the deadline one period on. Ticks missed while nobody
/// consumed them are coalesced into one, so a stalled consumer does not get a
/// burst. With several waiters each tick reaches exactly one of them.
///
/// Timers waited on by applets are kept in a per-scheduler heap that the
/// scheduler's own worker threads fire, so hundreds of thousands of active
/// timers cost O(log n) each and no extra thread hop.
///
/// Thread safety: distinct objects: safe. Shared objects: safe.

#include <actorloop/runtime/waitable.hpp>

#include <optional>
#include <string>

namespace actorloop::runtime {

class timer : public waitable {
public:
  /// Creates a timer that has never been set (so it counts as expired).
  explicit timer(std::string name = {});

  /// One-shot: expires `delay` from now. Negative delays count as zero.
  void set(duration delay);
  /// One-shot: expires at `deadline`.
  void set_at(time_point deadline);
  /// Periodic: first tick one `period` from now. Throws `invalid_argument`
  /// unless `period` is positive.
  void set_periodic(duration period);
  /// Periodic with an explicit first tick.
  void set_periodic(duration period, time_point first);
  /// Disarms the timer: it is never ready until set again.
  void cancel();

  /// The pending deadline, or nothing when cancelled.
  [[nodiscard]] std::optional<time_point> deadline() const;
  /// True when a deadline is pending and has passed.
  [[nodiscard]] bool expired() const { return ready(); }
  /// Time left until the deadline (zero if passed, `duration::max()` if cancelled).
  [[nodiscard]] duration remaining() const;
  /// The period of a periodic timer; zero for one-shot.
  [[nodiscard]] duration period() const;
};

} // namespace actorloop::runtime
