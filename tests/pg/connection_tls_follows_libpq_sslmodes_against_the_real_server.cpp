// TLS against a real PostgreSQL 15 (scripts/pg-server: a test CA, the
// server's certificate for localhost/127.0.0.1/::1, users that only TLS or
// only plain TCP admit, and a client-certificate user), with libpq's sslmode
// semantics (one server for every step): require encrypts without verifying; verify-ca checks the chain;
// verify-full the name too; a wrong CA is refused; prefer falls back to
// plain when the server refuses the TLS session's start-up, allow goes to
// TLS when it refuses the plain one; disable and require fail against the
// users that need the other. The server's own view (pg_stat_ssl) says
// whether the session is encrypted. The security-session callback sees
// each session exactly once, and can refuse it.
// ctest-timeout: 180
#include "pg_server_support.hpp"

#include <cstdlib>
#include <mutex>

using namespace pg_server_test;

namespace {

/// True when the server says this session is encrypted.
bool server_sees_tls(pg::connection& connection) {
  REQUIRE(connection.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") ==
          netio::retcode::succeed);
  auto answer = connection.take_result();
  REQUIRE(answer);
  REQUIRE(answer->results.size() == 1);
  REQUIRE(answer->results[0].row_count() == 1);
  return answer->results[0].boolean(0, 0);
}

struct session_log {
  std::mutex mutex;
  std::vector<pg::security_session_info> seen;
};

} // namespace

