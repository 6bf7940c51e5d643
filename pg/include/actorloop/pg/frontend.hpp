#pragma once
/// @file
/// Encoders for the PostgreSQL protocol v3 frontend messages (client to
/// server). Pure: each function appends one complete message to a byte
/// vector and does no I/O.
///
/// Errors: a value the protocol cannot carry (a NUL byte inside a string
/// field, more than 65535 parameters, a message over 2^31-1 bytes, a secret
/// key outside 4..256 bytes, ...) throws `pg::error` with
/// `errc::invalid_argument` and a message naming the message, the field and
/// the value; `out` is then left exactly as it was.
///
/// Thread safety: the functions touch nothing but their arguments.

#include <actorloop/pg/backend.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace actorloop::pg::frontend {

/// Protocol version 3.0, what libpq requests (major << 16 | minor).
inline constexpr std::int32_t protocol_3_0 = 196608;
/// The request codes that travel in the startup slot.
inline constexpr std::int32_t cancel_request_code = 80877102;
inline constexpr std::int32_t ssl_request_code = 80877103;
inline constexpr std::int32_t gssenc_request_code = 80877104;
/// Most parameters a Parse or Bind can carry (an unsigned 16-bit count).
inline constexpr std::size_t max_parameters = 65535;

/// A name/value pair of the StartupMessage.
using startup_parameter = std::pair<std::string, std::string>;

/// StartupMessage: the protocol version and the parameters, which must
/// include a non-empty "user" ("database", "application_name", "options",
/// and any run-time parameter may follow).
void startup(std::vector<std::byte>& out, std::span<const startup_parameter> parameters,
             std::int32_t version = protocol_3_0);
/// SSLRequest: the server answers with exactly one byte, 'S' or 'N'.
void ssl_request(std::vector<std::byte>& out);
/// GSSENCRequest: the server answers with exactly one byte, 'G' or 'N'.
void gssenc_request(std::vector<std::byte>& out);
/// CancelRequest for the session `key` came from (a BackendKeyData); sent
/// on a new connection, the server answers nothing and closes.
void cancel_request(std::vector<std::byte>& out, const backend_key_data& key);

/// PasswordMessage with a cleartext password or an MD5 hash ("md5...").
void password(std::vector<std::byte>& out, std::string_view password);
/// SASLInitialResponse: the chosen mechanism and its first message
/// (nullopt sends length -1, "no initial response").
void sasl_initial_response(std::vector<std::byte>& out, std::string_view mechanism,
                           std::optional<std::string_view> data);
/// SASLResponse: the mechanism's next message.
void sasl_response(std::vector<std::byte>& out, std::string_view data);

/// Query (simple protocol); the text may hold several statements.
void query(std::vector<std::byte>& out, std::string_view sql);
/// Parse: statement `name` ("" = unnamed) from `sql` (one statement);
/// `parameter_types` may be empty or give OIDs (0 = let the server infer).
void parse(std::vector<std::byte>& out, std::string_view name, std::string_view sql,
           std::span<const oid> parameter_types = {});
/// Bind: portal `portal` ("" = unnamed) from statement `statement`.
/// `parameter_formats` has 0 entries (all text), 1 (for all) or one per
/// value (0 text, 1 binary); a value of nullopt is NULL. `result_formats`
/// likewise for the result columns.
void bind(std::vector<std::byte>& out, std::string_view portal, std::string_view statement,
          std::span<const std::int16_t> parameter_formats,
          std::span<const std::optional<std::string_view>> values,
          std::span<const std::int16_t> result_formats = {});

/// What Describe and Close refer to.
enum class target : char { statement = 'S', portal = 'P' };

/// Describe a statement or a portal.
void describe(std::vector<std::byte>& out, target kind, std::string_view name);
/// Execute a portal, returning at most `max_rows` rows (0 = all); a limit
/// reached ends with PortalSuspended. A negative limit throws.
void execute(std::vector<std::byte>& out, std::string_view portal, std::int32_t max_rows = 0);
/// Close a statement or a portal.
void close(std::vector<std::byte>& out, target kind, std::string_view name);
/// Sync: ends an extended-query segment; the server answers ReadyForQuery.
void sync(std::vector<std::byte>& out);
/// Flush: asks the server to send what it has buffered.
void flush(std::vector<std::byte>& out);

/// CopyData during COPY FROM STDIN.
void copy_data(std::vector<std::byte>& out, std::span<const std::byte> data);
void copy_data(std::vector<std::byte>& out, std::string_view data);
/// CopyData's first 5 bytes (type and length) for a body of `size` bytes
/// that the caller sends right after them (a gathered write).
void copy_data_header(std::vector<std::byte>& out, std::size_t size);
/// CopyDone: the copy-in data is complete.
void copy_done(std::vector<std::byte>& out);
/// CopyFail: abort COPY FROM STDIN with `reason` (the server's error
/// message will quote it).
void copy_fail(std::vector<std::byte>& out, std::string_view reason);

/// Terminate: the session ends; close the socket afterwards.
void terminate(std::vector<std::byte>& out);

} // namespace actorloop::pg::frontend
