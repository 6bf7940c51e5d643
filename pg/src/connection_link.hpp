#pragma once
// The PostgreSQL side of a pg::connection on netio's connection core: the
// worker-side transport that owns the socket, runs the start-up and
// authentication, sends simple queries and turns backend messages into
// connection events. Every member runs on the thread that owns the link:
// its I/O worker, or for the span of one sync-mode simple query the calling
// thread that borrowed it (run_query_here; see "Who does the I/O" in
// docs/pg.md). Entries from the worker go through the borrow gate.

#include "cancel_sender.hpp"
#include "connection_state.hpp"
#include "extended_query.hpp"

#include <actorloop/pg/auth.hpp>

#include <actorloop/netio/tls.hpp>

#include <actorloop/netio/detail/io_worker.hpp>
#include <actorloop/netio/detail/resolver.hpp>
#include <actorloop/netio/detail/socket_ops.hpp>

#include <condition_variable>
#include <mutex>

namespace actorloop::pg::detail {

/// The pg callback `member` as installed and the connection it is called
/// with (null once the connection object is going), both taken under the
/// connection's lock: callbacks are called without it, so that they may
/// call the connection. The installed set is kept, not the callback copied
/// (a replaced set lives on until this is done with it).
template <auto member>
struct installed_callback {
  using callback_type = std::remove_cvref_t<decltype(callbacks{}.*member)>;
  std::shared_ptr<const callbacks> all;
  connection* target = nullptr;

