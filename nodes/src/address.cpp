// "HOST:PORT" parsing and the loopback test that guards listening without TLS.
#include "core.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace actorloop::nodes::detail {

host_port parse_host_port(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw error(errc::bad_address, "'" + text + "' is not HOST:PORT");
  host_port result;
  result.host = text.substr(0, colon);
  if (result.host.size() >= 2 && result.host.front() == '[' && result.host.back() == ']')
    result.host = result.host.substr(1, result.host.size() - 2);
  unsigned value = 0;
  auto digits = std::string_view{text}.substr(colon + 1);
  auto [end, failure] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (failure != std::errc{} || end != digits.data() + digits.size() || value > 65535)
    throw error(errc::bad_address, "'" + text + "': the port must be a number from 0 to 65535");
  result.port = static_cast<std::uint16_t>(value);
  return result;
}

bool is_loopback(const std::string& host) {
  if (host == "localhost")
    return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

} // namespace actorloop::nodes::detail
