#pragma once
/// A PostgreSQL connection on netio's connection core: the same I/O modes
/// (sync, deferred, async), busy rule, `poll`, `wakeup`, delivery threads and
/// completion/notification waitables as `netio::connection`, speaking the
/// PostgreSQL protocol v3 (simple query protocol in this version).
///
/// Which thread runs each callback (Open Client Client-Library/C
/// Programmer's Guide, Table 2-27, as `netio::connection` applies it):
///
/// | callback       | sync                        | deferred          | async          |
/// |----------------|-----------------------------|-------------------|----------------|
/// | completion     | (not called)                | the `poll` caller | the I/O worker |
/// | server message | the calling thread          | the `poll` caller | the I/O worker |
/// | client message | the calling thread          | the `poll` caller, or the caller that provoked it | the I/O worker, or the caller |
/// | notification   | the reading thread; the I/O worker with async notifications | the `poll` caller | the I/O worker |
/// | security session | the calling thread        | the `poll` caller | the I/O worker |
///
/// Thread safety: every member may be called from any thread; callbacks
/// must not call `poll`; only the completion callback may start operations.
/// Callbacks are copied under a lock and called without it.

#include <actorloop/netio/connection.hpp>
#include <actorloop/pg/backend.hpp>
#include <actorloop/pg/options.hpp>
#include <actorloop/pg/security.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace actorloop::pg {

using netio::function_id;
using netio::io_mode;
using netio::retcode;
using netio::started_operation;

/// One statement's outcome within a simple query: its rows (when it
/// returned any: `described`), and its command tag.
struct result {
  bool described = false; ///< a RowDescription came (the statement returns rows)
  row_description description;
  std::vector<data_row> rows;
  std::string command_tag; ///< empty for an empty query

  [[nodiscard]] std::size_t row_count() const noexcept { return rows.size(); }
  [[nodiscard]] std::size_t column_count() const noexcept { return description.fields.size(); }
  /// The rows the command affected or returned (from the tag), if it says.
  [[nodiscard]] std::optional<std::uint64_t> rows_affected() const;
  /// The command word of the tag ("INSERT", "SELECT", ...).
  [[nodiscard]] std::string_view command() const;
  /// Index of the column called `name`; throws pg::error (invalid_argument)
  /// naming the column when there is none.
  [[nodiscard]] std::size_t column(std::string_view name) const;
  [[nodiscard]] bool is_null(std::size_t row, std::size_t column) const;
  [[nodiscard]] bool is_null(std::size_t row, std::string_view name) const {
    return is_null(row, column(name));
  }
  /// The text of a cell. Throws pg::error (invalid_argument) for a row or
  /// column out of range, and (null_value) for a NULL.
  [[nodiscard]] std::string_view text(std::size_t row, std::size_t column) const;
  [[nodiscard]] std::string_view text(std::size_t row, std::string_view name) const {
    return text(row, column(name));
  }
  /// An int2/int4/int8/oid cell; throws (wrong_type) naming the column's
  /// type for any other type, (null_value) for NULL.
  [[nodiscard]] std::int64_t int64(std::size_t row, std::size_t column) const;
  [[nodiscard]] std::int64_t int64(std::size_t row, std::string_view name) const {
    return int64(row, column(name));
  }
  /// A float4/float8/numeric or integer cell as a double.
  [[nodiscard]] double float64(std::size_t row, std::size_t column) const;
  [[nodiscard]] double float64(std::size_t row, std::string_view name) const {
    return float64(row, column(name));
  }
  /// A bool cell.
  [[nodiscard]] bool boolean(std::size_t row, std::size_t column) const;
  [[nodiscard]] bool boolean(std::size_t row, std::string_view name) const {
    return boolean(row, column(name));
  }
};

/// What one `execute` gave back: one result per statement that ran, the
/// ErrorResponse that stopped it (if any; the statements after it did not
/// run), and the transaction status ReadyForQuery reported.
struct query_result {
  std::uint64_t request_id = 0;
  std::vector<result> results;
  std::optional<server_message> error;
  transaction_status status = transaction_status::idle;
};

/// A LISTEN/NOTIFY notification.
struct notification {
  std::string channel;
  std::string payload;
  std::int32_t process_id = 0; ///< the notifying backend's process id
};

class connection;

/// Called when an operation (connect, execute, close) completes; not in sync mode.
using completion_callback = std::function<void(connection&, function_id, retcode status)>;
/// Every NoticeResponse and ErrorResponse, with all its fields.
using server_message_callback = std::function<void(connection&, const server_message&)>;
/// Client-side problems; `fail` kills the connection (Client-Library's rule).
/// The pointer is null when the connection object is going.
using client_message_callback =
  std::function<netio::callback_result(connection*, const netio::client_message&)>;
