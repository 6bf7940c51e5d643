#pragma once
/// @file
/// Client connections with Client-Library's I/O modes and callbacks, over
/// actorloop's framed protocol (docs/protocol.md, docs/netio.md).
///
/// A `context` holds defaults (I/O mode, callbacks) and polls; a `connection`
/// talks to one server. Every connection has an I/O mode:
///  - sync: calls block until done; callbacks run on the calling thread;
///  - deferred: calls return `retcode::pending` at once (or `busy`); nothing
///    completes until the application calls `poll`, which runs the callbacks
///    on the polling thread and reports what completed;
///  - async: calls return `pending`; callbacks run on the connection's I/O
///    worker, concurrently with the application's own threads.
///
/// Which thread runs each callback kind (Open Client Client-Library/C
/// Reference Manual, version 15.0, Table 2-27 "Callback types and the thread
/// they are invoked from"):
/// | callback          | sync                     | deferred                  | async               |
/// |-------------------|--------------------------|---------------------------|---------------------|
/// | completion        | (not called)             | the `poll` caller         | the I/O worker      |
/// | server message    | the calling thread       | the `poll` caller         | the I/O worker      |
/// | client message    | the calling thread       | the thread that provoked it (`poll` caller or caller) | I/O worker or caller |
/// | notification      | reading thread; I/O worker with async notifications | `poll` caller | the I/O worker |
/// | error handler     | the thread that provoked it (context level)                                      |||
/// | directory         | the `lookup` caller      | the `poll` caller         | the I/O worker      |
/// | encryption, negotiation, security session | the `connect` caller | the `poll` caller | the I/O worker |
/// | signal            | the I/O worker that owns the signalfd (never a signal handler)                   |||
///
/// Callbacks must not call `poll` (`errc::not_allowed_in_callback`); any
/// callback may call `cancel(cancel_kind::attention)`, read properties and
/// set user data; a completion callback may start the next operation.
///
/// Thread safety: distinct objects: safe. Shared objects: safe; every member
/// may be called from any thread. Blocking calls (sync-mode operations,
/// `poll` with a timeout) refuse to run on a scheduler or I/O worker thread.
///
/// How failures are reported (one rule for netio, docs/netio.md):
///  - an operation of the Client-Library model (connect, execute, lookup,
///    cancel, close, wakeup, poll) returns its `retcode`; on `fail` the
///    client-message callback heard why, on the thread that found it, and
///    `last_error()` keeps it;
///  - a context-level call that can fail at run time (`exit`, `poll`)
///    returns an error (a `std::error_code`, or `retcode::fail` in the poll
///    result) and the context's error handler hears it on the calling thread;
///  - any other call returns a `std::error_code` when the failure is a state
///    the caller can handle (`connection::set_mode`), and throws
///    `netio::error` for an argument no run can make right (a bad signal
///    number, deferred mode on a connection, unparsable configuration, a
///    system resource that cannot be had); a throwing call reports nothing
///    else, so each failure reaches the application exactly once.

#include <actorloop/netio/endpoint.hpp>
#include <actorloop/netio/error.hpp>
#include <actorloop/netio/login.hpp>
#include <actorloop/netio/message.hpp>
#include <actorloop/runtime/clock.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/waitable.hpp>

#include <any>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace actorloop::netio {

class tls_context;

namespace detail {
struct context_access;
struct connection_access;
class connection_transport;
} // namespace detail

enum class io_mode { sync, deferred, async };

/// Return codes (Client-Library's CS_RETCODE values that matter here).
enum class retcode {
  succeed,   ///< done (sync), or the completion status of a successful operation
  fail,      ///< failed; the client-message callback said why
  pending,   ///< started; completes later (deferred and async modes)
  busy,      ///< another operation is pending on this connection
  quiet,     ///< `poll`: no operation is pending
  timed_out, ///< `poll`: the timeout passed before anything completed
  canceled,  ///< the operation was canceled
};

/// Which operation completed (Client-Library's function codes).
enum class function_id : std::int32_t {
  cancel = 4,
  close = 6,
  connect = 17,
  execute = 38, ///< a request and its results (CT_SEND + CT_RESULTS)
  lookup = 45,  ///< a directory lookup (CT_DS_LOOKUP)
  notification = 1000,
  user_first = 10000, ///< lowest id `wakeup` accepts for user operations
};

