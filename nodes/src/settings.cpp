// Turns the actorloop.node.* heartbeat and TLS options into the settings CAF
// reads when the actor system starts. CAF 0.17 parses the command line
// before it constructs the actor system, and runs thread hooks' init() at
// the very start of that constructor, before it creates the modules: the
// one point where parsed options can still change what the middleman (its
// heartbeat, read once by the BASP broker at start) and the OpenSSL module
// (loaded only if TLS is configured) will see.
#include "settings.hpp"

#include <caf/actor_system.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/thread_hook.hpp>

#include <chrono>

namespace actorloop::nodes::detail {

namespace {

std::string render(caf::timespan value) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(value).count()) +
         "ms";
}

void translate_heartbeat(caf::actor_system_config& config, std::string& problems) {
  // Off unless asked for: CAF 0.17.6's tick can close a new outgoing
  // connection whose handshake is still under way (docs/nodes.md).
  caf::timespan interval{0};
  if (auto value = caf::get_if<caf::timespan>(&config, "actorloop.node.heartbeat-interval"))
    interval = *value;
  else if (auto fallback = caf::get_if<caf::timespan>(&config, "middleman.heartbeat-interval"))
    interval = *fallback;
  caf::timespan timeout = interval * 10;
  bool timeout_given = false;
  if (auto value = caf::get_if<caf::timespan>(&config, "actorloop.node.loss-timeout")) {
    timeout = *value;
    timeout_given = true;
  } else if (auto fallback = caf::get_if<caf::timespan>(&config, "middleman.connection-timeout")) {
    timeout = *fallback;
    timeout_given = true;
  }
  if (interval.count() < 0 || timeout.count() < 0) {
    problems += "heartbeat-interval and loss-timeout must not be negative; ";
    return;
  }
  if (interval.count() == 0 && timeout_given && timeout.count() > 0) {
    problems += "loss-timeout " + render(timeout) +
                " needs heartbeats (heartbeat-interval is 0): without them an idle peer would "
                "be declared lost; ";
    return;
  }
  if (interval.count() > 0 && timeout <= interval) {
    problems += "loss-timeout " + render(timeout) + " must be longer than heartbeat-interval " +
                render(interval) + "; ";
    return;
  }
  caf::put(config.content, "middleman.heartbeat-interval", interval);
  caf::put(config.content, "middleman.connection-timeout",
           interval.count() > 0 ? timeout : caf::timespan{0});
}

void translate_tls(caf::actor_system_config& config, std::string& problems) {
  auto certificate = caf::get_or(config, "actorloop.node.tls.certificate", "");
  auto key = caf::get_or(config, "actorloop.node.tls.key", "");
  auto passphrase = caf::get_or(config, "actorloop.node.tls.passphrase", "");
  auto ca_file = caf::get_or(config, "actorloop.node.tls.ca-file", "");
  if (certificate.empty() && key.empty() && passphrase.empty() && ca_file.empty())
    return;
  std::string missing;
  for (auto [value, name] : {std::pair{&certificate, "certificate"}, std::pair{&key, "key"},
                             std::pair{&ca_file, "ca-file"}})
    if (value->empty())
      missing += std::string{missing.empty() ? "" : ", "} + "--actorloop.node.tls." + name;
  if (!missing.empty()) {
    problems += "TLS needs a certificate, its key and a CA file to verify peers with; missing: " +
                missing + "; ";
    return;
  }
  config.openssl_certificate = certificate;
  config.openssl_key = key;
  config.openssl_passphrase = passphrase;
  config.openssl_cafile = ca_file;
  config.load<caf::openssl::manager>();
}

class settings_hook final : public caf::thread_hook {
public:
  void init(caf::actor_system& system) override {
    // The configuration is the engine's own (non-const) object; CAF hands
    // it out as const once the system runs, and this runs before that.
    auto& config = const_cast<caf::actor_system_config&>(system.config());
    std::string problems;
    translate_heartbeat(config, problems);
    translate_tls(config, problems);
    if (!problems.empty()) {
      problems.resize(problems.size() - 2);
      caf::put(config.content, settings_error_key, problems);
    }
  }
  void thread_started() override {}
  void thread_terminates() override {}
};

} // namespace

void add_settings_hook(caf::actor_system_config& config) {
  config.add_thread_hook<settings_hook>();
}

caf::timespan heartbeat_interval(const caf::actor_system_config& config) {
  return caf::get_or(config, "middleman.heartbeat-interval", caf::timespan{0});
}

caf::timespan loss_timeout(const caf::actor_system_config& config) {
  return caf::get_or(config, "middleman.connection-timeout", caf::timespan{0});
}

} // namespace actorloop::nodes::detail
