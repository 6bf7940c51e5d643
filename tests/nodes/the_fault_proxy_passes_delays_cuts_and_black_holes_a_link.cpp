// ctest-timeout: 30
// The fault-injecting proxy of the test support, on its own: pass forwards
// both ways and counts the bytes; delay holds a chunk at least the given
// time; black-hole drops what both sides send and keeps both open (neither
// data nor a close gets through); cut resets both sides (ECONNRESET) and
// resets connections accepted afterwards.
#include <actorloop_test/fault_proxy.hpp>
#include <actorloop_test/support.hpp>

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace {

using namespace std::chrono_literals;
using actorloop_test::fault_proxy;

struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

int listening_socket(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(fd, 8) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  port = ntohs(address.sin_port);
  return fd;
}

int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  return fd;
}

int accept_from(int listener) {
  pollfd watched{listener, POLLIN, 0};
  REQUIRE(::poll(&watched, 1, 10000) == 1);
  int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  REQUIRE(fd >= 0);
  return fd;
}

void send_text(int fd, const std::string& text) {
  REQUIRE(::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size()));
}

/// Reads exactly `size` bytes within 10 s.
std::string receive(int fd, std::size_t size) {
  std::string result;
  while (result.size() < size) {
    pollfd watched{fd, POLLIN, 0};
    REQUIRE(::poll(&watched, 1, 10000) == 1);
    char buffer[256];
    auto got = ::read(fd, buffer, std::min(sizeof buffer, size - result.size()));
    REQUIRE(got > 0);
    result.append(buffer, static_cast<std::size_t>(got));
  }
  return result;
}

/// What a read sees once the peer is gone: 0 (closed) or -errno.
int read_outcome(int fd) {
  pollfd watched{fd, POLLIN, 0};
  REQUIRE(::poll(&watched, 1, 10000) == 1);
  char byte;
  auto got = ::read(fd, &byte, 1);
  return got < 0 ? -errno : static_cast<int>(got);
}

/// True if `fd` has nothing to read and was not closed, right now.
bool silent(int fd) {
  pollfd watched{fd, POLLIN, 0};
  return ::poll(&watched, 1, 0) == 0;
}

} // namespace

TEST_CASE("the fault proxy passes, delays, cuts and black-holes a link") {
  std::uint16_t target_port = 0;
  fd_guard target{listening_socket(target_port)};
  fault_proxy proxy{target_port};
  REQUIRE(proxy.port() != 0);
  REQUIRE(proxy.port() != target_port);

  // pass
  fd_guard client{connect_to(proxy.port())};
  fd_guard server{accept_from(target.fd)};
  send_text(client.fd, "hello");
  CHECK(receive(server.fd, 5) == "hello");
  send_text(server.fd, "world!");
  CHECK(receive(client.fd, 6) == "world!");
  // The proxy counts right after its write, so the reader may be first.
  CHECK(proxy.wait_until([&] { return proxy.bytes_forwarded() == 11; }, 10s));
  CHECK(proxy.connections() == 1);

  // delay: nothing arrives before the delay is over
  proxy.set_mode(fault_proxy::mode::delay, 200ms);
  auto sent_at = std::chrono::steady_clock::now();
  send_text(client.fd, "slow");
  CHECK(receive(server.fd, 4) == "slow");
  CHECK(std::chrono::steady_clock::now() - sent_at >= 200ms);
  CHECK(proxy.wait_until([&] { return proxy.bytes_forwarded() == 15; }, 10s));

  // black-hole: both directions dropped, counted, and no close gets through
  proxy.set_mode(fault_proxy::mode::black_hole);
  send_text(client.fd, "lost");
  send_text(server.fd, "gone!");
  REQUIRE(proxy.wait_until([&] { return proxy.bytes_dropped() == 9; }, 10s));
  CHECK(silent(server.fd));
  CHECK(silent(client.fd));
  ::close(client.fd);
  client.fd = -1;
  // The proxy closes its client side and keeps the server side open: the
  // link stays until the server closes too.
  REQUIRE(proxy.wait_until([&] { return proxy.closes_swallowed() == 1; }, 10s));
  CHECK(proxy.links_open() == 1);
  CHECK(silent(server.fd));
  send_text(server.fd, "x");
  REQUIRE(proxy.wait_until([&] { return proxy.bytes_dropped() == 10; }, 10s));
  CHECK(silent(server.fd));
  CHECK(proxy.bytes_forwarded() == 15);
  ::close(server.fd);
  server.fd = -1;
  REQUIRE(proxy.wait_until([&] { return proxy.links_open() == 0; }, 10s));

  // cut: a new link in pass mode works, then both sides see a reset
  proxy.set_mode(fault_proxy::mode::pass);
  fd_guard second_client{connect_to(proxy.port())};
  fd_guard second_server{accept_from(target.fd)};
  send_text(second_client.fd, "ping");
  CHECK(receive(second_server.fd, 4) == "ping");
  proxy.set_mode(fault_proxy::mode::cut);
  CHECK(proxy.links_cut() == 1);
  CHECK(read_outcome(second_client.fd) == -ECONNRESET);
  CHECK(read_outcome(second_server.fd) == -ECONNRESET);
  // and a connection accepted while cut is reset at once
  fd_guard third{connect_to(proxy.port())};
  CHECK(read_outcome(third.fd) == -ECONNRESET);
  CHECK(proxy.links_cut() == 2);
  CHECK(proxy.connections() == 3);
}
