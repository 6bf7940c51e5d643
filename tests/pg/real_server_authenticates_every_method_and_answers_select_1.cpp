// Proves the wire layer against a real PostgreSQL 15: scripts/pg-server
// starts a throwaway server on a free loopback port; a blocking socket then
// runs the start-up for one user per authentication method (trust,
// cleartext password, MD5, SCRAM-SHA-256 with the server's signature
// verified) using only pg's encoder, decoder and authentication code, runs
// `SELECT 1` and checks the row. A wrong SCRAM password gets the server's
// FATAL 28P01. The server is stopped at the end; a server that cannot start
// fails the test.
// ctest-timeout: 120
#include "pg_throwaway_server.hpp"
#include "pg_wire_support.hpp"

#include <actorloop/pg/auth.hpp>
#include <actorloop/pg/frontend.hpp>

#include <arpa/inet.h>
#include <map>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

using namespace pg_test;
namespace fe = actorloop::pg::frontend;

namespace {

// A blocking client socket; every read has a 20-second limit so a silent
// server fails the test instead of hanging it.
class blocking_client {
public:
  explicit blocking_client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    timeval limit{20, 0};
    REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~blocking_client() { ::close(fd_); }
  blocking_client(const blocking_client&) = delete;
  blocking_client& operator=(const blocking_client&) = delete;

  void send(std::vector<std::byte>& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      REQUIRE(n > 0);
      sent += static_cast<std::size_t>(n);
    }
    bytes.clear();
  }

  /// The next backend message; fails the test on an error or a closed socket.
  pg::backend_message receive() {
    for (;;) {
      auto result = decoder_.next();
      REQUIRE_MESSAGE(!result.error, result.detail);
      if (result.message)
        return std::move(*result.message);
      std::byte buffer[4096];
      auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      REQUIRE_MESSAGE(n > 0, "the server closed the connection or did not answer in 20 s");
      decoder_.feed(std::span<const std::byte>{buffer, static_cast<std::size_t>(n)});
    }
  }

private:
  int fd_ = -1;
  pg::backend_decoder decoder_;
};

struct login_outcome {
  std::vector<pg::auth_kind> requests; // what the server asked for
  std::optional<pg::server_message> error;
  bool scram_verified = false;
  std::map<std::string, std::string> parameters;
  std::optional<pg::backend_key_data> key;
};

login_outcome log_in(blocking_client& client, const std::string& user, const std::string& password) {
  login_outcome out;
  std::vector<std::byte> bytes;
  std::vector<fe::startup_parameter> params{{"user", user}, {"database", "postgres"},
                                            {"application_name", "actorloop-pg-test"}};
  fe::startup(bytes, params);
  client.send(bytes);
  std::optional<pg::scram_client> scram;
  for (;;) {
    auto message = client.receive();
    if (auto* auth = std::get_if<pg::authentication_request>(&message)) {
      out.requests.push_back(auth->kind);
      switch (auth->kind) {
        case pg::auth_kind::ok: break;
        case pg::auth_kind::cleartext_password: fe::password(bytes, password); break;
        case pg::auth_kind::md5_password:
          fe::password(bytes, pg::md5_password(user, password, auth->salt));
          break;
        case pg::auth_kind::sasl: {
          auto choice = pg::choose_sasl_mechanism(auth->mechanisms, false, false);
          REQUIRE_MESSAGE(!choice.error, choice.detail);
          pg::scram_client::options settings;
          settings.password = password;
          settings.binding = choice.binding;
          scram.emplace(settings);
          fe::sasl_initial_response(bytes, scram->mechanism(), scram->client_first_message());
          break;
        }
        case pg::auth_kind::sasl_continue: {
          REQUIRE(scram.has_value());
          auto step = scram->handle_server_first(auth->data);
          REQUIRE_MESSAGE(!step.error, step.detail);
          fe::sasl_response(bytes, step.message);
          break;
        }
        case pg::auth_kind::sasl_final: {
          REQUIRE(scram.has_value());
          auto step = scram->verify_server_final(auth->data);
          REQUIRE_MESSAGE(!step.error, step.detail);
          out.scram_verified = scram->authenticated();
          break;
        }
        default: FAIL("unexpected authentication request " << static_cast<int>(auth->kind));
      }
      if (!bytes.empty())
        client.send(bytes);
    } else if (auto* error = std::get_if<pg::server_message>(&message); error && error->is_error) {
      out.error = *error;
      return out;
    } else if (auto* status = std::get_if<pg::parameter_status>(&message)) {
      out.parameters[status->name] = status->value;
    } else if (auto* key = std::get_if<pg::backend_key_data>(&message)) {
      out.key = *key;
    } else if (std::holds_alternative<pg::ready_for_query>(message)) {
      return out;
    }
  }
}

void select_1(blocking_client& client) {
  std::vector<std::byte> bytes;
  fe::query(bytes, "SELECT 1");
  client.send(bytes);
  auto description = client.receive();
  const auto& fields = std::get<pg::row_description>(description).fields;
  REQUIRE(fields.size() == 1);
  CHECK(fields[0].name == "?column?");
  CHECK(fields[0].type_oid == 23); // int4
  auto row = client.receive();
  REQUIRE(std::get<pg::data_row>(row).size() == 1);
  CHECK(std::get<pg::data_row>(row).value(0) == "1");
  auto done = client.receive();
  CHECK(std::get<pg::command_complete>(done).rows() == 1u);
  auto ready = client.receive();
  CHECK(std::get<pg::ready_for_query>(ready).status == pg::transaction_status::idle);
  fe::terminate(bytes);
  client.send(bytes);
}

} // namespace

TEST_CASE("a real PostgreSQL authenticates every method through the wire layer") {
  pg_throwaway::server server;

  struct user_case {
    const char* user;
    const char* password;
    std::vector<pg::auth_kind> requests;
  };
  const user_case cases[] = {
    {"trust_user", "", {pg::auth_kind::ok}},
    {"password_user", "password-secret", {pg::auth_kind::cleartext_password, pg::auth_kind::ok}},
    {"md5_user", "md5-secret", {pg::auth_kind::md5_password, pg::auth_kind::ok}},
    {"scram_user", "scram-secret",
     {pg::auth_kind::sasl, pg::auth_kind::sasl_continue, pg::auth_kind::sasl_final,
      pg::auth_kind::ok}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.user);
    blocking_client client{server.port()};
    auto outcome = log_in(client, c.user, c.password);
    REQUIRE_MESSAGE(!outcome.error, outcome.error->message);
    CHECK(outcome.requests == c.requests);
    CHECK(outcome.scram_verified == (std::string(c.user) == "scram_user"));
    CHECK(outcome.parameters["application_name"] == "actorloop-pg-test");
    CHECK(outcome.parameters["server_version"].starts_with("15"));
    REQUIRE(outcome.key.has_value());
    CHECK(outcome.key->secret_key.size() == 4);
    select_1(client);
  }

  blocking_client wrong{server.port()};
  auto refused = log_in(wrong, "scram_user", "not-the-password");
  REQUIRE(refused.error.has_value());
  CHECK(refused.error->severity_nonlocalized == "FATAL");
  CHECK(refused.error->sqlstate == "28P01");
  CHECK(refused.error->message == "password authentication failed for user \"scram_user\"");
}
