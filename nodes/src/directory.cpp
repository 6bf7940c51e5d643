// The directory: the one actor a node publishes. It answers other nodes'
// lookups and carries out their set/push requests on the exported objects.
// BASP runs it on CAF's middleman thread; it only sets events and pushes
// into queues there (non-blocking), so the applets that wait on them run on
// their own schedulers' threads.
#include "core.hpp"
#include "protocol.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include <vector>

namespace actorloop::nodes::detail {

namespace {

struct directory_state {
  // Remote waiters for exported applets, by export name.
  std::map<std::string, std::vector<caf::response_promise>> awaiting;
};

caf::message reply(const std::shared_ptr<core>& state, std::int32_t status, std::int32_t code,
                   std::string first, std::string second) {
  if (status != 0)
    state->stats.failures.fetch_add(1, std::memory_order_relaxed);
  auto message = caf::make_message(status, code, std::move(first), std::move(second));
  state->stats.messages_out.fetch_add(1, std::memory_order_relaxed);
  state->stats.bytes_out.fetch_add(wire_size(state->system, message), std::memory_order_relaxed);
  return message;
}

caf::message refuse(const std::shared_ptr<core>& state, errc code, std::string text) {
  return reply(state, static_cast<std::int32_t>(code), 0, {}, std::move(text));
}

const char* kind_name(object_kind kind) {
  switch (kind) {
  case object_kind::event:
    return "an event";
  case object_kind::queue:
    return "a wait queue";
  case object_kind::applet:
    return "an applet";
  }
  return "an unknown kind";
}

void count_in(const std::shared_ptr<core>& state, caf::event_based_actor* self) {
  state->stats.messages_in.fetch_add(1, std::memory_order_relaxed);
  state->stats.bytes_in.fetch_add(
      wire_size(state->system, self->current_mailbox_element()->copy_content_to_message()),
      std::memory_order_relaxed);
  if (auto sender = self->current_sender())
    state->saw_peer(sender->node());
}

/// The reason to send to remote waiters of a destroyed applet.
caf::message exit_answer(const std::shared_ptr<core>& state, const actors::applet_handle& applet) {
  auto reason = applet.exit_reason();
  if (reason.is_normal())
    return reply(state, 0, 0, {}, {});
  return reply(state, 0, reason.code().value(), reason.code().category().name(), reason.message());
}

} // namespace

void exit_watch::on_ready() noexcept {
  caf::anon_send(directory_, exited_atom::value, name_);
}

caf::actor spawn_directory(const std::shared_ptr<core>& state) {
  // The state travels as a spawn argument: CAF 0.17 dereferences a null
  // argument tuple when a function-based actor is spawned without one.
  return state->system.spawn(
      [](caf::stateful_actor<directory_state>* self, std::shared_ptr<core> state) -> caf::behavior {
        return {
            [self, state](lookup_atom, std::string& name, std::int32_t kind,
                          std::string& type_name) -> caf::message {
              count_in(state, self);
              state->stats.lookups_served.fetch_add(1, std::memory_order_relaxed);
              std::lock_guard guard{state->mutex};
              auto found = state->exports.find(name);
              if (found == state->exports.end())
                return refuse(state, errc::no_such_name,
                              "node '" + state->options.name + "' exports nothing named '" + name +
                                  "'");
              auto& entry = found->second;
              if (static_cast<std::int32_t>(entry.kind) != kind)
                return refuse(state, errc::wrong_kind,
                              "'" + name + "' on node '" + state->options.name + "' is " +
                                  kind_name(entry.kind) + ", not " +
                                  kind_name(static_cast<object_kind>(kind)));
              if (entry.kind == object_kind::queue && entry.type_name != type_name)
                return refuse(state, errc::type_mismatch,
                              "queue '" + name + "' on node '" + state->options.name + "' holds '" +
                                  entry.type_name + "', not '" + type_name + "'");
              return reply(state, 0, kind, entry.type_name, {});
            },
            [self, state](ident_atom) -> caf::message {
              count_in(state, self);
              return reply(state, 0, 0, state->options.name, {});
            },
            [self, state](set_atom, std::string& name) -> caf::message {
              count_in(state, self);
              runtime::event target;
              {
                std::lock_guard guard{state->mutex};
                auto found = state->exports.find(name);
                if (found == state->exports.end() || found->second.kind != object_kind::event)
                  return refuse(state, errc::no_such_name,
                                "node '" + state->options.name + "' exports no event named '" +
                                    name + "'");
                target = found->second.event;
              }
              if (target.closed())
                return refuse(state, errc::closed, "event '" + name + "' is closed");
              target.set();
              return reply(state, 0, 0, {}, {});
            },
            [self, state](push_atom, std::string& name, std::string& type_name,
                          caf::message& item) -> caf::message {
              count_in(state, self);
              std::function<std::error_code(caf::message&)> push;
              {
                std::lock_guard guard{state->mutex};
                auto found = state->exports.find(name);
                if (found == state->exports.end() || found->second.kind != object_kind::queue)
                  return refuse(state, errc::no_such_name,
                                "node '" + state->options.name + "' exports no queue named '" +
                                    name + "'");
                if (found->second.type_name != type_name)
                  return refuse(state, errc::type_mismatch,
                                "queue '" + name + "' holds '" + found->second.type_name +
                                    "', not '" + type_name + "'");
                push = found->second.push;
              }
              // try_push never blocks: the middleman thread is never held up.
              if (auto code = push(item))
                return refuse(state, static_cast<errc>(code.value()),
                              "queue '" + name + "' on node '" + state->options.name +
                                  "': " + code.message());
              return reply(state, 0, 0, {}, {});
            },
            [self, state](await_atom, std::string& name) -> caf::response_promise {
              count_in(state, self);
              auto promise = self->make_response_promise();
              actors::applet_handle applet;
              {
                std::lock_guard guard{state->mutex};
                auto found = state->exports.find(name);
                if (found == state->exports.end() || found->second.kind != object_kind::applet) {
                  promise.deliver(refuse(state, errc::no_such_name,
                                         "node '" + state->options.name +
                                             "' exports no applet named '" + name + "'"));
                  return promise;
                }
                applet = found->second.applet;
              }
              if (applet.state() == actors::applet_state::destroyed)
                promise.deliver(exit_answer(state, applet));
              else
                self->state.awaiting[name].push_back(promise);
              return promise;
            },
            [self, state](exited_atom, std::string& name) {
              auto waiting = self->state.awaiting.find(name);
              if (waiting == self->state.awaiting.end())
                return;
              actors::applet_handle applet;
              {
                std::lock_guard guard{state->mutex};
                auto found = state->exports.find(name);
                if (found != state->exports.end())
                  applet = found->second.applet;
              }
              for (auto& promise : waiting->second)
                promise.deliver(applet ? exit_answer(state, applet)
                                       : refuse(state, errc::no_such_name,
                                                "applet '" + name + "' was withdrawn"));
              self->state.awaiting.erase(waiting);
            },
        };
      },
      state);
}

} // namespace actorloop::nodes::detail