enum class cancel_kind {
  /// Tell the server to stop; results are discarded as they are read. The
  /// only cancel allowed while an operation is pending or inside callbacks.
  attention,
  /// Discard every result the connection holds now, and cancel like `attention`.
  all,
};

/// A message about the client side (Client-Library's CS_CLIENTMSG).
struct client_message {
  severity level = severity::error;
  std::error_code code;
  std::string text;
};

enum class callback_result { succeed, fail };
enum class directory_action { continue_lookup, stop };
enum class negotiation_result { succeed, continue_negotiation, fail };

/// One address a directory lookup found.
struct directory_entry {
  std::string host;
  endpoint address;
};

/// Rows, server messages and the completion of one `execute`.
struct result {
  std::uint64_t request_id = 0;
  std::vector<result_row> rows;
  completion outcome;
};

class connection;

/// What starting an operation gave: its `retcode`, and the id of the
/// operation when it started (`pending` or done in sync mode; 0 when it
/// never started: `fail` before starting, `busy`). An `execute`'s id is the
/// `request_id` of its `result`, for `take_result(id)`; a `lookup`'s id is
/// the `lookup_id` its directory callbacks hear. Compares and converts to
/// `retcode`, so `connection.execute(x) == retcode::succeed` reads as before.
struct started_operation {
  retcode code = retcode::fail;
  std::uint64_t id = 0;

  constexpr operator retcode() const noexcept { return code; } // NOLINT: intended
  friend constexpr bool operator==(const started_operation& left, retcode right) noexcept {
    return left.code == right;
  }
};

using completion_callback = std::function<retcode(connection&, function_id, retcode status)>;
using server_message_callback = std::function<void(connection&, const server_message&)>;
using client_message_callback = std::function<callback_result(connection*, const client_message&)>;
using notification_callback = std::function<void(connection&, const notification&)>;
using error_handler_callback = std::function<void(const client_message&)>;
using directory_callback =
  std::function<directory_action(connection&, std::uint64_t lookup_id, retcode status,
                                 std::size_t remaining, const directory_entry&)>;
using encryption_callback = std::function<callback_result(
  connection&, std::string_view password, std::string_view key, std::string& encrypted)>;
using negotiation_callback = std::function<negotiation_result(
  connection&, std::uint32_t message_id, std::string_view challenge, std::string& answer)>;
using security_session_callback =
  std::function<callback_result(connection&, const security_session_info&)>;
using signal_callback = std::function<void(int signal_number)>;

/// Every callback kind; an empty function means "not installed".
struct callbacks {
  completion_callback completion;
  server_message_callback server_message;
  client_message_callback client_message;
  notification_callback notification;
  error_handler_callback error_handler;
  directory_callback directory;
  encryption_callback encryption;
  negotiation_callback negotiation;
  security_session_callback security_session;
};

struct context_options {
  /// Default I/O mode of connections made afterwards. `deferred` can only
  /// be set here; a context's asynchronous connections are all of one kind.
  io_mode mode = io_mode::sync;
};

/// What `poll` found.
struct poll_result {
  retcode code = retcode::quiet;
  /// The connection whose operation completed (context-level poll).
  connection* completed = nullptr;
  function_id function = function_id::execute;
  retcode status = retcode::succeed;
};

class context {
public:
  explicit context(runtime::engine& engine, context_options options = {});
  /// Closes what is still open (see `exit`).
  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  [[nodiscard]] runtime::engine& engine() const noexcept;
  [[nodiscard]] io_mode mode() const;
  /// Changes the default for connections made afterwards.
  void set_mode(io_mode mode);

  /// Context-level callbacks: inherited by connections made afterwards.
  [[nodiscard]] callbacks installed() const;
  void install(callbacks replacement);
  void set_completion(completion_callback callback);
  void set_server_message(server_message_callback callback);
  void set_client_message(client_message_callback callback);
  void set_notification(notification_callback callback);
  void set_error_handler(error_handler_callback callback);
  void set_directory(directory_callback callback);
  void set_encryption(encryption_callback callback);
  void set_negotiation(negotiation_callback callback);
  void set_security_session(security_session_callback callback);

  /// Installs a signal callback (context level only, as in Client-Library).
  /// The signal is blocked in the calling thread and delivered through a
  /// signalfd to an I/O worker, which runs `callback` there. Block it in
  /// every thread first (`block_signals` at the top of main, before the
  /// engine starts threads); otherwise the default action may still run.
  /// An empty callback uninstalls it and restores the default action.
  /// Throws `netio::error` (`errc::invalid_argument`) for a number that is
  /// not a catchable signal (0, negative, above SIGRTMAX, SIGKILL, SIGSTOP);
  /// the error handler is not called for it (one report per failure).
  void set_signal(int signal_number, signal_callback callback);
  [[nodiscard]] signal_callback signal(int signal_number) const;

