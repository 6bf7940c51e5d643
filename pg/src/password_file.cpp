// The password file (~/.pgpass, PGPASSFILE), read as libpq reads it: a file
// that is not plain, or that group or others may access, is ignored with a
// warning; lines are "hostname:port:database:username:password" with '*'
// matching anything and '\' escaping the next character.
#include <actorloop/pg/error.hpp>
#include <actorloop/pg/options.hpp>

#include <fstream>
#include <sys/stat.h>

namespace actorloop::pg {

namespace {

// Matches one field at `pos` against `value`; on success `pos` is past the
// field's ':' separator.
bool field_matches(std::string_view line, std::size_t& pos, std::string_view value) {
  if (pos + 1 < line.size() && line[pos] == '*' && line[pos + 1] == ':') {
    pos += 2;
    return true;
  }
  std::size_t v = 0;
  while (pos < line.size() && line[pos] != ':') {
    if (line[pos] == '\\' && pos + 1 < line.size())
      ++pos;
    if (v >= value.size() || line[pos] != value[v])
      return false;
    ++pos;
    ++v;
  }
  if (pos >= line.size() || v != value.size())
    return false; // no ':' after the field, or the value goes on
  ++pos;
  return true;
}

} // namespace

password_lookup find_password(const std::string& path, std::string_view host, std::uint16_t port,
                              std::string_view dbname, std::string_view user) {
  password_lookup out;
  struct stat info{};
  if (::stat(path.c_str(), &info) != 0)
    return out; // no file: no password, no warning (libpq)
  if (!S_ISREG(info.st_mode)) {
    out.error = errc::insecure_password_file;
    out.detail = "password file \"" + path + "\" is not a plain file; it was ignored";
    return out;
  }
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    out.error = errc::insecure_password_file;
    out.detail = "password file \"" + path +
                 "\" has group or world access; permissions should be u=rw (0600) or less; "
                 "it was ignored";
    return out;
  }
  std::string effective_host{host};
  if (effective_host.empty() || effective_host == default_socket_directory)
    effective_host = "localhost";
  const std::string port_text = std::to_string(port);

  std::ifstream file{path};
  std::string line;
  while (std::getline(file, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty() || line[0] == '#')
      continue;
    std::size_t pos = 0;
    if (!field_matches(line, pos, effective_host) || !field_matches(line, pos, port_text) ||
        !field_matches(line, pos, dbname) || !field_matches(line, pos, user))
      continue;
    std::string password;
    // The password ends at an unescaped ':' (libpq).
    for (; pos < line.size() && line[pos] != ':'; ++pos) {
      if (line[pos] == '\\' && pos + 1 < line.size())
        ++pos;
      password.push_back(line[pos]);
    }
    out.password = std::move(password);
    return out;
  }
  return out;
}

} // namespace actorloop::pg
