#pragma once
/// @file
/// actorloop's embeddable message server: the server side of the framed
/// protocol (docs/protocol.md) built on the I/O workers. It accepts
/// connections (TCP, Unix, optionally TLS), runs each session on one I/O
/// worker, logs clients in (password, negotiation rounds, timeouts), hands
/// each request to the handler registered for its command
/// (server_handlers.hpp: the contract for handlers and replies), fans
/// notifications out to subscribers, warns a session whose output queue
/// backs up, and drains in-flight requests on `stop`. The installable
/// `actorloop-server` program serves `demo_handlers()`.
///
/// Thread safety: distinct objects: safe. Shared objects: `local_endpoint`,
/// `statistics`, `publish`, `notify_session` and `message_session` are
/// safe from any thread; `stop` from any thread except the server's own
/// I/O workers (it blocks); the constructor and destructor are not.

#include <actorloop/netio/codec.hpp>
#include <actorloop/netio/endpoint.hpp>
#include <actorloop/netio/login.hpp>
#include <actorloop/netio/server_handlers.hpp>
#include <actorloop/runtime/clock.hpp>
#include <actorloop/runtime/engine.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace actorloop::netio {

class tls_context;

/// One negotiation round the server asks for during login: it sends
/// `challenge` and expects the client's answer to equal `expected_answer`.
struct negotiation_round {
  std::uint32_t message_id = 0;
  std::string challenge;
  std::string expected_answer;
};

struct server_options {
  /// Where to listen; port 0 picks a free port (see `local_endpoint`).
  endpoint listen = endpoint::tcp("127.0.0.1", 0);
  /// Sent to clients in `ready`.
  std::string server_name = "actorloop-server";
  /// Frame limits (16 MiB by default).
  codec_limits limits;
  /// Encoded output a session may queue before the server holds back: it
  /// runs no further queued request and reads no more from the client until
  /// the queue drains (replies are never dropped), and a subscriber whose
  /// next notification would not fit is cut off with one fatal server
  /// message (3002), never silently skipped.
  std::size_t max_output_bytes = 4u * 1024u * 1024u;
  /// A reply that would queue more than this (a handler streaming without
  /// pacing itself) ends the session with a fatal server message (3004).
  /// Must exceed `max_output_bytes` plus the largest frame.
  std::size_t output_hard_limit_bytes = 64u * 1024u * 1024u;
  /// How long a session that is closing (after a fatal message, a cut-off,
  /// a timeout or the drain) waits for its client to read what is queued
  /// before the connection is dropped anyway.
  runtime::duration closing_flush_timeout = std::chrono::seconds(10);
  /// Output queued above this makes the server warn the session once
  /// (server message, severity warning, code 3001) until it drains.
  std::size_t output_warning_bytes = 1u * 1024u * 1024u;
  /// Requests a session may have received but not finished before the
  /// server stops reading from it (backpressure on a pipelining client).
  std::size_t max_queued_requests = 1024;
  /// If set, logins must answer a password_key challenge with
  /// `default_password_encryption(password, key)`.
  std::optional<std::string> password;
  /// Negotiation rounds every login must pass, in order.
  std::vector<negotiation_round> negotiation;
  /// TLS on every accepted connection, if set (a server-role context).
  std::shared_ptr<const tls_context> tls;
  /// listen() backlog.
  int backlog = 512;
  /// A client must finish its login (hello, challenges) within this time
  /// of the connection (or of the TLS handshake) or is told (fatal 3005) and
  /// closed. Zero: no limit.
  runtime::duration login_timeout = std::chrono::seconds(30);
  /// A TLS handshake must finish within this time or the connection is
  /// closed. Zero: no limit.
  runtime::duration handshake_timeout = std::chrono::seconds(10);
  /// A logged-in session with no request running that receives nothing for
  /// this long is told (fatal 3006) and closed. Zero (default): never.
  runtime::duration idle_timeout = runtime::duration::zero();
  /// TCP keepalive on accepted TCP connections (first probe after
  /// `keepalive_idle`, then every 10 s, 6 probes), so that vanished peers
  /// do not hold a session for good.
  bool tcp_keepalive = true;
  std::chrono::seconds keepalive_idle = std::chrono::seconds(60);
  /// The commands the server answers and the session observers.
  server_handlers handlers = demo_handlers();
  /// One line per notable server event (descriptor exhaustion, ...). Runs
  /// on an I/O worker; must not block. Default: standard error.
  std::function<void(const std::string& line)> log;
};

