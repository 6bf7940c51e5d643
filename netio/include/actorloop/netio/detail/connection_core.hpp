#pragma once
// The protocol-independent core of Client-Library's connection model, shared
// by every protocol's connection: the state behind `context` and
// `connection` (I/O mode, busy rule, callbacks installed and inherited,
// events delivered on the thread the mode prescribes, backpressure, the
// completion and notification waitables) and the transport interface a
// protocol implements on the I/O worker.
// Internal (namespace netio::detail): shared by netio and the pg module,
// which hosts its connections on the same core; not a stable API.

#include <actorloop/netio/detail/io_worker.hpp>

#include <actorloop/netio/connection.hpp>
#include <actorloop/netio/error.hpp>
#include <actorloop/runtime/event.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>

namespace actorloop::netio {

namespace detail {

/// Depth of callbacks the calling thread is inside (poll refuses > 0).
int& callback_depth() noexcept;

/// Whether the innermost callback on this thread is a completion callback
/// (which may start operations) or another kind (which may not).
bool& in_completion_callback() noexcept;

/// Runs `body` as a callback: poll is refused inside, and a throwing
/// callback becomes `failure` ("a callback threw: ...") instead of unwinding
/// into the runtime. Returns true when it did not throw.
bool run_as_callback(const std::function<void()>& body, std::string& failure);

/// The exception being handled, for a message: its what(), or a phrase
/// for one not derived from std::exception. Call only inside a catch.
[[nodiscard]] std::string describe_current_exception();

/// Bytes a row holds, for max_result_bytes.
[[nodiscard]] std::size_t size_of(const result_row& row);

/// What the core asks of a protocol's worker-side half. Every member runs
/// on the connection's I/O worker.
class connection_transport {
public:
  virtual ~connection_transport() = default;
  /// Stop / resume reading the socket (backpressure).
  virtual void pause() = 0;
  virtual void resume() = 0;
  /// Ends the session politely and closes; `close_id` is the close
  /// operation's id (0: an internal close).
  virtual void start_close(std::uint64_t close_id) = 0;
  /// Closes the socket at once, without the logout exchange (forced exit).
  virtual void force_close() = 0;
  /// Asks the server to stop these requests (attention cancel).
  virtual void send_cancel(std::vector<std::uint64_t> request_ids) = 0;
  /// The connection object is going: stop delivering and close.
  virtual void abandon() = 0;
  /// Bracket the worker's run of an operation's start (start_operation's
  /// `on_worker`), for a transport that lends its socket to sync callers
  /// (caller_io): none can borrow it while the worker is inside.
  virtual void worker_enter() {}
  virtual void worker_leave() {}
};

/// Something a connection must deliver, in wire order, on the thread its mode
/// prescribes. `run` does the delivery (calls a callback, files a row, ...).
struct connection_event {
  std::function<void(connection&)> run;
  /// Set for the completion of an operation: poll reports it.
  bool completes = false;
  function_id function = function_id::execute;
  /// The completed operation's id.
  std::uint64_t id = 0;
  retcode status = retcode::succeed;
  /// Unsolicited (notification or server message with request id 0).
  bool unsolicited = false;
  /// Notification (for the async-notifications routing).
  bool is_notification = false;
  /// Marks the connection dead when delivered or queued (a lost connection's
  /// report), in one step with the delivery so nobody sees one without the other.
  bool marks_dead = false;
  /// Bytes this event holds, for backpressure.
  std::size_t bytes = 0;
};

/// The I/O worker's own copy of one installed callback, for async mode's
/// direct delivery: recopied from `installed` only when that changed (see
/// `installed_generation`), so a delivery neither copies the std::function
/// nor destroys a copy. Touched only on the connection's I/O worker.
template <class Callback>
struct worker_callback {
  Callback callback;
  /// The `installed_generation` `callback` was copied at (0: never).
  std::uint64_t generation = 0;
  /// Set while `callback` runs: a delivery nested inside it (on the same
  /// worker) takes a copy of its own instead of replacing the one running.
  bool running = false;
};

struct pending_operation {
  function_id function = function_id::execute;
  std::uint64_t request_id = 0;
};

} // namespace detail

class context::state : public std::enable_shared_from_this<context::state> {
public:
  state(runtime::engine& engine, context_options options)
    : engine(engine), mode(options.mode) {}

