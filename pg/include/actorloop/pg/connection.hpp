#pragma once
/// A PostgreSQL connection on netio's connection core: the same I/O modes
/// (sync, deferred, async), busy rule, `poll`, `wakeup`, delivery threads and
/// completion/notification waitables as `netio::connection`, speaking the
/// PostgreSQL protocol v3 (the simple and the extended query protocol).
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
/// | security session, encryption, negotiation | the calling thread | the `poll` caller | the I/O worker |
///
/// Thread safety: every member may be called from any thread; callbacks
/// must not call `poll`; only the completion callback may start operations.
/// Callbacks are copied under a lock and called without it.

#include <actorloop/netio/connection.hpp>
#include <actorloop/pg/backend.hpp>
#include <actorloop/pg/options.hpp>
#include <actorloop/pg/values.hpp>
#include <actorloop/pg/security.hpp>

#include <cstdint>
#include <functional>
#include <initializer_list>
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

/// One statement's outcome: its rows (when it returned any: `described`),
/// and its command tag. A column comes in the text format (the simple
/// protocol, or `format::text` results) or the binary one (the extended
/// protocol's default); each typed read accepts both where the type allows
/// and says which column and type it refused otherwise.
///
/// Typed reads throw pg::error: (invalid_argument) for a row or column out
/// of range or an unknown name, (null_value) for NULL, (wrong_type) naming
/// the column and its type OID for a column of another type, and
/// (malformed_message) for bytes that are not a value of the column's type.
/// How a statement of a pipeline ended.
enum class statement_status {
  completed, ///< it ran (CommandComplete or EmptyQueryResponse)
  failed,    ///< an ErrorResponse stopped it (`result::error`)
  aborted,   ///< an earlier statement of its Sync segment failed and the server
             ///< skipped it (libpq's PGRES_PIPELINE_ABORTED)
};

struct result {
  bool described = false; ///< a RowDescription came (the statement returns rows)
  row_description description;
  std::vector<data_row> rows;
  std::string command_tag; ///< empty for an empty query
  /// In a pipeline, how this statement ended, and its ErrorResponse if it
  /// failed (elsewhere always `completed`: the error is `query_result::error`).
  /// The error is held out of line (null when there is none), so that a
  /// result stays small: a pipeline has one per statement. Shared and
  /// immutable: copies of a result share it.
  statement_status status = statement_status::completed;
  std::shared_ptr<const server_message> error;

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
  /// The text of a cell: any text-format cell, or a binary cell of a
  /// text-like type (text, varchar, bpchar, name, json, unknown), whose
  /// binary form is its text.
  [[nodiscard]] std::string_view text(std::size_t row, std::size_t column) const;
  [[nodiscard]] std::string_view text(std::size_t row, std::string_view name) const {
    return text(row, column(name));
  }
  /// An int2/int4/int8/oid cell.
  [[nodiscard]] std::int64_t int64(std::size_t row, std::size_t column) const;
  [[nodiscard]] std::int64_t int64(std::size_t row, std::string_view name) const {
    return int64(row, column(name));
  }
  /// A float4/float8 or integer cell as a double, or a text-format numeric.
  [[nodiscard]] double float64(std::size_t row, std::size_t column) const;
  [[nodiscard]] double float64(std::size_t row, std::string_view name) const {
    return float64(row, column(name));
  }
  /// A bool cell.
  [[nodiscard]] bool boolean(std::size_t row, std::size_t column) const;
  [[nodiscard]] bool boolean(std::size_t row, std::string_view name) const {
    return boolean(row, column(name));
  }
  /// The cell's bytes as they came, in the column's format, for any type
  /// (NULL still throws null_value).
  [[nodiscard]] std::string_view bytes(std::size_t row, std::size_t column) const;
  [[nodiscard]] std::string_view bytes(std::size_t row, std::string_view name) const {
    return bytes(row, column(name));
  }
  /// A bytea cell's bytes (the text format's `\x` hex is decoded).
  [[nodiscard]] std::string bytea(std::size_t row, std::size_t column) const;
  [[nodiscard]] std::string bytea(std::size_t row, std::string_view name) const {
    return bytea(row, column(name));
  }
  /// A uuid cell.
  [[nodiscard]] pg::uuid uuid_value(std::size_t row, std::size_t column) const;
  [[nodiscard]] pg::uuid uuid_value(std::size_t row, std::string_view name) const {
    return uuid_value(row, column(name));
  }
  /// A date cell (binary format only: the text form depends on DateStyle).
  [[nodiscard]] pg::date date_value(std::size_t row, std::size_t column) const;
  [[nodiscard]] pg::date date_value(std::size_t row, std::string_view name) const {
    return date_value(row, column(name));
  }
  /// A timestamp cell (binary format only).
  [[nodiscard]] pg::timestamp timestamp_value(std::size_t row, std::size_t column) const;
  [[nodiscard]] pg::timestamp timestamp_value(std::size_t row, std::string_view name) const {
    return timestamp_value(row, column(name));
  }
  /// A timestamptz cell (binary format only).
  [[nodiscard]] pg::timestamptz timestamptz_value(std::size_t row, std::size_t column) const;
  [[nodiscard]] pg::timestamptz timestamptz_value(std::size_t row,
                                                  std::string_view name) const {
    return timestamptz_value(row, column(name));
  }
};

