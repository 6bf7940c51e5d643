// Typed access to a result's cells in the text or the binary format, with
// errors that name the row, the column and its type.
#include "hex_digit.hpp"
#include <actorloop/pg/connection.hpp>
#include <actorloop/pg/error.hpp>
#include <actorloop/pg/values.hpp>

#include <charconv>
#include <cstdlib>

namespace actorloop::pg {

namespace {

constexpr oid bool_oid = oids::bool_, int8_oid = oids::int8, int2_oid = oids::int2,
              int4_oid = oids::int4, oid_oid = oids::oid_, float4_oid = oids::float4,
              float8_oid = oids::float8, numeric_oid = oids::numeric;

std::string describe(const result& where, std::size_t column) {
  return "column " + std::to_string(column) + " (\"" + where.description.fields[column].name +
         "\", type oid " + std::to_string(where.description.fields[column].type_oid) + ")";
}

/// Throws the error check_cell found (out of line: a cell read is on every
/// row's path, its errors are not).
[[noreturn, gnu::noinline, gnu::cold]] void bad_cell(const result& where, std::size_t row,
                                                     std::size_t column) {
  if (column >= where.column_count())
    throw pg::error(errc::invalid_argument, "column " + std::to_string(column) + " out of range: the "
                                          "result has " + std::to_string(where.column_count()) +
                                          " columns");
  if (row >= where.rows.size())
    throw pg::error(errc::invalid_argument, "row " + std::to_string(row) + " out of range: the "
                                          "result has " + std::to_string(where.rows.size()) +
                                          " rows");
  throw pg::error(errc::null_value, "row " + std::to_string(row) + ", " + describe(where, column) +
                                  " is NULL");
}

inline void check_cell(const result& where, std::size_t row, std::size_t column) {
  if (column >= where.column_count() || row >= where.rows.size() ||
      where.rows[row].is_null(column)) [[unlikely]]
    bad_cell(where, row, column);
}

bool is_binary(const result& where, std::size_t column) {
  return where.description.fields[column].format == 1;
}

void require_type(const result& where, std::size_t column, oid wanted, const char* what) {
  if (where.description.fields[column].type_oid != wanted)
    throw pg::error(errc::wrong_type, describe(where, column) + " is not a " + what + " column");
}

/// Binary integers of any width (oid is unsigned 4 bytes).
std::int64_t binary_integer(const result& where, std::size_t column, std::string_view bytes) {
  switch (where.description.fields[column].type_oid) {
    case int2_oid: return binary::decode_int2(bytes);
    case int4_oid: return binary::decode_int4(bytes);
    case oid_oid: return static_cast<std::uint32_t>(binary::decode_int4(bytes));
    default: return binary::decode_int8(bytes);
  }
}

/// A decode error gets the cell's place.
template <typename body_type>
auto located(const result& where, std::size_t row, std::size_t column, body_type body) {
  try {
    return body();
  } catch (const pg::error& problem) {
    throw pg::error(problem.code(), "row " + std::to_string(row) + ", " + describe(where, column) +
                                  ": " + problem.what());
  }
}

} // namespace

std::optional<std::uint64_t> result::rows_affected() const {
  return command_complete{command_tag}.rows();
}

std::string_view result::command() const {
  // The command words are a prefix of the tag.
  auto words = command_complete{command_tag}.command();
  return std::string_view{command_tag}.substr(0, words.size());
}

std::size_t result::column(std::string_view name) const {
  for (std::size_t index = 0; index < description.fields.size(); ++index)
    if (description.fields[index].name == name)
      return index;
  throw pg::error(errc::invalid_argument, "no column named \"" + std::string{name} + "\"");
}

bool result::is_null(std::size_t row, std::size_t column) const {
  if (column >= column_count() || row >= rows.size())
    throw pg::error(errc::invalid_argument, "row " + std::to_string(row) + ", column " +
                                          std::to_string(column) + " out of range");
  return rows[row].is_null(column);
}

std::string_view result::text(std::size_t row, std::size_t column) const {
  check_cell(*this, row, column);
  if (is_binary(*this, column)) {
    auto type = description.fields[column].type_oid;
    if (type != oids::text && type != oids::varchar && type != oids::bpchar &&
        type != oids::name && type != oids::json && type != oids::unknown)
      throw pg::error(errc::wrong_type, describe(*this, column) +
                                      " came in the binary format, which is not text; use its "
                                      "typed read or ask for text results");
  }
  return rows[row].value(column);
}

std::string_view result::bytes(std::size_t row, std::size_t column) const {
  check_cell(*this, row, column);
  return rows[row].value(column);
}

std::int64_t result::int64(std::size_t row, std::size_t column) const {
  check_cell(*this, row, column);
  auto type = description.fields[column].type_oid;
  if (type != int8_oid && type != int4_oid && type != int2_oid && type != oid_oid)
    throw pg::error(errc::wrong_type, describe(*this, column) + " is not an integer column");
  auto text = rows[row].value(column);
  if (is_binary(*this, column))
    return located(*this, row, column, [&] { return binary_integer(*this, column, text); });
  std::int64_t value = 0;
  auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (problem != std::errc{} || end != text.data() + text.size())
    throw pg::error(errc::malformed_message, describe(*this, column) + ": \"" + std::string{text} +
                                           "\" is not an integer");
  return value;
}

double result::float64(std::size_t row, std::size_t column) const {
  check_cell(*this, row, column);
  auto type = description.fields[column].type_oid;
  if (type != float8_oid && type != float4_oid && type != numeric_oid && type != int8_oid &&
      type != int4_oid && type != int2_oid)
    throw pg::error(errc::wrong_type, describe(*this, column) + " is not a numeric column");
  if (is_binary(*this, column)) {
    auto bytes = rows[row].value(column);
    return located(*this, row, column, [&]() -> double {
      switch (type) {
        case float8_oid: return binary::decode_float8(bytes);
        case float4_oid: return binary::decode_float4(bytes);
        case numeric_oid:
          throw pg::error(errc::wrong_type, "numeric's binary format is not decoded by this "
                                        "client; ask for text results");
        default: return static_cast<double>(binary_integer(*this, column, bytes));
      }
    });
  }
  std::string text{rows[row].value(column)};
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size())
    throw pg::error(errc::malformed_message, describe(*this, column) + ": \"" + text +
                                           "\" is not a number");
  return value;
}

