#pragma once
// One client session of a message_server, and the shared state behind a
// `reply` handle. A session lives on one I/O worker and every member runs
// on that worker's thread; `reply` functions called elsewhere are posted
// there.

#include "channel.hpp"
#include "security.hpp"
#include "server_state.hpp"

#include <actorloop/netio/server_handlers.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace actorloop::netio::detail {

class session;

/// Behind a `reply`: which request of which session, and whether it is
/// finished. `finished` is claimed by the first succeed/fail/complete call
/// on any thread (or a cancel); `done` is the worker's view: the completion
/// went out (or the request was canceled), so later rows are dropped.
/// The session reuses a state for its next request once it holds the only
/// reference (session::next_reply_state): every field other threads may
/// touch is therefore an atomic, or set once for the session's life.
class reply_state {
public:
  reply_state(std::weak_ptr<session> owner, io_worker& worker, std::uint64_t request_id,
              std::shared_ptr<const session_info> info)
    : owner(std::move(owner)), worker(worker), request_id(request_id), info(std::move(info)) {}

  /// Runs `action` on the session's worker if the session is still there.
  /// False when the session is gone or its worker stopped.
  bool post(std::function<void(session&, reply_state&)> action);

  const std::weak_ptr<session> owner;
  io_worker& worker;
  /// Relaxed: it changes only while the session holds the one reference
  /// (see session::next_reply_state).
  std::atomic<std::uint64_t> request_id;
  const std::shared_ptr<const session_info> info;
  std::atomic<bool> finished{false};
  std::atomic<bool> writable{true};
  // The worker's thread only:
  bool done = false;
  bool was_canceled = false;
  std::function<void()> canceled;
  std::function<void()> resume;
};

class session final : public channel_owner, public std::enable_shared_from_this<session> {
public:
  session(std::shared_ptr<message_server::state> server, io_worker& worker, std::uint64_t id,
          std::string peer);

  void start(int fd);

  [[nodiscard]] io_worker& worker() const noexcept { return worker_; }
  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
  [[nodiscard]] bool logged_in() const noexcept { return phase_ == phase::ready; }
  [[nodiscard]] message_server::state& server() const noexcept { return *server_; }

  /// A notification encoded once for every subscriber. True if queued (the
  /// caller counts it in the server's `delivered`); a subscriber whose
  /// queue cannot take it is cut off (once) instead.
  bool deliver(const std::shared_ptr<const std::vector<std::byte>>& encoded);
  /// Asks the CPU for the channel's memory ahead of a `deliver` (a
  /// notification fan-out walks many cold sessions).
  void prefetch_channel() const noexcept { __builtin_prefetch(channel_.get()); }
  /// A frame outside any request (notify_session / message_session).
  bool send_unsolicited(message_body body);

  /// The server stops: finish what was received (until `limit`), then close.
  void begin_drain(runtime::time_point limit);

  // -- what a reply asks for (the worker's thread) ----------------------------------
  void reply_frame(reply_state& which, message_body body);
  void reply_complete(reply_state& which, completion_status status, std::string text);
  void reply_subscribe(const std::string& channel, bool subscribe);
  void reply_when_writable(reply_state& which);

  // -- channel_owner ---------------------------------------------------------------------
  void on_channel_open() override;
  bool on_channel_message(message&& value) override;
  void on_channel_decode_error(std::error_code error, const std::string& detail) override;
  void on_channel_writable() override;
  void on_channel_closed(std::error_code reason, const std::string& detail) override;

private:
  enum class phase { awaiting_hello, authenticating, ready };

  // Login (server_session_login.cpp).
  bool on_hello(const message& value);
  bool on_response(const message& value);
  bool next_negotiation_round();
  void fail_login(const std::string& why);
  void login_timed_out();

  // Requests (server_session.cpp).
  bool on_session_message(message&& value);
  void cancel_request(std::uint64_t request_id, const std::string& why);
  void run_queued();
  void execute(std::uint64_t id, const request& command);
  /// The reply state for request `id`: the last one when nothing else holds
  /// it, else a new one.
  std::shared_ptr<reply_state> next_reply_state(std::uint64_t id);
  void cancel_reply(reply_state& which, const std::string& why);
  void finish_current(reply_state& which);
  void idle_check();
  void touch();
  void drain_deadline_reached();
  void maybe_finish_drain();

  // Output.
  /// Queues one frame regardless of the soft limit; false if the session is
  /// closing, or the hard limit made it close.
  bool send_frame(std::uint64_t id, message_body body);
  bool queue_bytes(std::span<const std::byte> bytes);
  /// Ends the session after one last fatal message; the closing flush is
  /// bounded by `closing_flush_timeout`.
  void end_with(std::uint32_t code, const std::string& why);
  void check_backlog();
  void update_writable();
  [[nodiscard]] bool over_limit() const;
  [[nodiscard]] bool can_send() const;

  std::shared_ptr<message_server::state> server_;
  io_worker& worker_;
  const std::uint64_t id_;
  std::shared_ptr<session_info> info_;
  std::shared_ptr<channel> channel_;
  phase phase_ = phase::awaiting_hello;
  std::string key_;
  bool password_checked_ = false;
  std::size_t round_ = 0;
  std::deque<message> queued_;
  std::shared_ptr<reply_state> current_;
  /// The reply state handed out last, kept for reuse (next_reply_state).
  std::shared_ptr<reply_state> spare_reply_;
  bool dispatching_ = false;
  std::set<std::string> subscribed_;
  bool warned_ = false;
  bool draining_ = false;
  bool cut_off_ = false;
  bool opened_ = false; // the transport (and TLS handshake) is up
  runtime::time_point last_activity_;
  std::shared_ptr<runtime::detail::deadline_target> login_timer_;
  std::shared_ptr<runtime::detail::deadline_target> idle_timer_;
  std::shared_ptr<runtime::detail::deadline_target> drain_timer_;
  /// `send_frame`'s encoding buffer, reused from frame to frame; one grown
  /// past this by a large row is let go instead of being held.
  static constexpr std::size_t max_kept_frame_buffer = 64u * 1024u;
  std::vector<std::byte> frame_buffer_;
};

} // namespace actorloop::netio::detail