  runtime::engine& engine;
  // One mutex for the context and all its connections' queues: poll looks at
  // every connection under it, and waits on one condition variable.
  mutable std::mutex mutex;
  std::condition_variable changed;
  io_mode mode;
  callbacks defaults;
  std::map<int, signal_callback> signal_callbacks;
  std::vector<connection::state*> connections;
  std::size_t poll_start = 0;
};

class connection::state : public std::enable_shared_from_this<connection::state> {
public:
  state(std::shared_ptr<context::state> owner, connection_options options);

  // -- set at construction -----------------------------------------------------------
  std::shared_ptr<context::state> owner_state;
  context* owner = nullptr;
  connection* self = nullptr; // cleared when the connection object goes
  std::shared_ptr<detail::io_worker> worker;
  std::shared_ptr<detail::connection_transport> link;

  // -- guarded by owner_state->mutex -----------------------------------------------
  io_mode requested_mode;
  connection_options options;
  callbacks installed;
  // Bumped whenever `installed` changes (connection::install and the
  // setters): the worker's copies below are refreshed only then.
  std::uint64_t installed_generation = 1;
  std::any user_data;
  bool dead = false;
  bool connected = false;
  std::uint64_t session_id = 0;
  std::uint64_t next_request_id = 1;
  std::uint64_t next_lookup_id = 1;
  std::deque<detail::pending_operation> operations;
  std::deque<detail::connection_event> queue;   // to deliver (sync/deferred)
  std::deque<detail::connection_event> held;    // unsolicited, waiting for a read
  // Async mode: held events released to the worker (release_held_locked)
  // whose posted job has not emptied this yet. While it is non-empty every
  // event of the connection joins its back instead of running at once, and
  // the routing snapshot sends the worker down that path, so nothing read
  // later overtakes what was held.
  std::deque<detail::connection_event> released;
  std::size_t queued_bytes = 0;
  std::map<std::uint64_t, result> building;     // results being received
  // The node of the last result filed, kept for the next one (no map node
  // allocated per request; see open_result_locked).
  std::map<std::uint64_t, result>::node_type spare_building;
  std::deque<result> finished;                  // results not taken yet
  std::size_t finished_bytes = 0;
  std::set<std::uint64_t> discarding;            // canceled: drop their rows
  client_message last_error;
  bool reading_paused = false;
  std::size_t queued_completions = 0;
  // What update_waitables_locked last made the waitables (each set/reset
  // takes the event's own lock: only a change is passed on).
  bool completion_signalled = false;
  bool notification_signalled = false;
  // Whether completion_event() or notification_event() has been asked for.
  // Until then nobody can wait on the two events, so update_waitables_locked
  // leaves them alone (an async round trip otherwise sets and resets one,
  // two locks of its own); the first ask brings them up to date.
  bool waitables_exposed = false;

  // -- the routing snapshot (async direct delivery) ---------------------------------
  // What the worker's direct delivery decides from (the connection object
  // there, its mode, an operation pending, async notifications, which
  // callbacks are installed) is published here by publish_routing_locked
  // after every change of those fields, under the lock, and read by the
  // worker without it: a delivery no longer takes the context's mutex, which
  // every connection of the context shares, only to route. `routing` packs
  // the flags below and `installed_generation` (shifted by
  // routing_generation_shift); `routing_target` is `self` (null once the
  // connection object is going). A reader that finds anything but "deliver
  // now" with its copy of the callback current takes the locked path, which
  // decides again; a delivery is ordered where it reads the snapshot, as it
  // was where it took the lock.
  static constexpr std::uint64_t routing_async = 1;              // effective mode async
  static constexpr std::uint64_t routing_notify_now = 2;         // async, and a note runs now
  static constexpr unsigned routing_generation_shift = 2;
  std::atomic<std::uint64_t> routing{0};
  std::atomic<connection*> routing_target{nullptr};

