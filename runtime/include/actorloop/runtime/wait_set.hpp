#pragma once
/// @file
/// Wait sets let a plain thread block on a group of waitables.
///
/// `wait` returns one ready member per call (the first ready one in insertion
/// order, as in Open Files), consuming it if it is an auto-reset event or a
/// periodic timer tick, together with the cookie given to `add`. The nearest
/// timer deadline among the members bounds the sleep. `wake` from any thread
/// makes a blocked `wait` return `wait_status::woken` at once; a wake that
/// arrives while nobody waits is kept for the next `wait`, never lost.
///
/// Thread safety: `add`, `remove`, `clear`, `wake` and `size` are safe from any
/// thread. `wait`, `wait_for`, `wait_until` and `try_wait` are meant for one
/// thread at a time; concurrent waiters each get distinct results.
/// Blocking waits throw `errc::would_block_scheduler` on a scheduler thread.

#include <actorloop/runtime/waitable.hpp>

#include <cstdint>
#include <memory>

namespace actorloop::runtime {

enum class wait_status {
  fired,     ///< `fired` is the ready member and `cookie` its cookie.
  woken,     ///< `wake` was called.
  timed_out, ///< The timeout passed with nothing ready.
};

struct wait_result {
  wait_status status = wait_status::timed_out;
  waitable fired;
  std::uintptr_t cookie = 0;
};

class wait_set {
public:
  wait_set();
  wait_set(const wait_set&) = delete;
  wait_set& operator=(const wait_set&) = delete;
  ~wait_set();

  /// Adds a member with an opaque cookie. Throws `errc::already_waiting` if it
  /// is already a member (the original crashed), `errc::closed` if closed.
  void add(const waitable& member, std::uintptr_t cookie = 0);
  /// Removes a member; returns false if it was not one.
  bool remove(const waitable& member);
  /// Removes every member.
  void clear();
  /// Members that are not closed (a closed waitable leaves the set; Open
  /// Files removed a destroyed handle from its wait set).
  [[nodiscard]] std::size_t size() const;

  /// Blocks until a member is ready or `wake` is called.
  [[nodiscard]] wait_result wait();
  [[nodiscard]] wait_result wait_for(duration timeout);
  [[nodiscard]] wait_result wait_until(time_point deadline);
  /// Returns a ready member or `timed_out` without blocking.
  [[nodiscard]] wait_result try_wait();

  /// Makes one blocked (or the next) wait return `woken`. Any thread.
  void wake();

private:
  struct impl;
  wait_result wait_impl(const time_point* limit, bool may_block);
  std::shared_ptr<impl> impl_;
};

} // namespace actorloop::runtime
