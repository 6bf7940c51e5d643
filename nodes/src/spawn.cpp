// Remote spawn: the registry of applet types and both sides of a spawn
// request. A spawn is a request to the home node's directory, not CAF's
// remote_spawn: CAF's spawn server makes CAF actors on CAF's scheduler
// through factories that know nothing of this engine's named schedulers
// (docs/nodes.md, "Remote spawn").
#include "spawn.hpp"
#include "protocol.hpp"

#include <actorloop/runtime/detail/access.hpp>

#include <map>
#include <mutex>

namespace actorloop::nodes {

namespace detail {

namespace {

struct applet_types {
  std::mutex mutex;
  std::map<std::string, applet_factory> by_name;
  std::map<std::string, std::string> names_by_type; // type_info::name() -> name
};

applet_types& registry() {
  static applet_types instance;
  return instance;
}

} // namespace

void add_applet_type(const char* name, const std::type_info& type, applet_factory make) {
  auto& types = registry();
  std::lock_guard guard{types.mutex};
  types.by_name[name] = make;
  types.names_by_type[type.name()] = name;
}

std::string applet_type_name(const std::type_info& type) {
  auto& types = registry();
  std::lock_guard guard{types.mutex};
  auto found = types.names_by_type.find(type.name());
  return found == types.names_by_type.end() ? std::string{} : found->second;
}

applet_factory find_applet_type(const std::string& name) {
  auto& types = registry();
  std::lock_guard guard{types.mutex};
  auto found = types.by_name.find(name);
  return found == types.by_name.end() ? nullptr : found->second;
}

spawn_outcome spawn_for_peer(const std::shared_ptr<core>& state, const std::string& type,
                             const std::string& scheduler, caf::message& args) {
  auto where = "spawn of applet type '" + type + "' on scheduler '" + scheduler + "' of node '" +
               state->options.name + "': ";
  auto make = find_applet_type(type);
  if (!make)
    return {
        errc::unknown_applet_type, where + "no applet type of that name is registered there", {}};
  auto target = state->engine.find_scheduler(scheduler);
  if (!target)
    return {errc::no_such_scheduler, where + "that node has no scheduler of that name", {}};
  std::unique_ptr<actors::applet> body;
  std::string problem;
  try {
    body = make(args, problem);
  } catch (const std::exception& failure) {
    return {errc::spawn_failed, where + "its constructor threw: " + failure.what(), {}};
  }
  if (!body)
    return {errc::bad_spawn_arguments, where + problem, {}};
  static std::atomic<std::uint64_t> next{1};
  auto name = "spawned:" + type + "#" + std::to_string(next.fetch_add(1));
  actors::applet_handle applet;
  try {
    applet = actors::spawn_applet(state->engine, *target, std::move(body), name);
  } catch (const std::exception& failure) {
    return {errc::spawn_failed, where + failure.what(), {}};
  }
  std::lock_guard guard{state->mutex};
  auto& entry = state->exports[name];
  entry.kind = object_kind::applet;
  entry.applet = applet;
  entry.spawned = true;
  entry.watch = std::make_unique<exit_watch>(state->directory, name);
  // Under the node's lock, as export_applet does: the watch's on_ready only
  // sends a message.
  (void)runtime::detail::access::state(applet)->attach(*entry.watch);
  return {{}, {}, name};
}

} // namespace detail

pending<remote_applet> peer::spawn(std::string type_name, std::string scheduler,
                                   caf::message args) const {
  auto state = std::make_shared<detail::pending_state<remote_applet>>();
  std::string message;
  if (auto code = detail::check_alive(ref_, message)) {
    state->fail(code, message);
    return pending<remote_applet>{state};
  }
  auto where = "spawn of applet type '" + type_name + "' on scheduler '" + scheduler +
               "' of node '" + ref_.node_name + "': ";
  auto found = ref_;
  detail::run_request(
      ref_.core, ref_.directory,
      caf::make_message(detail::spawn_atom::value, std::move(type_name), std::move(scheduler),
                        std::move(args)),
      [state, found, where](detail::answer& reply) mutable {
        if (reply.status != 0) {
          // The home node's text names type, scheduler and node already.
          state->fail(static_cast<errc>(reply.status), reply.second);
          return;
        }
        found.object_name = reply.first;
        state->succeed(detail::watch_applet(std::move(found)));
      },
      [state, where](std::error_code code, std::string text) { state->fail(code, where + text); });
  return pending<remote_applet>{state};
}

pending<remote_applet> peer::unknown_applet_type(const char* type) const {
  auto state = std::make_shared<detail::pending_state<remote_applet>>();
  state->fail(errc::unknown_applet_type,
              std::string{"spawn on node '"} + ref_.node_name + "': the applet type " + type +
                  " is not registered in this process (nodes::register_applet_type)");
  return pending<remote_applet>{state};
}

} // namespace actorloop::nodes
