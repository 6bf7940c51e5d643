#pragma once
// Thin, error-reporting wrappers around the BSD socket calls netio uses.
// Internal (namespace netio::detail): shared by netio and the pg module,
// which hosts its connections on the same core; not a stable API.

#include <actorloop/netio/byte_stream.hpp>
#include <actorloop/netio/endpoint.hpp>

#include <string>
#include <system_error>
#include <sys/socket.h>
#include <vector>

namespace actorloop::netio::detail {

/// Maps an errno value from a socket call to a netio error code.
[[nodiscard]] std::error_code socket_error(int value) noexcept;

/// One socket address, as getaddrinfo or accept produce them.
struct socket_address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  [[nodiscard]] int family() const noexcept { return storage.ss_family; }
  /// "127.0.0.1:80", "[::1]:80", "unix:/path".
  [[nodiscard]] std::string to_string() const;
  [[nodiscard]] endpoint to_endpoint() const;
};

/// Resolves `where` synchronously (blocking getaddrinfo for TCP host names).
/// On failure returns an empty list and sets `error` and `detail`.
[[nodiscard]] std::vector<socket_address> resolve(const endpoint& where, bool passive,
                                                  std::error_code& error, std::string& detail);

/// A non-blocking, close-on-exec socket listening on `address`; -1 on failure.
[[nodiscard]] int open_listener(const socket_address& address, int backlog,
                                std::error_code& error, std::string& detail);

/// Starts a non-blocking connect; -1 on immediate failure. The connect
/// finishes when the socket becomes writable (check `pending_socket_error`).
[[nodiscard]] int start_connect(const socket_address& address, std::error_code& error,
                                std::string& detail);

/// SO_ERROR of a socket (the result of a non-blocking connect).
[[nodiscard]] std::error_code pending_socket_error(int fd) noexcept;

/// Accepts one connection, non-blocking; -1 when none is waiting (error clear)
/// or on failure (error set).
[[nodiscard]] int accept_connection(int listener, socket_address* peer, std::error_code& error);

/// The local address a socket is bound to.
[[nodiscard]] socket_address local_address(int fd);

/// Turns off Nagle's algorithm on TCP sockets (requests are small and latency
/// matters more than packet count); a no-op for Unix sockets.
void set_no_delay(int fd) noexcept;

/// A byte stream over a connected socket. Owns and closes the descriptor.
class socket_stream final : public byte_stream {
public:
  explicit socket_stream(int fd) noexcept : fd_(fd) {}
  ~socket_stream() override;
  socket_stream(const socket_stream&) = delete;
  socket_stream& operator=(const socket_stream&) = delete;

  [[nodiscard]] std::size_t read_some(std::span<std::byte> buffer,
                                      std::error_code& error) override;
  [[nodiscard]] std::size_t write_some(std::span<const std::byte> data,
                                       std::error_code& error) override;
  void shutdown_send() noexcept override;
  [[nodiscard]] int fd() const noexcept { return fd_; }
  /// Gives up ownership of the descriptor (it is not closed).
  void release() noexcept { fd_ = -1; }

private:
  int fd_;
};

} // namespace actorloop::netio::detail
