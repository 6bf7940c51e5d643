#pragma once
/// @file
/// Applets: cooperative state machines driven by waitable events, each one a
/// CAF actor whose mailbox carries its waitable events.
///
/// The callback template (Open Files' `OFC_APP_TEMPLATE`, plus an init hook):
///  - `init`       once, before the first preselect (optional);
///  - `preselect`  declares what to wait on (`add_wait`, `remove_wait`,
///                 `clear_wait`). Runs first when the applet starts, then after
///                 every postselect, and again on a significant event
///                 (`scheduler::wake`). Registrations persist between turns; an
///                 applet may also clear and re-add them every time, as the
///                 original test apps do, and only the final set counts;
///  - `postselect` handles the one waitable that fired. It may return another
///                 waitable: a chained event, dispatched at once (see below);
///  - `destroy`    runs once when the applet goes, after which every waiter on
///                 its handle is notified;
///  - `dump`       returns a debug description.
///
/// Where callbacks run: every callback of an applet runs on one of its
/// scheduler's worker threads, never on the thread that created or killed it.
/// An applet's callbacks never overlap, and applets on a one-thread scheduler
/// never run at the same time, so they need no locks for state kept on that
/// scheduler.
///
/// One event per turn: each postselect gets exactly one fired waitable. If
/// several are ready, each gets its own turn; the applet yields to the other
/// applets of its scheduler between turns (round-robin).
///
/// Chained events: if postselect returns a waitable this applet waits on, it
/// is dispatched to this applet at once, in the same turn, without being
/// tested or consumed (as in Open Files). A chained waitable this applet does
/// not wait on is dropped and counted (`applet_info::chained_dropped`); unlike
/// the original, it is never run on another applet's behalf on this thread.
///
/// Exceptions: an exception thrown by a callback is contained. The applet is
/// destroyed (its `destroy` callback still runs; an exception from `destroy`
/// itself is swallowed) with `errc::callback_threw` and the exception's text as
/// its exit reason, which every waiter sees. The scheduler and the other
/// applets carry on.

#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/waitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace actorloop::actors {

using runtime::waitable;

namespace detail {
/// Library-internal: how the actors module reaches an applet's private core.
struct applet_access;
} // namespace detail

/// Where an applet is in its life.
enum class applet_state {
  starting,   ///< Created; init and first preselect not yet run.
  running,    ///< Registered waits, dispatching events.
  destroying, ///< Killed; destroy pending or running.
  destroyed,  ///< Gone; waiters notified.
};
[[nodiscard]] const char* to_string(applet_state state) noexcept;

/// Why an applet was destroyed.
class exit_reason {
public:
  /// A normal exit (`kill`).
  exit_reason() = default;
  exit_reason(std::error_code code, std::string message)
    : code_(code), message_(std::move(message)) {}

  /// True for a `kill` (by itself or by anyone else).
  [[nodiscard]] bool is_normal() const noexcept { return !code_; }
  /// Empty for normal; `callback_threw` or `scheduler_shutdown` otherwise.
  [[nodiscard]] std::error_code code() const noexcept { return code_; }
  /// Human-readable reason.
  [[nodiscard]] std::string message() const {
    return is_normal() ? std::string{"normal exit (killed)"} : message_;
  }

private:
  std::error_code code_;
  std::string message_;
};

class applet_context;

/// Derive from this to write an applet as a class.
class applet {
public:
  virtual ~applet() = default;
  virtual void init(applet_context& context);
  virtual void preselect(applet_context& context) = 0;
  /// Returns an empty waitable, or a chained event.
  virtual waitable postselect(applet_context& context, const waitable& fired) = 0;
  virtual void destroy(applet_context& context);
  virtual std::string dump(const applet_context& context) const;
};

/// An applet made of plain callables; every member is optional.
struct applet_callbacks {
  std::string name{};
  std::function<void(applet_context&)> init{};
  std::function<void(applet_context&)> preselect{};
  std::function<waitable(applet_context&, const waitable&)> postselect{};
  std::function<void(applet_context&)> destroy{};
  std::function<std::string(const applet_context&)> dump{};
};

/// A handle to an applet. It is itself a waitable: ready once the applet has
/// been destroyed (its `destroy` callback has returned), and from then on for
/// good, so any number of applets, wait sets and threads can wait for it.
/// There is no window in which a fast-dying applet's notification can be missed.
///
/// Thread safety: distinct objects: safe. Shared objects: safe.
class applet_handle : public waitable {
public:
  applet_handle() = default;
  explicit applet_handle(std::shared_ptr<runtime::detail::waitable_state> state)
    : waitable(std::move(state)) {}

