#pragma once
// Calls a user's data source (copy_in's, a fed pipeline's) where the
// connection's callbacks run, and turns what it throws into a failure text.

#include "connection_state.hpp"

#include <exception>
#include <mutex>
#include <string>

namespace actorloop::pg::detail {

/// Runs `call(connection&)` for the source `what` ("the copy_in source")
/// with the connection object taken under the owner lock (callbacks run
/// without it, so the source may call the connection). Returns an empty
/// text when the source ran, else why not: the connection object is gone,
/// or "<what> threw: <exception text>". Runs on the callback thread.
template <class Call>
[[nodiscard]] std::string call_source(netio::connection::state& core, connection::state& pg,
                                      const char* what, Call&& call) {
  connection* target = nullptr;
  {
    std::lock_guard lock{core.owner_state->mutex};
    target = pg.self;
  }
  if (target == nullptr)
    return "the connection object is gone";
  try {
    call(*target);
  } catch (const std::exception& thrown) {
    return std::string{what} + " threw: " + thrown.what();
  } catch (...) {
    return std::string{what} + " threw";
  }
  return {};
}

} // namespace actorloop::pg::detail
