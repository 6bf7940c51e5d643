#pragma once
// The shared state behind `context` and `connection`, and the worker-side
// `link` that owns a connection's channel. Private to the netio module.

#include "channel.hpp"
#include "io_worker.hpp"
#include "socket_ops.hpp"

#include <actorloop/netio/connection.hpp>
#include <actorloop/runtime/event.hpp>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>

namespace actorloop::netio {

namespace detail {

class link;

/// Depth of callbacks the calling thread is inside (poll refuses > 0).
int& callback_depth() noexcept;

/// Whether the innermost callback on this thread is a completion callback
/// (which may start operations) or another kind (which may not).
bool& in_completion_callback() noexcept;

/// Something a connection must deliver, in wire order, on the thread its mode
/// prescribes. `run` does the delivery (calls a callback, files a row, ...).
struct connection_event {
  std::function<void(connection&)> run;
  /// Set for the completion of an operation: poll reports it.
  bool completes = false;
  function_id function = function_id::execute;
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
  std::shared_ptr<detail::link> link;

  // -- guarded by owner_state->mutex -----------------------------------------------
  io_mode requested_mode;
  connection_options options;
  callbacks installed;
  std::any user_data;
  bool dead = false;
  bool connected = false;
  std::uint64_t session_id = 0;
  std::uint64_t next_request_id = 1;
  std::uint64_t next_lookup_id = 1;
  std::deque<detail::pending_operation> operations;
  std::deque<detail::connection_event> queue;   // to deliver (sync/deferred)
  std::deque<detail::connection_event> held;    // unsolicited, waiting for a read
  std::size_t queued_bytes = 0;
  std::map<std::uint64_t, result> building;     // results being received
  std::deque<result> finished;                  // results not taken yet
  std::size_t finished_bytes = 0;
  std::set<std::uint64_t> discarding;            // canceled: drop their rows
  client_message last_error;
  bool reading_paused = false;
  std::size_t queued_completions = 0;

  runtime::event completion_ready{runtime::reset_mode::manual, "connection completion"};
  runtime::event notification_ready{runtime::reset_mode::manual, "connection notification"};

  // -- helpers (lock held unless said otherwise) -------------------------------------
  [[nodiscard]] io_mode effective_mode_locked() const;
  void update_waitables_locked();
  /// Routes one event (any thread): runs it now on the worker in async mode,
  /// queues it otherwise. Called on the worker.
  void deliver(detail::connection_event event);
  /// Takes the oldest queued event for its delivery thread (poll or a
  /// blocked sync caller), keeping the byte and completion counts and the
  /// waitables in step. The queue must not be empty.
  [[nodiscard]] detail::connection_event take_next_locked();
  /// Moves held unsolicited events into delivery (an operation started).
  void release_held_locked(io_mode mode);
  /// Reports a client-side problem on the thread that found it: the
  /// connection's client-message callback, else the context's.
  void report(const client_message& problem, bool on_worker);
  /// Runs one event on the calling thread (as the delivery thread).
  void run_event(detail::connection_event& event);
  /// Resumes reading once the application has drained its buffers.
  void maybe_resume_locked();
};

namespace detail {

/// The worker-side half of a connection: owns the channel, speaks the
/// protocol, and turns what arrives into connection events.
class link final : public channel_owner, public std::enable_shared_from_this<link> {
public:
  link(std::shared_ptr<io_worker> worker, std::shared_ptr<connection::state> owner)
    : worker_(std::move(worker)), owner_(std::move(owner)) {}

  void start_connect(std::uint64_t connect_id, endpoint server, connect_options options);
  void send_request(std::uint64_t request_id, request command);
  void send_cancel(std::vector<std::uint64_t> request_ids);
  /// Closes; `close_id` is the close operation's id (0: an internal close).
  void start_close(std::uint64_t close_id);
  void start_lookup(std::uint64_t lookup_id, std::string host, std::uint16_t port);
  void pause();
  void resume();
  /// The connection object is going: stop delivering and close.
  void abandon();
  /// The connect timeout passed (worker thread).
  void connect_deadline_reached();

  // Login answers, posted back from the delivery thread.
  void answer_security(callback_result answer, std::string why);
  void answer_challenge(bool ok, std::uint32_t message_id, std::string data, std::string why);

  void on_channel_open() override;
  bool on_channel_message(message&& value) override;
  void on_channel_closed(std::error_code error, const std::string& detail) override;
  void on_channel_decode_error(std::error_code error, const std::string& detail) override;

private:
  void try_address(std::size_t index);
  void fail_connect(std::error_code error, const std::string& text);
  /// Delivers the completion of an outstanding operation, exactly once.
  void complete(function_id function, std::uint64_t id, retcode status);
  void send_hello();
  void handle_challenge(const challenge& question);
  void complete_connect(retcode status);

  std::shared_ptr<io_worker> worker_;
  std::shared_ptr<connection::state> owner_;
  std::shared_ptr<channel> channel_;
  endpoint server_;
  connect_options options_;
  std::vector<socket_address> addresses_;
  std::error_code last_connect_error_;
  std::string last_connect_detail_;
  enum class phase { idle, resolving, connecting, security, login, ready, closing, closed };
  phase phase_ = phase::idle;
  std::error_code decode_error_;
  // Operations this link still has to complete (the worker's own view).
  std::deque<pending_operation> outstanding_;
  std::shared_ptr<runtime::detail::deadline_target> connect_timer_;
  std::string decode_detail_;
};

} // namespace detail

} // namespace actorloop::netio
