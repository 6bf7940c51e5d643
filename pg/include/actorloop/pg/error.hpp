#pragma once
/// @file
/// Error codes of the pg module: one `errc` enum, its `std::error_category`
/// ("actorloop.pg"), and the exception thrown where a call cannot return an
/// error code (encoding a frontend message from arguments the protocol cannot
/// carry, for example).
///
/// Thread safety: everything here is immutable and safe from any thread.

#include <stdexcept>
#include <string>
#include <system_error>

namespace actorloop::pg {

/// Every failure the pg module reports. The detail text that comes with a
/// code (a `decode_result::detail`, an exception's `what()`) names the value
/// or field involved; the code says which kind of problem it is.
enum class errc {
  /// A caller passed a value the operation or the protocol cannot accept
  /// (a string with a NUL byte, more than 32767 parameters, ...).
  invalid_argument = 1,
  /// A message length below 4, or a length over 30,000 bytes on a type
  /// other than T, D, d, V, E, N and A (libpq's "lost synchronization with
  /// server"): the byte stream can no longer be trusted. Close the connection.
  lost_synchronization,
  /// A long message (T, D, d, V, E, N, A) claims more than the decoder's
  /// configured maximum.
  message_too_large,
  /// An authentication request ('R') outside 8..2000 bytes (libpq's
  /// "expected authentication request from server").
  bad_authentication_request,
  /// A message type byte the protocol does not define for the backend.
  unknown_message_type,
  /// A message whose contents do not agree with its type or its length.
  malformed_message,
  /// The server asked for an authentication method this client does not
  /// support (Kerberos, GSS, SSPI, an unknown code, no usable SASL mechanism).
  unsupported_authentication,
  /// A SCRAM exchange broke the protocol: a malformed server message, a
  /// server nonce that does not extend ours, a bad salt or iteration count.
  scram_protocol_violation,
  /// The server's SCRAM signature does not match: it does not know the
  /// password (or someone is in the middle).
  scram_server_signature_mismatch,
  /// The server reported a SCRAM error (`e=...` in server-final-message).
  scram_server_error,
  /// An OpenSSL primitive failed.
  crypto_failure,
  /// A connection string, URI, environment variable or option value could
  /// not be parsed or is not allowed; the detail names the key and value.
  bad_connection_option,
  /// The password file is not a plain file, or is readable or writable by
  /// group or others (libpq ignores such a file, and so do we).
  insecure_password_file,
  null_value,           ///< a typed read of a NULL cell
  wrong_type,           ///< a typed read of a column of another type
  connection_failed,    ///< connect or the connection failed (the message says why)
  server_error,         ///< the server sent an ErrorResponse
};

/// The category of `errc`; its name is "actorloop.pg".
[[nodiscard]] const std::error_category& pg_category() noexcept;

/// Makes an error code from an `errc`, so `std::error_code ec = errc::x;` works.
[[nodiscard]] std::error_code make_error_code(errc value) noexcept;

/// The exception pg throws where it cannot return an error code. `code()`
/// holds the error; `what()` names the problem and the values involved.
class error : public std::system_error {
public:
  error(errc code, const std::string& message);
  error(std::error_code code, const std::string& message);
};

} // namespace actorloop::pg

template <>
struct std::is_error_code_enum<actorloop::pg::errc> : std::true_type {};
