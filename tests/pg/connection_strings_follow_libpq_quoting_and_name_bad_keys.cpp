// Keyword/value connection strings as libpq parses them: whitespace around
// '=', single-quoted values with \' and \\, backslash escapes in unquoted
// values, a later key overriding an earlier one; syntax errors and unknown
// keys name the offending text.
#include "pg_wire_support.hpp"
#include "pg_options_support.hpp"

using namespace pg_test;

TEST_CASE("keyword/value strings parse with libpq's quoting rules") {
  auto parsed = pg::parse_conninfo(
    "host=localhost port = 5433  dbname='my db' user=al\\ ice password='it\\'s \\\\ ok' "
    "application_name=''");
  REQUIRE_MESSAGE(!parsed.error, parsed.detail);
  std::vector<pg::conninfo_entry> expected{{"host", "localhost"}, {"port", "5433"},
                                           {"dbname", "my db"},   {"user", "al ice"},
                                           {"password", "it's \\ ok"}, {"application_name", ""}};
  CHECK(parsed.entries == expected);
  CHECK(pg::parse_conninfo("").entries.empty());
  CHECK(pg::parse_conninfo("   ").entries.empty());
}

TEST_CASE("syntax errors and unknown keys are named") {
  auto check_error = [](std::string_view text, const std::string& detail) {
    CAPTURE(text);
    auto parsed = pg::parse_conninfo(text);
    CHECK(parsed.error == pg::errc::bad_connection_option);
    CHECK(parsed.detail == detail);
  };
  check_error("host", "missing \"=\" after \"host\" in connection info string");
  check_error("host localhost", "missing \"=\" after \"host\" in connection info string");
  check_error("=x", "missing option name before \"=\" in connection info string");
  check_error("password='abc", "unterminated quoted string in connection info string (the value "
                               "of \"password\")");
  check_error("hots=db", "invalid connection option \"hots\"");
}

TEST_CASE("bad values are named with their key or environment variable") {
  auto env = fake_environment();
  auto check_error = [&](std::string_view text, const std::string& detail,
                         const pg::option_environment& e) {
    CAPTURE(text);
    auto resolved = pg::resolve_options(text, e);
    CHECK(resolved.error == pg::errc::bad_connection_option);
    CHECK(resolved.detail == detail);
  };
  check_error("sslmode=sometimes",
              "invalid sslmode connection option \"sslmode\" value \"sometimes\"; expected "
              "disable, allow, prefer, require, verify-ca or verify-full",
              env);
  check_error("port=70000", "invalid port number: \"70000\" (connection option \"port\")", env);
  check_error("port=54x2", "invalid port number: \"54x2\" (connection option \"port\")", env);
  check_error("connect_timeout=soon",
              "invalid integer connection option \"connect_timeout\" value \"soon\" for "
              "connect_timeout",
              env);
  check_error("target_session_attrs=writable",
              "invalid target_session_attrs connection option \"target_session_attrs\" value "
              "\"writable\"; expected any, read-write, read-only, primary, standby or "
              "prefer-standby",
              env);
  check_error("host=a,b,c port=1,2", "could not match 2 port numbers to 3 hosts", env);
  check_error("sslsni=yes",
              "invalid sslsni connection option \"sslsni\" value \"yes\"; expected 0 or 1", env);
  check_error("", "invalid sslmode environment variable PGSSLMODE value \"on\"; expected disable, "
                  "allow, prefer, require, verify-ca or verify-full",
              fake_environment({{"PGSSLMODE", "on"}}));
}

TEST_CASE("values resolve with libpq's defaults and several hosts") {
  auto resolved = pg::resolve_options(
    "host=db1,/tmp/sock,,::1 port=5433,5434,5435,5436 connect_timeout=1 sslmode=verify-full "
    "target_session_attrs=read-write fallback_application_name=fallback",
    fake_environment());
  REQUIRE_MESSAGE(!resolved.error, resolved.detail);
  const auto& o = resolved.options;
  REQUIRE(o.hosts.size() == 4);
  CHECK(o.hosts[0].host == "db1");
  CHECK(o.hosts[0].port == 5433);
  CHECK(o.hosts[1].is_unix_socket());
  CHECK(o.hosts[1].socket_path() == "/tmp/sock/.s.PGSQL.5434");
  CHECK(o.hosts[2].host == "/var/run/postgresql");
  CHECK(o.hosts[3].host == "::1");
  CHECK(o.hosts[3].port == 5436);
  CHECK(o.user == "osuser");
  CHECK(o.dbname == "osuser");
  CHECK(o.connect_timeout == std::chrono::seconds{2}); // libpq raises 1 to 2
  CHECK(o.sslmode == pg::ssl_mode::verify_full);
  CHECK(o.target_session_attrs == pg::session_attrs::read_write);
  CHECK(o.application_name == "fallback");
  CHECK_FALSE(o.password.has_value());

  auto defaults = pg::resolve_options("", fake_environment());
  REQUIRE_MESSAGE(!defaults.error, defaults.detail);
  REQUIRE(defaults.options.hosts.size() == 1);
  CHECK(defaults.options.hosts[0] == pg::host_spec{"/var/run/postgresql", 5432, std::nullopt});
  CHECK(defaults.options.sslmode == pg::ssl_mode::prefer);
  CHECK_FALSE(defaults.options.connect_timeout.has_value());
  CHECK(pg::resolve_options("connect_timeout=0", fake_environment()).options.connect_timeout ==
        std::nullopt);
}

TEST_CASE("PG* variables fill in what the string leaves out, and never override it") {
  auto env = fake_environment({{"PGHOST", "envhost"},
                               {"PGPORT", "6000"},
                               {"PGDATABASE", "envdb"},
                               {"PGUSER", "envuser"},
                               {"PGPASSWORD", "envpass"},
                               {"PGSSLMODE", "require"},
                               {"PGCONNECT_TIMEOUT", "10"},
                               {"PGAPPNAME", "envapp"},
                               {"PGTARGETSESSIONATTRS", "standby"}});
  auto from_env = pg::resolve_options("", env);
  REQUIRE_MESSAGE(!from_env.error, from_env.detail);
  const auto& o = from_env.options;
  CHECK(o.hosts == std::vector<pg::host_spec>{{"envhost", 6000, std::nullopt}});
  CHECK(o.dbname == "envdb");
  CHECK(o.user == "envuser");
  CHECK(o.password == "envpass");
  CHECK(o.sslmode == pg::ssl_mode::require);
  CHECK(o.connect_timeout == std::chrono::seconds{10});
  CHECK(o.application_name == "envapp");
  CHECK(o.target_session_attrs == pg::session_attrs::standby);

  auto overridden = pg::resolve_options("host=strhost user=struser sslmode=disable", env);
  REQUIRE_MESSAGE(!overridden.error, overridden.detail);
  CHECK(overridden.options.hosts[0].host == "strhost");
  CHECK(overridden.options.hosts[0].port == 6000);
  CHECK(overridden.options.user == "struser");
  CHECK(overridden.options.sslmode == pg::ssl_mode::disable);
}
