// SCRAM-SHA-256 with non-ASCII passwords against a real PostgreSQL 15. The
// server prepares a password with SASLprep (RFC 4013) when it stores the
// verifier, so the client must too: a role given "Ⅸ\u00ADa" (ROMAN NUMERAL
// NINE, a soft hyphen, 'a') is stored as "IXa", and logging in works with
// what the user typed, with the normalized form, and not with another
// password. Each login is checked in sync mode; the SCRAM code is the
// same in every mode (the mode tests cover that).
// ctest-timeout: 120
#include "pg_server_support.hpp"

using namespace pg_server_test;

namespace {

/// Logs in as scram_user with `password`: true when it worked.
bool logs_in(netio::context& context, throwaway_server& server, const std::string& password,
             std::vector<std::string>& problems) {
  pg::connection connection{context, server.options("scram_user", password)};
  connection.set_client_message([&](pg::connection*, const netio::client_message& problem) {
    problems.push_back(problem.text);
    return netio::callback_result::succeed;
  });
  if (connection.connect() != netio::retcode::succeed)
    return false;
  CHECK(connection.authentication_method() == "SCRAM-SHA-256");
  CHECK(connection.close() == netio::retcode::succeed);
  return true;
}

void set_password(netio::context& context, throwaway_server& server, const std::string& sql) {
  pg::connection admin{context, server.options("postgres", std::nullopt)};
  REQUIRE(admin.connect() == netio::retcode::succeed);
  REQUIRE(admin.execute("SET password_encryption = 'scram-sha-256'") == netio::retcode::succeed);
  REQUIRE(admin.execute(sql) == netio::retcode::succeed);
  REQUIRE(admin.close() == netio::retcode::succeed);
}

} // namespace

TEST_CASE("SCRAM prepares non-ASCII passwords with SASLprep as the server does") {
  throwaway_server server;
  engine_fixture fixture;
  netio::context context{fixture.engine};

  const std::string typed = "\xE2\x85\xA8\xC2\xAD" "a"; // U+2168, U+00AD, 'a'
  set_password(context, server, "ALTER ROLE scram_user PASSWORD '" + typed + "'");
  std::vector<std::string> problems;
  CHECK(logs_in(context, server, typed, problems));
  CHECK(logs_in(context, server, "IXa", problems));
  CHECK(problems.empty());
  CHECK_FALSE(logs_in(context, server, "IXb", problems));
  REQUIRE(problems.size() == 1);
  CHECK_MESSAGE(problems[0].find("28P01") != std::string::npos, problems[0]);
}
