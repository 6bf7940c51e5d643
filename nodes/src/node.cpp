// The node object: start (directory, anchor, optional listen), exports,
// statistics and stop.
#include "core.hpp"
#include "protocol.hpp"
#include "settings.hpp"

#include <actorloop/runtime/detail/access.hpp>

#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/send.hpp>
#include <caf/settings.hpp>

#include <unistd.h>

namespace actorloop::nodes {

namespace {

template <class T>
T configured(caf::actor_system& system, const char* key, T fallback) {
  return caf::get_or(system.config(), key, fallback);
}

} // namespace

node::node(runtime::engine& engine, node_options options) {
  auto& system = engine.actor_system();
  if (!system.has_middleman())
    throw error(errc::not_enabled,
                "nodes::node: CAF's middleman is not loaded in this engine; call "
                "actorloop::nodes::enable() before constructing the engine");
  if (auto problem = caf::get_if<std::string>(&system.config(), detail::settings_error_key))
    throw error(std::make_error_code(std::errc::invalid_argument),
                "nodes::node: bad actorloop.node options: " + *problem);
  if (options.name.empty())
    options.name = configured<std::string>(system, "actorloop.node.name", "");
  if (options.name.empty())
    options.name = "node-" + std::to_string(::getpid());
  if (options.listen.empty())
    options.listen = configured<std::string>(system, "actorloop.node.listen", "");
  if (!options.allow_insecure)
    options.allow_insecure = configured<bool>(system, "actorloop.node.allow-insecure", false);
  // TLS is on if the settings hook loaded CAF's OpenSSL module, which it
  // does exactly when the actorloop.node.tls.* options are complete.
  bool tls = system.has_openssl_manager();
  if (tls)
    detail::check_tls_files(system.config(), options.name);
  core_ = std::make_shared<detail::core>(engine, std::move(options));
  core_->tls = tls;
  // A spawn argument (the name) because CAF 0.17 dereferences a null
  // argument tuple when a function-based actor is spawned without one.
  core_->anchor =
      system.spawn([](caf::event_based_actor*,
                      std::string) -> caf::behavior { return {[](detail::nothing_atom) {}}; },
                   core_->options.name);
  core_->directory = detail::spawn_directory(core_);
  if (!core_->options.listen.empty()) {
    try {
      auto where = detail::parse_host_port(core_->options.listen);
      listen(where.host, where.port);
    } catch (...) {
      caf::anon_send_exit(core_->directory, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(core_->anchor, caf::exit_reason::user_shutdown);
      throw;
    }
  }
}

node::~node() {
  core_->stopped.store(true);
  if (auto port = core_->port.load())
    (void)core_->system.middleman().unpublish(core_->directory, port);
  std::map<std::string, detail::export_entry> exports;
  {
    std::lock_guard guard{core_->mutex};
    exports.swap(core_->exports);
    core_->connected.clear();
  }
  for (auto& [name, entry] : exports)
    if (entry.watch)
      runtime::detail::access::state(entry.applet)->detach(*entry.watch);
  // Ends every request runner and peer watch (linked to the anchor), which
  // completes their operations with node_stopped, and the directory, whose
  // remote waiters see this node go.
  caf::anon_send_exit(core_->anchor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(core_->directory, caf::exit_reason::user_shutdown);
}

const std::string& node::name() const noexcept {
  return core_->options.name;
}

std::uint16_t node::port() const noexcept {
  return core_->port.load();
}

bool node::tls() const noexcept {
  return core_->tls;
}

std::chrono::milliseconds node::heartbeat_interval() const noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      detail::heartbeat_interval(core_->system.config()));
}

std::chrono::milliseconds node::loss_timeout() const noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      detail::loss_timeout(core_->system.config()));
}