/// A prepared statement as the server described it after `prepare`.
struct statement_description {
  std::string name;
  std::vector<oid> parameter_types; ///< ParameterDescription
  bool returns_rows = false;        ///< a RowDescription came (not NoData)
  row_description columns;          ///< its format codes are not chosen yet (0)
};

/// What one operation gave back: one result per statement that ran, the
/// ErrorResponse that stopped it (if any; the statements after it did not
/// run), and the transaction status ReadyForQuery reported. After
/// `prepare`, `statement` holds the server's description.
struct query_result {
  std::uint64_t request_id = 0;
  std::vector<result> results;
  std::optional<server_message> error;
  transaction_status status = transaction_status::idle;
  std::optional<statement_description> statement;
};

class connection;
namespace detail {
struct extended_operation;
class link;
}

/// Receives a portal's rows a chunk at a time (`fetch_options::on_rows`):
/// `chunk` has the row description and at most `rows_per_chunk` rows; it is
/// valid during the call only. Runs on the thread the server-message
/// callback runs on in the connection's mode (the calling thread in sync
/// mode, the `poll` caller in deferred mode, the I/O worker in async mode).
/// Like every callback except the completion, it must not start operations.
using row_chunk_callback = std::function<void(connection&, const result& chunk)>;

/// How an extended-protocol `execute` or `execute_prepared` fetches rows.
struct fetch_options {
  /// The result columns' format: binary (the typed reads decode it) or text.
  format results = format::binary;
  /// 0: the portal runs to the end with one Execute. N > 0: Execute with a
  /// row limit of N, and again after each PortalSuspended, until the end.
  std::uint32_t rows_per_chunk = 0;
  /// When set (needs rows_per_chunk > 0), rows go here a chunk at a time
  /// and not into the result, whose `rows` stays empty: at most two chunks
  /// (2 x rows_per_chunk rows) are ever held, because the next Execute is
  /// sent only when no more than one chunk is waiting for this callback.
  row_chunk_callback on_rows;
};

