// The client side of remote objects: lookups, remote set and try_push, and
// the watch that makes a remote applet handle ready.
#include "core.hpp"
#include "protocol.hpp"

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

operation push(const remote_ref& target, std::string type_name, caf::message item) {
  auto state = std::make_shared<pending_state<ack>>();
  std::string message;
  if (auto code = check_alive(target, message)) {
    state->fail(code, message);
    return operation{state};
  }
  auto where = "push to queue '" + target.object_name + "' on node '" + target.node_name + "': ";
  run_request(
      target.core, target.directory,
      caf::make_message(push_atom::value, target.object_name, std::move(type_name),
                        std::move(item)),
      [state, where](answer& reply) {
        if (reply.status != 0)
          state->fail(static_cast<errc>(reply.status), where + reply.second);
        else
          state->succeed({});
      },
      [state, where](std::error_code code, std::string text) { state->fail(code, where + text); });
  return operation{state};
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
                   if (code)
                     state->fail(code, std::move(text));
                   else
                     state->succeed(remote_event{std::move(found)});
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
  detail::lookup(
      ref_, std::move(name), detail::object_kind::applet, {},
      [state](std::error_code code, std::string text, remote_ref found) {
        if (code) {
          state->fail(code, std::move(text));
          return;
        }
        // Found: watch it until the home node answers that the applet is gone,
        // or the node is lost. The answer is an exit reason either way.
        auto exit = std::make_shared<detail::pending_state<actors::exit_reason>>();
        auto where = "applet '" + found.object_name + "' on node '" + found.node_name + "': ";
        detail::run_request(
            found.core, found.directory,
            caf::make_message(detail::await_atom::value, found.object_name),
            [exit, where](detail::answer& reply) {
              if (reply.status != 0)
                exit->succeed(
                    actors::exit_reason{static_cast<errc>(reply.status), where + reply.second});
              else
                exit->succeed(detail::make_exit_reason(reply.code, reply.first, reply.second));
            },
            [exit, where](std::error_code code, std::string text) {
              exit->succeed(actors::exit_reason{code, where + text});
            });
        state->succeed(remote_applet{std::move(found), exit});
      });
  return pending<remote_applet>{state};
}

} // namespace actorloop::nodes