std::uint16_t node::listen(const std::string& host, std::uint16_t port) {
  if (host.empty())
    throw error(errc::bad_address, "node '" + name() + "': listen needs a host");
  if (!detail::is_loopback(host) && !core_->tls && !core_->options.allow_insecure)
    throw error(errc::insecure_listen,
                "node '" + name() + "': refusing to listen on '" + host +
                    "', which is not a loopback address: without TLS, BASP carries every message "
                    "unauthenticated and unencrypted; set allow_insecure "
                    "(--actorloop.node.allow-insecure=true) to do it anyway");
  if (core_->port.load() != 0)
    throw error(errc::listen_failed,
                "node '" + name() + "' listens already on port " + std::to_string(this->port()));
  // With TLS, caf::openssl's middleman actor opens the port: the BASP broker
  // is the same, only the connections it accepts there speak TLS first.
  auto bound = core_->tls ? caf::openssl::publish(core_->directory, port, host.c_str(), false)
                          : core_->system.middleman().publish(core_->directory, port,
                                                              host.c_str(), false);
  if (!bound)
    throw error(errc::listen_failed, "node '" + name() + "': cannot listen on " + host + ":" +
                                         std::to_string(port) + ": " +
                                         core_->system.render(bound.error()));
  core_->port.store(*bound);
  return *bound;
}

void node::export_event(const std::string& name, const runtime::event& event) {
  if (!event)
    throw error(std::make_error_code(std::errc::invalid_argument),
                "export of event '" + name + "': empty event");
  detail::export_entry entry;
  entry.kind = detail::object_kind::event;
  entry.event = event;
  std::lock_guard guard{core_->mutex};
  if (!core_->exports.emplace(name, std::move(entry)).second)
    throw error(errc::name_taken, "node '" + this->name() + "' exports '" + name + "' already");
}

void node::add_queue_export(const std::string& name, std::string type_name,
                            std::shared_ptr<detail::queue_port> port) {
  detail::export_entry entry;
  entry.kind = detail::object_kind::queue;
  entry.type_name = std::move(type_name);
  entry.queue = std::move(port);
  std::lock_guard guard{core_->mutex};
  if (!core_->exports.emplace(name, std::move(entry)).second)
    throw error(errc::name_taken, "node '" + this->name() + "' exports '" + name + "' already");
}

void node::export_applet(const std::string& name, const actors::applet_handle& applet) {
  if (!applet)
    throw error(std::make_error_code(std::errc::invalid_argument),
                "export of applet '" + name + "': empty handle");
  std::lock_guard guard{core_->mutex};
  auto [position, added] = core_->exports.try_emplace(name);
  if (!added)
    throw error(errc::name_taken, "node '" + this->name() + "' exports '" + name + "' already");
  auto& entry = position->second;
  entry.kind = detail::object_kind::applet;
  entry.applet = applet;
  entry.watch = std::make_unique<detail::exit_watch>(core_->directory, name);
  // Under the node's lock, so that a concurrent withdraw cannot free the
  // watch first. No lock-order problem: the watch's on_ready (run here at
  // once for an applet that is gone already) only sends a message.
  (void)runtime::detail::access::state(applet)->attach(*entry.watch);
}

bool node::withdraw(const std::string& name) {
  detail::export_entry entry;
  {
    std::lock_guard guard{core_->mutex};
    auto found = core_->exports.find(name);
    if (found == core_->exports.end())
      return false;
    entry = std::move(found->second);
    core_->exports.erase(found);
  }
  if (entry.watch) {
    runtime::detail::access::state(entry.applet)->detach(*entry.watch);
    // Remote waiters of this applet get no_such_name instead of waiting on.
    caf::anon_send(core_->directory, detail::exited_atom::value, name);
  }
  return true;
}

node_statistics node::statistics() const {
  node_statistics result;
  {
    std::lock_guard guard{core_->mutex};
    result.peers = core_->peers_seen.size();
  }
  auto& stats = core_->stats;
  result.peers_lost = stats.peers_lost.load();
  result.messages_in = stats.messages_in.load();
  result.messages_out = stats.messages_out.load();
  result.bytes_in = stats.bytes_in.load();
  result.bytes_out = stats.bytes_out.load();
  result.lookups_served = stats.lookups_served.load();
  result.lookups_made = stats.lookups_made.load();
  result.failures = stats.failures.load();
  return result;
}

} // namespace actorloop::nodes
