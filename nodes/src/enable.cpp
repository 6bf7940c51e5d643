// enable(): the configuration hook that loads CAF's middleman into every
// engine made afterwards, adds the actorloop.node.* options and the item
// types registered with register_type. The TLS and heartbeat options are
// turned into CAF's own settings by a thread hook (settings.cpp), the one
// place CAF 0.17 runs code after the command line was parsed and before the
// actor system starts its modules.
#include <actorloop/nodes/node.hpp>
#include <actorloop/runtime/detail/config_hooks.hpp>

#include <caf/config_option_adder.hpp>
#include <caf/config_option_set.hpp>
#include <caf/io/middleman.hpp>
#include <caf/timespan.hpp>

#include "settings.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

namespace actorloop::nodes {

namespace {

std::mutex& registrations_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::vector<void (*)(caf::actor_system_config&)>& registrations() {
  static std::vector<void (*)(caf::actor_system_config&)> list;
  return list;
}

void configure(caf::actor_system_config& config, caf::config_option_set& options) {
  config.load<caf::io::middleman>();
  caf::config_option_adder{options, "actorloop.node"}
      .add<std::string>("listen", "listen for other nodes on HOST:PORT (port 0: any free port)")
      .add<std::string>("name", "this node's name, as its peers see it (default node-<pid>)")
      .add<bool>("allow-insecure",
                 "allow listening on a non-loopback address without TLS (BASP is unprotected)")
      .add<caf::timespan>("heartbeat-interval",
                          "send a BASP heartbeat to every peer this often (default 0: none)")
      .add<caf::timespan>("loss-timeout",
                          "declare a peer lost after hearing nothing from it this long "
                          "(default 10 heartbeat intervals)");
  caf::config_option_adder{options, "actorloop.node.tls"}
      .add<std::string>("certificate", "PEM certificate (chain) this node presents (enables TLS)")
      .add<std::string>("key", "PEM private key of the certificate")
      .add<std::string>("passphrase", "passphrase of the private key, if it is encrypted")
      .add<std::string>("ca-file", "PEM file of the CA certificates peers' certificates must chain to");
  detail::add_settings_hook(config);
  std::vector<void (*)(caf::actor_system_config&)> copy;
  {
    std::lock_guard guard{registrations_mutex()};
    copy = registrations();
  }
  for (auto registrar : copy)
    registrar(config);
}

} // namespace

void enable() {
  runtime::detail::add_config_hook(&configure);
}

namespace detail {

void add_type_registration(void (*registrar)(caf::actor_system_config&)) {
  std::lock_guard guard{registrations_mutex()};
  auto& list = registrations();
  if (std::find(list.begin(), list.end(), registrar) == list.end())
    list.push_back(registrar);
}

} // namespace detail

} // namespace actorloop::nodes
