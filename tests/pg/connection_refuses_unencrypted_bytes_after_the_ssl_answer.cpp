// After SSLRequest the client reads exactly one byte. A server (or someone in
// the middle) that sends more before the TLS handshake is refused with a
// message naming the injection (CVE-2021-23222), without trying the next
// host or falling back to plain text. Without the extra bytes, 'N' means a
// plain session under sslmode=prefer and a failure under require. A scripted
// server on loopback plays the server.
// ctest-timeout: 60
#include "pg_fake_server.hpp"
#include "pg_server_support.hpp"
#include "pg_wire_support.hpp"

#include <mutex>

using namespace pg_server_test;

namespace {

/// The answer to SSLRequest, and what follows it in the same write; set
/// by the test before it connects, under the mutex.
struct ssl_script {
  char answer = 'S';
  std::string extra;
  std::mutex mutex;
  std::vector<std::uint32_t> first_codes; // each connection's first message code
  bool startup_seen = false;
};

void play(ssl_script& plan, int fd) {
  auto request = pg_fake::read_untyped(fd);
  char answer = 0;
  std::string extra;
  {
    std::lock_guard guard{plan.mutex};
    plan.first_codes.push_back(request.size() >= 4 ? pg_fake::be32(request) : 0);
    answer = plan.answer;
    extra = plan.extra;
  }
  if (request.size() != 4) {
    // A StartupMessage first (sslmode=disable): refuse it as a server would.
    pg_fake::send_all(fd, pg_test::wire('E').raw("SFATAL").u8(0).raw("C28000").u8(0)
                            .raw("Mno TLS here").u8(0).u8(0).bytes());
    return;
  }
  pg_fake::send_all(fd, std::string(1, answer) + extra);
  if (answer != 'N' || !extra.empty()) {
    // Wait for the client to hang up.
    char sink[64];
    while (::recv(fd, sink, sizeof sink, 0) > 0) {
    }
    return;
  }
  auto startup = pg_fake::read_untyped(fd);
  {
    std::lock_guard guard{plan.mutex};
    plan.startup_seen = startup.size() > 4 && pg_fake::be32(startup) == 196608;
  }
  using pg_test::wire;
  pg_fake::send_all(fd, wire('R').i32(0).bytes() +
                          wire('S').str("server_version").str("15.0 (scripted)").bytes() +
                          wire('K').i32(4242).i32(77).bytes() + wire('Z').u8('I').bytes());
  // Terminate, then the end.
  (void)pg_fake::read_typed(fd);
}

void set_plan(ssl_script& plan, char answer, std::string extra) {
  std::lock_guard guard{plan.mutex};
  plan.answer = answer;
  plan.extra = std::move(extra);
}

pg::connection_options options_for(std::uint16_t port, pg::ssl_mode mode, int hosts = 1) {
  pg::connection_options options;
  for (int i = 0; i < hosts; ++i)
    options.hosts.push_back(pg::host_spec{"127.0.0.1", port, {}});
  options.user = "someone";
  options.dbname = "postgres";
  options.sslmode = mode;
  return options;
}

} // namespace

TEST_CASE("a server sending bytes after its answer to SSLRequest is refused") {
  engine_fixture fixture;
  netio::context context{fixture.engine};
  ssl_script plan;
  pg_fake::server fake{[&](int fd, int) { play(plan, fd); }};
  bool disabled = false;
  std::vector<std::string> problems;
  auto collect = [&](pg::connection*, const netio::client_message& problem) {
    problems.push_back(problem.text);
    return netio::callback_result::succeed;
  };

  SUBCASE("'S' followed by plain bytes: refused, no other host, no plain retry") {
    set_plan(plan, 'S', pg_test::wire('R').i32(0).bytes() + pg_test::wire('Z').u8('I').bytes());
    // Listed twice with prefer: neither the next host nor a plain retry may follow.
    pg::connection connection{context, options_for(fake.port(), pg::ssl_mode::prefer, 2)};
    connection.set_client_message(collect);
    CHECK(connection.connect() == netio::retcode::fail);
    REQUIRE(problems.size() == 1);
    CHECK_MESSAGE(problems[0].find("received unencrypted data after the SSL response") !=
                    std::string::npos,
                  problems[0]);
    CHECK(problems[0].find("CVE-2021-23222") != std::string::npos);
    CHECK(problems[0].find("'S' and then 15 bytes") != std::string::npos);
    CHECK_FALSE(connection.connected());
    CHECK_FALSE(connection.tls_in_use());
  }

  SUBCASE("'N' followed by bytes: refused as well") {
    set_plan(plan, 'N', pg_test::wire('R').i32(0).bytes());
    pg::connection connection{context, options_for(fake.port(), pg::ssl_mode::prefer)};
    connection.set_client_message(collect);
    CHECK(connection.connect() == netio::retcode::fail);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("received unencrypted data after the SSL response ('N'") !=
          std::string::npos);
  }

  SUBCASE("'N' alone under sslmode=prefer: a plain session on the same connection") {
    set_plan(plan, 'N', {});
    pg::connection connection{context, options_for(fake.port(), pg::ssl_mode::prefer)};
    connection.set_client_message(collect);
    REQUIRE(connection.connect() == netio::retcode::succeed);
    CHECK(problems.empty());
    CHECK_FALSE(connection.tls_in_use());
    CHECK(connection.authentication_method() == "trust");
    CHECK(connection.parameter("server_version") == std::optional<std::string>{"15.0 (scripted)"});
    CHECK(connection.close() == netio::retcode::succeed);
    std::lock_guard guard{plan.mutex};
    CHECK(plan.startup_seen);
  }

  SUBCASE("'N' under sslmode=require: the connect fails saying TLS was required") {
    set_plan(plan, 'N', {});
    pg::connection connection{context, options_for(fake.port(), pg::ssl_mode::require)};
    connection.set_client_message(collect);
    CHECK(connection.connect() == netio::retcode::fail);
    REQUIRE(problems.size() == 1);
    CHECK_MESSAGE(problems[0].find("server does not support SSL, but SSL was required") !=
                    std::string::npos,
                  problems[0]);
  }

  SUBCASE("sslmode=disable sends no SSLRequest") {
    disabled = true;
    pg::connection connection{context, options_for(fake.port(), pg::ssl_mode::disable)};
    connection.set_client_message(collect);
    CHECK(connection.connect() == netio::retcode::fail);
    REQUIRE(problems.size() == 1);
    CHECK_MESSAGE(problems[0].find("FATAL 28000: no TLS here") != std::string::npos, problems[0]);
  }

  CHECK(fake.accepted() == 1);
  std::lock_guard guard{plan.mutex};
  REQUIRE(plan.first_codes.size() == 1);
  // The first message is SSLRequest, except under sslmode=disable.
  CHECK(plan.first_codes[0] == (disabled ? 196608u : pg_fake::ssl_request_code));
}
