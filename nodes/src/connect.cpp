// connect(): BASP connection through the middleman actor, then an identity
// request to the directory published there, then one watch per peer that
// sets the peer's down event when the link is lost.
#include "core.hpp"
#include "protocol.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/sec.hpp>
#include <caf/openssl/manager.hpp>

// CAF 0.17 dereferences a null argument tuple when a function-based actor
// is spawned without arguments (UBSan: reference binding to null pointer in
// init_fun_factory), so every spawn here passes the node's state as one.

namespace actorloop::nodes {

namespace {

/// A hint for the failures a TLS mismatch causes: a TLS client gets a
/// broken handshake from a plain node; a plain client waits for a BASP
/// handshake that a TLS node never sends (it waits for a TLS hello).
std::string handshake_hint(const detail::core& state, const caf::error& failure) {
  if (failure != caf::sec::request_timeout && failure != caf::sec::connection_timeout &&
      failure != caf::sec::disconnect_during_handshake &&
      failure != caf::sec::cannot_connect_to_node && failure != caf::sec::runtime_error)
    return {};
  return state.tls ? " (this node uses TLS: the other node must use TLS too, with a certificate "
                     "from a CA in this node's CA file, and trust this node's CA)"
                   : " (no BASP handshake came: if the other node uses TLS, this node must use "
                     "TLS too, --actorloop.node.tls.*)";
}

/// Returns the peer for `id`, making it (and its watch) on first sight.
peer adopt(const std::shared_ptr<detail::core>& state, const caf::node_id& id, caf::actor directory,
           std::string name) {
  runtime::event down{runtime::reset_mode::manual, "nodes.peer-down"};
  peer made{remote_ref{state, directory, std::move(name), {}}, down};
  {
    std::lock_guard guard{state->mutex};
    state->peers_seen.insert(id);
    auto found = state->connected.find(id);
    if (found != state->connected.end())
      return found->second;
    state->connected.emplace(id, made);
  }
  state->system.spawn(
      [id, directory, down](caf::event_based_actor* self, std::shared_ptr<detail::core> state) {
        self->link_to(state->anchor);
        self->monitor(directory);
        self->set_down_handler([self, state, id, down](caf::down_msg&) {
          state->stats.peers_lost.fetch_add(1, std::memory_order_relaxed);
          {
            std::lock_guard guard{state->mutex};
            state->connected.erase(id);
          }
          auto bell = down; // set() is not const; the handle shares the event
          bell.set();
          self->quit();
        });
        // Holds itself until it quits (CAF drops the behaviour then): nothing
        // else refers to it, and CAF would end an unreferenced actor.
        return caf::behavior{[keep = caf::actor_cast<caf::actor>(self)](detail::nothing_atom) {}};
      },
      state);
  return made;
}

} // namespace

pending<peer> node::connect(const std::string& host, std::uint16_t port) {
  auto result = std::make_shared<detail::pending_state<peer>>();
  if (core_->stopped.load()) {
    result->fail(errc::node_stopped, "this node was stopped");
    return pending<peer>{result};
  }
  auto state = core_;
  auto where = "connect to " + host + ":" + std::to_string(port) + ": ";
  auto timeout = caf::duration{state->options.connect_timeout};
  state->system.spawn(
      [result, where, host, port, timeout](caf::event_based_actor* self,
                                           std::shared_ptr<detail::core> state) {
        self->attach_functor([result, where](const caf::error&) {
          result->fail(errc::node_stopped, where + "this node was stopped first");
        });
        self->link_to(state->anchor);
        // With TLS, caf::openssl's middleman actor makes the connection
        // (TLS handshake first, then BASP's) for the same BASP broker.
        auto middleman = state->tls ? state->system.openssl_manager().actor_handle()
                                    : state->system.middleman().actor_handle();
        self->request(middleman, timeout, caf::connect_atom::value, host, port)
            .then(
                [self, state, result, where, timeout](const caf::node_id& id,
                                                      caf::strong_actor_ptr& found,
                                                      const std::set<std::string>&) {
                  if (!found) {
                    result->fail(errc::not_a_node,
                                 where + "a CAF node answered, but publishes no actor");
                    self->quit();
                    return;
                  }
                  auto directory = caf::actor_cast<caf::actor>(found);
                  // Ask the published actor who it is; anything but an actorloop
                  // directory refuses or ignores it.
                  self->request(directory, timeout, detail::ident_atom::value)
                      .then(
                          [self, state, result, id, directory](std::int32_t, std::int32_t,
                                                               std::string& name, std::string&) {
                            result->succeed(adopt(state, id, directory, std::move(name)));
                            self->quit();
                          },
                          [self, result, where](caf::error& failure) {
                            result->fail(
                                errc::not_a_node,
                                where + "the actor published there is not an actorloop node (" +
                                    self->system().render(failure) + ")");
                            self->quit();
                          });
                },
                [self, state, result, where](caf::error& failure) {
                  state->stats.failures.fetch_add(1, std::memory_order_relaxed);
                  result->fail(errc::connect_failed, where + self->system().render(failure) +
                                                         handshake_hint(*state, failure));
                  self->quit();
                });
        // Holds itself until it quits (CAF drops the behaviour then): nothing
        // else refers to it, and CAF would end an unreferenced actor.
        return caf::behavior{[keep = caf::actor_cast<caf::actor>(self)](detail::nothing_atom) {}};
      },
      state);
  return pending<peer>{result};
}

} // namespace actorloop::nodes
