#include <actorloop/netio/detail/socket_ops.hpp>

#include <actorloop/netio/error.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <unistd.h>

namespace actorloop::netio {

// -- endpoint -------------------------------------------------------------------------

endpoint endpoint::tcp(std::string host, std::uint16_t port) {
  endpoint result;
  result.kind = family::tcp;
  result.host = std::move(host);
  result.port = port;
  return result;
}

endpoint endpoint::unix_domain(std::string path) {
  endpoint result;
  result.kind = family::unix_domain;
  result.path = std::move(path);
  return result;
}

endpoint endpoint::parse(std::string_view text) {
  auto fail = [&](const std::string& why) -> endpoint {
    throw error(errc::invalid_argument, "endpoint '" + std::string{text} + "': " + why +
                                          " (expected HOST:PORT, [IPv6]:PORT or unix:PATH)");
  };
  if (text.starts_with("unix:")) {
    auto path = text.substr(5);
    if (path.empty())
      return fail("empty socket path");
    if (path.size() >= sizeof(sockaddr_un{}.sun_path))
      return fail("socket path longer than " +
                  std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
    return unix_domain(std::string{path});
  }
  std::string_view host;
  std::string_view port_text;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return fail("missing ']' after the IPv6 address");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':')
      return fail("missing ':PORT' after ']'");
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return fail("missing ':PORT'");
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos)
      return fail("an IPv6 address must be written in brackets");
    port_text = text.substr(colon + 1);
  }
  if (host.empty())
    return fail("empty host");
  unsigned port = 0;
  auto [end, problem] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || problem != std::errc{} || end != port_text.data() + port_text.size() ||
      port > 65535)
    return fail("port '" + std::string{port_text} + "' is not a number from 0 to 65535");
  return tcp(std::string{host}, static_cast<std::uint16_t>(port));
}

std::string endpoint::to_string() const {
  if (kind == family::unix_domain)
    return "unix:" + path;
  if (host.find(':') != std::string::npos)
    return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

} // namespace actorloop::netio

namespace actorloop::netio::detail {

std::error_code socket_error(int value) noexcept {
  switch (value) {
    case ECONNREFUSED: return errc::connection_refused;
    case ECONNRESET:
    case EPIPE: return errc::connection_reset;
    case ETIMEDOUT: return errc::connect_timed_out;
    case EADDRINUSE: return errc::address_in_use;
    case EINVAL:
    case EAFNOSUPPORT: return errc::invalid_argument;
    default: return std::error_code{value, std::system_category()};
  }
}

std::string socket_address::to_string() const {
  return to_endpoint().to_string();
}

endpoint socket_address::to_endpoint() const {
  char text[INET6_ADDRSTRLEN] = {};
  switch (storage.ss_family) {
    case AF_INET: {
      auto& in = reinterpret_cast<const sockaddr_in&>(storage);
      inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
      return endpoint::tcp(text, ntohs(in.sin_port));
    }
    case AF_INET6: {
      auto& in6 = reinterpret_cast<const sockaddr_in6&>(storage);
      inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
      return endpoint::tcp(text, ntohs(in6.sin6_port));
    }
    case AF_UNIX: {
      auto& un = reinterpret_cast<const sockaddr_un&>(storage);
      auto max = length > offsetof(sockaddr_un, sun_path) ? length - offsetof(sockaddr_un, sun_path) : 0;
      return endpoint::unix_domain(std::string{un.sun_path, strnlen(un.sun_path, max)});
    }
    default: return endpoint{};
  }
}

std::vector<socket_address> resolve(const endpoint& where, bool passive, std::error_code& error,
                                    std::string& detail) {
  std::vector<socket_address> result;
  if (where.kind == endpoint::family::unix_domain) {
    socket_address address;
    auto& un = reinterpret_cast<sockaddr_un&>(address.storage);
    un.sun_family = AF_UNIX;
    if (where.path.size() >= sizeof un.sun_path) {
      error = errc::invalid_argument;
      detail = "unix socket path '" + where.path + "' is too long";
      return result;
    }
    std::memcpy(un.sun_path, where.path.data(), where.path.size());
    address.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + where.path.size() + 1);
    result.push_back(address);
    return result;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* found = nullptr;
  auto port = std::to_string(where.port);
  int status = getaddrinfo(where.host.c_str(), port.c_str(), &hints, &found);
  if (status != 0) {
    error = (status == EAI_NONAME || status == EAI_NODATA) ? errc::host_not_found
                                                           : errc::resolve_failed;
    detail = "resolving '" + where.host + "': " + gai_strerror(status);
    return result;
  }
  for (auto* each = found; each != nullptr; each = each->ai_next) {
    socket_address address;
    std::memcpy(&address.storage, each->ai_addr, each->ai_addrlen);
    address.length = each->ai_addrlen;
    result.push_back(address);
  }
  freeaddrinfo(found);
  if (result.empty()) {
    error = errc::host_not_found;
    detail = "resolving '" + where.host + "': no address";
  }
  return result;
}

namespace {

int make_socket(int family, std::error_code& error, std::string& detail) {
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = socket_error(errno);
    detail = std::string{"socket(): "} + std::strerror(errno);
  }
  return fd;
}

} // namespace