/// Statements sent together without waiting for each other's answers
/// (PostgreSQL documentation, 55.2.4 "Pipelining"), run by one
/// `connection::execute(pipeline)`. Each statement is Parse/Bind/Describe/
/// Execute of the unnamed statement or a prepared one; `sync()` ends a
/// segment. The server runs a segment as one implicit transaction unless
/// the statements manage their own: an error rolls the segment back, fails
/// its statement and aborts the rest of the segment (their results say
/// `aborted`), and the next segment runs. A Sync is added after the last
/// statement when the pipeline does not end with one.
///
/// Building is on the caller's thread and encodes at once: a value the
/// protocol cannot carry throws pg::error (invalid_argument) and leaves the
/// pipeline as it was. Not thread-safe; hand it to `execute` when built.
class pipeline {
public:
  pipeline& execute(std::string_view sql, const std::vector<param>& params = {},
                    format results = format::binary);
  pipeline& execute_prepared(std::string_view name, const std::vector<param>& params = {},
                             format results = format::binary);
  /// The same for a braced list (`{id, name}`): no vector is built, so a
  /// statement costs no allocation beyond its parameters'.
  pipeline& execute(std::string_view sql, std::initializer_list<param> params,
                    format results = format::binary);
  pipeline& execute_prepared(std::string_view name, std::initializer_list<param> params,
                             format results = format::binary);
  pipeline& sync();
  [[nodiscard]] std::size_t statements() const noexcept { return statements_; }

private:
  friend class connection;
  friend class detail::link;
  std::vector<std::byte> messages_;
  std::vector<std::size_t> segment_ends_; // statements before each Sync
  std::size_t statements_ = 0;
};

/// Gives a pipeline fed in pieces (`connection::execute(pipeline_source)`)
/// its next piece: appends statements and Sync points to `next`, which
/// starts empty, and returns true while more may follow, false at the end
/// (what `next` holds then is still sent). A piece may end without a Sync:
/// its statements join the next piece's segment. Runs where
/// `fetch_options::on_rows` runs (the calling thread in sync mode, the
/// `poll` caller in deferred mode, the I/O worker in async mode), once at a
/// time, and is asked again only when less than `pipeline_window` bytes
/// wait to be written, so the server works through one piece while the
/// next is encoded. A throw ends the feed: nothing of that piece is sent, a
/// client message (invalid_argument) quotes it, a Sync closes what was sent,
/// and the operation fails (segments that completed before stay committed).
/// Like every callback except the completion, it must not start operations.
using pipeline_source = std::function<bool(connection&, pipeline& next)>;
/// Bytes of a fed pipeline written ahead of the server before its source
/// is asked for the next piece.
inline constexpr std::size_t pipeline_window = 256 * 1024;

/// Counters of rows delivered through `fetch_options::on_rows` and of COPY
/// data in both directions.
struct streaming_statistics {
  std::uint64_t rows_streamed = 0;     ///< rows handed to on_rows so far
  std::size_t buffered_rows = 0;       ///< rows of chunks handed to on_rows and not yet back
  std::size_t peak_buffered_rows = 0;  ///< the most `buffered_rows` ever was
  std::uint64_t copy_out_bytes = 0;    ///< COPY TO STDOUT bytes handed to copy_out's callback
  std::size_t peak_copy_out_buffered = 0; ///< the most COPY TO bytes received and not handed back
  std::uint64_t copy_in_bytes = 0;     ///< COPY FROM STDIN bytes taken from copy_in's source
  std::size_t peak_copy_in_unsent = 0; ///< the most bytes waiting to be written during COPY FROM
};

/// COPY TO STDOUT data: whole CopyData messages (rows, in the text, CSV or
/// binary format the statement chose), up to about 64 KiB a call, valid
/// during the call. Runs where `fetch_options::on_rows` runs.
using copy_data_callback = std::function<void(connection&, std::string_view data)>;
/// COPY FROM STDIN data: returns the next piece (any split of the data),
/// or nullopt at the end (CopyDone). A throw sends CopyFail with its text,
/// so the COPY fails and nothing of it is stored. Runs where
/// `fetch_options::on_rows` runs, once at a time, and is asked again only
/// when less than `copy_in_window` bytes wait to be written.
using copy_source = std::function<std::optional<std::string>(connection&)>;
/// Bytes of COPY FROM data written ahead of the server before the source
/// is asked for more.
inline constexpr std::size_t copy_in_window = 256 * 1024;

