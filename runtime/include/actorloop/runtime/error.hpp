#pragma once
/// @file
/// Error codes of the runtime module: one `errc` enum, a `std::error_category`
/// for it, and the exception type thrown where a call cannot return an error.
///
/// Thread safety: everything here is immutable and safe from any thread.

#include <stdexcept>
#include <string>
#include <system_error>

namespace actorloop::runtime {

/// Every failure the runtime and the actors module report.
enum class errc {
  /// A caller passed a value that the operation cannot accept.
  invalid_argument = 1,
  /// A CPU set names a CPU that does not exist or that this process may not use.
  invalid_cpu_set,
  /// The process lacks the permission for what was asked (for example a
  /// real-time thread priority without CAP_SYS_NICE).
  permission_denied,
  /// A scheduler with that name exists already.
  scheduler_exists,
  /// No scheduler with that name exists.
  no_such_scheduler,
  /// The scheduler is stopping or stopped and accepts no new applets.
  scheduler_stopped,
  /// The waitable is already registered by this waiter (the original crashed
  /// with "Link already queued"; actorloop reports it instead).
  already_waiting,
  /// The waiter is not registered on that waitable.
  not_waiting,
  /// A bounded wait queue is full.
  queue_full,
  /// The waitable was closed; no further waits succeed on it.
  closed,
  /// A timed wait reached its deadline first.
  timed_out,
  /// The operation would block a scheduler thread, which would stall every
  /// applet on that scheduler.
  would_block_scheduler,
  /// An applet callback threw; the applet was destroyed with this reason.
  callback_threw,
  /// The applet was destroyed because its scheduler stopped.
  scheduler_shutdown,
  /// The operation is not allowed from where it was called (for example an
  /// applet context used outside its callbacks).
  wrong_thread,
  /// The operating system refused a request for another reason.
  system_failure,
  /// Configuration text could not be parsed.
  bad_configuration,
};

/// The category of `errc`; its name is "actorloop.runtime".
[[nodiscard]] const std::error_category& runtime_category() noexcept;

/// Makes an error code from an `errc`, so `std::error_code ec = errc::x;` works.
[[nodiscard]] std::error_code make_error_code(errc value) noexcept;

/// The exception the runtime throws where it cannot return an error code.
/// `code()` holds the `errc`; `what()` names the problem and the objects involved.
class error : public std::system_error {
public:
  error(errc code, const std::string& message);
  error(std::error_code code, const std::string& message);
};

} // namespace actorloop::runtime

template <>
struct std::is_error_code_enum<actorloop::runtime::errc> : std::true_type {};
