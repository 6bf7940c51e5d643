#pragma once
// A scripted PostgreSQL server on loopback for the start-up tests: it
// listens on 127.0.0.1 (port 0, read back), accepts connections one after
// another on its own thread and runs the test's script on each with a
// blocking socket (receive timeout 20 s, so a broken test fails instead of
// hanging). Stopped and joined by the destructor.

#include <actorloop/pg/options.hpp>

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace pg_fake {

/// Reads exactly `n` bytes; empty when the peer ended first (or timed out).
inline std::string read_exact(int fd, std::size_t n) {
  std::string out(n, '\0');
  std::size_t have = 0;
  while (have < n) {
    auto got = ::recv(fd, out.data() + have, n - have, 0);
    if (got <= 0)
      return {};
    have += static_cast<std::size_t>(got);
  }
  return out;
}

inline std::uint32_t be32(const std::string& bytes, std::size_t at = 0) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 3]));
}

/// A message without a type byte (StartupMessage, SSLRequest): its body
/// after the length word; empty on a short read.
inline std::string read_untyped(int fd) {
  auto length = read_exact(fd, 4);
  if (length.size() != 4 || be32(length) < 4)
    return {};
  return read_exact(fd, be32(length) - 4);
}

/// A typed frontend message: the type byte followed by the body; empty on a
/// short read.
inline std::string read_typed(int fd) {
  auto head = read_exact(fd, 5);
  if (head.size() != 5 || be32(head, 1) < 4)
    return {};
  return head.substr(0, 1) + read_exact(fd, be32(head, 1) - 4);
}

inline void send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      return;
    sent += static_cast<std::size_t>(n);
  }
}

/// SSLRequest's code (1234 << 16 | 5679).
inline constexpr std::uint32_t ssl_request_code = 80877103;

class server {
public:
  using script = std::function<void(int fd, int connection_number)>;

  explicit server(script run) : run_(std::move(run)) {
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
    thread_ = std::thread{[this] { serve(); }};
  }
  ~server() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR); // wakes the blocked accept
    thread_.join();
    ::close(fd_);
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  /// Connections accepted so far.
  [[nodiscard]] int accepted() const { return accepted_.load(); }

private:
  void serve() {
    for (;;) {
      int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0 || stopping_) {
        if (client >= 0)
          ::close(client);
        return;
      }
      timeval limit{20, 0};
      ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
      int number = ++accepted_;
      run_(client, number);
      ::close(client);
    }
  }

  script run_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

/// Options that reach `scripted` over plain TCP as `trust_user` on the
/// `postgres` database, the start-up every scripted test expects.
[[nodiscard]] inline actorloop::pg::connection_options plain_options(const server& scripted) {
  actorloop::pg::connection_options options;
  options.hosts.push_back(actorloop::pg::host_spec{"127.0.0.1", scripted.port(), {}});
  options.user = "trust_user";
  options.dbname = "postgres";
  options.sslmode = actorloop::pg::ssl_mode::disable;
  return options;
}

} // namespace pg_fake
