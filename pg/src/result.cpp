// Typed text-format access to a simple query's result, with errors that
// name the row, the column and its type.
#include <actorloop/pg/connection.hpp>
#include <actorloop/pg/error.hpp>

#include <charconv>
#include <cstdlib>

namespace actorloop::pg {

namespace {

// Type OIDs from PostgreSQL's pg_type catalogue.
constexpr oid bool_oid = 16, int8_oid = 20, int2_oid = 21, int4_oid = 23, oid_oid = 26,
              float4_oid = 700, float8_oid = 701, numeric_oid = 1700;

std::string describe(const result& where, std::size_t column) {
  return "column " + std::to_string(column) + " (\"" + where.description.fields[column].name +
         "\", type oid " + std::to_string(where.description.fields[column].type_oid) + ")";
}

void check_cell(const result& where, std::size_t row, std::size_t column) {
  if (column >= where.column_count())
    throw error(errc::invalid_argument, "column " + std::to_string(column) + " out of range: the "
                                          "result has " + std::to_string(where.column_count()) +
                                          " columns");
  if (row >= where.rows.size())
    throw error(errc::invalid_argument, "row " + std::to_string(row) + " out of range: the "
                                          "result has " + std::to_string(where.rows.size()) +
                                          " rows");
  if (where.rows[row].is_null(column))
    throw error(errc::null_value, "row " + std::to_string(row) + ", " + describe(where, column) +
                                    " is NULL");
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
  throw error(errc::invalid_argument, "no column named \"" + std::string{name} + "\"");
}

bool result::is_null(std::size_t row, std::size_t column) const {
  if (column >= column_count() || row >= rows.size())
    throw error(errc::invalid_argument, "row " + std::to_string(row) + ", column " +
                                          std::to_string(column) + " out of range");
  return rows[row].is_null(column);
}

std::string_view result::text(std::size_t row, std::size_t column) const {
  check_cell(*this, row, column);
  return rows[row].value(column);
}

std::int64_t result::int64(std::size_t row, std::size_t column) const {
  check_cell(*this, row, column);
  auto type = description.fields[column].type_oid;
  if (type != int8_oid && type != int4_oid && type != int2_oid && type != oid_oid)
    throw error(errc::wrong_type, describe(*this, column) + " is not an integer column");
  auto text = rows[row].value(column);
  std::int64_t value = 0;
  auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (problem != std::errc{} || end != text.data() + text.size())
    throw error(errc::malformed_message, describe(*this, column) + ": \"" + std::string{text} +
                                           "\" is not an integer");
  return value;
}

double result::float64(std::size_t row, std::size_t column) const {
  check_cell(*this, row, column);
  auto type = description.fields[column].type_oid;
  if (type != float8_oid && type != float4_oid && type != numeric_oid && type != int8_oid &&
      type != int4_oid && type != int2_oid)
    throw error(errc::wrong_type, describe(*this, column) + " is not a numeric column");
  std::string text{rows[row].value(column)};
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size())
    throw error(errc::malformed_message, describe(*this, column) + ": \"" + text +
                                           "\" is not a number");
  return value;
}

bool result::boolean(std::size_t row, std::size_t column) const {
  check_cell(*this, row, column);
  if (description.fields[column].type_oid != bool_oid)
    throw error(errc::wrong_type, describe(*this, column) + " is not a bool column");
  auto text = rows[row].value(column);
  if (text == "t")
    return true;
  if (text == "f")
    return false;
  throw error(errc::malformed_message, describe(*this, column) + ": \"" + std::string{text} +
                                         "\" is not a bool");
}

} // namespace actorloop::pg
