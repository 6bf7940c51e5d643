// connect(): BASP connection through the middleman actor, then an identity
// request to the directory published there, then one watch per peer that
// sets the peer's down event when the link is lost.
#include "core.hpp"
#include "protocol.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/sec.hpp>

#include <algorithm>
#include <chrono>
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

/// One connect() in its actor: the BASP connection, then the identity
/// request.
struct connect_job : std::enable_shared_from_this<connect_job> {
  caf::event_based_actor* self = nullptr;
  std::shared_ptr<detail::core> state;
  std::shared_ptr<detail::pending_state<peer>> result;
  std::string where;
  std::string host;
  std::uint16_t port = 0;
  std::chrono::steady_clock::time_point deadline;

  caf::duration left() const {
    auto rest = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return caf::duration{std::max(rest, std::chrono::milliseconds{1})};
  }

  void attempt() {
    // With TLS, caf::openssl's middleman actor makes the connection (TLS
    // handshake first, then BASP's) for the same BASP broker.
    auto middleman = state->tls ? state->system.openssl_manager().actor_handle()
                                : state->system.middleman().actor_handle();
    auto job = shared_from_this();
    self->request(middleman, left(), caf::connect_atom::value, host, port)
        .then(
            [job](const caf::node_id& id, caf::strong_actor_ptr& found,
                  const std::set<std::string>&) { job->connected(id, found); },
            [job](caf::error& failure) {
              // CAF 0.17.6's BASP broker gives a new outgoing connection a
              // last-seen time of zero until the first bytes of the other
              // side's handshake arrive: a heartbeat tick in between closes
              // it with connection_timeout although nothing timed out. A
              // slow handshake (TLS, a loaded machine) hits that; try again
              // until connect_timeout is over.
              if (failure == caf::sec::connection_timeout &&
                  std::chrono::steady_clock::now() < job->deadline) {
                job->attempt();
                return;
              }
              job->state->stats.failures.fetch_add(1, std::memory_order_relaxed);
              job->result->fail(errc::connect_failed, job->where +
                                                          job->self->system().render(failure) +
                                                          handshake_hint(*job->state, failure));
              job->self->quit();
            });
  }

  void connected(const caf::node_id& id, caf::strong_actor_ptr& found) {
    if (!found) {
      result->fail(errc::not_a_node, where + "a CAF node answered, but publishes no actor");
      self->quit();
      return;
    }
    auto directory = caf::actor_cast<caf::actor>(found);
    // Ask the published actor who it is; anything but an actorloop
    // directory refuses or ignores it.
    auto job = shared_from_this();
    // Its own full timeout: retried connects may have used up most of the
    // first one.
    self->request(directory, caf::duration{state->options.connect_timeout},
                  detail::ident_atom::value)
        .then(
            [job, id, directory](std::int32_t, std::int32_t, std::string& name, std::string&) {
              job->result->succeed(adopt(job->state, id, directory, std::move(name)));
              job->self->quit();
            },
            [job](caf::error& failure) {
              job->result->fail(errc::not_a_node,
                                job->where +
                                    "the actor published there is not an actorloop node (" +
                                    job->self->system().render(failure) + ")");
              job->self->quit();
            });
  }
};

} // namespace

pending<peer> node::connect(const std::string& host, std::uint16_t port) {
  auto result = std::make_shared<detail::pending_state<peer>>();
  if (core_->stopped.load()) {
    result->fail(errc::node_stopped, "this node was stopped");
    return pending<peer>{result};
  }
  auto state = core_;
  auto where = "connect to " + host + ":" + std::to_string(port) + ": ";
  auto timeout = state->options.connect_timeout;
  state->system.spawn(
      [result, where, host, port, timeout](caf::event_based_actor* self,
                                           std::shared_ptr<detail::core> state) {
        self->attach_functor([result, where](const caf::error&) {
          result->fail(errc::node_stopped, where + "this node was stopped first");
        });
        self->link_to(state->anchor);
        auto job = std::make_shared<connect_job>();
        job->self = self;
        job->state = state;
        job->result = result;
        job->where = where;
        job->host = host;
        job->port = port;
        job->deadline = std::chrono::steady_clock::now() + timeout;
        job->attempt();
        // Holds itself until it quits (CAF drops the behaviour then): nothing
        // else refers to it, and CAF would end an unreferenced actor.
        return caf::behavior{[keep = caf::actor_cast<caf::actor>(self)](detail::nothing_atom) {}};
      },
      state);
  return pending<peer>{result};
}

} // namespace actorloop::nodes
