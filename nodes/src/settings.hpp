#pragma once
// The node settings that CAF reads when an actor system starts (BASP's
// heartbeat and connection timeout, caf::openssl's certificate files), taken
// from the actorloop.node.* options (settings.cpp), and the check of the TLS
// files at node construction (tls.cpp).

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

#include <string>

namespace actorloop::nodes::detail {

/// Where settings.cpp leaves a problem with the options (a string) for the
/// node constructor to throw: the hook itself runs inside CAF's actor system
/// constructor, where an exception would abort the engine's start.
inline constexpr const char* settings_error_key = "actorloop.node.settings-error";

/// Adds the thread hook that translates the options (from enable()'s
/// configuration hook).
void add_settings_hook(caf::actor_system_config& config);

/// The heartbeat settings BASP runs with in `config` (0: none).
[[nodiscard]] caf::timespan heartbeat_interval(const caf::actor_system_config& config);
[[nodiscard]] caf::timespan loss_timeout(const caf::actor_system_config& config);

/// Loads the configured certificate, key and CA file the way caf::openssl
/// will for every connection, and checks that the key fits the certificate
/// and that the certificate chains to the CA. Throws `nodes::error` naming
/// the file and the problem. CAF itself would throw on the middleman's
/// thread at the first connection, which ends the process.
void check_tls_files(const caf::actor_system_config& config, const std::string& node_name);

} // namespace actorloop::nodes::detail