struct server_statistics {
  std::uint64_t sessions_open = 0;
  std::uint64_t sessions_accepted = 0;
  std::uint64_t requests = 0;
  std::uint64_t completions = 0;
  std::uint64_t notifications_delivered = 0;
  std::uint64_t protocol_errors = 0;
  std::uint64_t warnings_sent = 0;
  std::uint64_t slow_subscribers_disconnected = 0;
  std::uint64_t requests_in_flight = 0;
  /// Connections taken off the backlog and closed at once because the
  /// process had no descriptor left (EMFILE/ENFILE).
  std::uint64_t connections_dropped_at_descriptor_limit = 0;
  std::uint64_t login_timeouts = 0;
  std::uint64_t handshake_timeouts = 0;
  std::uint64_t idle_timeouts = 0;
  /// Sessions ended because a reply exceeded `output_hard_limit_bytes`.
  std::uint64_t output_overflows = 0;
};

/// Server-message codes (docs/protocol.md).
namespace server_codes {
inline constexpr std::uint32_t unknown_command = 1001;
inline constexpr std::uint32_t wrong_arguments = 1002;
inline constexpr std::uint32_t handler_failed = 1003;
inline constexpr std::uint32_t malformed_frame = 2001;
inline constexpr std::uint32_t frame_too_large = 2002;
inline constexpr std::uint32_t unsupported_version = 2003;
inline constexpr std::uint32_t unknown_message_kind = 2004;
inline constexpr std::uint32_t protocol_violation = 2005;
inline constexpr std::uint32_t authentication_failed = 2006;
inline constexpr std::uint32_t output_backing_up = 3001;
inline constexpr std::uint32_t subscriber_too_slow = 3002;
inline constexpr std::uint32_t shutting_down = 3003;
inline constexpr std::uint32_t output_overflow = 3004;
inline constexpr std::uint32_t login_timed_out = 3005;
inline constexpr std::uint32_t idle_timed_out = 3006;
} // namespace server_codes

class message_server {
public:
  /// Binds and starts accepting. Throws `netio::error` naming the address
  /// when it cannot listen (address_in_use, host_not_found, ...).
  message_server(runtime::engine& engine, server_options options);
  /// Stops without draining (as `stop(zero)`).
  ~message_server();
  message_server(const message_server&) = delete;
  message_server& operator=(const message_server&) = delete;

  /// The address actually bound (the port chosen when 0 was asked for).
  [[nodiscard]] endpoint local_endpoint() const;

  /// Stops accepting, lets every session finish the requests it has
  /// received (up to `drain_limit`; the rest complete as canceled), tells
  /// each client (server message 3003), closes every session, and returns
  /// once all are closed. Idempotent.
  void stop(runtime::duration drain_limit = std::chrono::seconds(5));

  /// A snapshot of the figures. Each figure moves right after the event it
  /// counts (a completion once its frame is written), so a client that has
  /// just received a reply may read the figure a moment before it moves:
  /// wait for a figure with `wait_for_statistics` rather than read it once.
  [[nodiscard]] server_statistics statistics() const;
  /// Blocks the calling thread until `holds(statistics())` is true or
  /// `timeout` passes, and returns whether it held. It wakes on every change
  /// of a figure (no polling). `holds` runs on the calling thread, with an
  /// internal lock held: it must only read the statistics it is given. Call
  /// it from a plain thread, never from an I/O worker or a scheduler thread
  /// (it would stall the sessions whose progress it waits for).
  [[nodiscard]] bool wait_for_statistics(
      const std::function<bool(const server_statistics&)>& holds,
      runtime::duration timeout) const;

  /// Publishes to every subscriber of `channel` (publisher id 0). `delivered`
  /// runs on an I/O worker once every copy is queued, with the number of
  /// subscribers that got it. Any thread.
  void publish(const std::string& channel, const std::string& payload,
               std::function<void(std::size_t delivered)> delivered = {});
  /// A notification / server message to one logged-in session. False if no
  /// such session is open (then nothing is sent). Any thread.
  bool notify_session(std::uint64_t session_id, const std::string& channel,
                      const std::string& payload);
  bool message_session(std::uint64_t session_id, severity level, std::uint32_t code,
                       const std::string& text);

  class state;

private:
  std::shared_ptr<state> state_;
};

} // namespace actorloop::netio