  /// Unique applet id (same as `waitable::id()`).
  [[nodiscard]] std::uint64_t applet_id() const noexcept { return id(); }
  [[nodiscard]] const std::string& scheduler_name() const;
  [[nodiscard]] applet_state state() const;
  [[nodiscard]] bool alive() const { return state() != applet_state::destroyed; }
  /// Asks the applet to go, from any thread, idempotently; `state()` reads
  /// `destroying` at once. Once kill() returns, none of the applet's callbacks
  /// (`init`, `preselect`, `postselect`, `dump`) is running or will start;
  /// only `destroy` follows, promptly, on the applet's scheduler thread (the
  /// original could take up to 4 s). So the caller may free what those
  /// callbacks use; to free what `destroy` uses, wait on the handle.
  ///
  /// If one of those callbacks is running on another thread, kill() blocks
  /// until it returns (also on a scheduler thread: the wait is bounded by one
  /// callback). Do not call kill() while holding a lock that the applet's
  /// callbacks take. Two cases return without waiting, because waiting would
  /// deadlock: a call from the applet's own callback (the applet goes when
  /// that callback returns, and no further callback starts), and a call from
  /// a callback of an applet that the target's running callback is itself
  /// waiting to kill (two applets killing each other at once): that target
  /// callback is still running when this call returns, and the target's own
  /// kill() returns only after it.
  void kill();
  /// The exit reason; meaningful once `state() == destroyed` (wait first).
  [[nodiscard]] actors::exit_reason exit_reason() const;
  /// Runs the applet's `dump` callback on its scheduler thread and returns the
  /// text. Blocks; throws `would_block_scheduler` on a scheduler thread,
  /// `timed_out` after `timeout`, and returns "" if the applet is gone or
  /// killed. A `dump` that throws is contained: the text is then
  /// "dump threw: " and the exception's text, and the applet carries on.
  [[nodiscard]] std::string dump(runtime::duration timeout = std::chrono::seconds(5)) const;
};

/// What a callback can do. Valid only inside that applet's callbacks, on its
/// scheduler thread; a context must not be stored or handed to other threads.
class applet_context {
public:
  /// Registers a waitable for this applet. Throws `errc::already_waiting` if
  /// it is registered already (the original crashed), `errc::closed` if closed,
  /// `invalid_argument` if empty. A waitable that is ready already is
  /// dispatched in this applet's next turn.
  void add_wait(const waitable& what);
  /// Waits on `what` from now on, whether or not it is registered already:
  /// registers it if it is not (as `add_wait`), does nothing if it is (also
  /// after a `clear_wait` in the same preselect, which it undoes for `what`).
  /// The usual call in a preselect. Throws like `add_wait`, except
  /// `already_waiting`.
  void wait_on(const waitable& what);
  /// Unregisters; returns false if it was not registered.
  bool remove_wait(const waitable& what);
  /// Unregisters everything (the usual first step of a preselect).
  void clear_wait();
  /// O(1).
  [[nodiscard]] bool waiting_on(const waitable& what) const;
  /// Counts the registrations: O(number of registrations).
  [[nodiscard]] std::size_t wait_count() const;

  /// Destroys this applet once the current callback returns (no preselect
  /// follows a postselect that killed).
  void kill();
  [[nodiscard]] bool destroying() const;

  [[nodiscard]] const std::string& name() const;
  [[nodiscard]] applet_handle self() const;
  [[nodiscard]] runtime::scheduler scheduler() const;
  [[nodiscard]] runtime::engine& engine() const;

private:
  friend struct detail::applet_access;
  struct core;
  explicit applet_context(core& owner) noexcept : core_(&owner) {}
  core* core_;
};

/// Creates an applet on the named scheduler, from any thread (including from
/// another applet's callbacks). Returns before its first preselect runs; that
/// preselect runs on the scheduler's thread. Throws `no_such_scheduler`,
/// `scheduler_stopped`, or `invalid_argument` (null applet).
[[nodiscard]] applet_handle spawn_applet(runtime::engine& engine, std::string_view scheduler,
                                         std::unique_ptr<applet> body, std::string name = {});
[[nodiscard]] applet_handle spawn_applet(runtime::engine& engine, std::string_view scheduler,
                                         applet_callbacks callbacks);
/// As above, on the scheduler a handle refers to (as returned by
/// `engine::create_scheduler` or `get_scheduler`). Throws `invalid_argument`
/// for an empty handle or one of another engine, `scheduler_stopped` once that
/// scheduler stops or was removed.
[[nodiscard]] applet_handle spawn_applet(runtime::engine& engine, const runtime::scheduler& scheduler,
                                         std::unique_ptr<applet> body, std::string name = {});
[[nodiscard]] applet_handle spawn_applet(runtime::engine& engine, const runtime::scheduler& scheduler,
                                         applet_callbacks callbacks);

} // namespace actorloop::actors