  /// The callback; empty when none is installed.
  [[nodiscard]] const callback_type& callback() const {
    static const callback_type none;
    return all ? (*all).*member : none;
  }
};

template <auto member>
[[nodiscard]] installed_callback<member> copy_installed(netio::connection::state& core,
                                                        connection::state& pg) {
  std::lock_guard guard{core.owner_state->mutex};
  return {pg.installed, pg.self};
}

class link final : public netio::detail::connection_transport,
                   public netio::detail::io_handler,
                   public std::enable_shared_from_this<link> {
public:
  link(std::shared_ptr<netio::detail::io_worker> worker,
       std::shared_ptr<netio::connection::state> core, std::shared_ptr<connection::state> pg)
    : worker_(std::move(worker)), core_(std::move(core)), pg_(std::move(pg)) {}
  ~link() override;

  void start_connect(std::uint64_t connect_id);
  void send_query(std::uint64_t request_id, const std::string& sql);
  /// Sync mode, any thread but the worker: borrows the link from the worker
  /// and runs simple query `request_id` here (write, poll, read, decode; the
  /// events are queued for the caller as the worker would queue them). False
  /// when the link cannot be lent now (the worker is inside it, or the
  /// connection is not an idle plain-TCP one after a simple query): nothing
  /// happened. True when the query was started here; it is handed back to
  /// the worker when done, or early when another thread needs the link
  /// (cancel, close, resume), at `deadline`, or when reading must pause.
  /// While nothing is queued for the caller, the query's server messages
  /// and its completion are delivered in place, on this thread, without
  /// a queued event; `completed` then says how it ended.
  [[nodiscard]] netio::detail::caller_outcome
  run_query_here(std::uint64_t request_id, const std::string& sql, runtime::time_point deadline);
  /// Any thread, after the core's flag changed: with asynchronous
  /// notifications on, what arrives while idle must be read at once, so no
  /// borrower leaves the socket unwatched (give_back) and the worker re-arms
  /// one that was left so.
  void set_async_notifications(bool enabled);
  /// Starts an extended-protocol operation (extended_query.cpp).
  void send_extended(std::uint64_t request_id, std::shared_ptr<extended_operation> operation);
  /// on_rows returned chunk of request `request_id`: maybe fetch the next.
  void chunk_returned(std::uint64_t request_id);
  /// copy_in's source gave `piece` (nullopt: the end) or threw `failure`.
  void copy_data_arrived(std::uint64_t request_id, std::optional<std::string> piece,
                         std::string failure);
  /// A fed pipeline's source gave `piece` (`more`: pieces follow) or threw `failure`.
  void pipeline_piece_arrived(std::uint64_t request_id, pipeline& piece, bool more,
                              std::string failure);
  /// connect_timeout passed for host attempt `attempt`: give up on that host.
  void host_deadline_reached(std::uint64_t attempt);

  // connection_transport
  void pause() override;
  void resume() override;
  void start_close(std::uint64_t close_id) override;
  void force_close() override;
  void send_cancel(std::vector<std::uint64_t> request_ids) override;
  void abandon() override;
  void worker_enter() override {
    // Never while lent: an operation starts on the worker only when none is
    // in flight, and a borrower gives the link back before its operation ends.
    if (enter_nested())
      return;
    std::lock_guard guard{gate_mutex_};
    ++worker_depth_;
    worker_nesting_ = 1;
  }
  void worker_leave() override { leave_from_worker(); }

  // io_handler
  void on_io(std::uint32_t epoll_events) noexcept override;

private:
  // -- lending the link to a sync caller (connection_link.cpp) ----------------------
  /// A worker-side entry: false while a caller has borrowed the link, and
  /// then `make_retry()` is kept to run on the worker once the link is back
  /// (the borrower is woken to give it back early); else the worker is
  /// inside until leave_from_worker, and no caller can borrow meanwhile.
  template <typename retry_maker>
  bool enter_from_worker(retry_maker&& make_retry) {
    if (enter_nested())
      return true;
    std::lock_guard guard{gate_mutex_};
    if (borrowed_) {
      deferred_.push_back(make_retry());
      wake_borrower_locked();
      return false;
    }
    ++worker_depth_;
    worker_nesting_ = 1;
    return true;
  }
  /// The same for readiness: dropped while borrowed (the interest is re-armed
  /// when the link comes back, and epoll reports a still-ready socket again).
  bool enter_from_worker() {
    if (enter_nested())
      return true;
    std::lock_guard guard{gate_mutex_};
    if (borrowed_)
      return false;
    ++worker_depth_;
    worker_nesting_ = 1;
    return true;
  }
  /// An entry inside an outer one of the worker's, which holds the gate (no
  /// caller can have borrowed the link meanwhile): counted, no lock.
  bool enter_nested() noexcept {
    if (worker_nesting_ == 0)
      return false;
    ++worker_nesting_;
    return true;
  }
  void leave_from_worker() {
    if (--worker_nesting_ > 0)
      return; // an inner entry: the outer one still holds the gate
    std::lock_guard guard{gate_mutex_};
    // A caller waiting in try_borrow may take the link now.
    if (--worker_depth_ == 0 && borrow_waiters_ > 0)
      worker_left_.notify_all();
  }
  /// Runs `job` (a command posted to the worker that touches the link)
  /// inside the gate; while a caller has borrowed the link, keeps it to run,
  /// through the gate again, once the link is back.
  void run_gated(std::function<void()> job) {
    worker_scope scope{*this, enter_from_worker([&] {
                         return [self = shared_from_this(), job] { self->run_gated(job); };
                       })};
    if (scope.entered)
      job();
  }
  void wake_borrower_locked() noexcept;
  struct worker_scope {
    link& owner;
    bool entered;
    ~worker_scope() {
      if (entered)
        owner.leave_from_worker();
    }
  };
  /// The caller's side: takes the link once the worker is not inside it.
  /// The retake rule (no clock of its own): a worker entry never blocks (it
  /// reads what is there, queues events, posts, returns; callbacks of a sync
  /// connection run on its callers, a start-up question is answered by a
  /// later entry), so a caller that finds the worker inside waits on
  /// worker_left_ until worker_depth_ is 0 and then borrows. Whatever the
  /// worker would run for this link before that waits behind the same entry
  /// anyway. The caller holds no lock of the connection's owner meanwhile.
  /// False, by state: the link is lent or has deferred entries (never so
  /// between two queries of one caller), or `deadline` (the operation's own
  /// timeout) passes first: the worker path then reports it as usual.
  /// A borrow turns the worker's interest in the socket off in the same
  /// step, under the gate (give_back turns it on again likewise, when the
  /// worker has something to read for).
  bool try_borrow(runtime::time_point deadline);
  /// Lets the worker have the link again, with the entries it deferred
  /// meanwhile (in their order). Re-arms the worker's interest unless the
  /// query ended here and nothing was deferred: the idle socket then stays
  /// unwatched until the next call (or update_interest on the worker).
  void give_back();
  /// The session is idle after a simple query, as a borrower may take it.
  [[nodiscard]] bool idle_after_simple_query() const noexcept;
  /// One read and what it decoded; false when reading must stop (or, on a
  /// plain socket, when the read came up short: the socket is empty).
  bool read_step();
  /// A CancelRequest connection finished (`problem` empty) or failed.
  void cancel_finished(const std::shared_ptr<cancel_sender>& done, const std::string& where,
                       std::string problem);

  std::mutex gate_mutex_;
  bool borrowed_ = false;                       // guarded by gate_mutex_
  int worker_depth_ = 0;                        // guarded by gate_mutex_
  std::vector<std::function<void()>> deferred_; // guarded by gate_mutex_
  int borrow_waiters_ = 0;                      // guarded by gate_mutex_
  bool async_notifications_ = false;            // guarded by gate_mutex_; the core's flag
  std::condition_variable worker_left_;         // worker_depth_ reached 0 (with gate_mutex_)
  int wake_fd_ = -1;       // eventfd: a deferred entry wakes the borrower; made on first borrow
  bool on_caller_ = false; // owner-side: a caller thread has the link
  // The worker's entries into the link, the outermost one counted in
  // worker_depth_ too. Worker thread only (every entry is made there), so
  // an entry nested in another (a completion callback's next query inside
  // the read that completed the last one) takes no lock.
  int worker_nesting_ = 0;
  // owner-side: the borrower's query completed in place (complete()), how
  std::optional<retcode> completed_here_;
  /// On the borrowing caller (on_caller_): delivers the server message of
  /// the query in flight here, now, when nothing is queued before it.
  /// False (nothing done, `body` untouched) otherwise.
  bool server_message_here(server_message& body);

  enum class phase {
    idle, resolving, connecting, authenticating, starting, ready, querying, closed,
    // start-up steps of TLS and target_session_attrs (tls_negotiation.cpp, session_attrs.cpp)
    tls_answer, tls_handshake, tls_security, checking_session
  };
  [[nodiscard]] static bool connecting_phase(phase value) noexcept {
    return value != phase::idle && value != phase::ready && value != phase::querying &&
           value != phase::closed;
  }

  void try_host(std::size_t index);
  void on_resolved(std::size_t host_index, netio::detail::resolution found);
  void try_address(std::size_t index, bool same_address_again = false);
  void on_connected();
  void read_input();
  void flush_output();
  void update_interest();
  /// Handles the messages the decoder holds; false when reading must stop
  /// (the connection failed, the attempt changed, or a callback's verdict
  /// is awaited: the rest then stays in the decoder until it comes).
  bool handle_decoded();
  /// A simple query's RowDescription, DataRow, CommandComplete and
  /// ReadyForQuery at the front of the decoder, parsed straight into its
  /// result (no backend_message on the way) under one hold of the
  /// context's lock for at most a bounded run of them; what handle()
  /// would do with them, in the same order. False when the first message
  /// is none of them, its body is not well formed or large (over 4 KiB,
  /// copied outside the lock instead): handle() then takes it, as decoded
  /// by the decoder (which names a problem).
  bool handle_query_answer();
  void handle(backend_message&& message);
  // -- authentication (authentication.cpp) -----------------------------------------
  void handle_authentication(const authentication_request& request);
  /// Asks the negotiation callback, if installed, about `step`; then sends
  /// `step.answer` (nothing for message 12) and goes on.
  void negotiate(negotiation_step step);
  // -- the extended protocol (extended_query.cpp) ----------------------------------
  /// The result records of query `request_id`, before its messages go out;
  /// false (and the operation failed) when the connection is not ready.
  [[nodiscard]] bool open_query(std::uint64_t request_id);
  /// Handles `message` for the extended operation in flight; false when
  /// the common handling in handle() is still to run.
  bool handle_extended(backend_message& message);
  void deliver_chunk();
  /// handle_extended for a pipeline (pipeline_query.cpp).
  bool handle_pipeline(backend_message& message);
  /// A fed pipeline: asks its source for the next piece where callbacks run.
  void request_pipeline_piece();
  /// Output was written: a fed pipeline may ask for its next piece.
  void pipeline_output_drained();
  /// No piece follows: closes what was sent with a Sync when needed.
  void end_pipeline_feed();
  /// handle_extended for execute_streaming: a simple query's rows to on_rows.
  bool handle_simple_streaming(backend_message& message);
  /// execute_streaming's bound: reading stops while two chunks wait.
  bool rows_held_ = false;
  // -- COPY (copy_stream.cpp) --------------------------------------------------------
  bool handle_copy(backend_message& message);
  void deliver_copy_data();
  void request_copy_data();
  /// Output was written: COPY FROM may ask its source for more.
  void copy_output_drained();
  /// After output_'s unsent bytes, writes `piece` (a CopyData body whose
  /// header is already in output_) with one gathered write on a plain
  /// socket; only what the socket did not take is copied into output_ (all
  /// of it under TLS). False when the write failed (fail() has run).
  bool write_copy_piece(std::span<const std::byte> piece);
  void send_execute();
  void close_socket();
  /// The connection broke (or connect failed): a client message, the
  /// connection dead, and the pending operation failed.
  void fail(std::error_code code, const std::string& text);
  /// The same without trying another address or host: the connect is over.
  void fail_now(std::error_code code, const std::string& text);
  void complete(function_id function, std::uint64_t id, retcode status);
  void report(netio::client_message problem);
  [[nodiscard]] std::string where() const;

  std::shared_ptr<netio::detail::io_worker> worker_;
  std::shared_ptr<netio::connection::state> core_; // reset by abandon (breaks the cycle)
  std::shared_ptr<connection::state> pg_;
  phase phase_ = phase::idle;
  int fd_ = -1;
  std::uint32_t interest_ = 0;
  bool paused_ = false;
  std::vector<std::byte> output_;
  std::size_t output_start_ = 0;
  backend_decoder decoder_;
  std::size_t host_index_ = 0;
  std::vector<netio::detail::socket_address> addresses_;
  std::size_t address_index_ = 0;
  std::string connect_problems_;
  std::uint64_t operation_id_ = 0; // the connect or query in progress
  std::optional<scram_client> scram_;
  std::optional<server_message> startup_error_;
  bool query_failed_ = false;
  std::shared_ptr<extended_operation> extended_; // the extended operation in flight
  // CancelRequests under way on their own connections (see send_cancel).
  std::vector<std::shared_ptr<cancel_sender>> cancels_;
  // connect_timeout: one timer per host attempt; dropping it disarms it.
  std::shared_ptr<runtime::detail::deadline_target> host_timer_;
  std::uint64_t host_attempt_ = 0;

  // -- start-up attempts, TLS and target_session_attrs ------------------------------
  // (tls_negotiation.cpp, session_attrs.cpp, connect_attempts.cpp)
private:
  // -- questions to callbacks during the start-up (callback_questions.cpp) ----------
  /// A callback's verdict on a start-up step.
  struct verdict {
    bool ok = false;
    std::string why;     ///< Why not, for the client message.
    std::string payload; ///< What the callback produced (the encrypted password).
  };
  using callback_question = std::function<verdict(connection&)>;
  using callback_follow_up = std::function<void(link&, verdict)>;
  /// Runs `ask` where the connection's callbacks run (the connect caller,
  /// the `poll` caller or this worker, Table 2-27) and `then` back on this
  /// worker with its verdict. Reading stops meanwhile, so nothing the server
  /// sent after the step is handled before the verdict. A throw from `ask`
  /// is a refusal naming `callback_name`. Nothing runs if the attempt ended.
  void ask_callback(std::string callback_name, callback_question ask, callback_follow_up then);
  void answer_callback(std::uint64_t attempt, const verdict& answer,
                       const callback_follow_up& then);
  bool awaiting_callback_ = false;

  enum class retry { next_address, other_encryption, next_host };
  /// This address's start-up failed (`code`, `problem`): libpq's allow/prefer
  /// second try on the same address, else the next address or host.
  void attempt_failed(std::error_code code, std::string problem, retry how);
  /// Files one failed attempt's problem for the final message.
  void note_problem(std::error_code code, std::string problem);
  /// Builds the TLS context sslmode and the certificate options ask for;
  /// false (the connect failed with a message) when they cannot be used.
  [[nodiscard]] bool prepare_tls();
  /// Forgets a half-done start-up (socket, TLS, decoder, SCRAM).
  void reset_attempt();
  /// Sends the StartupMessage (on plain TCP, or once TLS is up).
  void send_startup();
  /// After the TCP connect: SSLRequest, or the start-up directly.
  void begin_session();
  [[nodiscard]] bool wants_tls_first() const noexcept;
  void read_tls_answer();
  void continue_tls_handshake();
  void tls_established();
  /// Reads from the socket or the TLS session: bytes, 0 with `error` clear
  /// for "nothing now", 0 with `error` set when it ended (`detail` says how).
  std::size_t receive(std::span<std::byte> buffer, std::error_code& error, std::string& detail);
  /// Writes output_ to the socket or the TLS session as far as it goes.
  bool transmit(std::error_code& error, std::string& detail);
  [[nodiscard]] bool tls_wants_write() const noexcept;
  /// After the first ReadyForQuery: libpq's target_session_attrs checks.
  void check_session();
  void handle_session_check(backend_message&& message);
  void session_checked(bool acceptable, const std::string& why);
  void connect_succeeded();

  std::optional<netio::tls_context> tls_context_; // built once per connect
  std::unique_ptr<netio::tls_stream> tls_;
  bool tls_this_attempt_ = false;    // this attempt sends SSLRequest
  bool encryption_retried_ = false;  // allow/prefer's second try on this address used
  std::string end_point_hash_;       // RFC 5929 data of this session, empty without
  bool standby_pass_two_ = false;    // prefer-standby: the pass that takes any server
  std::size_t attempts_failed_ = 0;
  std::error_code last_attempt_code_;
  std::string last_attempt_text_;
  std::string check_value_;          // the SHOW / pg_is_in_recovery() answer
  bool check_failed_ = false;
  std::string auth_method_;          // password or md5 when the server asked for it
  std::uint64_t session_attempt_ = 0; // names the attempt a security answer belongs to
  enum class check_kind { read_only, hot_standby } check_kind_ = check_kind::read_only;
};

} // namespace actorloop::pg::detail
