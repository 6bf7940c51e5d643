// The keyword/value syntax of libpq connection strings: `key = value` pairs
// separated by whitespace; a value is either unquoted (ends at whitespace)
// or in single quotes; a backslash escapes the next character in both.
#include "conninfo.hpp"

#include <actorloop/pg/error.hpp>

#include <array>
#include <cctype>

namespace actorloop::pg {

namespace detail {

bool is_known_option(std::string_view key) noexcept {
  static constexpr std::array<std::string_view, 15> keys{
    "host",        "port",    "dbname", "user",   "password",        "passfile",
    "sslmode",     "sslrootcert", "sslcert", "sslkey", "sslsni",       "connect_timeout",
    "application_name", "fallback_application_name", "target_session_attrs"};
  for (auto known : keys)
    if (key == known)
      return true;
  return false;
}

} // namespace detail

namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

conninfo_result failure(std::string detail) {
  conninfo_result out;
  out.error = errc::bad_connection_option;
  out.detail = std::move(detail);
  return out;
}

} // namespace

conninfo_result parse_conninfo(std::string_view text) {
  if (text.starts_with("postgresql://") || text.starts_with("postgres://"))
    return detail::parse_conninfo_uri(text);

  conninfo_result out;
  std::size_t i = 0;
  const auto n = text.size();
  for (;;) {
    while (i < n && is_space(text[i]))
      ++i;
    if (i == n)
      break;
    // The keyword runs to '=' or whitespace.
    auto key_start = i;
    while (i < n && text[i] != '=' && !is_space(text[i]))
      ++i;
    std::string key{text.substr(key_start, i - key_start)};
    while (i < n && is_space(text[i]))
      ++i;
    if (i == n || text[i] != '=')
      return failure("missing \"=\" after \"" + key + "\" in connection info string");
    if (key.empty())
      return failure("missing option name before \"=\" in connection info string");
    ++i;
    while (i < n && is_space(text[i]))
      ++i;

    std::string value;
    if (i < n && text[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < n) {
        if (text[i] == '\\' && i + 1 < n) {
          value.push_back(text[i + 1]);
          i += 2;
        } else if (text[i] == '\'') {
          ++i;
          closed = true;
          break;
        } else {
          value.push_back(text[i++]);
        }
      }
      if (!closed)
        return failure("unterminated quoted string in connection info string (the value of \"" +
                       key + "\")");
    } else {
      while (i < n && !is_space(text[i])) {
        if (text[i] == '\\') {
          ++i;
          if (i < n)
            value.push_back(text[i++]);
        } else {
          value.push_back(text[i++]);
        }
      }
    }
    if (!detail::is_known_option(key))
      return failure("invalid connection option \"" + key + "\"");
    out.entries.push_back({std::move(key), std::move(value)});
  }
  return out;
}

} // namespace actorloop::pg
