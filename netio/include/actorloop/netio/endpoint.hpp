#pragma once
/// @file
/// Network endpoints: TCP (IPv4, IPv6, host names) and Unix domain sockets.
///
/// Thread safety: plain values. Distinct objects: safe. Shared objects:
/// unsafe while one thread writes.

#include <cstdint>
#include <string>
#include <string_view>

namespace actorloop::netio {

struct endpoint {
  enum class family { tcp, unix_domain };

  family kind = family::tcp;
  /// TCP: a host name, an IPv4 literal or an IPv6 literal (without brackets).
  std::string host;
  /// TCP: the port; 0 asks the system for a free port when listening.
  std::uint16_t port = 0;
  /// Unix domain: the socket's path.
  std::string path;

  [[nodiscard]] static endpoint tcp(std::string host, std::uint16_t port);
  [[nodiscard]] static endpoint unix_domain(std::string path);

  /// Parses "HOST:PORT", "[IPv6]:PORT" or "unix:PATH". Throws `netio::error`
  /// with `errc::invalid_argument` naming the text and what is wrong.
  [[nodiscard]] static endpoint parse(std::string_view text);

  /// The form `parse` reads: "127.0.0.1:7542", "[::1]:7542", "unix:/tmp/s".
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const endpoint&, const endpoint&) = default;
};

} // namespace actorloop::netio
