#pragma once
/// @file
/// The commands of a `message_server`: handlers registered per command
/// name, the reply handle they answer through, and observers of session
/// login and close. `demo_handlers()` is the reference set the
/// `actorloop-server` program serves (ECHO, ROWS, SLEEP, SUBSCRIBE,
/// UNSUBSCRIBE, PUBLISH, STATS).
///
/// The contract, in short:
///  - A session runs its requests one at a time, in the order they arrived
///    (the protocol's ordering): the next request starts once the current
///    one's reply finished (completed, failed or canceled).
///  - A handler runs on the session's I/O worker. It must not block: work
///    that takes time keeps the `reply` (it is copyable and movable) and
///    finishes it later, from an applet, another thread, or a timer.
///  - `reply` functions may be called from any thread, at any time, also
///    after the session closed (they then send nothing and return false).
///    Calls made from one thread are sent in the order they were made.
///  - Ownership: a reply keeps only its own small state alive, never the
///    session or the server; keeping one past the close costs nothing. The
///    callbacks given to a reply (`when_writable`, `on_cancel`, `publish`'s
///    `delivered`) are released once they ran, the reply finished, or the
///    session closed; they may hold the reply itself (a SLEEP timer does).
///  - Nothing is dropped silently. While a session's queued output is above
///    `server_options::max_output_bytes` the server runs no further queued
///    request and reads nothing more from that client; a streaming handler
///    paces itself with `writable()` / `when_writable`. A reply that would
///    push the queue past `server_options::output_hard_limit_bytes` ends the
///    session with a fatal server message (code 3004) saying why.
///  - Cancellation: when the client cancels the request, the drain limit of
///    `message_server::stop` passes, or the session closes before the reply
///    finished, the reply becomes finished (`finished()` is true, every
///    further call returns false) and the `on_cancel` callback runs once on
///    the session's I/O worker. A canceled request's client gets a
///    `canceled` completion if the session is still open.

#include <actorloop/netio/message.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace actorloop::netio {

namespace detail {
class reply_state;
} // namespace detail

/// Who a session's client is (from its `hello`) and where it connected from.
struct session_info {
  /// The session id the client got in `ready`.
  std::uint64_t id = 0;
  std::string client_name;
  std::string user;
  /// The client's address as text ("127.0.0.1:51234", "unix:").
  std::string peer;
};

/// The answer to one request: a handle that is safe to keep, copy and move,
/// and to use from any thread (see the file comment for the contract).
/// An empty (default-constructed) reply refuses every call.
class reply {
public:
  reply() noexcept = default;
  explicit reply(std::shared_ptr<detail::reply_state> state) noexcept;

  /// The request id the client chose (0 for an empty reply).
  [[nodiscard]] std::uint64_t request_id() const noexcept;
  /// The session the request came from. Throws `netio::error`
  /// (invalid_argument) on an empty reply.
  [[nodiscard]] const session_info& session() const;

  /// Streams one result row. False (nothing sent) once the reply finished.
  bool row(std::vector<std::string> columns) const;
  /// A server message about this request to its session.
  bool message(severity level, std::uint32_t code, std::string text) const;
  /// A notification to this session only (whether subscribed or not).
  bool notify(std::string channel, std::string payload) const;

  /// Finishes with success. True if this call finished the reply (the first
  /// of succeed / fail / complete wins; later ones return false).
  bool succeed(std::string text = {}) const;
  /// Finishes as failed: a server message (severity error, `code`, `text`)
  /// and then a failed completion with `text`.
  bool fail(std::uint32_t code, std::string text) const;
  /// Finishes with any status (`canceled` included).
  bool complete(completion_status status, std::string text) const;

  /// Subscribes / unsubscribes the session to `channel` (notifications
  /// published there reach it until it unsubscribes or closes).
  bool subscribe(std::string channel) const;
  bool unsubscribe(std::string channel) const;
  /// Publishes to every subscriber of `channel`; `delivered` runs on this
  /// session's I/O worker once every subscriber's copy is queued, with the
  /// number of subscribers that got it (a subscriber cut off as too slow
  /// does not count). Works after the reply finished, not after the session
  /// closed (then `delivered` does not run and this returns false).
  bool publish(std::string channel, std::string payload,
               std::function<void(std::size_t delivered)> delivered = {}) const;

  /// True while the session's queued output is below `max_output_bytes`
  /// (exact on the session's I/O worker, a snapshot elsewhere); false once
  /// finished or closed.
  [[nodiscard]] bool writable() const noexcept;
  /// Runs `resume` once on the session's I/O worker as soon as the output
  /// is below the limit (at once if it is). Not run if the reply finishes
  /// or is canceled first.
  void when_writable(std::function<void()> resume) const;
  /// Runs `canceled` once on the session's I/O worker if the reply is
  /// canceled (see the file comment). Replaces an earlier callback. Runs at
  /// once (posted) if the reply was canceled already.
  void on_cancel(std::function<void()> canceled) const;
  /// The reply finished (by a succeed/fail/complete call or a cancel).
  [[nodiscard]] bool finished() const noexcept;

  /// For the server's own code.
  [[nodiscard]] const std::shared_ptr<detail::reply_state>& state() const noexcept { return state_; }

private:
  std::shared_ptr<detail::reply_state> state_;
};

/// A command handler: the request's arguments (the first is the command
/// name) and the reply. Runs on the session's I/O worker; an exception
/// thrown from it fails the request (code 1003, naming the exception).
using command_handler = std::function<void(const std::vector<std::string>& arguments, reply answer)>;
/// A session finished its login (before its first request). I/O worker.
using login_observer = std::function<void(const session_info& session)>;
/// A logged-in session closed; `reason` / `detail` say why. I/O worker.
using close_observer =
  std::function<void(const session_info& session, std::error_code reason, const std::string& detail)>;

/// Handlers per command name plus login/close observers. A value type:
/// build it, then give it to `server_options::handlers` (the server keeps
/// its own copy; the functions are called concurrently from several I/O
/// workers, so what they share must be thread-safe). Not thread-safe while
/// being built.
class server_handlers {
public:
  /// Registers `handler` for `command` (matched exactly, case-sensitive).
  /// Throws `netio::error` (invalid_argument) for an empty name, an empty
  /// handler, or a name registered already.
  server_handlers& on(std::string command, command_handler handler);
  /// Adds every command and observer of `other` (same refusals as `on`).
  server_handlers& add(const server_handlers& other);
  server_handlers& on_login(login_observer observer);
  server_handlers& on_close(close_observer observer);

  /// The handler for `command`, or nullptr (the client then gets
  /// "unknown command", code 1001, and a failed completion).
  [[nodiscard]] const command_handler* find(std::string_view command) const;
  [[nodiscard]] std::vector<std::string> commands() const;
  [[nodiscard]] const std::vector<login_observer>& login_observers() const noexcept { return login_; }
  [[nodiscard]] const std::vector<close_observer>& close_observers() const noexcept { return close_; }

private:
  std::map<std::string, command_handler, std::less<>> commands_;
  std::vector<login_observer> login_;
  std::vector<close_observer> close_;
};

/// The reference command set (docs/protocol.md, "Commands"): ECHO, ROWS,
/// SLEEP, SUBSCRIBE, UNSUBSCRIBE, PUBLISH, STATS. ROWS paces itself on the
/// output limit; SLEEP finishes from a timer on the session's worker.
[[nodiscard]] server_handlers demo_handlers();

} // namespace actorloop::netio
