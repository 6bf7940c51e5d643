#pragma once
/// @file
/// Library-internal: lets a module that needs more of CAF than the runtime
/// (the nodes module loads `caf::io`'s middleman) change the CAF configuration
/// of every engine before its actor system starts, without the runtime
/// depending on that part of CAF. Not a stable API.

namespace caf {
class actor_system_config;
class config_option_set;
} // namespace caf

namespace actorloop::runtime::detail {

/// Runs on the CAF configuration of an engine being constructed, after
/// actorloop's own options exist and before the command line or the engine
/// arguments are parsed and before the actor system starts: the place to
/// load a CAF module, add message types and add options (`options` is the
/// configuration's custom option set, so `--actorloop.x.y=...` parses).
/// Runs on the thread constructing the engine. Must not throw.
using config_hook = void (*)(caf::actor_system_config& config, caf::config_option_set& options);

/// Registers `hook` for every engine constructed from now on (process-wide).
/// Registering the same hook again does nothing. Thread-safe.
void add_config_hook(config_hook hook);

} // namespace actorloop::runtime::detail