/// A LISTEN/NOTIFY notification.
struct notification {
  std::string channel;
  std::string payload;
  std::int32_t process_id = 0; ///< the notifying backend's process id
};

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

/// Client-Library's encryption callback (password encryption with a key
/// the server supplies), for PostgreSQL's MD5 method: `key` is the 4-byte
/// salt of AuthenticationMD5Password, `password` the connection's password.
/// The callback writes the PasswordMessage text into `encrypted`, which
/// starts empty (`md5_password(user, password, key)` is what pg sends when
/// no callback is installed). `succeed` sends it; `fail`, a throw or an
/// empty `encrypted` fails the connect with a client message saying which.
/// Not called for the cleartext method (nothing is encrypted there) nor for
/// SCRAM (the negotiation callback sees that). Runs where a client message
/// would (Table 2-27), once per MD5 request.
using encryption_callback = std::function<netio::callback_result(
  connection&, std::string_view password, std::string_view key, std::string& encrypted)>;

/// One step of a SASL exchange (SCRAM-SHA-256 or SCRAM-SHA-256-PLUS), as
/// the negotiation callback sees it. The mapping of Client-Library's
/// challenge/response negotiation onto PostgreSQL: each server challenge
/// is one call.
struct negotiation_step {
  /// The authentication request code: 10 AuthenticationSASL (the server
  /// offers mechanisms), 11 AuthenticationSASLContinue (server-first-message),
  /// 12 AuthenticationSASLFinal (server-final-message).
  std::uint32_t message_id = 0;
  /// What the server offered (message 10; empty for 11 and 12).
  std::vector<std::string> offered;
  /// The mechanism pg chose ("SCRAM-SHA-256" or "SCRAM-SHA-256-PLUS").
  std::string mechanism;
  /// The server's data: empty for 10, the SCRAM message for 11 and 12.
  std::string challenge;
  /// What pg is about to send: the client-first-message (10), the
  /// client-final-message with the proof (11); empty for 12, which pg
  /// answers with nothing once it verified the server's signature.
  std::string answer;
};

/// Client-Library's negotiation callback, for PostgreSQL's SASL exchange.
/// pg computes every answer itself (SCRAM on OpenSSL's primitives); the
/// callback audits each step before its answer goes out, e.g. to refuse a
/// login that is not channel-bound. `succeed` goes on; `fail` or a throw
/// fails the connect with a client message. `continue_negotiation` (call
/// again for another response) also fails it, with a message saying why: a
/// PostgreSQL SASL step takes exactly one response. For message 12 the
/// callback runs after the server's signature verified. Runs where a client
/// message would (Table 2-27).
using negotiation_callback =
  std::function<netio::negotiation_result(connection&, const negotiation_step&)>;