  // -- used only on the I/O worker (async direct delivery) -------------------------
  // Copies of the installed callbacks, refreshed under the lock when
  // `installed_generation` moved, called without it. They may outlive an
  // uninstall until the next delivery; the connection's destructor clears
  // them on the worker.
  detail::worker_callback<completion_callback> worker_completion;
  detail::worker_callback<notification_callback> worker_notification;

  runtime::event completion_ready{runtime::reset_mode::manual, "connection completion"};
  runtime::event notification_ready{runtime::reset_mode::manual, "connection notification"};

  // -- helpers (lock held unless said otherwise) -------------------------------------
  [[nodiscard]] io_mode effective_mode_locked() const;
  /// Publishes the routing snapshot from the fields it summarises; call
  /// after changing `self`, `requested_mode`, the context's mode,
  /// `operations`, `options.async_notifications` or `installed_generation`.
  void publish_routing_locked();
  void update_waitables_locked();
  /// Routes one event (any thread): runs it now on the worker in async mode,
  /// queues it otherwise. Called on the worker.
  void deliver(detail::connection_event event);
  /// Takes the oldest queued event for its delivery thread (poll or a
  /// blocked sync caller), keeping the byte and completion counts and the
  /// waitables in step. The queue must not be empty.
  [[nodiscard]] detail::connection_event take_next_locked();
  /// Moves held unsolicited events into delivery (an operation started,
  /// or asynchronous notifications turned on). True when they joined the
  /// queue (sync and deferred mode): the caller then wakes the context's
  /// waiters (`owner_state->changed`) after releasing the lock.
  [[nodiscard]] bool release_held_locked(io_mode mode);
  /// Runs the released events on the worker, in order, one at a time
  /// without the lock, until none is left (called on the worker).
  void run_released();
  /// Reports a client-side problem on the calling thread (the one that
  /// found it): the connection's client-message callback, else the
  /// context's; `fail` from it kills the connection.
  void report(const client_message& problem);
  /// Runs one event on the calling thread (as the delivery thread).
  void run_event(detail::connection_event& event);
  /// Resumes reading once the application has drained its buffers.
  void maybe_resume_locked();
};

namespace detail {

/// The completion of operation `id` (`function`) with `status`, as an event:
/// when delivered it ends the operation, files an execute's result, and
/// calls the completion callback (not in sync mode).
[[nodiscard]] connection_event completion_event_for(connection::state& owner, function_id function,
                                                    std::uint64_t id, retcode status);

/// Ends operation `id` (`function`) with `status` (lock held): the core's
/// bookkeeping of a completion (the operation ended, an execute's result
/// filed, the waitables and backpressure updated). Returns whether the
/// completion callback is to be called next, without the lock (never in
/// sync mode).
bool finish_operation_locked(connection::state& state, function_id function, std::uint64_t id,
                             retcode status);

/// A new, empty result record of request `id` in `building` (lock held), in
/// the node of an earlier one when one was kept. Returns it.
result& open_result_locked(connection::state& state, std::uint64_t id);

/// What a protocol does in the step that completes an operation: files
/// under the context's lock, with the core's bookkeeping (pg files its own
/// result record, and takes its installed callbacks in the same
/// acquisition), and, when `call` is set, calls its own completion callback
/// instead of the one installed in the core. Function pointers and their
/// argument: completing allocates nothing.
struct completion_filing {
  void (*file_locked)(void* argument, std::uint64_t id) = nullptr;
  void (*call)(void* argument, connection& target, function_id function,
               retcode status) = nullptr;
  void* argument = nullptr;
};

/// Async mode, on the worker: completes operation `id` at once, without an
/// event object: `filing` and `finish_operation_locked` under one
/// acquisition of the context's lock, then the completion callback here.
/// False, with nothing done, where the completion must be queued instead
/// (another mode, released events ahead of it, the routing being changed);
/// true also when the connection object is gone (dropped as `deliver`
/// drops an event then).
[[nodiscard]] bool complete_in_place(connection::state& state, function_id function,
                                     std::uint64_t id, retcode status, completion_filing filing);

/// Sync mode, on the calling thread while it does its own operation's I/O
/// (caller_io), lock held: whether something of that operation (its
/// completion, a server message) may be delivered here at once instead of
/// queued for wait_sync. True when nothing waits in the queue before it
/// (wire order) and the connection object is there.
[[nodiscard]] bool may_deliver_here_locked(const connection::state& state);

/// Reports a context-level usage error through the error handler (on the
/// calling thread, the one that provoked it) and returns it.
std::error_code context_error(context::state& state, std::error_code code, std::string text);

/// Deferred mode's poll over every connection of `owner` (`only` null) or one.
[[nodiscard]] poll_result poll_connections(context::state& owner, connection::state* only,
                                           std::optional<runtime::duration> timeout);

/// Sync mode: waits on the calling thread until operation `id` completes,
/// running this connection's events here as they arrive. `deadline` is when
/// the operation's timeout first expires (default: the timeout from now).
[[nodiscard]] retcode wait_sync(connection::state& state, function_id function, std::uint64_t id,
                                std::optional<runtime::time_point> deadline = std::nullopt);

/// What a caller_io did.
struct caller_outcome {
  /// False: nothing happened (the transport cannot lend its socket now);
  /// the operation then goes to the I/O worker.
  bool started = false;
  /// Set when the operation also completed here, delivered in place (see
  /// may_deliver_here_locked): its status; wait_sync is not needed.
  std::optional<retcode> completed;
};

/// A sync-mode operation's I/O on the calling thread (see start_operation):
/// called with the operation's id and the deadline of its timeout
/// (time_point::max() without one). When it started the operation here, the
/// transport may have handed the rest to its worker (another thread's
/// request, the timeout, backpressure), and its events are then queued as
/// from the worker; what it delivered in place while nothing was queued
/// ran on the calling thread at once.
using caller_io = std::function<caller_outcome(std::uint64_t id, runtime::time_point deadline)>;

/// Starts an operation: the busy rule, what callbacks may start, dead and
/// unconnected connections; then runs `on_worker(id)` on the I/O worker and,
/// in sync mode, waits for the completion. With `on_caller`, a sync-mode
/// operation on an idle connection (nothing else in flight, no asynchronous
/// notifications) first tries `*on_caller` on the calling thread, as libpq
/// does its I/O on the caller: no hand-off to the worker and back.
[[nodiscard]] started_operation start_operation(connection::state& state, function_id function,
                                                bool needs_connection,
                                                const std::function<void(std::uint64_t)>& on_worker,
                                                const caller_io* on_caller = nullptr);

/// start_operation for an operation whose worker part can run where it is:
/// on the connection's I/O worker already (a completion callback starting
/// the next operation), `run_here(id)` runs it at once and nothing is built
/// or copied; otherwise `make_on_worker()` builds the part posted to the
/// worker (called once, then, and may move from what `run_here` would have
/// used). Neither is called when the operation does not start. With
/// `on_caller`, a sync-mode caller may do the I/O itself, as in
/// start_operation; neither is called then either (no std::function and
/// copies of its captures built per query for nothing).
[[nodiscard]] started_operation
start_operation_in_place(connection::state& state, function_id function, bool needs_connection,
                         const std::function<void(std::uint64_t)>& run_here,
                         const std::function<std::function<void(std::uint64_t)>()>& make_on_worker,
                         const caller_io* on_caller = nullptr);

/// The detail access point to a connection's core state (for the
/// protocols hosted on the core).
struct connection_access {
  [[nodiscard]] static const std::shared_ptr<connection::state>& state_of(const connection& c) noexcept {
    return c.state_;
  }
};

/// The detail access point to a context's shared state.
struct context_access {
  [[nodiscard]] static const std::shared_ptr<context::state>& state_of(const context& owner) noexcept {
    return owner.state_;
  }
};

} // namespace detail

} // namespace actorloop::netio
