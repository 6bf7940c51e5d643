#pragma once
/// @file
/// Values for the extended query protocol: the parameters of `execute` and
/// `execute_prepared` (`pg::param`), the C++ types of the binary formats,
/// and the binary codecs themselves (`actorloop::pg::binary`), which are
/// pure (bytes in, values out) so that they are tested byte for byte.
///
/// The binary formats are PostgreSQL's send/receive functions (PostgreSQL
/// documentation, 55.2.3 "Extended Query" and 8.x data type chapters):
/// network byte order; float4/float8 as IEEE 754; uuid as its 16 bytes;
/// date as int32 days and timestamp/timestamptz as int64 microseconds since
/// 2000-01-01 (UTC for timestamptz), with INT32/INT64 max and min for
/// `infinity` and `-infinity`.
///
/// Thread safety: plain values and functions that touch only their arguments.

#include <actorloop/pg/backend.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace actorloop::pg {

/// Type OIDs of the built-in types this client encodes and decodes
/// (PostgreSQL's pg_type catalogue).
namespace oids {
inline constexpr oid bool_ = 16, bytea = 17, name = 19, int8 = 20, int2 = 21, int4 = 23,
                     text = 25, oid_ = 26, json = 114, float4 = 700, float8 = 701,
                     unknown = 705, bpchar = 1042, varchar = 1043, date = 1082,
                     timestamp = 1114, timestamptz = 1184, numeric = 1700, uuid = 2950,
                     jsonb = 3802;
} // namespace oids

/// A result column's or parameter's wire format.
enum class format : std::int16_t { text = 0, binary = 1 };

/// A uuid's 16 bytes in the order they are written.
struct uuid {
  std::array<std::uint8_t, 16> bytes{};
  friend bool operator==(const uuid&, const uuid&) = default;
  /// The canonical 8-4-4-4-12 lower-case hex form.
  [[nodiscard]] std::string to_string() const;
  /// Parses the canonical form (hex digits in either case); throws
  /// pg::error (invalid_argument) naming the text otherwise.
  [[nodiscard]] static uuid parse(std::string_view text);
};

/// date: a calendar day.
using date = std::chrono::sys_days;
/// timestamp (without time zone): a wall-clock time, microsecond resolution.
using timestamp = std::chrono::local_time<std::chrono::microseconds>;
/// timestamptz: an instant, microsecond resolution.
using timestamptz = std::chrono::sys_time<std::chrono::microseconds>;

/// One parameter of an extended-protocol statement: its type OID (0: let
/// the server infer it, only with the text format), its format and its
/// bytes (nullopt is SQL NULL).
///
/// The constructors from C++ values choose the binary format and the
/// matching type: bool, int16_t (int2), int32_t (int4), int64_t (int8),
/// float (float4), double (float8), text (string, string_view, const char*),
/// uuid, date, timestamp, timestamptz; `bytea` and `text_format` make the
/// others. Text with a NUL byte throws pg::error (invalid_argument): the
/// server cannot store it.
struct param {
  oid type = 0;
  format wire = format::text;
  std::optional<std::string> value;

  param() = default; ///< NULL of an inferred type
  param(bool value);
  param(std::int16_t value);
  param(std::int32_t value);
  param(std::int64_t value);
  param(float value);
  param(double value);
  param(std::string_view value);
  param(const std::string& value) : param(std::string_view{value}) {}
  /// Takes the string's bytes over instead of copying them.
  param(std::string&& value);
  param(const char* value) : param(std::string_view{value}) {}
  param(const uuid& value);
  param(date value);
  param(timestamp value);
  param(timestamptz value);

  /// SQL NULL, of type `type` (0: inferred).
  [[nodiscard]] static param null(oid type = 0);
  /// A value in the text format, converted by the server's input function
  /// for `type` (0: inferred from the statement), as libpq's text parameters.
  [[nodiscard]] static param text_format(std::string_view value, oid type = 0);
  /// A bytea value in the binary format (any bytes, NUL included).
  [[nodiscard]] static param bytea(std::span<const std::byte> value);
  [[nodiscard]] static param bytea(std::string_view value);

  friend bool operator==(const param&, const param&) = default;
};

/// The binary codecs. `encode_*` returns the value's bytes; `decode_*`
/// reads exactly one value's bytes and throws pg::error (malformed_message)
/// naming the type and the length when the bytes are not a value of that
/// type (a wrong length, a bool byte other than 0/1, a date or timestamp
/// beyond what the C++ type holds).
namespace binary {
[[nodiscard]] std::string encode_bool(bool value);
[[nodiscard]] std::string encode_int2(std::int16_t value);
[[nodiscard]] std::string encode_int4(std::int32_t value);
[[nodiscard]] std::string encode_int8(std::int64_t value);
[[nodiscard]] std::string encode_float4(float value);
[[nodiscard]] std::string encode_float8(double value);
[[nodiscard]] std::string encode_uuid(const uuid& value);
[[nodiscard]] std::string encode_date(date value);
[[nodiscard]] std::string encode_timestamp(timestamp value);
[[nodiscard]] std::string encode_timestamptz(timestamptz value);

[[nodiscard]] bool decode_bool(std::string_view bytes);
[[nodiscard]] std::int16_t decode_int2(std::string_view bytes);
[[nodiscard]] std::int32_t decode_int4(std::string_view bytes);
[[nodiscard]] std::int64_t decode_int8(std::string_view bytes);
[[nodiscard]] float decode_float4(std::string_view bytes);
[[nodiscard]] double decode_float8(std::string_view bytes);
[[nodiscard]] uuid decode_uuid(std::string_view bytes);
/// `infinity`/`-infinity` decode to date::max()/date::min() and back.
[[nodiscard]] date decode_date(std::string_view bytes);
/// `infinity`/`-infinity` decode to timestamp::max()/min() and back.
[[nodiscard]] timestamp decode_timestamp(std::string_view bytes);
[[nodiscard]] timestamptz decode_timestamptz(std::string_view bytes);
} // namespace binary

} // namespace actorloop::pg
