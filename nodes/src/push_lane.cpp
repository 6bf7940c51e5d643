// The push lane: the one request channel behind a remote queue (or event)
// handle and its copies. One CAF actor per handle sends the pushes to the home node's
// directory in the order they were made (CAF keeps the order of messages
// from one actor to another, and BASP carries them over one connection), so
// a push that waits for room there is never overtaken by a later one. The
// actor monitors the directory (node loss completes every push in flight
// with node_down) and is linked to the node's anchor (node_stopped).
#include "core.hpp"
#include "protocol.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include <map>
#include <vector>

namespace actorloop::nodes::detail {

namespace {

struct outgoing {
  caf::message request;
  std::shared_ptr<pending_state<ack>> result;
  std::string where;
};

/// Shared by the handle side (which appends) and the lane's actor (which
/// sends). Once `ended`, pushes fail at once with the reason it ended.
struct lane_state {
  std::mutex mutex;
  std::vector<outgoing> queued; // made, not yet sent
  bool ended = false;
  std::error_code end_code;
  std::string end_text;

  /// Ends the lane and fails everything not yet sent (any thread).
  void end(std::error_code code, const std::string& text) {
    std::vector<outgoing> left;
    {
      std::lock_guard guard{mutex};
      if (!ended) {
        ended = true;
        end_code = code;
        end_text = text;
      }
      left.swap(queued);
    }
    for (auto& each : left)
      each.result->fail(code, each.where + text);
  }
};

} // namespace

/// What a remote queue handle holds; its destruction lets the actor finish
/// the pushes in flight and quit.
class push_lane {
public:
  push_lane(std::shared_ptr<core> owner, std::shared_ptr<lane_state> shared, caf::actor actor)
      : core_(std::move(owner)), shared_(std::move(shared)), actor_(std::move(actor)) {}
  push_lane(const push_lane&) = delete;
  push_lane& operator=(const push_lane&) = delete;
  ~push_lane() { caf::anon_send(actor_, drop_atom::value); }

  operation send(caf::message request, std::string where) {
    auto result = std::make_shared<pending_state<ack>>();
    if (core_->stopped.load()) {
      result->fail(errc::node_stopped, where + "this node was stopped");
      return operation{result};
    }
    bool first = false;
    std::error_code ended;
    std::string text;
    {
      std::lock_guard guard{shared_->mutex};
      if (shared_->ended) {
        ended = shared_->end_code;
        text = where + shared_->end_text;
      } else {
        first = shared_->queued.empty();
        shared_->queued.push_back({std::move(request), result, std::move(where)});
      }
    }
    if (ended) {
      result->fail(ended, std::move(text));
      return operation{result};
    }
    // One doorbell per batch: the actor takes everything queued at once.
    if (first)
      caf::anon_send(actor_, kick_atom::value);
    return operation{result};
  }

private:
  std::shared_ptr<core> core_;
  std::shared_ptr<lane_state> shared_;
  caf::actor actor_;
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
        // Pushes sent and not yet answered, by sequence number. Touched by
        // this actor only (its handlers and, at its end, its exit functor).
        auto in_flight = std::make_shared<std::map<std::uint64_t, outgoing>>();
        auto sequence = std::make_shared<std::uint64_t>(0);
        auto dropped = std::make_shared<bool>(false);
        auto finish = [self, shared, in_flight, dropped] {
          if (*dropped && in_flight->empty()) {
            std::lock_guard guard{shared->mutex};
            if (shared->queued.empty())
              self->quit();
          }
        };
        auto fail_all = [shared, in_flight](std::error_code code, const std::string& text) {
          shared->end(code, text);
          auto left = std::move(*in_flight);
          in_flight->clear();
          for (auto& [number, each] : left)
            each.result->fail(code, each.where + text);
        };
        // Whatever ends this actor with pushes unanswered (the node's anchor
        // going, the engine shutting down) completes them.
        self->attach_functor([fail_all](const caf::error&) {
          fail_all(errc::node_stopped, "this node was stopped before the answer came");
        });
        self->link_to(state->anchor);
        self->monitor(directory);
        self->set_down_handler([self, directory, fail_all](caf::down_msg& down) {
          if (down.source != directory.address())
            return;
          fail_all(errc::node_down,
                   "the remote node went down (" + self->system().render(down.reason) + ")");
          self->quit();
        });
        return caf::behavior{
            [=](kick_atom) {
              std::vector<outgoing> batch;
              {
                std::lock_guard guard{shared->mutex};
                batch.swap(shared->queued);
              }
              for (auto& each : batch) {
                auto number = (*sequence)++;
                state->stats.messages_out.fetch_add(1, std::memory_order_relaxed);
                state->stats.bytes_out.fetch_add(wire_size(state->system, each.request),
                                                 std::memory_order_relaxed);
                auto request = each.request;
                in_flight->emplace(number, std::move(each));
                self->request(directory, caf::infinite, std::move(request))
                    .then(
                        [=](std::int32_t status, std::int32_t code, std::string& first,
                            std::string& second) {
                          state->stats.messages_in.fetch_add(1, std::memory_order_relaxed);
                          state->stats.bytes_in.fetch_add(
                              wire_size(state->system, caf::make_message(status, code, first,
                                                                         second)),
                              std::memory_order_relaxed);
                          auto found = in_flight->find(number);
                          if (found == in_flight->end())
                            return;
                          auto done = std::move(found->second);
                          in_flight->erase(found);
                          if (status != 0) {
                            state->stats.failures.fetch_add(1, std::memory_order_relaxed);
                            done.result->fail(static_cast<errc>(status), done.where + second);
                          } else {
                            done.result->succeed({});
                          }
                          finish();
                        },
                        [=](caf::error& failure) {
                          auto found = in_flight->find(number);
                          if (found == in_flight->end())
                            return;
                          auto done = std::move(found->second);
                          in_flight->erase(found);
                          state->stats.failures.fetch_add(1, std::memory_order_relaxed);
                          auto text = self->system().render(failure);
                          if (failure == caf::sec::unexpected_message)
                            done.result->fail(errc::not_a_node,
                                              done.where +
                                                  "the remote actor does not understand "
                                                  "actorloop's requests (" +
                                                  text + ")");
                          else
                            done.result->fail(errc::node_down, done.where +
                                                                   "the remote node went down (" +
                                                                   text + ")");
                          finish();
                        });
              }
            },
            [=](drop_atom) {
              *dropped = true;
              finish();
            },
            // Holds itself until it quits (CAF drops the behaviour then):
            // the handle side only holds it through push_lane.
            [keep = caf::actor_cast<caf::actor>(self)](nothing_atom) {},
        };
      },
      state);
  return std::make_shared<push_lane>(state, std::move(shared), std::move(actor));
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
