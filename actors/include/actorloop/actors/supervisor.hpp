#pragma once
/// @file
/// Supervisors: applets that start, watch and restart other applets by
/// Erlang/OTP's rules ("let it crash").
///
/// A supervisor is an applet. It is declared with a strategy, a restart
/// intensity (at most N restarts within T), an optional back-off, and an
/// ordered list of child specifications. It starts its children in order,
/// waits on their handles in its preselect, and when one ends decides by the
/// child's restart type and the strategy what to restart. Because it is an
/// applet with a handle, supervisors nest into trees (`supervisor_child`), and
/// a plain thread can wait for a whole tree to end on the root's handle.
///
/// Strategies (as OTP's `supervisor` module):
///  - `one_for_one`: only the child that ended is restarted;
///  - `one_for_all`: the other children are stopped in reverse start order,
///    then all are started again in order;
///  - `rest_for_one`: the children started after the one that ended are
///    stopped in reverse order, then it and they are started again in order;
///  - `simple_one_for_one`: `one_for_one` for a pool of children made from
///    one template at run time (`supervisor_handle::start_child`).
///
/// Restart types: `permanent` children are always restarted; `transient`
/// ones only after an abnormal end (anything but a kill); `temporary` ones
/// never (and are forgotten once they end). A restart counts towards the
/// intensity: one more than `max_restarts` within `period` and the supervisor
/// stops every child in reverse start order and ends with
/// `supervisor_errc::restart_limit`, which its own supervisor (or whoever
/// waits on its handle) then sees.
///
/// Stopping a child: the supervisor kills it and waits for its handle, at most
/// the child's `shutdown` limit. A child whose `destroy` overruns that limit is
/// given up ("killed outright"): the supervisor records
/// `supervisor_errc::shutdown_overrun` as its end and goes on with the next
/// child. C++ cannot pre-empt a running callback, so that `destroy` still
/// finishes on its own thread later; its handle becomes ready then. A nested
/// supervisor is stopped through `supervisor_handle::shutdown`, so it stops
/// its own children in order first.
///
/// A restart makes a fresh applet with the child's factory (fresh state), on
/// the same scheduler as before.
///
/// Threading: every supervisor decision, the `on_event` observer and every
/// call of a child factory run on the supervisor's scheduler thread. Children
/// run on their own schedulers. `supervisor_handle` members are safe from any
/// thread; `start_child`, `stop_child` and `shutdown` only queue a request
/// that the supervisor handles in its next turn.
///
/// Killing a supervisor's applet (`applet_handle::kill`, its scheduler
/// stopping) is abrupt: the supervisor cannot wait any more, so its `destroy`
/// kills every live child in reverse start order without waiting for them,
/// and its handle may become ready before theirs. Use `shutdown` for the
/// orderly stop in which the handle becomes ready only after every child.
///
/// Remote children: a child spec carries a `node` for children living on
/// another node, whose loss would count as the child's abnormal end. The nodes
/// module does not exist yet, so a non-empty `node` is refused with
/// `errc::invalid_argument`.

#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/clock.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace actorloop::actors {

/// The supervision error codes (category "actorloop.supervisor").
enum class supervisor_errc {
  /// More restarts than the intensity allows: the supervisor stopped every
  /// child and ended with this reason.
  restart_limit = 1,
  /// A child's destroy overran its shutdown limit; the supervisor gave it up.
  shutdown_overrun,
  /// A child could not be started (its factory threw or returned null, or its
  /// scheduler refused it); counts as an abnormal end.
  start_failed,
  /// The supervisor has ended; the request was not carried out.
  supervisor_ended,
  /// `stop_child` named no child of this supervisor.
  no_such_child,
};
[[nodiscard]] const std::error_category& supervisor_category() noexcept;
[[nodiscard]] std::error_code make_error_code(supervisor_errc value) noexcept;

enum class restart_strategy { one_for_one, one_for_all, rest_for_one, simple_one_for_one };
enum class restart_type { permanent, transient, temporary };
[[nodiscard]] const char* to_string(restart_strategy strategy) noexcept;
[[nodiscard]] const char* to_string(restart_type type) noexcept;

/// How to make one child. Copied into the supervisor; the factory is called
/// once per start (on the supervisor's thread) and must return a new applet.
struct child_spec {
  /// Unique among the supervisor's static children; the applet's name.
  std::string name;
  /// Makes a fresh applet (class form). Exactly one of `make` and `callbacks`.
  std::function<std::unique_ptr<applet>()> make{};
  /// Makes fresh callbacks (callables form).
  std::function<applet_callbacks()> callbacks{};
  /// The scheduler the child runs on, for every start.
  std::string scheduler = "default";
  restart_type restart = restart_type::permanent;
  /// How long the child's destroy may take when the supervisor stops it.
  runtime::duration shutdown = std::chrono::seconds(5);
  /// Hook for remote children; must be empty until the nodes module exists.
  std::string node{};
};

/// At most `max_restarts` restarts within any `period`.
struct restart_intensity {
  std::size_t max_restarts = 3;
  runtime::duration period = std::chrono::seconds(5);
};

/// Delay before a restart: `initial` doubled for every earlier restart of the
/// same child within the intensity period, at most `max`. Zero: no delay.
struct restart_backoff {
  runtime::duration initial = runtime::duration::zero();
  runtime::duration max = runtime::duration::zero();
};