  /// Deferred mode: runs pending callbacks on this thread and reports the
  /// first completed operation of any connection of this context.
  /// `timeout` zero never blocks; `std::nullopt` waits without limit.
  [[nodiscard]] poll_result poll(std::optional<runtime::duration> timeout);

  /// Client-Library's ct_exit. Fails (`errc::operations_pending`) while any
  /// connection has a pending operation, forced or not. Without `force`
  /// (CS_UNUSED) it also fails (`errc::results_pending`) while a connection
  /// holds results not taken yet, and changes nothing; otherwise it closes
  /// every connection politely (terminate, then close). With `force`
  /// (CS_FORCE_EXIT) it discards untaken results and undelivered events and
  /// closes every connection at once, without the logout exchange
  /// (Client-Library's CS_FORCE_CLOSE). Either way the connections are no
  /// longer connected when it returns; the sockets close on their workers.
  /// Failures also reach the error handler, on the calling thread.
  /// Not allowed inside callbacks (`errc::not_allowed_in_callback`).
  [[nodiscard]] std::error_code exit(bool force = false);

  class state;

private:
  friend struct detail::context_access;
  std::shared_ptr<state> state_;
};

struct connect_options {
  std::string user = "actorloop";
  std::string client_name = "actorloop-client";
  /// Used when the server asks for password encryption.
  std::string password;
  /// TLS, if set (a client-role context); the host name of the endpoint is
  /// checked against the server's certificate unless `tls_host` overrides it.
  std::shared_ptr<const tls_context> tls;
  std::string tls_host;
  /// Limit on the whole connect: name resolution, TCP, TLS and login (all
  /// modes; zero = none). Fails with errc::connect_timed_out.
  runtime::duration connect_timeout = std::chrono::seconds(10);
};

struct connection_options {
  /// Empty: the context's mode. `deferred` is refused here.
  std::optional<io_mode> mode;
  /// Deliver notifications (and server messages) that arrive while no
  /// operation is pending (Client-Library's CS_ASYNC_NOTIFS). Default false.
  bool async_notifications = false;
  /// Allow several `execute`s in flight (their completions come in order).
  bool pipelining = false;
  /// Sync mode: how long a call waits before the client-message callback
  /// hears `timed_out` (Client-Library's CS_TIMEOUT); empty = no limit.
  std::optional<runtime::duration> timeout;
  /// Events waiting for their delivery thread (deferred: for `poll`; sync:
  /// for the blocked caller) that make a connection stop reading the socket
  /// (backpressure: the server then stops sending) until half are delivered.
  std::size_t max_buffered_bytes = 8u * 1024u * 1024u;
  /// Rows a connection holds in results (in progress and not yet taken). A
  /// request whose rows would go over it is canceled, its rows dropped, and
  /// the client-message callback says so (errc::buffer_full).
  std::size_t max_result_bytes = 256u * 1024u * 1024u;
  /// Deferred mode: `poll` reports no completions of this connection
  /// (Client-Library's CS_DISABLE_POLL, for layered libraries).
  bool disable_poll = false;
  /// The I/O worker that serves the connection for its whole life: an index
  /// into the engine's pool (`io_worker_statistics(engine)[index]`, named
  /// "io.<index>"). Its socket I/O, and in async mode its callbacks, run on
  /// that worker's thread and CPU, so a connection can be kept beside the
  /// applet or thread that uses it. Empty: the next worker, round robin. An
  /// index the pool does not have is refused when the connection is made
  /// (`netio::error` with `errc::invalid_argument`, naming both numbers).
  std::optional<std::size_t> io_worker;
};

