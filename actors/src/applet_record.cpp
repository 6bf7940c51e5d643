#include "applet_record.hpp"

#include "messages.hpp"

#include <actorloop/runtime/detail/grouped_actor.hpp>

#include <caf/actor_cast.hpp>
#include <caf/message.hpp>
#include <caf/message_id.hpp>
#include <caf/send.hpp>

namespace actorloop::actors::detail {

namespace {

/// The applet whose callback runs on this thread (inside its gate), if any.
thread_local applet_record* applet_in_callback = nullptr;

/// Guards every applet_record::waiting_for_ (taken only by a kill that must
/// wait for a callback running on another thread).
std::mutex kill_wait_mutex;

} // namespace

applet_record::applet_record(std::string name, runtime::scheduler home, runtime::engine& owner)
  : waitable_state(runtime::waitable_kind::applet_exit, std::move(name)), home(std::move(home)),
    owner(owner) {}

applet_record::~applet_record() {
  // An applet that never reached its destroy (its spawn failed half-way).
  if (registry)
    registry->remove(*this);
}

void applet_record::send_locked(caf::atom_value kind) noexcept {
  if (auto& target = actor_)
    runtime::detail::grouped_actor::send_to(target.get(), [&] {
      target->enqueue(nullptr, caf::make_message_id(caf::message_priority::high),
                      caf::make_message(kind, std::uint64_t{0}),
                      runtime::detail::current_execution_unit());
    });
}

void applet_record::request_kill(exit_reason reason) noexcept {
  std::lock_guard guard{mutex_};
  if (destroyed_ || kill_requested.load())
    return;
  requested_reason_ = std::move(reason);
  kill_requested.store(true);
  // After kill_requested: whoever finds the gate closed also sees the request.
  gate_.fetch_or(gate_closed);
  // Reported at once, as `ofc_app_destroying` was, even before destroy runs.
  state.store(applet_state::destroying);
  send_locked(kill_atom::value);
}

void applet_record::kill_and_wait_out_callback() {
  request_kill(exit_reason{});
  wait_out_callback();
}

bool applet_record::enter_callback() noexcept {
  auto word = gate_.load(std::memory_order_acquire);
  do {
    if (word & gate_closed)
      return false;
  } while (!gate_.compare_exchange_weak(word, word | callback_running, std::memory_order_acq_rel,
                                        std::memory_order_acquire));
  applet_in_callback = this;
  return true;
}

void applet_record::leave_callback() noexcept {
  applet_in_callback = nullptr;
  auto word = gate_.fetch_and(~(callback_running | killer_waiting), std::memory_order_acq_rel);
  if (word & killer_waiting)
    gate_.notify_all();
}

void applet_record::wait_out_callback() {
  if (applet_in_callback == this)
    return; // Killed from its own callback: it ends when that callback returns.
  if (!(gate_.load(std::memory_order_acquire) & callback_running))
    return;
  // A callback of another applet waits here: record that, unless the target
  // (or one it waits for in turn) is waiting for the caller, which would be a
  // deadlock. Then the caller returns at once and the target's callback goes
  // on; the target's own kill() is the one that waits.
  auto* caller = applet_in_callback;
  if (caller) {
    std::lock_guard guard{kill_wait_mutex};
    for (auto* link = this; link; link = link->waiting_for_)
      if (link == caller)
        return;
    caller->waiting_for_ = this;
  }
  for (auto word = gate_.load(std::memory_order_acquire); word & callback_running;
       word = gate_.load(std::memory_order_acquire)) {
    if (!(word & killer_waiting) &&
        !gate_.compare_exchange_weak(word, word | killer_waiting, std::memory_order_acq_rel,
                                     std::memory_order_acquire))
      continue;
    gate_.wait(word | killer_waiting, std::memory_order_acquire);
  }
  if (caller) {
    std::lock_guard guard{kill_wait_mutex};
    caller->waiting_for_ = nullptr;
  }
}

void applet_record::request_shutdown() noexcept {
  request_kill(exit_reason{runtime::errc::scheduler_shutdown,
                           "applet '" + name() + "': scheduler '" + home.name() +
                             "' stopped"});
}

void applet_record::request_preselect() noexcept {
  std::lock_guard guard{mutex_};
  if (!destroyed_)
    send_locked(preselect_atom::value);
}

void applet_record::finish(exit_reason reason) {
  std::lock_guard guard{mutex_};
  reason_ = std::move(reason);
  destroyed_ = true;
  // Dumps asked for up to now get "" (later ones answer themselves), in the
  // same lock: a request cannot slip in between and wait for ever.
  for (auto& [id, promise] : dumps_)
    promise.set_value({});
  dumps_.clear();
  state.store(applet_state::destroyed);
  actor_ = nullptr;
  signal_locked();
}

exit_reason applet_record::reason() const {
  std::lock_guard guard{mutex_};
  return reason_;
}

exit_reason applet_record::requested_reason() const {
  std::lock_guard guard{mutex_};
  return requested_reason_;
}

std::future<std::string> applet_record::request_dump() {
  std::lock_guard guard{mutex_};
  auto& slot = dumps_[next_dump_++];
  auto result = slot.get_future();
  if (destroyed_)
    slot.set_value({});
  else
    send_locked(dump_atom::value);
  return result;
}

void applet_record::answer_dumps(const std::string& text) {
  std::lock_guard guard{mutex_};
  for (auto& [id, promise] : dumps_)
    promise.set_value(text);
  dumps_.clear();
}

} // namespace actorloop::actors::detail
