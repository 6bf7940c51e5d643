// The binary send/receive formats of the built-in types this client knows,
// and pg::param's constructors that use them.
#include "hex_digit.hpp"
#include <actorloop/pg/error.hpp>
#include <actorloop/pg/values.hpp>

#include <bit>
#include <limits>

namespace actorloop::pg {

namespace {

// PostgreSQL's epoch, 2000-01-01, in days and microseconds after 1970-01-01.
constexpr std::int64_t epoch_days = 10957;
constexpr std::int64_t epoch_micros = epoch_days * 86400LL * 1000000LL;

template <typename type>
std::string big_endian(type value) {
  using unsigned_type = std::make_unsigned_t<type>;
  auto bits = static_cast<unsigned_type>(value);
  std::string out(sizeof(type), '\0');
  for (std::size_t i = 0; i < sizeof(type); ++i)
    out[sizeof(type) - 1 - i] = static_cast<char>((bits >> (8 * i)) & 0xffu);
  return out;
}

template <typename type>
type read_big_endian(std::string_view bytes, const char* name) {
  if (bytes.size() != sizeof(type))
    throw error(errc::malformed_message, std::string{"a binary "} + name + " value has " +
                                           std::to_string(bytes.size()) + " bytes, not " +
                                           std::to_string(sizeof(type)));
  using unsigned_type = std::make_unsigned_t<type>;
  unsigned_type bits = 0;
  for (char each : bytes)
    bits = static_cast<unsigned_type>((bits << 8) | static_cast<unsigned char>(each));
  return static_cast<type>(bits);
}

/// Microseconds since PostgreSQL's epoch to since 1970, with the infinities.
std::int64_t micros_since_1970(std::int64_t since_2000, const char* name) {
  if (since_2000 == std::numeric_limits<std::int64_t>::max() ||
      since_2000 == std::numeric_limits<std::int64_t>::min())
    return since_2000;
  std::int64_t out = 0;
  if (__builtin_add_overflow(since_2000, epoch_micros, &out) ||
      out == std::numeric_limits<std::int64_t>::max() ||
      out == std::numeric_limits<std::int64_t>::min())
    throw error(errc::malformed_message, std::string{"a binary "} + name + " value (" +
                                           std::to_string(since_2000) +
                                           " microseconds after 2000-01-01) is out of range");
  return out;
}

std::int64_t micros_since_2000(std::int64_t since_1970, const char* name) {
  if (since_1970 == std::numeric_limits<std::int64_t>::max() ||
      since_1970 == std::numeric_limits<std::int64_t>::min())
    return since_1970;
  std::int64_t out = 0;
  if (__builtin_sub_overflow(since_1970, epoch_micros, &out) ||
      out == std::numeric_limits<std::int64_t>::max() ||
      out == std::numeric_limits<std::int64_t>::min())
    throw error(errc::invalid_argument, std::string{"a "} + name +
                                          " value is beyond what PostgreSQL can store");
  return out;
}

} // namespace

// -- uuid ----------------------------------------------------------------------------

std::string uuid::to_string() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out += '-';
    out += digits[bytes[i] >> 4u];
    out += digits[bytes[i] & 15u];
  }
  return out;
}

