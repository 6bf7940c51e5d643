#pragma once
/// @file
/// The PostgreSQL protocol v3 backend messages (server to client) in parsed
/// form, and an incremental decoder that turns received bytes into them.
/// Pure: no I/O, no threads, no clocks; bytes in, messages out.
///
/// The decoder enforces libpq's limits before it trusts a length (see
/// `backend_decoder`): a hostile length claim never makes it allocate more
/// than the bytes that actually arrived.
///
/// Thread safety: the message types are plain values. A `backend_decoder` is
/// not synchronised: one thread at a time (distinct decoders: any threads).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

namespace actorloop::pg {

/// Object identifier of a type, table or other catalog object.
using oid = std::uint32_t;

/// The authentication request kinds of AuthenticationXXX ('R'); the value
/// is the code on the wire.
enum class auth_kind : std::int32_t {
  ok = 0,
  kerberos_v5 = 2,
  cleartext_password = 3,
  md5_password = 5,
  gss = 7,
  gss_continue = 8,
  sspi = 9,
  sasl = 10,
  sasl_continue = 11,
  sasl_final = 12,
};

/// An Authentication* request ('R').
struct authentication_request {
  auth_kind kind = auth_kind::ok;
  /// md5_password: the 4-byte salt.
  std::string salt;
  /// sasl: the mechanisms, in the server's order of preference.
  std::vector<std::string> mechanisms;
  /// gss_continue, sasl_continue, sasl_final: the mechanism's data.
  std::string data;
  friend bool operator==(const authentication_request&, const authentication_request&) = default;
};

/// BackendKeyData ('K'): what a CancelRequest for this session needs.
struct backend_key_data {
  std::int32_t process_id = 0;
  /// 4 bytes in protocol 3.0; up to 256 in 3.2 (the rest of the message).
  std::string secret_key;
  friend bool operator==(const backend_key_data&, const backend_key_data&) = default;
};

/// ParameterStatus ('S'): a reported run-time parameter changed.
struct parameter_status {
  std::string name;
  std::string value;
  friend bool operator==(const parameter_status&, const parameter_status&) = default;
};

/// The transaction status in ReadyForQuery.
enum class transaction_status : char {
  idle = 'I',           ///< not in a transaction block
  in_transaction = 'T', ///< in a transaction block
  failed = 'E',         ///< in a failed transaction block (until ROLLBACK)
};

/// ReadyForQuery ('Z').
struct ready_for_query {
  transaction_status status = transaction_status::idle;
  friend bool operator==(const ready_for_query&, const ready_for_query&) = default;
};

/// One column of a RowDescription.
struct field_description {
  std::string name;
  oid table_oid = 0;           ///< 0 if the column is not a table column
  std::int16_t column_number = 0;
  oid type_oid = 0;
  std::int16_t type_size = 0;  ///< negative: variable width
  std::int32_t type_modifier = 0;
  std::int16_t format = 0;     ///< 0 text, 1 binary
  friend bool operator==(const field_description&, const field_description&) = default;
};

/// RowDescription ('T').
struct row_description {
  std::vector<field_description> fields;
  friend bool operator==(const row_description&, const row_description&) = default;
};

namespace detail {
struct data_row_access;
struct backend_decoder_access;
}

/// DataRow ('D'): one row's values, kept in one buffer. A value is either
/// NULL or a byte string (text or binary, as the row description says).
/// A decoded row is one allocation: its cell table and the message body.
class data_row {
public:
  data_row() = default;
  /// Number of values in the row.
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  /// True if value `index` is NULL. Throws `std::out_of_range` past the end.
  [[nodiscard]] bool is_null(std::size_t index) const { return cell_at(index).length < 0; }
  /// The bytes of value `index` (empty for NULL; check `is_null`). The view
  /// lives as long as this row. Throws `std::out_of_range` past the end.
  [[nodiscard]] std::string_view value(std::size_t index) const {
    auto entry = cell_at(index);
    if (entry.length < 0)
      return {};
    return {storage_.data() + count_ * sizeof(cell) + entry.offset,
            static_cast<std::size_t>(entry.length)};
  }
  /// Appends a value (used by tests; the decoder builds a row at once).
  void push_back(std::optional<std::string_view> value);
  /// Bytes the row holds (for backpressure accounting).
  [[nodiscard]] std::size_t byte_size() const noexcept { return storage_.size(); }
  /// Equal when both have the same values (NULL equal to NULL only).
  friend bool operator==(const data_row& left, const data_row& right);

private:
  friend struct detail::data_row_access;
  struct cell {
    std::uint32_t offset = 0; // from the start of the values, after the cell table
    std::int32_t length = -1; // -1: NULL
  };
  [[nodiscard]] cell cell_at(std::size_t index) const {
    if (index >= count_)
      out_of_range(index);
    cell entry;
    std::memcpy(&entry, storage_.data() + index * sizeof(cell), sizeof(cell));
    return entry;
  }
  [[noreturn]] void out_of_range(std::size_t index) const;
  // `count_` cells (unaligned, hence memcpy), then the values' bytes.
  std::string storage_;
  std::uint32_t count_ = 0;
};

/// CommandComplete ('C').
struct command_complete {
  /// The command tag, e.g. "INSERT 0 5", "SELECT 3", "CREATE TABLE".
  std::string tag;
  /// The command word(s) of the tag ("INSERT", "SELECT", "CREATE TABLE").
  [[nodiscard]] std::string_view command() const;
  /// Rows affected or returned, when the tag carries a count (INSERT,
  /// DELETE, UPDATE, MERGE, SELECT, MOVE, FETCH, COPY); nullopt otherwise.
  [[nodiscard]] std::optional<std::uint64_t> rows() const;
  friend bool operator==(const command_complete&, const command_complete&) = default;
};

/// ErrorResponse ('E') or NoticeResponse ('N') with every field the
/// protocol defines. Fields the server left out are empty; unknown field
/// codes are ignored (as the protocol requires).
struct server_message {
  /// True for ErrorResponse, false for NoticeResponse.
  bool is_error = false;
  std::string severity;                ///< S (possibly localised)
  std::string severity_nonlocalized;   ///< V (9.6+)
  std::string sqlstate;                ///< C
  std::string message;                 ///< M
  std::string detail;                  ///< D
  std::string hint;                    ///< H
  std::string position;                ///< P (1-based character index, decimal)
  std::string internal_position;       ///< p
  std::string internal_query;          ///< q
  std::string where;                   ///< W
  std::string schema;                  ///< s
  std::string table;                   ///< t
  std::string column;                  ///< c
  std::string data_type;               ///< d
  std::string constraint;              ///< n
  std::string file;                    ///< F
  std::string line;                    ///< L
  std::string routine;                 ///< R
  friend bool operator==(const server_message&, const server_message&) = default;
};

/// NotificationResponse ('A'): LISTEN/NOTIFY.
struct notification_response {
  std::int32_t process_id = 0; ///< the notifying backend
  std::string channel;
  std::string payload;
  friend bool operator==(const notification_response&, const notification_response&) = default;
};

/// CopyInResponse ('G'), CopyOutResponse ('H') or CopyBothResponse ('W').
struct copy_response {
  enum class direction : char { in = 'G', out = 'H', both = 'W' };
  direction kind = direction::in;
  std::int8_t format = 0;                   ///< 0 text, 1 binary
  std::vector<std::int16_t> column_formats; ///< per column
  friend bool operator==(const copy_response&, const copy_response&) = default;
};

/// CopyData ('d') from the server (copy-out).
struct copy_data {
  std::string data;
  friend bool operator==(const copy_data&, const copy_data&) = default;
};

/// ParameterDescription ('t').
struct parameter_description {
  std::vector<oid> types;
  friend bool operator==(const parameter_description&, const parameter_description&) = default;
};

/// NegotiateProtocolVersion ('v').
struct negotiate_protocol_version {
  std::int32_t newest_minor = 0;
  std::vector<std::string> unrecognized_options;
  friend bool operator==(const negotiate_protocol_version&,
                         const negotiate_protocol_version&) = default;
};

/// FunctionCallResponse ('V'), the legacy fast-path answer.
struct function_call_response {
  std::optional<std::string> result; ///< nullopt: NULL
  friend bool operator==(const function_call_response&, const function_call_response&) = default;
};

// Messages without a body.
struct parse_complete { friend bool operator==(parse_complete, parse_complete) = default; };    ///< '1'
struct bind_complete { friend bool operator==(bind_complete, bind_complete) = default; };      ///< '2'
struct close_complete { friend bool operator==(close_complete, close_complete) = default; };   ///< '3'
struct no_data { friend bool operator==(no_data, no_data) = default; };                        ///< 'n'
struct portal_suspended { friend bool operator==(portal_suspended, portal_suspended) = default; }; ///< 's'
struct empty_query_response {                                                                  ///< 'I'
  friend bool operator==(empty_query_response, empty_query_response) = default;
};
struct copy_done { friend bool operator==(copy_done, copy_done) = default; };                  ///< 'c'

/// Any backend message.
using backend_message =
  std::variant<authentication_request, backend_key_data, parameter_status, ready_for_query,
               row_description, data_row, command_complete, server_message,
               notification_response, copy_response, copy_data, copy_done,
               parameter_description, negotiate_protocol_version, function_call_response,
               parse_complete, bind_complete, close_complete, no_data, portal_suspended,
               empty_query_response>;

/// The type byte `message` travels under (e.g. 'E' or 'N' for a
/// server_message, depending on `is_error`).
[[nodiscard]] char type_byte(const backend_message& message) noexcept;

/// Limits the decoder enforces. The fixed ones are libpq's and cannot be
/// changed; the long-message maximum can.
struct decoder_limits {
  /// Shortest valid length word (it counts itself).
  static constexpr std::uint32_t min_length = 4;
  /// Longest length word for types other than T, D, d, V, E, N, A.
  static constexpr std::uint32_t max_short_length = 30000;
  /// Range of an authentication request's length word ('R').
  static constexpr std::uint32_t min_auth_length = 8;
  static constexpr std::uint32_t max_auth_length = 2000;
  /// Longest length word accepted for T, D, d, V, E, N, A. The server's own
  /// limit for a message is about 1 GB; lower it to bound a connection's
  /// memory. Must be at least `max_short_length`.
  std::uint32_t max_long_length = 0x3fffffff;
};

/// True for the types libpq allows past 30,000 bytes: T, D, d, V, E, N, A.
[[nodiscard]] constexpr bool is_long_message_type(char type) noexcept {
  return type == 'T' || type == 'D' || type == 'd' || type == 'V' || type == 'E' ||
         type == 'N' || type == 'A';
}

/// What `backend_decoder::next` found.
struct decode_result {
  /// Set when the stream is broken; the decoder stays broken (every later
  /// `next` repeats the error): close the connection.
  std::error_code error;
  /// Names the problem for people, with the message type and the numbers
  /// ("ReadyForQuery ('Z') claims length 70000; ..."). Empty without error.
  std::string detail;
  /// The message, when one was complete.
  std::optional<backend_message> message;

