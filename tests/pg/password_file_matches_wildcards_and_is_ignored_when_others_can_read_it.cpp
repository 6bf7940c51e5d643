// The password file: first matching line wins, '*' matches any value, '\'
// escapes ':' and '\', comments and blank lines are skipped, an empty host
// or the default socket directory matches "localhost"; a file that group or
// others may read is ignored with a warning naming it, as libpq does.
#include "pg_wire_support.hpp"
#include "pg_options_support.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace pg_test;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "pgpass-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~temp_dir() { fs::remove_all(path); }
};

std::string write_file(const fs::path& path, const std::string& text, mode_t mode) {
  std::ofstream{path} << text;
  REQUIRE(::chmod(path.c_str(), mode) == 0);
  return path.string();
}

} // namespace

TEST_CASE("lines match field by field with wildcards and escapes") {
  temp_dir dir;
  auto file = write_file(dir.path / "pgpass",
                         "# comment\n"
                         "\n"
                         "db1:5432:app:alice:first\n"
                         "db1:*:app:alice:second\n"
                         "h\\:colon:5432:*:bob:esc\\:aped\\\\pw:ignored\n"
                         "localhost:5432:*:carol:local\r\n"
                         "*:*:*:*:fallback\n",
                         0600);
  CHECK(pg::find_password(file, "db1", 5432, "app", "alice").password == "first");
  CHECK(pg::find_password(file, "db1", 6000, "app", "alice").password == "second");
  CHECK(pg::find_password(file, "h:colon", 5432, "any", "bob").password == "esc:aped\\pw");
  CHECK(pg::find_password(file, "", 5432, "x", "carol").password == "local");
  CHECK(pg::find_password(file, "/var/run/postgresql", 5432, "x", "carol").password == "local");
  CHECK(pg::find_password(file, "/tmp", 5432, "x", "carol").password == "fallback");
  CHECK(pg::find_password(file, "db1", 5432, "app", "alic").password == "fallback");
  CHECK(pg::find_password((dir.path / "missing").string(), "db1", 5432, "app", "alice").password ==
        std::nullopt);
}

TEST_CASE("resolve_options takes the password file per host, PGPASSFILE first") {
  temp_dir dir;
  auto file = write_file(dir.path / "custom", "db1:*:*:alice:one\ndb2:*:*:alice:two\n", 0600);
  auto resolved = pg::resolve_options("host=db1,db2,db3 user=alice",
                                      fake_environment({{"PGPASSFILE", file}}));
  REQUIRE_MESSAGE(!resolved.error, resolved.detail);
  const auto& o = resolved.options;
  CHECK(o.passfile == file);
  CHECK(o.password_for(o.hosts[0]) == "one");
  CHECK(o.password_for(o.hosts[1]) == "two");
  CHECK(o.password_for(o.hosts[2]) == std::nullopt);
  CHECK(o.warnings.empty());
  // An explicit password wins over the file.
  auto explicit_password = pg::resolve_options("host=db1 user=alice password=given",
                                               fake_environment({{"PGPASSFILE", file}}));
  CHECK(explicit_password.options.password_for(explicit_password.options.hosts[0]) == "given");
  // ~/.pgpass when neither passfile nor PGPASSFILE is set.
  write_file(dir.path / ".pgpass", "*:*:*:*:from-home\n", 0600);
  auto from_home = pg::resolve_options("host=db9", fake_environment({}, dir.path.string()));
  CHECK(from_home.options.hosts[0].password == "from-home");
}

TEST_CASE("a password file others can read is ignored with a warning naming it") {
  temp_dir dir;
  for (mode_t mode : {0640, 0604, 0660, 0601}) {
    CAPTURE(mode);
    auto file = write_file(dir.path / "open", "*:*:*:*:secret\n", mode);
    auto lookup = pg::find_password(file, "db", 5432, "db", "u");
    CHECK(lookup.error == pg::errc::insecure_password_file);
    CHECK_FALSE(lookup.password.has_value());
    CHECK(lookup.detail == "password file \"" + file +
                             "\" has group or world access; permissions should be u=rw (0600) "
                             "or less; it was ignored");
    auto resolved = pg::resolve_options("host=a,b", fake_environment({{"PGPASSFILE", file}}));
    REQUIRE_MESSAGE(!resolved.error, resolved.detail);
    CHECK(resolved.options.warnings == std::vector<std::string>{lookup.detail});
    CHECK_FALSE(resolved.options.hosts[0].password.has_value());
  }
  auto not_plain = pg::find_password(dir.path.string(), "db", 5432, "db", "u");
  CHECK(not_plain.error == pg::errc::insecure_password_file);
  CHECK(not_plain.detail == "password file \"" + dir.path.string() +
                              "\" is not a plain file; it was ignored");
}
