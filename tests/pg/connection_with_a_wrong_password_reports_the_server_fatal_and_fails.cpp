// A wrong password against a real PostgreSQL 15: the server's FATAL 28P01
// reaches the server-message callback exactly once with its fields, the
// connect fails with a client message that names it, and the connection is
// not connected. Over TLS (sslmode=require) the FATAL comes the same way.
// ctest-timeout: 90
#include "pg_server_support.hpp"

using namespace pg_server_test;

TEST_CASE("a wrong password gives the server's FATAL and a failed connect") {
  throwaway_server server;
  engine_fixture fixture;
  netio::context context{fixture.engine};
  for (const char* user : {"password_user", "md5_user", "scram_user"}) {
    CAPTURE(user);
    std::vector<pg::server_message> messages;
    std::vector<std::string> problems;
    pg::connection connection{context, server.options(user, "not-the-password")};
    connection.set_server_message([&](pg::connection&, const pg::server_message& message) {
      messages.push_back(message);
    });
    connection.set_client_message([&](pg::connection*, const netio::client_message& problem) {
      problems.push_back(problem.text);
      return netio::callback_result::succeed;
    });
    CHECK(connection.connect() == netio::retcode::fail);
    CHECK_FALSE(connection.connected());
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].is_error);
    CHECK(messages[0].severity_nonlocalized == "FATAL");
    CHECK(messages[0].sqlstate == "28P01");
    CHECK(messages[0].message.find(user) != std::string::npos);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("28P01") != std::string::npos);
    CHECK(connection.last_error().text == problems[0]);
  }

  std::vector<std::string> problems;
  auto options = server.options("scram_user", "not-the-password");
  options.sslmode = pg::ssl_mode::require;
  pg::connection connection{context, options};
  connection.set_client_message([&](pg::connection*, const netio::client_message& problem) {
    problems.push_back(problem.text);
    return netio::callback_result::succeed;
  });
  CHECK(connection.connect() == netio::retcode::fail);
  REQUIRE(problems.size() == 1);
  CHECK_MESSAGE(problems[0].find("28P01") != std::string::npos, problems[0]);
  CHECK_FALSE(connection.connected());
}