class connection {
public:
  explicit connection(context& owner, connection_options options = {});
  class state;
  /// Makes the worker-side transport of a connection that speaks another
  /// protocol (used by the pg module; private to actorloop's modules).
  using transport_factory =
    std::function<std::shared_ptr<detail::connection_transport>(const std::shared_ptr<state>&)>;
  /// A connection on the same core (I/O modes, busy rule, poll, wakeup,
  /// delivery threads, cancel, waitables) whose protocol is `make`'s
  /// transport; `connect`, `execute` and `lookup` of the framed protocol
  /// fail on it with `errc::invalid_argument`.
  connection(context& owner, connection_options options, const transport_factory& make);
  /// Closes the connection if still open (without waiting).
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // -- properties ------------------------------------------------------------------
  /// The effective I/O mode (async in a deferred context is deferred).
  [[nodiscard]] io_mode mode() const;
  /// Refuses `deferred` (errc::deferred_on_connection) and any change while
  /// an operation is pending (errc::busy).
  [[nodiscard]] std::error_code set_mode(io_mode mode);
  void set_async_notifications(bool enabled);
  void set_disable_poll(bool disabled);
  /// User data: readable and settable at any time, even while busy.
  void set_user_data(std::any value);
  [[nodiscard]] std::any user_data() const;
  [[nodiscard]] bool dead() const;
  [[nodiscard]] bool connected() const;
  [[nodiscard]] bool pending() const;
  [[nodiscard]] context& owner() const noexcept;
  /// The I/O worker thread serving this connection (after `connect`).
  [[nodiscard]] std::thread::id io_thread() const;
  /// The session id the server gave in `ready`.
  [[nodiscard]] std::uint64_t session_id() const;

  // -- callbacks (connection level; empty = fall back as Client-Library does) ------
  [[nodiscard]] callbacks installed() const;
  void install(callbacks replacement);
  void set_completion(completion_callback callback);
  void set_server_message(server_message_callback callback);
  void set_client_message(client_message_callback callback);
  void set_notification(notification_callback callback);
  void set_directory(directory_callback callback);
  void set_encryption(encryption_callback callback);
  void set_negotiation(negotiation_callback callback);
  void set_security_session(security_session_callback callback);

  // -- operations --------------------------------------------------------------------
  /// Connects and logs in. Sync: `succeed`/`fail`. Deferred/async: `pending`
  /// (or `busy`), completing with function_id::connect.
  started_operation connect(const endpoint& server, connect_options options = {});
  /// Sends one request; its rows, server messages and completion form a
  /// `result` whose `request_id` is the returned id (take it with
  /// `take_result(id)`). Completes with function_id::execute.
  started_operation execute(request command);
  /// Convenience: execute({arguments...}).
  started_operation execute(std::vector<std::string> arguments) {
    return execute(request{std::move(arguments)});
  }
  /// Resolves `host` asynchronously; the directory callback hears each
  /// address (with the returned id as `lookup_id`), then the lookup
  /// completes with function_id::lookup.
  started_operation lookup(std::string host, std::uint16_t port = 0);
  /// See `cancel_kind`. `attention` is allowed while busy.
  retcode cancel(cancel_kind kind);
  /// Ends the session (terminate) and closes. Completes with function_id::close.
  started_operation close();
  /// Client-Library's ct_wakeup: calls this connection's completion callback
  /// on the calling thread with exactly these arguments.
  retcode wakeup(function_id function, retcode status);
  /// Deferred mode: as `context::poll`, for this connection only.
  [[nodiscard]] poll_result poll(std::optional<runtime::duration> timeout);

  /// The oldest finished `execute` result not taken yet (check its
  /// `request_id`: a result left untaken stays first).
  [[nodiscard]] std::optional<result> take_result();
  /// The finished result of the `execute` that returned `request_id`;
  /// empty while it has not finished, or once taken. Results taken by id
  /// leave every other result where it was.
  [[nodiscard]] std::optional<result> take_result(std::uint64_t request_id);
  /// Why the last operation failed (empty after a success).
  [[nodiscard]] client_message last_error() const;

  /// A waitable that is ready while a completion of this connection waits to
  /// be reported (deferred mode), so an applet can wait for it in preselect
  /// and `poll` it (timeout zero) in postselect without blocking a thread.
  [[nodiscard]] runtime::waitable completion_event() const;
  /// A waitable ready while notifications wait to be delivered by `poll`.
  [[nodiscard]] runtime::waitable notification_event() const;

private:
  friend struct detail::connection_access;
  std::shared_ptr<state> state_;
};

/// Blocks `signals` in the calling thread (threads created afterwards
/// inherit the mask). Call at the top of main, before the engine starts.
void block_signals(std::initializer_list<int> signals);

/// Names for printing.
[[nodiscard]] std::string_view to_string(io_mode mode) noexcept;
[[nodiscard]] std::string_view to_string(retcode code) noexcept;
[[nodiscard]] std::string_view to_string(function_id function) noexcept;

} // namespace actorloop::netio
