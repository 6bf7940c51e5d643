// postgresql:// URIs as libpq reads them: credentials, several hosts with
// ports, IPv6 addresses in brackets, percent-decoding everywhere, query
// parameters; malformed URIs are refused naming the problem.
#include "pg_wire_support.hpp"
#include "pg_options_support.hpp"

using namespace pg_test;

TEST_CASE("a full URI decodes to the same entries a keyword string gives") {
  auto parsed = pg::parse_conninfo(
    "postgresql://us%40er:p%3Ass@db1:5433,[::1]:5434,db3/my%20db?"
    "sslmode=require&application_name=app%26co&connect_timeout=5");
  REQUIRE_MESSAGE(!parsed.error, parsed.detail);
  std::vector<pg::conninfo_entry> expected{
    {"user", "us@er"},          {"password", "p:ss"},
    {"host", "db1,::1,db3"},    {"port", "5433,5434,"},
    {"dbname", "my db"},        {"sslmode", "require"},
    {"application_name", "app&co"}, {"connect_timeout", "5"}};
  CHECK(parsed.entries == expected);

  auto resolved = pg::resolve_options(parsed.entries, fake_environment());
  REQUIRE_MESSAGE(!resolved.error, resolved.detail);
  const auto& hosts = resolved.options.hosts;
  REQUIRE(hosts.size() == 3);
  CHECK(hosts[0] == pg::host_spec{"db1", 5433, std::nullopt});
  CHECK(hosts[1] == pg::host_spec{"::1", 5434, std::nullopt});
  CHECK(hosts[2] == pg::host_spec{"db3", 5432, std::nullopt});
  CHECK(resolved.options.password == "p:ss");
}

TEST_CASE("short URIs: no host, a socket directory, postgres://, ssl=true") {
  auto bare = pg::parse_conninfo("postgresql://");
  REQUIRE_MESSAGE(!bare.error, bare.detail);
  CHECK(bare.entries.empty());
  auto socket = pg::parse_conninfo("postgres://%2Ftmp%2Fpg:6543/db");
  REQUIRE_MESSAGE(!socket.error, socket.detail);
  CHECK(socket.entries == std::vector<pg::conninfo_entry>{{"host", "/tmp/pg"},
                                                          {"port", "6543"},
                                                          {"dbname", "db"}});
  auto resolved = pg::resolve_options(socket.entries, fake_environment());
  CHECK(resolved.options.hosts[0].socket_path() == "/tmp/pg/.s.PGSQL.6543");
  auto ssl = pg::parse_conninfo("postgresql:///db?ssl=true");
  REQUIRE_MESSAGE(!ssl.error, ssl.detail);
  CHECK(ssl.entries == std::vector<pg::conninfo_entry>{{"dbname", "db"}, {"sslmode", "require"}});
  auto user_only = pg::parse_conninfo("postgresql://alice@/");
  CHECK(user_only.entries == std::vector<pg::conninfo_entry>{{"user", "alice"}});
}

TEST_CASE("malformed URIs are refused naming the problem") {
  auto check_error = [](std::string_view uri, const std::string& detail) {
    CAPTURE(uri);
    auto parsed = pg::parse_conninfo(uri);
    CHECK(parsed.error == pg::errc::bad_connection_option);
    CHECK(parsed.detail == detail);
  };
  check_error("postgresql://[::1/db",
              "end of string reached when looking for matching \"]\" in IPv6 host address in "
              "URI: \"postgresql://[::1/db\"");
  check_error("postgresql://[]/db",
              "IPv6 host address may not be empty in URI: \"postgresql://[]/db\"");
  check_error("postgresql://[::1]x/db",
              "unexpected character \"x\" at position 19 in URI (expected \":\" or \"/\"): "
              "\"postgresql://[::1]x/db\"");
  check_error("postgresql://host/db%2", "invalid percent-encoded token: \"db%2\"");
  check_error("postgresql://host/db%zz", "invalid percent-encoded token: \"db%zz\"");
  check_error("postgresql://host/db%00", "forbidden value %00 in percent-encoded value: \"db%00\"");
  check_error("postgresql://host/db?sslmode",
              "missing key/value separator \"=\" in URI query parameter: \"sslmode\"");
  check_error("postgresql://host/db?sslmode=a=b",
              "extra key/value separator \"=\" in URI query parameter: \"sslmode=a=b\"");
  check_error("postgresql://host/db?colour=blue", "invalid URI query parameter: \"colour\"");
}
