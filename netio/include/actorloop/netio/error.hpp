#pragma once
/// @file
/// Error codes of the netio module: one `errc` enum, its `std::error_category`
/// ("actorloop.netio"), and the exception thrown where a call cannot return
/// an error code.
///
/// Thread safety: everything here is immutable and safe from any thread.

#include <stdexcept>
#include <string>
#include <system_error>

namespace actorloop::netio {

/// Every failure the netio module reports.
enum class errc {
  /// A caller passed a value that the operation cannot accept.
  invalid_argument = 1,
  /// Another operation is pending on the connection (Client-Library CS_BUSY).
  busy,
  /// The connection is not open (never connected, or closed).
  not_connected,
  /// The connection is dead: a client-message callback returned `fail`, or
  /// the transport failed. Close it and open a new one.
  connection_dead,
  /// The peer closed the connection.
  connection_closed,
  /// The peer reset the connection.
  connection_reset,
  /// Nobody listens at the address.
  connection_refused,
  /// Connecting took longer than the connect timeout.
  connect_timed_out,
  /// Name resolution found no address for the host.
  host_not_found,
  /// Name resolution failed for another reason.
  resolve_failed,
  /// The address is in use (bind).
  address_in_use,
  /// The TLS handshake failed (protocol error, no shared cipher, ...).
  tls_handshake_failed,
  /// The peer's certificate did not verify against the trusted CAs.
  tls_certificate_rejected,
  /// The peer's certificate does not name the expected host.
  tls_hostname_mismatch,
  /// A frame did not follow the wire format.
  malformed_frame,
  /// A frame's length field claims more than the configured maximum.
  frame_too_large,
  /// A frame carries a protocol version this side does not speak.
  unsupported_version,
  /// A frame carries a message kind this side does not know.
  unknown_message_kind,
  /// A well-formed message arrived where the protocol does not allow it.
  protocol_violation,
  /// The server rejected the login (a callback failed the handshake, or the
  /// credentials were wrong).
  authentication_failed,
  /// The call is not allowed inside a callback (for example `poll`).
  not_allowed_in_callback,
  /// `io_mode::deferred` was set on a connection; it is a context setting.
  deferred_on_connection,
  /// The operation was canceled.
  canceled,
  /// A timed wait or operation reached its deadline.
  timed_out,
  /// A bounded buffer is full; the caller must wait (backpressure).
  buffer_full,
  /// The context or I/O worker is shutting down.
  shutting_down,
  /// Operations are still pending (for example closing a context).
  operations_pending,
  /// The operating system refused a request for another reason.
  system_failure,
  /// Configuration text could not be parsed.
  bad_configuration,
  /// A connection holds results nobody has taken yet (closing a context
  /// without force, as Client-Library's ct_exit without CS_FORCE_EXIT).
  results_pending,
};

/// The category of `errc`; its name is "actorloop.netio".
[[nodiscard]] const std::error_category& netio_category() noexcept;

/// Makes an error code from an `errc`, so `std::error_code ec = errc::x;` works.
[[nodiscard]] std::error_code make_error_code(errc value) noexcept;

/// The exception netio throws where it cannot return an error code. `code()`
/// holds the error; `what()` names the problem and the objects involved.
class error : public std::system_error {
public:
  error(errc code, const std::string& message);
  error(std::error_code code, const std::string& message);
};

} // namespace actorloop::netio

template <>
struct std::is_error_code_enum<actorloop::netio::errc> : std::true_type {};
