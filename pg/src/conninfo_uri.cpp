// postgresql:// URIs, as libpq reads them:
//   postgresql://[user[:password]@][host[:port][,host[:port]]...][/dbname][?key=value[&...]]
// Hosts may be IPv6 addresses in brackets; every part is percent-decoded;
// the hosts and ports become comma-separated "host" and "port" entries, as
// libpq stores them, so both syntaxes resolve alike.
#include "hex_digit.hpp"
#include "conninfo.hpp"

#include <actorloop/pg/error.hpp>

namespace actorloop::pg::detail {

namespace {

conninfo_result failure(std::string detail) {
  conninfo_result out;
  out.error = errc::bad_connection_option;
  out.detail = std::move(detail);
  return out;
}

// Percent-decodes `text`; false (and `problem` set) on a bad token or %00.
bool percent_decode(std::string_view text, std::string& out, std::string& problem) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    int high = i + 1 < text.size() ? detail::hex_digit(text[i + 1]) : -1;
    int low = i + 2 < text.size() ? detail::hex_digit(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      problem = "invalid percent-encoded token: \"" + std::string(text) + "\"";
      return false;
    }
    char c = static_cast<char>(high * 16 + low);
    if (c == '\0') {
      problem = "forbidden value %00 in percent-encoded value: \"" + std::string(text) + "\"";
      return false;
    }
    out.push_back(c);
    i += 2;
  }
  return true;
}

} // namespace

conninfo_result parse_conninfo_uri(std::string_view uri) {
  conninfo_result out;
  const std::string whole{uri};
  auto prefix = uri.find("://") + 3;
  std::string_view rest = uri.substr(prefix);
  std::string problem;
  std::string decoded;

  auto add = [&](std::string key, std::string_view raw) -> bool {
    if (!percent_decode(raw, decoded, problem))
      return false;
    out.entries.push_back({std::move(key), decoded});
    return true;
  };

  // user[:password]@ -- libpq looks for '@' before the first '/'.
  auto at = rest.find_first_of("@/");
  if (at != std::string_view::npos && rest[at] == '@') {
    auto userinfo = rest.substr(0, at);
    auto colon = userinfo.find(':');
    auto user = userinfo.substr(0, colon);
    if (!user.empty() && !add("user", user))
      return failure(problem);
    if (colon != std::string_view::npos && !add("password", userinfo.substr(colon + 1)))
      return failure(problem);
    rest = rest.substr(at + 1);
  }

  // host[:port] list, up to '/' or '?'.
  std::string hosts;
  std::string ports;
  bool any_host_part = false;
  std::size_t i = 0;
  for (bool first = true;; first = false) {
    if (!first) {
      hosts.push_back(',');
      ports.push_back(',');
    }
    std::string_view host;
    if (i < rest.size() && rest[i] == '[') {
      auto close = rest.find(']', i);
      if (close == std::string_view::npos)
        return failure("end of string reached when looking for matching \"]\" in IPv6 host "
                       "address in URI: \"" + whole + "\"");
      if (close == i + 1)
        return failure("IPv6 host address may not be empty in URI: \"" + whole + "\"");
      host = rest.substr(i + 1, close - i - 1);
      i = close + 1;
      if (i < rest.size() && rest[i] != ':' && rest[i] != '/' && rest[i] != '?' && rest[i] != ',')
        return failure(std::string("unexpected character \"") + rest[i] + "\" at position " +
                       std::to_string(prefix + i + 1) + " in URI (expected \":\" or \"/\"): \"" +
                       whole + "\"");
    } else {
      auto end = rest.find_first_of(":/?,", i);
      if (end == std::string_view::npos)
        end = rest.size();
      host = rest.substr(i, end - i);
      i = end;
    }
    if (!percent_decode(host, decoded, problem))
      return failure(problem);
    hosts += decoded;
    any_host_part = any_host_part || !host.empty();
    if (i < rest.size() && rest[i] == ':') {
      auto end = rest.find_first_of("/?,", i + 1);
      if (end == std::string_view::npos)
        end = rest.size();
      if (!percent_decode(rest.substr(i + 1, end - i - 1), decoded, problem))
        return failure(problem);
      ports += decoded;
      any_host_part = true;
      i = end;
    }
    if (i < rest.size() && rest[i] == ',') {
      ++i;
      any_host_part = true;
      continue;
    }
    break;
  }
  if (any_host_part) {
    out.entries.push_back({"host", hosts});
    if (ports.find_first_not_of(',') != std::string::npos)
      out.entries.push_back({"port", ports});
  }

  // /dbname
  if (i < rest.size() && rest[i] == '/') {
    auto end = rest.find('?', i + 1);
    if (end == std::string_view::npos)
      end = rest.size();
    auto dbname = rest.substr(i + 1, end - i - 1);
    if (!dbname.empty() && !add("dbname", dbname))
      return failure(problem);
    i = end;
  }

  // ?key=value&...
  if (i < rest.size() && rest[i] == '?') {
    auto query = rest.substr(i + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      auto param = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      if (param.empty())
        continue;
      auto eq = param.find('=');
      if (eq == std::string_view::npos)
        return failure("missing key/value separator \"=\" in URI query parameter: \"" +
                       std::string(param) + "\"");
      if (param.find('=', eq + 1) != std::string_view::npos)
        return failure("extra key/value separator \"=\" in URI query parameter: \"" +
                       std::string(param) + "\"");
      std::string key;
      if (!percent_decode(param.substr(0, eq), key, problem))
        return failure(problem);
      std::string value;
      if (!percent_decode(param.substr(eq + 1), value, problem))
        return failure(problem);
      // libpq's JDBC-compatible spelling.
      if (key == "ssl" && value == "true") {
        key = "sslmode";
        value = "require";
      }
      if (!is_known_option(key))
        return failure("invalid URI query parameter: \"" + key + "\"");
      out.entries.push_back({std::move(key), std::move(value)});
    }
  } else if (i < rest.size()) {
    return failure(std::string("unexpected character \"") + rest[i] + "\" at position " +
                   std::to_string(prefix + i + 1) + " in URI (expected \":\" or \"/\"): \"" +
                   whole + "\"");
  }
  return out;
}

} // namespace actorloop::pg::detail