uuid uuid::parse(std::string_view text) {
  uuid out;
  std::size_t at = 0;
  bool ok = text.size() == 36;
  for (std::size_t i = 0; ok && i < out.bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      ok = text[at++] == '-';
    int high = ok ? detail::hex_digit(text[at]) : -1;
    int low = ok ? detail::hex_digit(text[at + 1]) : -1;
    ok = high >= 0 && low >= 0;
    at += 2;
    if (ok)
      out.bytes[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  if (!ok)
    throw error(errc::invalid_argument,
                "\"" + std::string{text} + "\" is not a uuid (8-4-4-4-12 hex digits)");
  return out;
}

// -- the codecs ----------------------------------------------------------------------

namespace binary {

std::string encode_bool(bool value) {
  return std::string(1, value ? '\1' : '\0');
}
std::string encode_int2(std::int16_t value) {
  return big_endian(value);
}
std::string encode_int4(std::int32_t value) {
  return big_endian(value);
}
std::string encode_int8(std::int64_t value) {
  return big_endian(value);
}
std::string encode_float4(float value) {
  return big_endian(std::bit_cast<std::int32_t>(value));
}
std::string encode_float8(double value) {
  return big_endian(std::bit_cast<std::int64_t>(value));
}
std::string encode_uuid(const uuid& value) {
  return std::string(reinterpret_cast<const char*>(value.bytes.data()), value.bytes.size());
}
std::string encode_date(date value) {
  auto days = static_cast<std::int64_t>(value.time_since_epoch().count());
  if (value == date::max())
    return big_endian(std::numeric_limits<std::int32_t>::max());
  if (value == date::min())
    return big_endian(std::numeric_limits<std::int32_t>::min());
  std::int64_t since_2000 = 0;
  if (__builtin_sub_overflow(days, epoch_days, &since_2000) ||
      since_2000 >= std::numeric_limits<std::int32_t>::max() ||
      since_2000 <= std::numeric_limits<std::int32_t>::min())
    throw error(errc::invalid_argument, "a date value is beyond what PostgreSQL can store");
  return big_endian(static_cast<std::int32_t>(since_2000));
}
std::string encode_timestamp(timestamp value) {
  return big_endian(micros_since_2000(value.time_since_epoch().count(), "timestamp"));
}
std::string encode_timestamptz(timestamptz value) {
  return big_endian(micros_since_2000(value.time_since_epoch().count(), "timestamptz"));
}

bool decode_bool(std::string_view bytes) {
  if (bytes.size() != 1 || (bytes[0] != '\0' && bytes[0] != '\1'))
    throw error(errc::malformed_message,
                "a binary bool value must be one byte, 0 or 1 (got " +
                  std::to_string(bytes.size()) + " bytes)");
  return bytes[0] == '\1';
}
std::int16_t decode_int2(std::string_view bytes) {
  return read_big_endian<std::int16_t>(bytes, "int2");
}
std::int32_t decode_int4(std::string_view bytes) {
  return read_big_endian<std::int32_t>(bytes, "int4");
}
std::int64_t decode_int8(std::string_view bytes) {
  return read_big_endian<std::int64_t>(bytes, "int8");
}
float decode_float4(std::string_view bytes) {
  return std::bit_cast<float>(read_big_endian<std::int32_t>(bytes, "float4"));
}
double decode_float8(std::string_view bytes) {
  return std::bit_cast<double>(read_big_endian<std::int64_t>(bytes, "float8"));
}
uuid decode_uuid(std::string_view bytes) {
  if (bytes.size() != 16)
    throw error(errc::malformed_message, "a binary uuid value has " +
                                           std::to_string(bytes.size()) + " bytes, not 16");
  uuid out;
  for (std::size_t i = 0; i < 16; ++i)
    out.bytes[i] = static_cast<std::uint8_t>(bytes[i]);
  return out;
}
date decode_date(std::string_view bytes) {
  auto days = read_big_endian<std::int32_t>(bytes, "date");
  if (days == std::numeric_limits<std::int32_t>::max())
    return date::max();
  if (days == std::numeric_limits<std::int32_t>::min())
    return date::min();
  // Any int32 day count plus the epoch fits sys_days (an int64-based count
  // on this library), so no range check is needed.
  return date{std::chrono::days{static_cast<std::int64_t>(days) + epoch_days}};
}
timestamp decode_timestamp(std::string_view bytes) {
  auto since_1970 = micros_since_1970(read_big_endian<std::int64_t>(bytes, "timestamp"),
                                      "timestamp");
  return timestamp{std::chrono::microseconds{since_1970}};
}
timestamptz decode_timestamptz(std::string_view bytes) {
  auto since_1970 = micros_since_1970(read_big_endian<std::int64_t>(bytes, "timestamptz"),
                                      "timestamptz");
  return timestamptz{std::chrono::microseconds{since_1970}};
}

} // namespace binary

// -- param ---------------------------------------------------------------------------

namespace {

param binary_param(oid type, std::string bytes) {
  param out;
  out.type = type;
  out.wire = format::binary;
  out.value = std::move(bytes);
  return out;
}

} // namespace

param::param(bool value) : param(binary_param(oids::bool_, binary::encode_bool(value))) {}
param::param(std::int16_t value) : param(binary_param(oids::int2, binary::encode_int2(value))) {}
param::param(std::int32_t value) : param(binary_param(oids::int4, binary::encode_int4(value))) {}
param::param(std::int64_t value) : param(binary_param(oids::int8, binary::encode_int8(value))) {}
param::param(float value) : param(binary_param(oids::float4, binary::encode_float4(value))) {}
param::param(double value) : param(binary_param(oids::float8, binary::encode_float8(value))) {}
param::param(const uuid& value) : param(binary_param(oids::uuid, binary::encode_uuid(value))) {}
param::param(date value) : param(binary_param(oids::date, binary::encode_date(value))) {}
param::param(timestamp value)
  : param(binary_param(oids::timestamp, binary::encode_timestamp(value))) {}
param::param(timestamptz value)
  : param(binary_param(oids::timestamptz, binary::encode_timestamptz(value))) {}

namespace {

/// text's binary format is its bytes; the server refuses a NUL in text.
void check_text_param(std::string_view value) {
  if (value.find('\0') != std::string_view::npos)
    throw error(errc::invalid_argument,
                "a text parameter contains a NUL byte, which PostgreSQL text cannot hold "
                "(use param::bytea for binary data)");
}

} // namespace

param::param(std::string_view value) {
  check_text_param(value);
  type = oids::text;
  wire = format::binary;
  this->value = std::string{value};
}

param::param(std::string&& value) {
  check_text_param(value);
  type = oids::text;
  wire = format::binary;
  this->value = std::move(value);
}

param param::null(oid type) {
  param out;
  out.type = type;
  return out;
}

param param::text_format(std::string_view value, oid type) {
  if (value.find('\0') != std::string_view::npos)
    throw error(errc::invalid_argument, "a text-format parameter contains a NUL byte");
  param out;
  out.type = type;
  out.wire = format::text;
  out.value = std::string{value};
  return out;
}

param param::bytea(std::span<const std::byte> value) {
  return binary_param(oids::bytea,
                      std::string(reinterpret_cast<const char*>(value.data()), value.size()));
}

param param::bytea(std::string_view value) {
  return binary_param(oids::bytea, std::string{value});
}

} // namespace actorloop::pg