TEST_CASE("TLS follows libpq's sslmodes against the real server") {
  throwaway_server server;
  engine_fixture fixture;
  netio::context context{fixture.engine};
  auto ca = server.tls_dir() + "/ca.crt";
  // No ~/.postgresql files may change what the options say.
  auto home = fs::temp_directory_path() / ("actorloop-pgtls-home-" + std::to_string(::getpid()));
  fs::create_directories(home);
  ::setenv("HOME", home.c_str(), 1);

  session_log sessions;
  std::vector<std::string> problems;
  auto reset = [&] {
    problems.clear();
    std::lock_guard guard{sessions.mutex};
    sessions.seen.clear();
  };
  auto attach = [&](pg::connection& connection) {
    connection.set_client_message([&](pg::connection*, const netio::client_message& problem) {
      problems.push_back(problem.text);
      return netio::callback_result::succeed;
    });
    connection.set_security_session([&](pg::connection&, const pg::security_session_info& info) {
      std::lock_guard guard{sessions.mutex};
      sessions.seen.push_back(info);
      return netio::callback_result::succeed;
    });
  };

  {
    INFO("require: encrypted, not verified");
    reset();
    auto options = server.options("trust_user", std::nullopt);
    options.sslmode = pg::ssl_mode::require;
    pg::connection connection{context, options};
    attach(connection);
    REQUIRE(connection.connect() == netio::retcode::succeed);
    CHECK(connection.tls_in_use());
    CHECK(server_sees_tls(connection));
    std::lock_guard guard{sessions.mutex};
    REQUIRE(sessions.seen.size() == 1);
    auto& info = sessions.seen[0];
    CHECK(info.protocol.starts_with("TLSv1."));
    CHECK_FALSE(info.cipher.empty());
    CHECK(info.peer_subject == "CN=localhost");
    CHECK(info.peer_fingerprint_sha256.size() == 95);
    CHECK_FALSE(info.chain_verified);
    CHECK_FALSE(info.verification_error.empty());
    CHECK_FALSE(info.host_name_checked);
    CHECK(info.mode == pg::ssl_mode::require);
    CHECK(info.channel_binding_available);
  }

  {
    INFO("verify-ca with the test CA: the chain verified");
    reset();
    auto options = server.options("trust_user", std::nullopt);
    options.sslmode = pg::ssl_mode::verify_ca;
    options.sslrootcert = ca;
    pg::connection connection{context, options};
    attach(connection);
    REQUIRE(connection.connect() == netio::retcode::succeed);
    CHECK(server_sees_tls(connection));
    std::lock_guard guard{sessions.mutex};
    REQUIRE(sessions.seen.size() == 1);
    CHECK(sessions.seen[0].chain_verified);
    CHECK(sessions.seen[0].verification_error.empty());
    CHECK_FALSE(sessions.seen[0].host_name_checked);
  }

  {
    INFO("verify-full by name and by address");
    reset();
    for (const char* host : {"localhost", "127.0.0.1"}) {
      CAPTURE(host);
      auto options = server.options("trust_user", std::nullopt);
      options.hosts[0].host = host;
      options.sslmode = pg::ssl_mode::verify_full;
      options.sslrootcert = ca;
      pg::connection connection{context, options};
      attach(connection);
      REQUIRE(connection.connect() == netio::retcode::succeed);
      CHECK(server_sees_tls(connection));
    }
    std::lock_guard guard{sessions.mutex};
    REQUIRE(sessions.seen.size() == 2);
    CHECK(sessions.seen[0].host_name_checked);
    CHECK(sessions.seen[0].host == "localhost");
    CHECK(sessions.seen[1].chain_verified);
  }

  {
    INFO("verify-ca with a CA that did not sign the server's certificate: refused");
    reset();
    auto options = server.options("trust_user", std::nullopt);
    options.sslmode = pg::ssl_mode::verify_ca;
    options.sslrootcert = server.tls_dir() + "/other_ca.crt";
    pg::connection connection{context, options};
    attach(connection);
    CHECK(connection.connect() == netio::retcode::fail);
    REQUIRE(problems.size() == 1);
    CHECK_MESSAGE(problems[0].find("certificate") != std::string::npos, problems[0]);
    CHECK_MESSAGE(problems[0].find("certificate chain was rejected") != std::string::npos,
                  problems[0]);
    std::lock_guard guard{sessions.mutex};
    CHECK(sessions.seen.empty());
  }

  {
    INFO("verify-full without a root certificate: refused before connecting");
    reset();
    auto options = server.options("trust_user", std::nullopt);
    options.sslmode = pg::ssl_mode::verify_full;
    pg::connection connection{context, options};
    attach(connection);
    CHECK(connection.connect() == netio::retcode::fail);
    REQUIRE(problems.size() == 1);
    CHECK_MESSAGE(problems[0].find("sslrootcert") != std::string::npos, problems[0]);
  }

  {
    INFO("prefer against a user only plain TCP admits: TLS refused, then plain");
    reset();
    auto options = server.options("nossl_user", std::nullopt);
    options.sslmode = pg::ssl_mode::prefer;
    pg::connection connection{context, options};
    attach(connection);
    REQUIRE(connection.connect() == netio::retcode::succeed);
    CHECK_FALSE(connection.tls_in_use());
    CHECK_FALSE(server_sees_tls(connection));
    CHECK(problems.empty());
    std::lock_guard guard{sessions.mutex};
    CHECK(sessions.seen.size() == 1); // the first, TLS, attempt
  }

  {
    INFO("allow against a user only TLS admits: plain refused, then TLS");
    reset();
    auto options = server.options("tls_user", "tls-secret");
    options.sslmode = pg::ssl_mode::allow;
    pg::connection connection{context, options};
    attach(connection);
    REQUIRE(connection.connect() == netio::retcode::succeed);
    CHECK(connection.tls_in_use());
    CHECK(server_sees_tls(connection));
    std::lock_guard guard{sessions.mutex};
    CHECK(sessions.seen.size() == 1);
  }

  {
    INFO("disable against a TLS-only user, require against a plain-only user: fail");
    reset();
    auto tls_only = server.options("tls_user", "tls-secret");
    tls_only.sslmode = pg::ssl_mode::disable;
    pg::connection first{context, tls_only};
    attach(first);
    CHECK(first.connect() == netio::retcode::fail);
    auto plain_only = server.options("nossl_user", std::nullopt);
    plain_only.sslmode = pg::ssl_mode::require;
    pg::connection second{context, plain_only};
    attach(second);
    CHECK(second.connect() == netio::retcode::fail);
    REQUIRE(problems.size() == 2);
    CHECK_MESSAGE(problems[0].find("no encryption") != std::string::npos, problems[0]);
    CHECK_MESSAGE(problems[1].find("SSL encryption") != std::string::npos, problems[1]);
  }

  {
    INFO("a client certificate logs in the cert user; without one it is refused");
    reset();
    auto options = server.options("cert_user", std::nullopt);
    options.sslmode = pg::ssl_mode::verify_full;
    options.hosts[0].host = "localhost";
    options.sslrootcert = ca;
    pg::connection refused{context, options};
    attach(refused);
    CHECK(refused.connect() == netio::retcode::fail);
    REQUIRE(problems.size() == 1);
    CHECK_MESSAGE(problems[0].find("client certificate") != std::string::npos, problems[0]);
    options.sslcert = server.tls_dir() + "/cert_user.crt";
    options.sslkey = server.tls_dir() + "/cert_user.key";
    pg::connection connection{context, options};
    attach(connection);
    REQUIRE(connection.connect() == netio::retcode::succeed);
    CHECK(server_sees_tls(connection));
    REQUIRE(connection.execute("SELECT current_user") == netio::retcode::succeed);
    auto answer = connection.take_result();
    REQUIRE(answer);
    CHECK(answer->results[0].text(0, 0) == "cert_user");
  }

  {
    INFO("the security-session callback refuses the session: the connect fails");
    reset();
    auto options = server.options("trust_user", std::nullopt);
    options.sslmode = pg::ssl_mode::require;
    pg::connection connection{context, options};
    attach(connection);
    int asked = 0;
    connection.set_security_session([&](pg::connection&, const pg::security_session_info&) {
      ++asked;
      return netio::callback_result::fail;
    });
    CHECK(connection.connect() == netio::retcode::fail);
    CHECK(asked == 1);
    REQUIRE(problems.size() == 1);
    CHECK_MESSAGE(problems[0].find("security-session callback rejected") != std::string::npos,
                  problems[0]);
  }

  fs::remove_all(home);
}
