// The directory: the one actor a node publishes. It answers other nodes'
// lookups and carries out their set/push requests on the exported objects.
// BASP runs it on CAF's middleman thread; it only sets events and pushes
// into queues there (non-blocking), so the applets that wait on them run on
// their own schedulers' threads.
#include "core.hpp"
#include "protocol.hpp"
#include "spawn.hpp"

#include <actorloop/runtime/detail/access.hpp>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include <deque>
#include <vector>

namespace actorloop::nodes::detail {

// The port runs the last room callback when it goes, so that pushes parked
// on a withdrawn queue are answered (the directory finds the name gone).
queue_port::~queue_port() {
  if (last_)
    last_();
}

bool queue_port::when_room(std::function<void()> callback) {
  {
    std::lock_guard guard{mutex_};
    last_ = callback;
  }
  return register_room(std::move(callback));
}

namespace {

// Where an answer goes: the promise of a CAF request, or, for a request
// that came over a lane (lane_atom), a message (answer_atom, seq, answer) to
// the lane's actor on the other node.
struct responder {
  caf::response_promise promise;
  caf::actor sink;
  std::uint64_t seq = 0;

  void deliver(caf::message answer) {
    if (sink)
      send_to_remote(sink, nullptr, caf::make_message(answer_atom::value, seq, std::move(answer)));
    else
      promise.deliver(std::move(answer));
  }
};

// A remote push that waits for room: its items from `next` on are not
// queued yet.
struct parked_push {
  caf::message items;
  std::size_t next = 0;
  responder promise;
};

struct parked_queue {
  std::deque<parked_push> pushes; // oldest first: the order they came in
  bool room_asked = false;        // a when_room callback is registered
};

struct directory_state {
  // Remote waiters for exported applets, by export name.
  std::map<std::string, std::vector<caf::response_promise>> awaiting;
  // Remote pushes waiting for room, by queue export name.
  std::map<std::string, parked_queue> parked;
};

using directory_actor = caf::stateful_actor<directory_state>;

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

/// Drops the export of a spawned applet that is gone and whose exit went to
/// a waiter: nobody else learnt its generated name from this node.
void drop_spawned(const std::shared_ptr<core>& state, const std::string& name) {
  export_entry entry;
  {
    std::lock_guard guard{state->mutex};
    auto found = state->exports.find(name);
    if (found == state->exports.end() || !found->second.spawned)
      return;
    entry = std::move(found->second);
    state->exports.erase(found);
  }
  runtime::detail::access::state(entry.applet)->detach(*entry.watch);
}

/// Queues `push.items` from `push.next` on while they fit; returns empty once
/// all are queued, else the reason it stopped (queue_full, closed, ...).
std::error_code push_from(queue_port& port, caf::message& items, std::size_t& next) {
  while (next < items.size()) {
    if (auto code = port.try_push(items, next))
      return code;
    ++next;
  }
  return {};
}

std::string queued_text(std::size_t queued, std::size_t total) {
  if (total == 1)
    return "";
  return " (" + std::to_string(queued) + " of its " + std::to_string(total) +
         " items were queued first)";
}

std::shared_ptr<queue_port> find_queue(const std::shared_ptr<core>& state,
                                       const std::string& name) {
  std::lock_guard guard{state->mutex};
  auto found = state->exports.find(name);
  if (found == state->exports.end() || found->second.kind != object_kind::queue)
    return nullptr;
  return found->second.queue;
}

/// Asks `port` for a room callback for `name`; false if there is room (or
/// the queue closed) now, so the caller tries again at once.
bool ask_room(directory_actor* self, parked_queue& waiting, queue_port& port,
              const std::string& name) {
  if (waiting.room_asked)
    return true;
  // A weak address: the callback may outlive the directory.
  auto callback = [where = caf::actor_cast<caf::actor_addr>(self), name] {
    if (auto directory = caf::actor_cast<caf::actor>(where))
      caf::anon_send(directory, room_atom::value, name);
  };
  if (!port.when_room(callback))
    return false;
  waiting.room_asked = true;
  return true;
}

/// Queues what fits of the pushes parked on `name`, oldest first, answers
/// each that is complete, and asks for room again if some are left. Runs in
/// the directory actor: never blocks.
void drain(directory_actor* self, const std::shared_ptr<core>& state, const std::string& name) {
  auto found = self->state.parked.find(name);
  if (found == self->state.parked.end())
    return;
  auto& waiting = found->second;
  auto port = find_queue(state, name);
  auto fail_all = [&](errc code, const std::string& why) {
    for (auto& push : waiting.pushes)
      push.promise.deliver(refuse(state, code,
                                  "queue '" + name + "' on node '" + state->options.name +
                                      "': " + why + queued_text(push.next, push.items.size())));
    self->state.parked.erase(found);
  };
  if (!port) {
    fail_all(errc::no_such_name, "it was withdrawn while the push waited for room");
    return;
  }
  while (!waiting.pushes.empty()) {
    auto& push = waiting.pushes.front();
    auto code = push_from(*port, push.items, push.next);
    if (!code) {
      push.promise.deliver(reply(state, 0, static_cast<std::int32_t>(push.next), {}, {}));
      waiting.pushes.pop_front();
      continue;
    }
    if (code == errc::queue_full) {
      if (ask_room(self, waiting, *port, name))
        return;
      continue; // room (or a close) came in between: try again
    }
    fail_all(static_cast<errc>(code.value()), code.message());
    return;
  }
  if (!waiting.room_asked)
    self->state.parked.erase(found);
}

caf::message set_event(const std::shared_ptr<core>& state, const std::string& name) {
  runtime::event target;
  {
    std::lock_guard guard{state->mutex};
    auto found = state->exports.find(name);
    if (found == state->exports.end() || found->second.kind != object_kind::event)
      return refuse(state, errc::no_such_name,
                    "node '" + state->options.name + "' exports no event named '" + name + "'");
    target = found->second.event;
  }
  if (target.closed())
    return refuse(state, errc::closed, "event '" + name + "' is closed");
  target.set();
  return reply(state, 0, 0, {}, {});
}

void push_items(directory_actor* self, const std::shared_ptr<core>& state, const std::string& name,
                const std::string& type_name, caf::message& items, bool wait, responder promise) {
  std::shared_ptr<queue_port> port;
  {
    std::lock_guard guard{state->mutex};
    auto found = state->exports.find(name);
    if (found == state->exports.end() || found->second.kind != object_kind::queue) {
      promise.deliver(
          refuse(state, errc::no_such_name,
                 "node '" + state->options.name + "' exports no queue named '" + name + "'"));
      return;
    }
    if (found->second.type_name != type_name) {
      promise.deliver(refuse(state, errc::type_mismatch,
                             "queue '" + name + "' holds '" + found->second.type_name + "', not '" +
                                 type_name + "'"));
      return;
    }
    port = found->second.queue;
  }
  auto where = "queue '" + name + "' on node '" + state->options.name + "': ";
  auto parked = self->state.parked.find(name);
  if (parked != self->state.parked.end() && !parked->second.pushes.empty()) {
    // Earlier pushes wait for room: this one goes behind them (a try_push
    // is refused, as the queue is full).
    if (wait)
      parked->second.pushes.push_back({std::move(items), 0, std::move(promise)});
    else
      promise.deliver(
          refuse(state, errc::queue_full, where + "full, and earlier pushes wait for room"));
    return;
  }
  // try_push never blocks: the middleman thread is never held up.
  std::size_t next = 0;
  auto code = push_from(*port, items, next);
  if (!code) {
    promise.deliver(reply(state, 0, static_cast<std::int32_t>(next), {}, {}));
    return;
  }
  if (code != errc::queue_full || !wait) {
    promise.deliver(refuse(state, static_cast<errc>(code.value()),
                           where + code.message() + queued_text(next, items.size())));
    return;
  }
  auto& waiting = self->state.parked[name];
  waiting.pushes.push_back({std::move(items), next, std::move(promise)});
  if (!ask_room(self, waiting, *port, name))
    drain(self, state, name);
}

} // namespace

void exit_watch::on_ready() noexcept {
  caf::anon_send(directory_, exited_atom::value, name_);
}

caf::actor spawn_directory(const std::shared_ptr<core>& state) {
  // The state travels as a spawn argument: CAF 0.17 dereferences a null
  // argument tuple when a function-based actor is spawned without one.
  return state->system.spawn(
      [](directory_actor* self, std::shared_ptr<core> state) -> caf::behavior {
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
              return set_event(state, name);
            },
            [self, state](push_atom, std::string& name, std::string& type_name, caf::message& items,
                          bool wait) -> caf::response_promise {
              count_in(state, self);
              auto promise = self->make_response_promise();
              push_items(self, state, name, type_name, items, wait, responder{promise, {}, 0});
              return promise;
            },
            [self, state](lane_atom, std::uint64_t seq, caf::message& request) {
              count_in(state, self);
              responder answer{{}, caf::actor_cast<caf::actor>(self->current_sender()), seq};
              if (!answer.sink)
                return;
              if (request.match_elements<set_atom, std::string>()) {
                answer.deliver(set_event(state, request.get_as<std::string>(1)));
              } else if (request.match_elements<push_atom, std::string, std::string, caf::message,
                                                bool>()) {
                push_items(self, state, request.get_mutable_as<std::string>(1),
                           request.get_mutable_as<std::string>(2),
                           request.get_mutable_as<caf::message>(3), request.get_as<bool>(4),
                           std::move(answer));
              } else {
                answer.deliver(refuse(state, errc::not_a_node,
                                      "node '" + state->options.name +
                                          "' does not understand the request " +
                                          caf::to_string(request)));
              }
            },
            [self, state](room_atom, std::string& name) {
              auto found = self->state.parked.find(name);
              if (found == self->state.parked.end())
                return;
              found->second.room_asked = false;
              drain(self, state, name);
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
              if (applet.state() == actors::applet_state::destroyed) {
                promise.deliver(exit_answer(state, applet));
                drop_spawned(state, name);
              } else
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
              if (applet)
                drop_spawned(state, name);
            },
            [self, state](spawn_atom, std::string& type, std::string& scheduler,
                          caf::message& args) -> caf::message {
              count_in(state, self);
              auto outcome = spawn_for_peer(state, type, scheduler, args);
              if (outcome.code)
                return refuse(state, static_cast<errc>(outcome.code.value()),
                              std::move(outcome.text));
              return reply(state, 0, 0, std::move(outcome.name), {});
            },
        };
      },
      state);
}

} // namespace actorloop::nodes::detail
