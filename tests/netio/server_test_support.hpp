// Shared by the server tests: a blocking raw client that speaks the framed
// protocol byte for byte (so a test controls exactly when it reads, how big
// its receive buffer is, and how it closes), and a deadline-bounded wait on
// a condition that only the server can change (its statistics).
#pragma once

#include "netio_test_support.hpp"

#include <actorloop/netio/codec.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>

namespace server_test {

namespace netio = actorloop::netio;
using namespace std::chrono_literals;

/// What `raw_client::read_message` found.
enum class read_outcome { message, closed, timed_out, failed };

/// A blocking TCP client speaking raw frames.
class raw_client {
public:
  /// Connects; `receive_buffer` > 0 shrinks SO_RCVBUF first (a slow reader).
  explicit raw_client(const netio::endpoint& where, int receive_buffer = 0,
                      std::chrono::seconds read_limit = 20s) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    if (receive_buffer > 0)
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(where.port);
    ::inet_pton(AF_INET, where.host.c_str(), &address.sin_addr);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    set_read_limit(read_limit);
  }
  ~raw_client() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  void set_read_limit(std::chrono::milliseconds limit) {
    timeval value{static_cast<time_t>(limit.count() / 1000),
                  static_cast<suseconds_t>((limit.count() % 1000) * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value);
  }

  void send_message(const netio::message& value) {
    std::vector<std::byte> bytes;
    REQUIRE_FALSE(codec_->encode(value, bytes));
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      auto now = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (now <= 0) {
        // Not REQUIRE: this may run on a test's writer thread.
        FAIL_CHECK("sending to the server failed");
        return;
      }
      sent += static_cast<std::size_t>(now);
    }
  }

  /// hello, then the ready (no password, no negotiation).
  void login() {
    send_message({0, netio::hello{"raw", "raw"}});
    netio::message answer;
    REQUIRE(read_message(answer) == read_outcome::message);
    REQUIRE(std::holds_alternative<netio::ready>(answer.body));
  }

  void request(std::uint64_t id, std::vector<std::string> arguments) {
    send_message({id, netio::request{std::move(arguments)}});
  }

  /// The next frame (blocking up to the read limit).
  read_outcome read_message(netio::message& into) {
    for (;;) {
      if (!buffer_.empty()) {
        auto outcome = codec_->decode(buffer_, into);
        REQUIRE_FALSE(outcome.error);
        if (outcome.consumed > 0) {
          buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(outcome.consumed));
          return read_outcome::message;
        }
      }
      std::byte chunk[65536];
      auto got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got == 0)
        return read_outcome::closed;
      if (got < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? read_outcome::timed_out
               : errno == ECONNRESET                     ? read_outcome::closed
                                                          : read_outcome::failed;
      buffer_.insert(buffer_.end(), chunk, chunk + got);
    }
  }

  /// Every frame until the server closes (fails the test on a timeout).
  std::vector<netio::message> read_until_closed() {
    std::vector<netio::message> result;
    for (;;) {
      netio::message next;
      auto outcome = read_message(next);
      if (outcome == read_outcome::message) {
        result.push_back(std::move(next));
        continue;
      }
      REQUIRE(outcome == read_outcome::closed);
      return result;
    }
  }

  /// Closes with a reset (SO_LINGER 0) instead of an orderly FIN.
  void reset() {
    linger value{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &value, sizeof value);
    ::close(fd_);
    fd_ = -1;
  }

  [[nodiscard]] int fd() const noexcept { return fd_; }

private:
  int fd_ = -1;
  std::shared_ptr<const netio::codec> codec_ = netio::make_framed_codec();
  std::vector<std::byte> buffer_;
};

} // namespace server_test
