// connect_timeout (libpq's meaning: per host): a local listener that never
// accepts nor answers takes the start-up and stays silent. Alone, connect
// fails after the timeout with a client message naming connect_timeout;
// listed before a real PostgreSQL 15, the connect gives up on it after the
// timeout and logs in to the real server.
// ctest-timeout: 90
#include "pg_server_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace pg_server_test;

namespace {

/// A TCP listener on 127.0.0.1 (port 0, read back) that nobody accepts from.
class silent_listener {
public:
  silent_listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~silent_listener() { ::close(fd_); }
  silent_listener(const silent_listener&) = delete;
  silent_listener& operator=(const silent_listener&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }

private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

} // namespace

TEST_CASE("connect_timeout gives up on a silent host and tries the next") {
  silent_listener silent;
  engine_fixture fixture;
  netio::context context{fixture.engine};

  SUBCASE("the only host is silent: connect fails naming the timeout") {
    pg::connection_options options;
    options.hosts.push_back(pg::host_spec{"127.0.0.1", silent.port(), {}});
    options.user = "nobody";
    options.sslmode = pg::ssl_mode::disable;
    options.connect_timeout = std::chrono::seconds{2};
    pg::connection connection{context, options};
    std::vector<netio::client_message> problems;
    connection.set_client_message([&](pg::connection*, const netio::client_message& problem) {
      problems.push_back(problem);
      return netio::callback_result::succeed;
    });
    auto started = std::chrono::steady_clock::now();
    CHECK(connection.connect() == netio::retcode::fail);
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(took >= 2s);
    CHECK(took < 10s);
    REQUIRE(problems.size() == 1);
    auto expected = "127.0.0.1:" + std::to_string(silent.port()) +
                    ": timeout expired after 2 s (connect_timeout)";
    CHECK_MESSAGE(problems[0].text.find(expected) != std::string::npos, problems[0].text);
    CHECK_FALSE(connection.connected());
  }

  SUBCASE("a silent host before a real server: the real server after the timeout") {
    throwaway_server server;
    auto options = server.options("trust_user", std::nullopt);
    options.hosts.insert(options.hosts.begin(), pg::host_spec{"127.0.0.1", silent.port(), {}});
    options.connect_timeout = std::chrono::seconds{2};
    pg::connection connection{context, options};
    auto started = std::chrono::steady_clock::now();
    REQUIRE(connection.connect() == netio::retcode::succeed);
    CHECK(std::chrono::steady_clock::now() - started >= 2s);
    REQUIRE(connection.execute("SELECT 1") == netio::retcode::succeed);
    CHECK(connection.take_result()->results.at(0).int64(0, 0) == 1);
    REQUIRE(connection.close() == netio::retcode::succeed);
  }
}
