// Turns parsed entries into connection_options: the string's values win,
// then the PG* environment variables, then libpq's defaults; values are
// checked here, each error naming the key (or variable) and the value.
#include "conninfo.hpp"

#include <actorloop/pg/error.hpp>

#include <charconv>
#include <cstdlib>
#include <map>
#include <pwd.h>
#include <unistd.h>

namespace actorloop::pg {

namespace {

struct setting {
  std::string value;
  std::string origin; // "host" or "environment variable PGHOST", for errors
};

// The PG* variable of each key (libpq's table).
const std::map<std::string_view, std::string_view>& environment_names() {
  static const std::map<std::string_view, std::string_view> names{
    {"host", "PGHOST"},
    {"port", "PGPORT"},
    {"dbname", "PGDATABASE"},
    {"user", "PGUSER"},
    {"password", "PGPASSWORD"},
    {"passfile", "PGPASSFILE"},
    {"sslmode", "PGSSLMODE"},
    {"sslrootcert", "PGSSLROOTCERT"},
    {"sslcert", "PGSSLCERT"},
    {"sslkey", "PGSSLKEY"},
    {"sslsni", "PGSSLSNI"},
    {"connect_timeout", "PGCONNECT_TIMEOUT"},
    {"application_name", "PGAPPNAME"},
    {"target_session_attrs", "PGTARGETSESSIONATTRS"},
  };
  return names;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    auto comma = text.find(',', start);
    parts.push_back(text.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos)
      return parts;
    start = comma + 1;
  }
}

std::optional<long long> parse_integer(std::string_view text) {
  // libpq allows surrounding whitespace.
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

options_result failure(std::string detail) {
  options_result out;
  out.error = errc::bad_connection_option;
  out.detail = std::move(detail);
  return out;
}

std::string describe(const setting& s) {
  return s.origin + " value \"" + s.value + "\"";
}

} // namespace

std::string host_spec::socket_path() const {
  return host + "/.s.PGSQL." + std::to_string(port);
}

std::optional<std::string> connection_options::password_for(const host_spec& host) const {
  return password ? password : host.password;
}

option_environment option_environment::from_process() {
  option_environment env;
  env.variable = [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr)
      return std::nullopt;
    return std::string(value);
  };
  // getpwuid_r: thread-safe, unlike getpwuid.
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwuid_r(geteuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found) {
    env.os_user = found->pw_name;
    env.home = found->pw_dir;
  }
  if (const char* home = std::getenv("HOME"); home && *home)
    env.home = home;
  return env;
}

options_result resolve_options(std::string_view conninfo, const option_environment& environment) {
  auto parsed = parse_conninfo(conninfo);
  if (parsed.error) {
    options_result out;
    out.error = parsed.error;
    out.detail = std::move(parsed.detail);
    return out;
  }
  return resolve_options(parsed.entries, environment);
}

