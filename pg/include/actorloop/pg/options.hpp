#pragma once
/// @file
/// Connection options as libpq takes them: keyword/value connection strings
/// (`host=db1,db2 port=5432 dbname=app user=alice sslmode=require`),
/// `postgresql://` URIs (several hosts, IPv6 in brackets, percent-encoding,
/// query parameters), the `PG*` environment variables for whatever the
/// string leaves out, and the password file (`~/.pgpass` or `PGPASSFILE`).
///
/// Supported keys: host, port, dbname, user, password, passfile, sslmode,
/// sslrootcert, sslcert, sslkey, sslsni, connect_timeout, application_name,
/// fallback_application_name, target_session_attrs. Anything else is an
/// error naming the key, as in libpq.
///
/// Thread safety: the functions are pure apart from reading the process
/// environment (`option_environment::from_process`) and the password file;
/// call them from any thread. Results are plain values.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace actorloop::pg {

/// One keyword and its (unquoted, percent-decoded) value, as written.
struct conninfo_entry {
  std::string key;
  std::string value;
  friend bool operator==(const conninfo_entry&, const conninfo_entry&) = default;
};

/// The outcome of `parse_conninfo`.
struct conninfo_result {
  /// The pairs in the order written (a later one overrides an earlier one).
  std::vector<conninfo_entry> entries;
  /// `errc::bad_connection_option` when the text cannot be parsed.
  std::error_code error;
  /// Names the problem and the offending text, as libpq words it
  /// ("missing \"=\" after \"host\" in connection info string").
  std::string detail;
};

/// Parses a keyword/value string, or a URI when it starts with
/// "postgresql://" or "postgres://". Checks syntax and keys (an unknown key
/// is an error) but not values; `resolve_options` checks those.
[[nodiscard]] conninfo_result parse_conninfo(std::string_view text);

/// libpq's sslmode.
enum class ssl_mode { disable, allow, prefer, require, verify_ca, verify_full };
/// libpq's target_session_attrs.
enum class session_attrs { any, read_write, read_only, primary, standby, prefer_standby };

/// The directory libpq on Debian uses for Unix-domain sockets when no host
/// is given.
inline constexpr std::string_view default_socket_directory = "/var/run/postgresql";
inline constexpr std::uint16_t default_port = 5432;

/// One host to try, in order.
struct host_spec {
  /// A host name, an IPv4 or IPv6 address (no brackets), or a Unix-socket
  /// directory (starts with '/').
  std::string host;
  std::uint16_t port = default_port;
  /// From the password file, when no password option was given and a line
  /// matched this host.
  std::optional<std::string> password;
  [[nodiscard]] bool is_unix_socket() const noexcept { return !host.empty() && host[0] == '/'; }
  /// For a Unix socket: "<directory>/.s.PGSQL.<port>".
  [[nodiscard]] std::string socket_path() const;
  friend bool operator==(const host_spec&, const host_spec&) = default;
};

/// Everything needed to open a connection, defaults applied.
struct connection_options {
  /// At least one; tried in order.
  std::vector<host_spec> hosts;
  std::string dbname;
  std::string user;
  /// The password option (or PGPASSWORD); when absent, a host's password
  /// file entry applies.
  std::optional<std::string> password;
  std::string passfile;
  ssl_mode sslmode = ssl_mode::prefer;
  std::string sslrootcert;
  std::string sslcert;
  std::string sslkey;
  bool sslsni = true;
  /// Per host attempt; nullopt waits without limit. As in libpq, a value
  /// of 1 means 2 seconds, and 0 or less means no limit.
  std::optional<std::chrono::seconds> connect_timeout;
  std::string application_name;
  session_attrs target_session_attrs = session_attrs::any;
  /// Problems that do not stop a connection but that a user should hear
  /// about (an insecure password file that was ignored, as libpq warns).
  std::vector<std::string> warnings;

  /// The password to send for `host`: the password option, else the host's
  /// password file entry.
  [[nodiscard]] std::optional<std::string> password_for(const host_spec& host) const;
};

/// Where defaults come from. `from_process` reads the real environment;
/// tests build their own.
struct option_environment {
  /// The value of an environment variable, or nullopt when unset.
  std::function<std::optional<std::string>(std::string_view)> variable;
  /// The operating-system user (default user name).
  std::string os_user;
  /// The home directory (for ~/.pgpass); empty: none.
  std::string home;
  [[nodiscard]] static option_environment from_process();
};

/// The outcome of `resolve_options`.
struct options_result {
  connection_options options;
  /// `errc::bad_connection_option` with a detail naming the key (or the
  /// environment variable) and the value.
  std::error_code error;
  std::string detail;
};

/// Parses `conninfo` and resolves it: the string's values, then the PG*
/// variables for keys it leaves out, then libpq's defaults (Unix socket in
/// `default_socket_directory`, port 5432, user = OS user, dbname = user);
/// splits comma-separated host and port lists; and looks up the password
/// file for each host when no password was given.
[[nodiscard]] options_result resolve_options(std::string_view conninfo,
                                             const option_environment& environment =
                                               option_environment::from_process());
/// The same from already parsed entries.
[[nodiscard]] options_result resolve_options(std::span<const conninfo_entry> entries,
                                             const option_environment& environment);

/// The outcome of a password file lookup.
struct password_lookup {
  /// The first matching line's password; nullopt when none matched or the
  /// file does not exist.
  std::optional<std::string> password;
  /// `errc::insecure_password_file` when the file is not a plain file or
  /// is accessible by group or others (libpq then ignores it with a
  /// warning; `detail` holds that warning).
  std::error_code error;
  std::string detail;
};

/// Looks `host`, `port`, `dbname`, `user` up in the password file at `path`
/// (lines "hostname:port:database:username:password", `*` matching
/// anything, `\` escaping ':' and '\', '#' starting a comment). As in libpq
/// an empty host or the default socket directory matches "localhost".
[[nodiscard]] password_lookup find_password(const std::string& path, std::string_view host,
                                            std::uint16_t port, std::string_view dbname,
                                            std::string_view user);

} // namespace actorloop::pg
