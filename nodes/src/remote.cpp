// The client side of remote objects: lookups, remote set, and the watch
// that makes a remote applet handle ready (pushes: push_lane.cpp).
#include "core.hpp"
#include "protocol.hpp"
#include "spawn.hpp"

#include <caf/uniform_type_info_map.hpp>

namespace actorloop::nodes {

namespace detail {

std::string portable_name(const core& state, std::uint16_t number, const std::type_info& type) {
  auto& types = state.system.types();
  const auto& name = types.portable_name(number, &type);
  if (name == types.default_type_name())
    return {};
  return name;
}

std::error_code check_alive(const remote_ref& ref, std::string& message) {
  if (!ref.core || !ref.directory) {
    message = "empty remote handle";
    return std::make_error_code(std::errc::invalid_argument);
  }
  if (ref.core->stopped.load()) {
    message = "this node was stopped";
    return errc::node_stopped;
  }
  return {};
}

void lookup(const remote_ref& peer, std::string name, object_kind kind, std::string type_name,
            std::function<void(std::error_code, std::string, remote_ref)> done) {
  peer.core->stats.lookups_made.fetch_add(1, std::memory_order_relaxed);
  auto where = "lookup of '" + name + "' on node '" + peer.node_name + "': ";
  auto found = peer;
  found.object_name = name;
  run_request(
      peer.core, peer.directory,
      caf::make_message(lookup_atom::value, name, static_cast<std::int32_t>(kind),
                        std::move(type_name)),
      [done, found, where](answer& reply) {
        if (reply.status != 0)
          done(static_cast<errc>(reply.status), where + reply.second, {});
        else
          done({}, {}, found);
      },
      [done, where](std::error_code code, std::string text) { done(code, where + text, {}); });
}

remote_applet watch_applet(remote_ref found) {
  // Watch it until the home node answers that the applet is gone, or the
  // node is lost. The answer is an exit reason either way.
  auto exit = std::make_shared<pending_state<actors::exit_reason>>();
  auto where = "applet '" + found.object_name + "' on node '" + found.node_name + "': ";
  run_request(
      found.core, found.directory, caf::make_message(await_atom::value, found.object_name),
      [exit, where](answer& reply) {
        if (reply.status != 0)
          exit->succeed(actors::exit_reason{static_cast<errc>(reply.status), where + reply.second});
        else
          exit->succeed(make_exit_reason(reply.code, reply.first, reply.second));
      },
      [exit, where](std::error_code code, std::string text) {
        exit->succeed(actors::exit_reason{code, where + text});
      });
  return remote_applet{std::move(found), exit};
}

} // namespace detail

operation remote_event::set() const {
  auto state = std::make_shared<detail::pending_state<ack>>();
  std::string message;
  if (auto code = detail::check_alive(ref_, message)) {
    state->fail(code, message);
    return operation{state};
  }
  auto where = "set of event '" + ref_.object_name + "' on node '" + ref_.node_name + "': ";
  if (lane_)
    return detail::send_on_lane(lane_, caf::make_message(detail::set_atom::value, ref_.object_name),
                                std::move(where));
  detail::run_request(
      ref_.core, ref_.directory, caf::make_message(detail::set_atom::value, ref_.object_name),
      [state, where](detail::answer& reply) {
        if (reply.status != 0)
          state->fail(static_cast<errc>(reply.status), where + reply.second);
        else
          state->succeed({});
      },
      [state, where](std::error_code code, std::string text) { state->fail(code, where + text); });
  return operation{state};
}

actors::exit_reason remote_applet::exit_reason() const {
  if (!state_)
    return {};
  if (auto value = state_->value())
    return *value;
  return {};
}

pending<remote_event> peer::lookup_event(std::string name) const {
  auto state = std::make_shared<detail::pending_state<remote_event>>();
  std::string message;
  if (auto code = detail::check_alive(ref_, message)) {
    state->fail(code, message);
    return pending<remote_event>{state};
  }
  detail::lookup(ref_, std::move(name), detail::object_kind::event, {},
                 [state](std::error_code code, std::string text, remote_ref found) {
                   if (code) {
                     state->fail(code, std::move(text));
                     return;
                   }
                   auto lane = detail::open_lane(found);
                   state->succeed(remote_event{std::move(found), std::move(lane)});
                 });
  return pending<remote_event>{state};
}

pending<remote_applet> peer::lookup_applet(std::string name) const {
  auto state = std::make_shared<detail::pending_state<remote_applet>>();
  std::string message;
  if (auto code = detail::check_alive(ref_, message)) {
    state->fail(code, message);
    return pending<remote_applet>{state};
  }
  detail::lookup(ref_, std::move(name), detail::object_kind::applet, {},
                 [state](std::error_code code, std::string text, remote_ref found) {
                   if (code) {
                     state->fail(code, std::move(text));
                     return;
                   }
                   state->succeed(detail::watch_applet(std::move(found)));
                 });
  return pending<remote_applet>{state};
}

} // namespace actorloop::nodes