  [[nodiscard]] bool needs_more() const noexcept { return !error && !message; }
};

/// Decodes one message from the front of `input`: the type byte, the length
/// word and the body, all of it present. Returns the message and sets
/// `consumed`; or needs more (nothing consumed); or an error (nothing
/// consumed). The limits are checked as soon as the 5-byte header is there,
/// before the body arrives. Allocates only for the parsed form, never more
/// than `input` holds.
[[nodiscard]] decode_result decode_backend_message(std::span<const std::byte> input,
                                                   std::size_t& consumed,
                                                   const decoder_limits& limits = {});

/// Incremental decoder: `feed` bytes as they are read (any split), take
/// messages with `next` until it needs more.
///
/// Memory: buffers only what was fed and not yet decoded, so a length claim
/// costs nothing until the bytes arrive; `buffered()` tells how much that is
/// (a reader applies backpressure with it).
class backend_decoder {
public:
  explicit backend_decoder(decoder_limits limits = {});

  /// Appends received bytes.
  void feed(std::span<const std::byte> bytes);
  void feed(std::string_view bytes);
  /// Room for at least `size` more bytes at the end of the buffer, for a
  /// reader to receive into directly (saving `feed`'s copy); `commit(n)`
  /// then appends the first `n` bytes written there. Any other call in
  /// between (`feed`, `next`, `prepare`) invalidates the room. Only the
  /// bytes of a partial message are ever moved to make room.
  [[nodiscard]] std::span<std::byte> prepare(std::size_t size);
  /// Appends `size` bytes written into the room `prepare` gave; throws
  /// pg::error (invalid_argument) when that is more than the room.
  void commit(std::size_t size);
  /// The next complete message, "needs more", or the stream's error.
  [[nodiscard]] decode_result next();
  /// Bytes fed and not yet decoded.
  [[nodiscard]] std::size_t buffered() const noexcept { return end_ - start_; }
  /// True once an error was returned.
  [[nodiscard]] bool broken() const noexcept { return static_cast<bool>(error_); }
  [[nodiscard]] const decoder_limits& limits() const noexcept { return limits_; }

private:
  friend struct detail::backend_decoder_access; // framing without parsing, for the link
  void make_room(std::size_t size);

  decoder_limits limits_;
  std::unique_ptr<std::byte[]> buffer_; // bytes [start_, end_) wait to be decoded; the rest is room
  std::size_t capacity_ = 0;
  std::size_t start_ = 0;
  std::size_t end_ = 0;
  std::error_code error_;
  std::string error_detail_;
};

} // namespace actorloop::pg