int open_listener(const socket_address& address, int backlog, std::error_code& error,
                  std::string& detail) {
  int fd = make_socket(address.family(), error, detail);
  if (fd < 0)
    return -1;
  if (address.family() != AF_UNIX) {
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0 ||
      ::listen(fd, backlog) != 0) {
    auto failed = errno;
    error = socket_error(failed);
    detail = "listening on " + address.to_string() + ": " + std::strerror(failed);
    ::close(fd);
    return -1;
  }
  return fd;
}

int start_connect(const socket_address& address, std::error_code& error, std::string& detail) {
  int fd = make_socket(address.family(), error, detail);
  if (fd < 0)
    return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0 &&
      errno != EINPROGRESS) {
    auto failed = errno;
    error = socket_error(failed);
    detail = "connecting to " + address.to_string() + ": " + std::strerror(failed);
    ::close(fd);
    return -1;
  }
  return fd;
}

std::error_code pending_socket_error(int fd) noexcept {
  int value = 0;
  socklen_t length = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) != 0)
    return socket_error(errno);
  return value == 0 ? std::error_code{} : socket_error(value);
}

int accept_connection(int listener, socket_address* peer, std::error_code& error) {
  socket_address scratch;
  auto* into = peer ? peer : &scratch;
  into->length = sizeof into->storage;
  for (;;) {
    int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(&into->storage), &into->length,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0)
      return fd;
    if (errno == EINTR || errno == ECONNABORTED)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      error = socket_error(errno);
    return -1;
  }
}

socket_address local_address(int fd) {
  socket_address result;
  result.length = sizeof result.storage;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&result.storage), &result.length) != 0)
    result.length = 0;
  return result;
}

void set_no_delay(int fd) noexcept {
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

// -- socket_stream ----------------------------------------------------------------------

socket_stream::~socket_stream() {
  if (fd_ >= 0)
    ::close(fd_);
}

std::size_t socket_stream::read_some(std::span<std::byte> buffer, std::error_code& error) {
  for (;;) {
    auto got = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (got > 0)
      return static_cast<std::size_t>(got);
    if (got == 0) {
      error = errc::connection_closed;
      return 0;
    }
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      error = socket_error(errno);
    return 0;
  }
}

std::size_t socket_stream::write_some(std::span<const std::byte> data, std::error_code& error) {
  for (;;) {
    auto sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent >= 0)
      return static_cast<std::size_t>(sent);
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      error = socket_error(errno);
    return 0;
  }
}

void socket_stream::shutdown_send() noexcept {
  ::shutdown(fd_, SHUT_WR);
}

} // namespace actorloop::netio::detail
