// The push lane: the one request channel behind a remote queue (or event)
// handle and its copies. Requests go to the home node's directory in the
// order they were made: each is sent, under the lane's lock, as one CAF
// actor (the lane's), CAF keeps the order of messages from one sender to
// one receiver, and BASP carries them over one connection. So a push that
// waits for room there is never overtaken by a later one. That actor takes
// the answers, monitors the directory (node loss completes every request in
// flight with node_down) and is linked to the node's anchor (node_stopped).
#include "core.hpp"
#include "protocol.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include <map>
#include <optional>
#include <vector>

namespace actorloop::nodes::detail {

namespace {

struct outgoing {
  std::shared_ptr<pending_state<ack>> result;
  std::string where;
};

/// Shared by the handle side (which sends) and the lane's actor (which
/// takes the answers). Once `ended`, sends fail at once with the reason.
struct lane_state {
  std::mutex mutex;
  std::uint64_t next = 0;
  std::map<std::uint64_t, outgoing> in_flight; // sent, not yet answered
  bool ended = false;
  std::error_code end_code;
  std::string end_text;

  /// Ends the lane and fails everything in flight (any thread).
  void end(std::error_code code, const std::string& text) {
    std::map<std::uint64_t, outgoing> left;
    {
      std::lock_guard guard{mutex};
      if (!ended) {
        ended = true;
        end_code = code;
        end_text = text;
      }
      left.swap(in_flight);
    }
    for (auto& [seq, each] : left)
      each.result->fail(code, each.where + text);
  }

  /// Takes the entry of an answered request; empty if the lane ended first.
  std::optional<outgoing> take(std::uint64_t seq) {
    std::lock_guard guard{mutex};
    auto found = in_flight.find(seq);
    if (found == in_flight.end())
      return std::nullopt;
    auto result = std::move(found->second);
    in_flight.erase(found);
    return result;
  }

  bool idle() {
    std::lock_guard guard{mutex};
    return in_flight.empty();
  }
};

} // namespace

/// What a remote handle holds. The calling thread sends each request to the
/// remote directory itself, as the lane's actor (send_to_remote), so that no
/// thread hop precedes the network; the directory answers that actor with
/// an ordinary message carrying the sequence number.
class push_lane {
public:
  push_lane(std::shared_ptr<core> owner, std::shared_ptr<lane_state> shared, caf::actor actor,
            caf::actor directory)
      : core_(std::move(owner)), shared_(std::move(shared)), actor_(std::move(actor)),
        directory_(std::move(directory)) {}
  push_lane(const push_lane&) = delete;
  push_lane& operator=(const push_lane&) = delete;
  /// The actor finishes the requests in flight, then quits.
  ~push_lane() { caf::anon_send(actor_, drop_atom::value); }

  operation send(caf::message request, std::string where) {
    auto result = std::make_shared<pending_state<ack>>();
    if (core_->stopped.load()) {
      result->fail(errc::node_stopped, where + "this node was stopped");
      return operation{result};
    }
    core_->stats.messages_out.fetch_add(1, std::memory_order_relaxed);
    core_->stats.bytes_out.fetch_add(wire_size(core_->system, request), std::memory_order_relaxed);
    std::error_code ended;
    std::string text;
    {
      // Under the lock, so that the requests of one thread (and of threads
      // taking turns) reach the directory in the order they were made.
      std::lock_guard guard{shared_->mutex};
      if (shared_->ended) {
        ended = shared_->end_code;
        text = where + shared_->end_text;
      } else {
        auto seq = shared_->next++;
        shared_->in_flight.emplace(seq, outgoing{result, std::move(where)});
        send_to_remote(directory_, caf::actor_cast<caf::strong_actor_ptr>(actor_),
                       caf::make_message(lane_atom::value, seq, std::move(request)));
      }
    }
    if (ended)
      result->fail(ended, std::move(text));
    return operation{result};
  }

private:
  std::shared_ptr<core> core_;
  std::shared_ptr<lane_state> shared_;
  caf::actor actor_;
  caf::actor directory_;
};

std::shared_ptr<push_lane> open_lane(const remote_ref& target) {
  auto shared = std::make_shared<lane_state>();
  auto state = target.core;
  if (state->stopped.load() || !target.directory)
    shared->end(errc::node_stopped, "this node was stopped");
  auto directory = target.directory;
  // The state travels as a spawn argument: CAF 0.17 dereferences a null
  // argument tuple when a function-based actor is spawned without one.
  auto actor = state->system.spawn(
      [shared, directory](caf::event_based_actor* self, std::shared_ptr<core> state) {
        auto dropped = std::make_shared<bool>(false);
        // Whatever ends this actor with requests unanswered (the node's
        // anchor going, the engine shutting down) completes them.
        self->attach_functor([shared](const caf::error&) {
          shared->end(errc::node_stopped, "this node was stopped before the answer came");
        });
        self->link_to(state->anchor);
        self->monitor(directory);
        self->set_down_handler([self, shared, directory](caf::down_msg& down) {
          if (down.source != directory.address())
            return;
          shared->end(errc::node_down,
                      "the remote node went down (" + self->system().render(down.reason) + ")");
          self->quit();
        });
        return caf::behavior{
            [self, shared, state, dropped](answer_atom, std::uint64_t seq, caf::message& reply) {
              state->stats.messages_in.fetch_add(1, std::memory_order_relaxed);
              state->stats.bytes_in.fetch_add(wire_size(state->system, reply),
                                              std::memory_order_relaxed);
              auto done = shared->take(seq);
              if (done) {
                if (!reply.match_elements<std::int32_t, std::int32_t, std::string, std::string>()) {
                  state->stats.failures.fetch_add(1, std::memory_order_relaxed);
                  done->result->fail(errc::not_a_node, done->where + "the remote node answered " +
                                                           caf::to_string(reply));
                } else if (auto status = reply.get_as<std::int32_t>(0); status != 0) {
                  state->stats.failures.fetch_add(1, std::memory_order_relaxed);
                  done->result->fail(static_cast<errc>(status),
                                     done->where + reply.get_as<std::string>(3));
                } else {
                  done->result->succeed({});
                }
              }
              if (*dropped && shared->idle())
                self->quit();
            },
            [self, shared, dropped](drop_atom) {
              *dropped = true;
              if (shared->idle())
                self->quit();
            },
            // Holds itself until it quits (CAF drops the behaviour then):
            // the handle side only holds it through push_lane.
            [keep = caf::actor_cast<caf::actor>(self)](nothing_atom) {},
        };
      },
      state);
  return std::make_shared<push_lane>(state, std::move(shared), std::move(actor), directory);
}

operation send_on_lane(const std::shared_ptr<push_lane>& lane, caf::message request,
                       std::string where) {
  return lane->send(std::move(request), std::move(where));
}

operation push(const std::shared_ptr<push_lane>& lane, const remote_ref& target,
               const std::string& type_name, caf::message items, bool wait) {
  auto where = "push to queue '" + target.object_name + "' on node '" + target.node_name + "': ";
  if (!lane) {
    auto result = std::make_shared<pending_state<ack>>();
    result->fail(std::make_error_code(std::errc::invalid_argument), where + "empty remote handle");
    return operation{result};
  }
  if (items.empty()) {
    auto result = std::make_shared<pending_state<ack>>();
    result->succeed({});
    return operation{result};
  }
  return lane->send(
      caf::make_message(push_atom::value, target.object_name, type_name, std::move(items), wait),
      std::move(where));
}

} // namespace actorloop::nodes::detail
