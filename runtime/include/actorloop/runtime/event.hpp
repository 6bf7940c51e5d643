#pragma once
/// @file
/// Auto-reset and manual-reset events.
///
/// Semantics with several waiters (decided here; tested by
/// tests/runtime/manual_event_stays_set_until_reset.cpp,
/// tests/runtime/auto_event_wait_returns_once_per_set.cpp and
/// tests/actors/auto_event_is_shared_round_robin_among_waiting_applets_under_load.cpp):
///  - a manual-reset event wakes every waiter and stays set until `reset`;
///    an applet waiting on it is dispatched on every turn until it is reset
///    or no longer registered (level-triggered, as in Open Files);
///  - an auto-reset event wakes exactly one waiter per `set`, and that waiter's
///    dispatch (or wait) resets it. Two `set`s before a dispatch still give one
///    dispatch (an event is not a counter). This is Win32's single release,
///    not the Linux original's broadcast;
///  - fairness: the waiters take the `set`s strictly in turn, round-robin in
///    the order they registered (one that re-registers goes to the back). A
///    `set` belongs to the waiter whose turn it is until that waiter consumes
///    it or stops waiting (then it passes to the next): no other waiter takes
///    it, not even one still busy with the previous `set`, and `try_wait`
///    from outside the waiters returns false meanwhile. A `set` while nobody
///    waits goes to whoever consumes first.
///
/// Thread safety: distinct objects: safe. Shared objects: safe.

#include <actorloop/runtime/waitable.hpp>

#include <string>

namespace actorloop::runtime {

enum class reset_mode { automatic, manual };

class event : public waitable {
public:
  /// Creates an event, initially not set.
  explicit event(reset_mode mode = reset_mode::automatic, std::string name = {});

  /// Sets the event and wakes its waiter(s) at once, from any thread.
  void set();
  /// Clears the event.
  void reset();
  /// Non-consuming test (the original's `ofc_event_test` on Linux).
  [[nodiscard]] bool test() const { return ready(); }
  [[nodiscard]] reset_mode mode() const noexcept { return mode_; }

private:
  reset_mode mode_;
};

} // namespace actorloop::runtime