bool result::boolean(std::size_t row, std::size_t column) const {
  check_cell(*this, row, column);
  if (description.fields[column].type_oid != bool_oid)
    throw pg::error(errc::wrong_type, describe(*this, column) + " is not a bool column");
  auto text = rows[row].value(column);
  if (is_binary(*this, column))
    return located(*this, row, column, [&] { return binary::decode_bool(text); });
  if (text == "t")
    return true;
  if (text == "f")
    return false;
  throw pg::error(errc::malformed_message, describe(*this, column) + ": \"" + std::string{text} +
                                         "\" is not a bool");
}

std::string result::bytea(std::size_t row, std::size_t column) const {
  check_cell(*this, row, column);
  require_type(*this, column, oids::bytea, "bytea");
  auto cell = rows[row].value(column);
  if (is_binary(*this, column))
    return std::string{cell};
  // The text format is bytea_output=hex ("\\x" and two digits a byte).
  bool ok = cell.size() >= 2 && cell[0] == '\\' && cell[1] == 'x' && cell.size() % 2 == 0;
  std::string out;
  for (std::size_t at = 2; ok && at < cell.size(); at += 2) {
    int high = detail::hex_digit(cell[at]), low = detail::hex_digit(cell[at + 1]);
    ok = high >= 0 && low >= 0;
    out += static_cast<char>(high * 16 + low);
  }
  if (!ok)
    throw pg::error(errc::malformed_message,
                "row " + std::to_string(row) + ", " + describe(*this, column) +
                  ": not bytea's hex text format (bytea_output=escape is not supported)");
  return out;
}

pg::uuid result::uuid_value(std::size_t row, std::size_t column) const {
  check_cell(*this, row, column);
  require_type(*this, column, oids::uuid, "uuid");
  auto cell = rows[row].value(column);
  return located(*this, row, column, [&] {
    return is_binary(*this, column) ? binary::decode_uuid(cell) : pg::uuid::parse(cell);
  });
}

namespace {

void require_binary(const result& where, std::size_t column, const char* what) {
  if (!is_binary(where, column))
    throw pg::error(errc::wrong_type, describe(where, column) + " came in the text format; a " +
                                    what + " is read from the binary format only (its text "
                                           "depends on DateStyle): ask for binary results");
}

} // namespace

pg::date result::date_value(std::size_t row, std::size_t column) const {
  check_cell(*this, row, column);
  require_type(*this, column, oids::date, "date");
  require_binary(*this, column, "date");
  return located(*this, row, column, [&] { return binary::decode_date(rows[row].value(column)); });
}

pg::timestamp result::timestamp_value(std::size_t row, std::size_t column) const {
  check_cell(*this, row, column);
  require_type(*this, column, oids::timestamp, "timestamp");
  require_binary(*this, column, "timestamp");
  return located(*this, row, column,
                 [&] { return binary::decode_timestamp(rows[row].value(column)); });
}

pg::timestamptz result::timestamptz_value(std::size_t row, std::size_t column) const {
  check_cell(*this, row, column);
  require_type(*this, column, oids::timestamptz, "timestamptz");
  require_binary(*this, column, "timestamptz");
  return located(*this, row, column,
                 [&] { return binary::decode_timestamptz(rows[row].value(column)); });
}

} // namespace actorloop::pg