struct callbacks {
  completion_callback completion;
  server_message_callback server_message;
  client_message_callback client_message;
  notification_callback notification;
  security_session_callback security_session;
  encryption_callback encryption;
  negotiation_callback negotiation;
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
  void set_encryption(encryption_callback callback);
  void set_negotiation(negotiation_callback callback);

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
  /// Runs `sql` with the simple query protocol, as `execute(sql)`, but
  /// streams the rows of every statement to `on_rows` at most
  /// `rows_per_chunk` at a time (each chunk carries its statement's row
  /// description), so a large result is never built whole. The server
  /// sends a simple query's rows without waiting, so the bound is kept by
  /// reading: once two chunks wait for `on_rows`, the I/O worker stops
  /// reading this connection until one comes back; the socket's buffers
  /// then push back on the server. At most 2 x `rows_per_chunk` rows are
  /// held (`streaming().peak_buffered_rows`). The `query_result` has one
  /// `result` per statement with its description and command tag and no
  /// rows. `rows_per_chunk` 0, no `on_rows` or a NUL in `sql` is a client
  /// message (invalid_argument) and `fail`, nothing sent.
  started_operation execute_streaming(std::string sql, std::uint32_t rows_per_chunk,
                                      row_chunk_callback on_rows);
  /// Runs one statement with the extended protocol (PostgreSQL
  /// documentation, 55.2.3 "Extended Query"): Parse of the unnamed
  /// statement with the parameters' types, Bind, Describe, Execute, Sync.
  /// `params` are `$1`, `$2`, ...; `fetch` chooses the result format and
  /// chunked fetching. A parameter or text the protocol cannot carry is a
  /// client message (invalid_argument) and `fail`, nothing is sent.
  started_operation execute(std::string sql, std::vector<param> params,
                            fetch_options fetch = {});
  /// Runs a pipeline: every statement and Sync goes out at once; one
  /// completion when the last segment's ReadyForQuery came. Its
  /// `query_result` has one `result` per statement in order, each with its
  /// `status`; `error` is the first ErrorResponse and the completion fails
  /// when any statement failed. An empty pipeline is refused (`fail`).
  started_operation execute(pipeline batch);
  /// Runs a pipeline fed in pieces by `source` (see `pipeline_source`): the
  /// first piece is asked for at once, the next whenever less than
  /// `pipeline_window` bytes wait to be written, so encoding, sending and
  /// the server's work overlap as in libpq's pipeline mode. Otherwise as
  /// `execute(pipeline)`: one operation, one completion after the last
  /// segment's ReadyForQuery, one `result` per statement sent, in order. A
  /// Sync is added after the last piece when it does not end with one; a
  /// source that gives no statement at all completes with no results.
  started_operation execute(pipeline_source source);
  /// Runs `sql` (a COPY ... TO STDOUT) with the simple protocol and hands
  /// its data to `on_data` as it arrives. Backpressure is the core's: while
  /// more than `core.max_buffered_bytes` wait for the callback (sync and
  /// deferred mode), the connection stops reading and the server waits.
  /// Completes at ReadyForQuery; the result's tag is "COPY n".
  started_operation copy_out(std::string sql, copy_data_callback on_data);
  /// Runs `sql` (a COPY ... FROM STDIN) with the simple protocol and sends
  /// what `source` gives, asking for more only while less than
  /// `copy_in_window` bytes wait to be written (backpressure from the
  /// server's reading). An ErrorResponse stops asking. A statement that is
  /// not COPY FROM STDIN runs as a simple query; a COPY TO STDOUT in
  /// `copy_in` (or FROM STDIN in `copy_out`) is refused with CopyFail or
  /// its data dropped with a warning client message.
  started_operation copy_in(std::string sql, copy_source source);
  /// Prepares the named statement `name` (not empty; the unnamed one is
  /// `execute`'s) and describes it: the result's `statement` and
  /// `statement(name)` then hold its parameter types and columns. A 0 in
  /// `parameter_types` (or a missing one) lets the server infer the type.
  started_operation prepare(std::string name, std::string sql,
                            std::vector<oid> parameter_types = {});
  /// Runs a prepared statement: Bind, Describe, Execute, Sync. When the
  /// statement was prepared through this connection, a wrong number of
  /// parameters or a binary parameter of another type than the statement's
  /// is refused here (client message naming the parameter and both types,
  /// `fail`) instead of by the server.
  started_operation execute_prepared(std::string name, std::vector<param> params,
                                     fetch_options fetch = {});
  /// Closes (deallocates) the named prepared statement; closing a name that
  /// does not exist is not an error (PostgreSQL's rule).
  started_operation close_statement(std::string name);
  /// The description of a statement prepared through this connection.
  [[nodiscard]] std::optional<statement_description> statement(const std::string& name) const;
  /// Rows streamed through `fetch_options::on_rows` on this connection.
  [[nodiscard]] streaming_statistics streaming() const;
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
  started_operation start_extended(const char* function,
                                   const std::function<void(detail::extended_operation&)>& encode);

  std::shared_ptr<state> state_;
  std::unique_ptr<netio::connection> core_;
};

} // namespace actorloop::pg