options_result resolve_options(std::span<const conninfo_entry> entries,
                               const option_environment& environment) {
  std::map<std::string, setting, std::less<>> settings;
  for (const auto& entry : entries) {
    if (!detail::is_known_option(entry.key))
      return failure("invalid connection option \"" + entry.key + "\"");
    settings[entry.key] = {entry.value, "connection option \"" + entry.key + "\""};
  }
  for (const auto& [key, variable] : environment_names()) {
    if (settings.contains(key) || !environment.variable)
      continue;
    if (auto value = environment.variable(variable))
      settings[std::string(key)] = {*value, "environment variable " + std::string(variable)};
  }
  auto get = [&](std::string_view key) -> const setting* {
    auto it = settings.find(key);
    return it == settings.end() ? nullptr : &it->second;
  };
  // libpq treats an empty value like an absent one for most keys.
  auto text = [&](std::string_view key) -> std::string {
    auto s = get(key);
    return s ? s->value : std::string{};
  };

  options_result result;
  auto& out = result.options;

  // Hosts and ports.
  std::vector<std::string> hosts = split_commas(text("host"));
  std::vector<std::string> ports{""};
  if (auto port = get("port"); port && !port->value.empty())
    ports = split_commas(port->value);
  if (ports.size() != 1 && ports.size() != hosts.size())
    return failure("could not match " + std::to_string(ports.size()) + " port numbers to " +
                   std::to_string(hosts.size()) + " hosts");
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    host_spec spec;
    spec.host = hosts[i].empty() ? std::string(default_socket_directory) : hosts[i];
    const auto& port_text = ports.size() == 1 ? ports[0] : ports[i];
    if (!port_text.empty()) {
      auto port = parse_integer(port_text);
      if (!port || *port < 1 || *port > 65535)
        return failure("invalid port number: \"" + port_text + "\" (" + get("port")->origin +
                       ")");
      spec.port = static_cast<std::uint16_t>(*port);
    }
    out.hosts.push_back(std::move(spec));
  }

  out.user = text("user");
  if (out.user.empty())
    out.user = environment.os_user;
  if (out.user.empty())
    return failure("no user name: give the user option or PGUSER (the operating-system user is "
                   "unknown)");
  out.dbname = text("dbname");
  if (out.dbname.empty())
    out.dbname = out.user;
  if (auto password = get("password"); password && !password->value.empty())
    out.password = password->value;

  if (auto mode = get("sslmode"); mode && !mode->value.empty()) {
    static const std::pair<std::string_view, ssl_mode> modes[] = {
      {"disable", ssl_mode::disable}, {"allow", ssl_mode::allow},
      {"prefer", ssl_mode::prefer},   {"require", ssl_mode::require},
      {"verify-ca", ssl_mode::verify_ca}, {"verify-full", ssl_mode::verify_full}};
    bool found = false;
    for (auto [name, value] : modes)
      if (mode->value == name) {
        out.sslmode = value;
        found = true;
      }
    if (!found)
      return failure("invalid sslmode " + describe(*mode) +
                     "; expected disable, allow, prefer, require, verify-ca or verify-full");
  }
  out.sslrootcert = text("sslrootcert");
  out.sslcert = text("sslcert");
  out.sslkey = text("sslkey");
  if (auto sni = get("sslsni"); sni && !sni->value.empty()) {
    if (sni->value != "0" && sni->value != "1")
      return failure("invalid sslsni " + describe(*sni) + "; expected 0 or 1");
    out.sslsni = sni->value == "1";
  }

  if (auto timeout = get("connect_timeout"); timeout && !timeout->value.empty()) {
    auto seconds = parse_integer(timeout->value);
    if (!seconds || *seconds > 86400 * 365)
      return failure("invalid integer " + describe(*timeout) + " for connect_timeout");
    // libpq: 0 or less waits forever; 1 second is raised to 2.
    if (*seconds > 0)
      out.connect_timeout = std::chrono::seconds{*seconds == 1 ? 2 : *seconds};
  }

  out.application_name = text("application_name");
  if (out.application_name.empty())
    out.application_name = text("fallback_application_name");

  if (auto attrs = get("target_session_attrs"); attrs && !attrs->value.empty()) {
    static const std::pair<std::string_view, session_attrs> values[] = {
      {"any", session_attrs::any},         {"read-write", session_attrs::read_write},
      {"read-only", session_attrs::read_only}, {"primary", session_attrs::primary},
      {"standby", session_attrs::standby}, {"prefer-standby", session_attrs::prefer_standby}};
    bool found = false;
    for (auto [name, value] : values)
      if (attrs->value == name) {
        out.target_session_attrs = value;
        found = true;
      }
    if (!found)
      return failure("invalid target_session_attrs " + describe(*attrs) +
                     "; expected any, read-write, read-only, primary, standby or prefer-standby");
  }

  // The password file, per host, only when no password was given.
  out.passfile = text("passfile");
  if (out.passfile.empty() && !environment.home.empty())
    out.passfile = environment.home + "/.pgpass";
  if (!out.password && !out.passfile.empty()) {
    bool warned = false;
    for (auto& host : out.hosts) {
      auto lookup = find_password(out.passfile, host.host, host.port, out.dbname, out.user);
      if (lookup.error) {
        if (!warned)
          out.warnings.push_back(lookup.detail);
        warned = true;
        continue;
      }
      host.password = std::move(lookup.password);
    }
  }
  return result;
}

} // namespace actorloop::pg
