#pragma once
/// @file
/// `pending<T>`: the result of a remote operation (a lookup, a connect, a
/// remote `set` or `try_push`) that completes later. It is a waitable, so an
/// applet waits for it by registering it in preselect, and a plain thread
/// blocks on it with `get()`.
///
/// A pending result completes exactly once: with a value, or with an error
/// (`errc::node_down` when the remote node was lost first, `node_stopped`
/// when the local node was destroyed first, or the error the remote node
/// answered). None stays pending for ever while its node lives: the loss of
/// the remote node completes it.
///
/// Readiness is that of a manual-reset event: once complete it stays ready,
/// so an applet should `remove_wait` it in its postselect.
///
/// Thread safety: distinct objects: safe. Shared objects: safe.

#include <actorloop/nodes/error.hpp>
#include <actorloop/runtime/event.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace actorloop::nodes {

/// The value of an operation that returns nothing.
struct ack {};

namespace detail {

/// The shared state of a pending result; completed by the nodes module on
/// whatever thread the answer arrives (CAF's middleman thread or a worker).
template <class T>
class pending_state {
public:
  pending_state() : done_(runtime::reset_mode::manual, "nodes.pending") {}

  /// Completes with a value; returns false if it was complete already.
  bool succeed(T value) { return complete({}, {}, std::move(value)); }
  /// Completes with an error; returns false if it was complete already.
  bool fail(std::error_code code, std::string message) {
    return complete(code, std::move(message), std::nullopt);
  }

  [[nodiscard]] const runtime::event& done() const noexcept { return done_; }

  [[nodiscard]] std::error_code code() const {
    std::lock_guard guard{mutex_};
    return code_;
  }
  [[nodiscard]] std::string message() const {
    std::lock_guard guard{mutex_};
    return message_;
  }
  [[nodiscard]] std::optional<T> value() const {
    std::lock_guard guard{mutex_};
    return value_;
  }

private:
  bool complete(std::error_code code, std::string message, std::optional<T> value) {
    {
      std::lock_guard guard{mutex_};
      if (finished_)
        return false;
      finished_ = true;
      code_ = code;
      message_ = std::move(message);
      value_ = std::move(value);
    }
    done_.set();
    return true;
  }

  runtime::event done_;
  mutable std::mutex mutex_;
  bool finished_ = false;
  std::error_code code_;
  std::string message_;
  std::optional<T> value_;
};

} // namespace detail

template <class T>
class pending : public runtime::waitable {
public:
  pending() = default;
  explicit pending(std::shared_ptr<detail::pending_state<T>> state)
      : runtime::waitable(static_cast<const runtime::waitable&>(state->done())),
        state_(std::move(state)) {}

  /// True once complete (with a value or an error). Never blocks.
  [[nodiscard]] bool done() const { return state_ && state_->done().test(); }
  /// The error it completed with; empty while pending or on success.
  [[nodiscard]] std::error_code error() const {
    return state_ ? state_->code() : std::error_code{};
  }
  /// The error's text naming the objects involved; empty on success.
  [[nodiscard]] std::string error_message() const {
    return state_ ? state_->message() : std::string{};
  }

  /// Blocks until complete and returns the value, or throws `nodes::error`
  /// with the code and text of the failure. Plain threads only: throws
  /// `runtime::errc::would_block_scheduler` on a scheduler thread (an applet
  /// waits by registering this waitable, then calls `get()` once it fired).
  T get() const {
    if (!state_)
      throw nodes::error(std::make_error_code(std::errc::invalid_argument),
                         "nodes::pending: empty");
    if (!done())
      const_cast<pending*>(this)->wait();
    if (auto code = state_->code())
      throw nodes::error(code, state_->message());
    return *state_->value();
  }

private:
  std::shared_ptr<detail::pending_state<T>> state_;
};

/// A pending operation that returns nothing.
using operation = pending<ack>;

} // namespace actorloop::nodes