/// What a supervisor reports to its observer, in order.
struct supervisor_event {
  enum class kind {
    child_started,   ///< spawned (first start or restart)
    child_ended,     ///< ended by itself (reason set)
    child_stopping,  ///< the supervisor killed it (orderly stop)
    child_stopped,   ///< it ended after the supervisor's kill
    child_overran,   ///< its destroy overran the shutdown limit; given up
    restart_limit,   ///< intensity exceeded; the supervisor is stopping
    shutting_down,   ///< an orderly shutdown began
  };
  kind what;
  std::string child; ///< Child name (empty for supervisor-wide events).
  exit_reason reason{};
  std::size_t restarts = 0; ///< The child's restarts so far.
};
[[nodiscard]] const char* to_string(supervisor_event::kind kind) noexcept;

/// A supervisor's declaration.
struct supervisor_spec {
  std::string name = "supervisor";
  restart_strategy strategy = restart_strategy::one_for_one;
  restart_intensity intensity{};
  restart_backoff backoff{};
  /// Static children, started in this order (must be empty for
  /// `simple_one_for_one`).
  std::vector<child_spec> children{};
  /// The template of `simple_one_for_one` children; each gets its name with
  /// "-<number>" appended.
  std::optional<child_spec> child_template{};
  /// Called on the supervisor's thread for every event; must not throw (an
  /// exception from it ends the supervisor as any callback exception does).
  std::function<void(const supervisor_event&)> on_event{};
};

struct supervisor_stats;

namespace detail {
struct supervisor_shared;
}

/// The answer to `start_child` and `stop_child`: the child's handle, or why
/// not. Errors are values here (not exceptions carried across threads).
struct child_result {
  /// start_child: the child's first instance; empty otherwise.
  applet_handle child{};
  /// Empty on success; `supervisor_errc` or `errc::invalid_argument`.
  std::error_code error{};
  /// Names the problem when `error` is set.
  std::string message{};
  [[nodiscard]] explicit operator bool() const noexcept { return !error; }
};

/// A supervisor's applet handle with the supervisor's own controls.
/// Thread safety: distinct objects: safe. Shared objects: safe.
class supervisor_handle : public applet_handle {
public:
  supervisor_handle() = default;
  supervisor_handle(applet_handle applet, std::shared_ptr<detail::supervisor_shared> shared)
    : applet_handle(std::move(applet)), shared_(std::move(shared)) {}

  /// Starts a dynamic child. With no spec, the `child_template` is used. The
  /// future gets the child's first handle once spawned, or the error
  /// `supervisor_ended`, `start_failed` or `invalid_argument` with a message.
  [[nodiscard]] std::future<child_result> start_child(std::optional<child_spec> spec = {});
  /// Stops a child for good (an orderly stop with its limit; it is not
  /// restarted). The future is fulfilled once it has gone (and has left the
  /// statistics); `no_such_child` if `current` is not the current instance of
  /// a child, `supervisor_ended` if the supervisor ended first.
  [[nodiscard]] std::future<child_result> stop_child(const applet_handle& current);
  /// Orderly stop: children in reverse start order, then the supervisor
  /// itself with a normal reason. Idempotent; a no-op once it has ended.
  void shutdown();
  /// A snapshot of the statistics. O(number of children).
  [[nodiscard]] supervisor_stats stats() const;

private:
  std::shared_ptr<detail::supervisor_shared> shared_;
};

/// Where a child is.
enum class child_status { running, stopping, restart_pending, down };
[[nodiscard]] const char* to_string(child_status status) noexcept;

struct child_stats {
  std::uint64_t key = 0; ///< Stable id of the child slot in this supervisor.
  std::string name;
  std::string scheduler;
  restart_type restart = restart_type::permanent;
  child_status status = child_status::down;
  std::size_t starts = 0;
  std::size_t restarts = 0;
  /// Why the last instance ended (meaningful when `ended` > 0).
  exit_reason last_reason{};
  std::size_t ended = 0;
  /// The current instance (empty when down).
  applet_handle current{};
  /// The current instance's supervisor controls when the child is itself a
  /// supervisor (`supervisor_child`), so a tree's inner supervisors can be
  /// reached (e.g. to start dynamic children); empty otherwise.
  supervisor_handle supervisor{};
};

struct supervisor_stats {
  std::string name;
  restart_strategy strategy = restart_strategy::one_for_one;
  std::size_t restarts = 0; ///< Restart decisions (each counts once to the intensity).
  bool stopping = false;
  /// Children in start order.
  std::vector<child_stats> children;
};

/// The supervisor as an applet class, for custom placement; most programs use
/// `spawn_supervisor` or `supervisor_child`. `handle` binds after spawning.
class supervisor_applet final : public applet {
public:
  /// Throws `invalid_argument` for a malformed spec (naming the problem).
  explicit supervisor_applet(supervisor_spec spec);
  ~supervisor_applet() override;
  void init(applet_context& context) override;
  void preselect(applet_context& context) override;
  waitable postselect(applet_context& context, const waitable& fired) override;
  void destroy(applet_context& context) override;
  std::string dump(const applet_context& context) const override;

  [[nodiscard]] const std::shared_ptr<detail::supervisor_shared>& shared() const noexcept;

  struct core;

private:
  std::unique_ptr<core> core_;
};

/// Validates `spec` and spawns the supervisor on `scheduler`. Throws as
/// `spawn_applet` does, and `invalid_argument` for a malformed spec.
[[nodiscard]] supervisor_handle spawn_supervisor(runtime::engine& engine, std::string_view scheduler,
                                                 supervisor_spec spec);

/// A child spec that runs a nested supervisor (restart type permanent, an
/// unlimited-looking shutdown limit as OTP's `infinity` is 1 hour here).
[[nodiscard]] child_spec supervisor_child(supervisor_spec spec, std::string scheduler = "default");

} // namespace actorloop::actors

template <>
struct std::is_error_code_enum<actorloop::actors::supervisor_errc> : std::true_type {};
