// The request runner: one short-lived CAF actor per remote operation. It
// monitors the remote directory, so that the loss of that node (BASP kills
// the proxy and sends a down message) completes the operation with
// node_down instead of leaving it pending for ever, and it is linked to the
// node's anchor, so that destroying the node ends it with node_stopped.
#include "core.hpp"
#include "protocol.hpp"

#include <caf/binary_serializer.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>

namespace actorloop::nodes::detail {

std::size_t wire_size(caf::actor_system& system, const caf::message& message) {
  std::vector<char> buffer;
  caf::binary_serializer sink{system, buffer};
  auto copy = message;
  if (auto failure = sink(copy))
    return 0;
  return buffer.size();
}

namespace {

struct once {
  std::atomic<bool> done{false};
  std::function<void(answer&)> on_answer;
  std::function<void(std::error_code, std::string)> on_failure;
  std::shared_ptr<core> state;

  void answered(answer& reply) {
    if (done.exchange(true))
      return;
    if (reply.status != 0 && reply.code == 0)
      state->stats.failures.fetch_add(1, std::memory_order_relaxed);
    on_answer(reply);
  }
  void failed(std::error_code code, std::string text) {
    if (done.exchange(true))
      return;
    state->stats.failures.fetch_add(1, std::memory_order_relaxed);
    on_failure(code, std::move(text));
  }
};

} // namespace

void run_request(const std::shared_ptr<core>& state, caf::actor target, caf::message request,
                 std::function<void(answer&)> on_answer,
                 std::function<void(std::error_code, std::string)> on_failure) {
  auto pending = std::make_shared<once>();
  pending->on_answer = std::move(on_answer);
  pending->on_failure = std::move(on_failure);
  pending->state = state;
  if (state->stopped.load()) {
    pending->failed(errc::node_stopped, "this node was stopped");
    return;
  }
  if (!target) {
    pending->failed(errc::node_down, "no remote node");
    return;
  }
  state->stats.messages_out.fetch_add(1, std::memory_order_relaxed);
  state->stats.bytes_out.fetch_add(wire_size(state->system, request), std::memory_order_relaxed);
  // The state travels as a spawn argument: CAF 0.17 dereferences a null
  // argument tuple when a function-based actor is spawned without one.
  state->system.spawn(
      [pending, target, request](caf::event_based_actor* self, std::shared_ptr<core> state) {
        // Whatever ends this actor without an answer (the node's anchor going,
        // the engine shutting down) completes the operation.
        self->attach_functor([pending, state](const caf::error& reason) {
          pending->failed(errc::node_stopped, "this node was stopped before the answer came (" +
                                                  state->system.render(reason) + ")");
        });
        self->link_to(state->anchor);
        self->monitor(target);
        self->set_down_handler([self, pending, target](caf::down_msg& down) {
          if (down.source != target.address())
            return;
          pending->failed(errc::node_down,
                          "the remote node went down (" + self->system().render(down.reason) + ")");
          self->quit();
        });
        self->request(target, caf::infinite, request)
            .then(
                [self, state, pending](std::int32_t status, std::int32_t code, std::string& first,
                                       std::string& second) {
                  state->stats.messages_in.fetch_add(1, std::memory_order_relaxed);
                  state->stats.bytes_in.fetch_add(
                      wire_size(state->system, caf::make_message(status, code, first, second)),
                      std::memory_order_relaxed);
                  answer reply{status, code, std::move(first), std::move(second)};
                  pending->answered(reply);
                  self->quit();
                },
                [self, pending](caf::error& failure) {
                  auto text = self->system().render(failure);
                  if (failure == caf::sec::request_receiver_down)
                    pending->failed(errc::node_down, "the remote node went down (" + text + ")");
                  else if (failure == caf::sec::unexpected_message)
                    pending->failed(errc::not_a_node,
                                    "the remote actor does not understand actorloop's requests (" +
                                        text + ")");
                  else
                    pending->failed(errc::node_down, "the request failed (" + text + ")");
                  self->quit();
                });
        // A strong reference to itself until it quits (CAF drops the behaviour
        // then): nothing else holds this actor while it waits for an answer,
        // and CAF would end an unreferenced actor as unreachable.
        return caf::behavior{[keep = caf::actor_cast<caf::actor>(self)](nothing_atom) {}};
      },
      state);
}

} // namespace actorloop::nodes::detail
