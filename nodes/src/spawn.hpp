#pragma once
// Remote spawn (spawn.cpp) and the watch that makes a remote applet handle
// ready (remote.cpp), shared by lookups and spawns.
#include "core.hpp"

#include <string>
#include <system_error>

namespace actorloop::nodes::detail {

struct spawn_outcome {
  std::error_code code; // empty: spawned
  std::string text;     // the problem, naming type and scheduler
  std::string name;     // the export name the applet is awaited under
};

/// Carries out a peer's spawn request on this node (in the directory
/// actor): makes the applet, spawns it on `scheduler` and exports it under a
/// fresh name, marked as spawned (dropped once awaited and gone).
[[nodiscard]] spawn_outcome spawn_for_peer(const std::shared_ptr<core>& state,
                                           const std::string& type, const std::string& scheduler,
                                           caf::message& args);

/// A remote applet handle for the applet exported as `found.object_name`:
/// asks its home node to answer once the applet is gone.
[[nodiscard]] remote_applet watch_applet(remote_ref found);

} // namespace actorloop::nodes::detail
