// Transports: the same session over TCP/IPv4, TCP/IPv6 and a Unix socket;
// connecting is non-blocking with a timeout (a peer that never answers the
// login times out with connect_timed_out), a closed port is refused, an unknown host fails
// with host_not_found after asynchronous resolution, and bad endpoint text
// is rejected naming the problem.
// ctest-timeout: 60
#include "netio_test_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace netio_test;

namespace {

void run_session(server_fixture& fixture) {
  netio::context context{fixture.engine};
  netio::connection connection{context};
  REQUIRE(connection.connect(fixture.address()) == netio::retcode::succeed);
  REQUIRE(connection.execute({"ECHO", fixture.address().to_string()}) == netio::retcode::succeed);
  CHECK(connection.take_result()->rows.at(0).columns.at(0) == fixture.address().to_string());
  CHECK(connection.close() == netio::retcode::succeed);
}

bool ipv6_available() {
  int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  ::close(fd);
  return true;
}

} // namespace

TEST_CASE("TCP over IPv4") {
  netio::server_options options;
  options.listen = netio::endpoint::tcp("127.0.0.1", 0);
  server_fixture fixture{options};
  CHECK(fixture.address().port != 0);
  run_session(fixture);
}

TEST_CASE("TCP over IPv6") {
  if (!ipv6_available()) {
    MESSAGE("no IPv6 on this machine: skipped");
    return;
  }
  netio::server_options options;
  options.listen = netio::endpoint::parse("[::1]:0");
  server_fixture fixture{options};
  CHECK(fixture.address().host == "::1");
  CHECK(fixture.address().to_string().starts_with("[::1]:"));
  run_session(fixture);
}

TEST_CASE("Unix domain socket") {
  auto path = "/tmp/actorloop-test-" + std::to_string(::getpid()) + ".sock";
  ::unlink(path.c_str());
  {
    netio::server_options options;
    options.listen = netio::endpoint::parse("unix:" + path);
    server_fixture fixture{options};
    CHECK(fixture.address().to_string() == "unix:" + path);
    run_session(fixture);
  }
  ::unlink(path.c_str());
}

TEST_CASE("connect failures: refused, timed out, unknown host") {
  runtime::engine engine;
  netio::context context{engine};
  // A port nobody listens on: bind one, close it.
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(probe);
  {
    netio::connection connection{context};
    CHECK(connection.connect(netio::endpoint::tcp("127.0.0.1", ntohs(address.sin_port))) ==
          netio::retcode::fail);
    CHECK(connection.last_error().code == netio::errc::connection_refused);
  }
  {
    // A peer that completes the TCP handshake (the kernel does it for the
    // backlog) but never answers the login: the connect timeout fires.
    int silent = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in where{};
    where.sin_family = AF_INET;
    where.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(silent, reinterpret_cast<sockaddr*>(&where), sizeof where) == 0);
    REQUIRE(::listen(silent, 4) == 0);
    socklen_t size = sizeof where;
    ::getsockname(silent, reinterpret_cast<sockaddr*>(&where), &size);
    netio::connection connection{context};
    netio::connect_options options;
    options.connect_timeout = 200ms;
    auto started = std::chrono::steady_clock::now();
    CHECK(connection.connect(netio::endpoint::tcp("127.0.0.1", ntohs(where.sin_port)), options) ==
          netio::retcode::fail);
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(connection.last_error().code == netio::errc::connect_timed_out);
    CHECK(connection.last_error().text.find("200 ms") != std::string::npos);
    CHECK(took >= 200ms);
    CHECK(took < 10s);
    ::close(silent);
  }
  {
    netio::connection connection{context};
    CHECK(connection.connect(netio::endpoint::tcp("no-such-host.invalid", 1)) == netio::retcode::fail);
    CHECK(connection.last_error().code == netio::errc::host_not_found);
  }
  for (auto* text : {"no-port", "host:99999", "[::1:5", "::1:5", "unix:", "host:"}) {
    CAPTURE(text);
    try {
      (void)netio::endpoint::parse(text);
      FAIL("accepted");
    } catch (const netio::error& failure) {
      CHECK(failure.code() == netio::errc::invalid_argument);
      CHECK(std::string{failure.what()}.find(text) != std::string::npos);
    }
  }
}
