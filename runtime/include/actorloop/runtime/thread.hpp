#pragma once
/// @file
/// A plain thread with cooperative stop and an exit notification, for the
/// threaded side of the model (Open Files' `ofc_thread_*`).
///
/// `request_stop` only asks: the body polls `stop_requested()` (or its
/// `std::stop_token`) and returns. If a wait set is attached, `request_stop`
/// also wakes it, so a body blocked in `wait_set::wait` notices at once. When
/// the body returns, the optional exit event is set (after the body's last
/// statement, before `join` returns).
///
/// Thread safety: distinct objects: safe. Shared objects: `request_stop`,
/// `stop_requested` and `set_wake_target` are safe from any thread; `join` from
/// one thread.

#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/wait_set.hpp>

#include <atomic>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

namespace actorloop::runtime {

class thread {
public:
  /// Starts `body` on a new thread named `name` (at most 15 characters are
  /// kept, a Linux limit). `exit_event`, if given, is set when `body` returns,
  /// whether it returns normally or throws (an exception ends the process, as
  /// for `std::thread`).
  thread(std::string name, std::function<void(std::stop_token)> body,
         std::optional<event> exit_event = std::nullopt);
  thread(const thread&) = delete;
  thread& operator=(const thread&) = delete;
  /// Requests stop and joins.
  ~thread();

  void request_stop();
  [[nodiscard]] bool stop_requested() const noexcept;
  /// A wait set that `request_stop` wakes (the original's `ofc_thread_set_wait`).
  void set_wake_target(wait_set* target);
  /// Joins. Idempotent. Throws `wrong_thread` if called from the thread itself.
  void join();
  [[nodiscard]] bool joinable() const noexcept { return worker_.joinable(); }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

private:
  std::string name_;
  std::atomic<wait_set*> wake_target_{nullptr};
  std::jthread worker_;
};

} // namespace actorloop::runtime