/// NotificationResponse.
using notification_callback = std::function<void(connection&, const notification&)>;

/// After the TLS handshake, before the start-up message: `succeed` goes
/// on, anything else (or a throw) fails this host's attempt with a client
/// message saying so. Runs where a client message would (Table 2-27).
using security_session_callback =
  std::function<netio::callback_result(connection&, const security_session_info&)>;

struct callbacks {
  completion_callback completion;
  server_message_callback server_message;
  client_message_callback client_message;
  notification_callback notification;
  security_session_callback security_session;
};

class connection {
public:
  /// `options` say where and who (from `resolve_options`); `core` sets the
  /// I/O mode (deferred only on the context), async notifications,
  /// timeouts and buffer limits as for `netio::connection`. The context
  /// must outlive the connection.
  connection(netio::context& owner, connection_options options,
             netio::connection_options core = {});
  /// Closes the connection if still open (without waiting); no callback runs
  /// after the destructor returns.
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // -- callbacks -------------------------------------------------------------------
  void install(callbacks replacement);
  void set_completion(completion_callback callback);
  void set_server_message(server_message_callback callback);
  void set_client_message(client_message_callback callback);
  void set_notification(notification_callback callback);
  void set_security_session(security_session_callback callback);

  // -- operations (retcode as netio: succeed/fail in sync mode, pending otherwise) --
  /// Tries each host of the options in order (Unix socket or TCP; host names
  /// resolve on the engine's resolver thread), runs the start-up and
  /// authentication (trust, cleartext, MD5, SCRAM-SHA-256 and, over TLS,
  /// SCRAM-SHA-256-PLUS), with TLS as sslmode asks (libpq's semantics,
  /// docs/pg.md "TLS") and target_session_attrs checked; a host that fails
  /// (also by authentication or a rejected session attribute) gives way to
  /// the next.
  started_operation connect();
  /// Runs `sql` with the simple query protocol; the completion fails when
  /// an ErrorResponse came. Its `query_result` is taken with `take_result`.
  started_operation execute(std::string sql);
  /// Client-Library's ct_cancel(CS_CANCEL_ATTN): asks the server to stop
  /// the running `execute`. Sends a CancelRequest with this session's
  /// BackendKeyData on a new connection to the address the session uses;
  /// the I/O worker connects without blocking, so this call returns at once
  /// (any thread, any mode, from inside callbacks too). The query then
  /// fails as the server reports it: ERROR 57014 ("canceling statement due
  /// to user request") reaches the server-message callback, the execute
  /// completes with `fail` and its `query_result::error` holds it; the
  /// connection stays usable. `succeed` means the request was handed to
  /// the worker (with no query running there is nothing to send); as in
  /// PostgreSQL, a cancel that reaches the server after the query finished
  /// has no effect, and one that cannot be delivered is a warning client
  /// message (the session is unharmed).
  retcode cancel();
  /// Sends Terminate and closes.
  started_operation close();
  /// Client-Library's ct_wakeup: calls the completion callback here.
  retcode wakeup(function_id function, retcode status);
  /// Deferred mode: runs this connection's due callbacks on this thread.
  [[nodiscard]] netio::poll_result poll(std::optional<runtime::duration> timeout);

  /// The oldest (or the given) finished `execute` result not taken yet.
  [[nodiscard]] std::optional<query_result> take_result();
  [[nodiscard]] std::optional<query_result> take_result(std::uint64_t request_id);

  // -- properties ------------------------------------------------------------------
  [[nodiscard]] io_mode mode() const;
  void set_async_notifications(bool enabled);
  [[nodiscard]] bool connected() const;
  [[nodiscard]] bool dead() const;
  [[nodiscard]] netio::client_message last_error() const;
  [[nodiscard]] std::thread::id io_thread() const;
  /// A ParameterStatus value the server reported (server_version, ...).
  [[nodiscard]] std::optional<std::string> parameter(const std::string& name) const;
  [[nodiscard]] backend_key_data backend_key() const;
  /// How the session logged in: "trust" (no password asked), "password",
  /// "md5", "SCRAM-SHA-256" or "SCRAM-SHA-256-PLUS" (bound to the TLS
  /// channel); empty before a connect succeeded.
  [[nodiscard]] std::string authentication_method() const;
  /// True when the session runs over TLS.
  [[nodiscard]] bool tls_in_use() const;
  /// The transaction status of the last ReadyForQuery.
  [[nodiscard]] transaction_status transaction() const;
  /// Ready while a completion waits to be reported or a result to be taken.
  [[nodiscard]] runtime::waitable completion_event() const;
  /// Ready while notifications wait to be delivered by `poll`.
  [[nodiscard]] runtime::waitable notification_event() const;

  class state;

private:
  std::shared_ptr<state> state_;
  std::unique_ptr<netio::connection> core_;
};

} // namespace actorloop::pg
