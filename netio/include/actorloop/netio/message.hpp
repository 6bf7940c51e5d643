#pragma once
/// @file
/// The message model of actorloop's framed protocol (specified in
/// docs/protocol.md). A `message` is what a codec turns into bytes and back;
/// connections and servers work with messages, never with bytes.
///
/// Thread safety: plain values. Distinct objects: safe. Shared objects: unsafe
/// while one thread writes.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace actorloop::netio {

/// The protocol version this build speaks (the version byte of every frame).
inline constexpr std::uint8_t protocol_version = 1;

/// Default limit on one frame: 16 MiB, header included.
inline constexpr std::uint32_t default_max_frame_bytes = 16u * 1024u * 1024u;

/// The kind byte of a frame.
enum class message_kind : std::uint8_t {
  hello = 1,           ///< client -> server: first frame of a session
  challenge = 2,       ///< server -> client: authentication challenge
  response = 3,        ///< client -> server: answer to a challenge
  ready = 4,           ///< server -> client: the session is established
  request = 10,        ///< client -> server: a command with arguments
  result_row = 11,     ///< server -> client: one row of a request's result
  completion = 12,     ///< server -> client: a request finished, with status
  server_message = 13, ///< server -> client: severity, code, text
  notification = 14,   ///< server -> client: channel, payload
  cancel = 20,         ///< client -> server: cancel a request (attention)
  terminate = 21,      ///< client -> server: end the session
};

/// Severity of a server message. `fatal` means the server closes the connection.
enum class severity : std::uint8_t { info = 0, notice = 1, warning = 2, error = 3, fatal = 4 };

/// Status a completion carries.
enum class completion_status : std::uint16_t {
  succeeded = 0, ///< the request did its work
  failed = 1,    ///< the request failed; a server message says why
  canceled = 2,  ///< the request was canceled before it finished
};

/// Challenge methods a server may send in `challenge`.
enum class challenge_method : std::uint8_t {
  /// Password encryption: `data` is a key; the client answers with the
  /// password transformed by the encryption callback (Client-Library's
  /// CS_ENCRYPT_CB).
  password_key = 1,
  /// Negotiation: an application-defined challenge; the client answers
  /// through the negotiation callback, possibly over several rounds
  /// (Client-Library's CS_CHALLENGE_CB).
  negotiate = 2,
};

/// client -> server, first frame of a session: who connects, as which user.
struct hello {
  std::string client_name;
  std::string user;
  friend bool operator==(const hello&, const hello&) = default;
};

/// server -> client: an authentication challenge, answered by a `response`
/// with the same `message_id`.
struct challenge {
  challenge_method method = challenge_method::password_key;
  std::uint32_t message_id = 0;
  std::string data;
  friend bool operator==(const challenge&, const challenge&) = default;
};

/// client -> server: the answer to the challenge with the same `message_id`.
struct response {
  std::uint32_t message_id = 0;
  std::string data;
  friend bool operator==(const response&, const response&) = default;
};

/// server -> client: the login is complete; `session_id` names the session
/// (notifications carry it as `publisher_session`).
struct ready {
  std::string server_name;
  std::uint64_t session_id = 0;
  friend bool operator==(const ready&, const ready&) = default;
};

/// A command: `arguments[0]` is the command name ("ECHO", "SUBSCRIBE", ...).
struct request {
  std::vector<std::string> arguments;
  friend bool operator==(const request&, const request&) = default;
};

/// server -> client: one row of the result of the request with this id.
struct result_row {
  std::vector<std::string> columns;
  friend bool operator==(const result_row&, const result_row&) = default;
};

/// server -> client: the request with this id finished; exactly one per
/// request, after all of its rows and server messages.
struct completion {
  completion_status status = completion_status::succeeded;
  std::string text;
  friend bool operator==(const completion&, const completion&) = default;
};

/// server -> client: a numbered message (codes in docs/protocol.md), about
/// the request with this id or, with id 0, about the session.
struct server_message {
  netio::severity level = netio::severity::info;
  std::uint32_t code = 0;
  std::string text;
  friend bool operator==(const server_message&, const server_message&) = default;
};

/// server -> client, request id 0: `payload` published on `channel` by the
/// session `publisher_session`.
struct notification {
  std::string channel;
  std::string payload;
  std::uint64_t publisher_session = 0;
  friend bool operator==(const notification&, const notification&) = default;
};

/// client -> server: cancel the request whose id this message carries.
struct cancel {
  friend bool operator==(const cancel&, const cancel&) = default;
};

/// client -> server: end the session.
struct terminate {
  friend bool operator==(const terminate&, const terminate&) = default;
};

using message_body = std::variant<hello, challenge, response, ready, request, result_row,
                                  completion, server_message, notification, cancel, terminate>;

/// One protocol message: a body and the request id it belongs to (0 for
/// messages that belong to no request, such as a notification).
struct message {
  std::uint64_t request_id = 0;
  message_body body;
  friend bool operator==(const message&, const message&) = default;
};

/// The kind byte of a message body.
[[nodiscard]] message_kind kind_of(const message_body& body) noexcept;

/// Human-readable names ("request", "warning", "canceled").
[[nodiscard]] std::string_view to_string(message_kind kind) noexcept;
[[nodiscard]] std::string_view to_string(severity level) noexcept;
[[nodiscard]] std::string_view to_string(completion_status status) noexcept;

} // namespace actorloop::netio
