#pragma once
// Asynchronous name resolution: blocking getaddrinfo calls run on the
// engine's resolver thread, never on an I/O worker.
// Internal (namespace netio::detail): shared by netio and the pg module,
// which hosts its connections on the same core; not a stable API.

#include <actorloop/netio/detail/socket_ops.hpp>

#include <actorloop/runtime/engine.hpp>

#include <functional>
#include <string>
#include <vector>

namespace actorloop::netio::detail {

struct resolution {
  std::vector<socket_address> addresses;
  std::error_code error;
  std::string detail;
};

/// Resolves `where` on the resolver thread and calls `done` there. Numeric
/// addresses and Unix paths are resolved at once on the calling thread.
void resolve_async(runtime::engine& engine, endpoint where,
                   std::function<void(resolution)> done);

/// True if `host` is an IPv4 or IPv6 literal.
[[nodiscard]] bool is_numeric_host(const std::string& host);

} // namespace actorloop::netio::detail
