// connection: the public face of a framed-protocol connection. Properties
// and callbacks live in the core state; operations start through the core
// (busy rule, modes) and run on the framed protocol's link.
#include "connection_link.hpp"

#include <algorithm>
#include <future>
#include <typeinfo>

namespace actorloop::netio {

namespace {

/// Takes one finished result out of the connection (lock held), keeping the
/// held bytes, the waitables and backpressure in step.
result take_finished_locked(connection::state& state, std::deque<result>::iterator which) {
  auto taken = std::move(*which);
  state.finished.erase(which);
  std::size_t bytes = 0;
  for (auto& row : taken.rows)
    bytes += detail::size_of(row);
  state.finished_bytes -= std::min(bytes, state.finished_bytes);
  state.update_waitables_locked();
  state.maybe_resume_locked();
  return taken;
}

/// The framed protocol's transport of a connection made by this class.
/// Null for a connection hosting another protocol (it has no framed link).
std::shared_ptr<detail::link> framed_link(connection::state& state) {
  // link is final, so comparing the dynamic type is exact, and cheaper than
  // the dynamic_pointer_cast this replaced (it runs on every execute).
  const auto* transport = state.link.get();
  if (transport && typeid(*transport) == typeid(detail::link))
    return std::static_pointer_cast<detail::link>(state.link);
  state.report(client_message{severity::error, errc::invalid_argument,
                              "this connection speaks another protocol; use its own operations"});
  return nullptr;
}

} // namespace

// -- connection ----------------------------------------------------------------------------

connection::connection(context& owner, connection_options options) {
  if (options.mode == io_mode::deferred)
    throw error(errc::deferred_on_connection,
                "connection: deferred I/O is a context setting; set it on the context");
  state_ = std::make_shared<state>(detail::context_access::state_of(owner), std::move(options));
  state_->owner = &owner;
  state_->self = this;
  state_->link = std::make_shared<detail::link>(state_->worker, state_);
  std::lock_guard guard{state_->owner_state->mutex};
  state_->owner_state->connections.push_back(state_.get());
  state_->publish_routing_locked();
}

connection::connection(context& owner, connection_options options, const transport_factory& make) {
  if (options.mode == io_mode::deferred)
    throw error(errc::deferred_on_connection,
                "connection: deferred I/O is a context setting; set it on the context");
  state_ = std::make_shared<state>(detail::context_access::state_of(owner), std::move(options));
  state_->owner = &owner;
  state_->self = this;
  state_->link = make(state_);
  std::lock_guard guard{state_->owner_state->mutex};
  state_->owner_state->connections.push_back(state_.get());
  state_->publish_routing_locked();
}

connection::~connection() {
  {
    std::lock_guard guard{state_->owner_state->mutex};
    state_->self = nullptr;
    state_->publish_routing_locked();
    std::erase(state_->owner_state->connections, state_.get());
  }
  auto target = state_->link;
  auto* core = state_.get();
  // The worker's copies of the callbacks go with the connection (not with
  // the last reference to its state), on the worker that uses them.
  auto let_go = [core] {
    core->worker_completion = {};
    core->worker_notification = {};
  };
  if (state_->worker->on_this_thread()) {
    target->abandon();
    if (core->worker_completion.running || core->worker_notification.running) {
      // Destroyed from inside the worker's copy of a callback: that copy
      // lives in the state, which must outlive the call; let go of both
      // once the worker is out of it.
      (void)state_->worker->post([keep = state_, let_go] { let_go(); });
      return;
    }
    let_go();
    return;
  }
  // Wait until the worker has let go, so no async callback can still see us.
  std::promise<void> released;
  auto done = released.get_future();
  if (state_->worker->post([target, let_go, &released] {
        target->abandon();
        let_go();
        released.set_value();
      }))
    done.wait();
  else
    target->abandon();
}

io_mode connection::mode() const {
  std::lock_guard guard{state_->owner_state->mutex};
  return state_->effective_mode_locked();
}

std::error_code connection::set_mode(io_mode mode) {
  if (mode == io_mode::deferred) {
    state_->report(client_message{severity::error, errc::deferred_on_connection,
                                  "deferred I/O can only be set on the context"});
    return errc::deferred_on_connection;
  }
  std::lock_guard guard{state_->owner_state->mutex};
  if (!state_->operations.empty())
    return errc::busy;
  state_->requested_mode = mode;
  state_->publish_routing_locked();
  return {};
}

void connection::set_async_notifications(bool enabled) {
  bool wake = false;
  {
    std::lock_guard guard{state_->owner_state->mutex};
    state_->options.async_notifications = enabled;
    state_->publish_routing_locked();
    if (enabled && !state_->held.empty())
      wake = state_->release_held_locked(state_->effective_mode_locked());
  }
  // After the lock, as `deliver` does (docs/netio.md).
  if (wake)
    state_->owner_state->changed.notify_all();
}

void connection::set_disable_poll(bool disabled) {
  std::lock_guard guard{state_->owner_state->mutex};
  state_->options.disable_poll = disabled;
}

void connection::set_user_data(std::any value) {
  std::lock_guard guard{state_->owner_state->mutex};
  state_->user_data = std::move(value);
}

std::any connection::user_data() const {
  std::lock_guard guard{state_->owner_state->mutex};
  return state_->user_data;
}

bool connection::dead() const {
  std::lock_guard guard{state_->owner_state->mutex};
  return state_->dead;
}

bool connection::connected() const {
  std::lock_guard guard{state_->owner_state->mutex};
  return state_->connected && !state_->dead;
}

bool connection::pending() const {
  std::lock_guard guard{state_->owner_state->mutex};
  return !state_->operations.empty();
}

context& connection::owner() const noexcept {
  return *state_->owner;
}

std::thread::id connection::io_thread() const {
  return state_->worker->thread_id();
}

std::uint64_t connection::session_id() const {
  std::lock_guard guard{state_->owner_state->mutex};
  return state_->session_id;
}

callbacks connection::installed() const {
  std::lock_guard guard{state_->owner_state->mutex};
  return state_->installed;
}

void connection::install(callbacks replacement) {
  std::lock_guard guard{state_->owner_state->mutex};
  state_->installed = std::move(replacement);
  ++state_->installed_generation;
  state_->publish_routing_locked();
}

#define ACTORLOOP_NETIO_CONNECTION_SETTER(function, member, type)                                 \
  void connection::function(type callback) {                                                    \
    std::lock_guard guard{state_->owner_state->mutex};                                          \
    state_->installed.member = std::move(callback);                                             \
    ++state_->installed_generation;                                                             \
    state_->publish_routing_locked();                                                           \
  }
ACTORLOOP_NETIO_CONNECTION_SETTER(set_completion, completion, completion_callback)
ACTORLOOP_NETIO_CONNECTION_SETTER(set_server_message, server_message, server_message_callback)
ACTORLOOP_NETIO_CONNECTION_SETTER(set_client_message, client_message, client_message_callback)
ACTORLOOP_NETIO_CONNECTION_SETTER(set_notification, notification, notification_callback)
ACTORLOOP_NETIO_CONNECTION_SETTER(set_directory, directory, directory_callback)
ACTORLOOP_NETIO_CONNECTION_SETTER(set_encryption, encryption, encryption_callback)
ACTORLOOP_NETIO_CONNECTION_SETTER(set_negotiation, negotiation, negotiation_callback)
ACTORLOOP_NETIO_CONNECTION_SETTER(set_security_session, security_session, security_session_callback)
#undef ACTORLOOP_NETIO_CONNECTION_SETTER

started_operation connection::connect(const endpoint& server, connect_options options) {
  auto target = framed_link(*state_);
  if (!target)
    return {retcode::fail, 0};
  return detail::start_operation(*state_, function_id::connect, false,
                         [target, server, options](std::uint64_t id) {
                           target->start_connect(id, server, options);
                         });
}

started_operation connection::execute(request command) {
  if (command.arguments.empty() || command.arguments.front().empty()) {
    state_->report(client_message{severity::error, errc::invalid_argument,
                                  "execute: a request needs a command name"});
    return {retcode::fail, 0};
  }
  auto target = framed_link(*state_);
  if (!target)
    return {retcode::fail, 0};
  // On the worker already (a completion callback's next request) the
  // request is handed over as it is; only a request posted to the worker
  // travels inside a function (one allocation), moved there, not copied.
  // Both functions below hold two references: no allocation of their own.
  auto run_here = [&target, &command](std::uint64_t id) {
    target->send_request(id, std::move(command));
  };
  auto make_on_worker = [&target, &command]() -> std::function<void(std::uint64_t)> {
    return [target, moved = std::move(command)](std::uint64_t id) mutable {
      target->send_request(id, std::move(moved));
    };
  };
  return detail::start_operation_in_place(*state_, function_id::execute, true, run_here,
                                          make_on_worker);
}

started_operation connection::lookup(std::string host, std::uint16_t port) {
  if (host.empty()) {
    state_->report(client_message{severity::error, errc::invalid_argument,
                                  "lookup: empty host name"});
    return {retcode::fail, 0};
  }
  auto target = framed_link(*state_);
  if (!target)
    return {retcode::fail, 0};
  return detail::start_operation(*state_, function_id::lookup, false,
                         [target, host, port](std::uint64_t id) {
                           target->start_lookup(id, host, port);
                         });
}

retcode connection::cancel(cancel_kind kind) {
  std::vector<std::uint64_t> requests;
  {
    std::unique_lock guard{state_->owner_state->mutex};
    if (kind == cancel_kind::all && detail::callback_depth() > 0 &&
        !detail::in_completion_callback()) {
      guard.unlock();
      state_->report(client_message{severity::error, errc::not_allowed_in_callback,
                                    "cancel(all) called from inside a callback; only "
                                    "cancel(attention) is allowed there"});
      return retcode::fail;
    }
    if (kind == cancel_kind::all && !state_->operations.empty() &&
        state_->effective_mode_locked() != io_mode::sync)
      return retcode::busy; // only the attention cancel while an operation is pending
    for (auto& each : state_->operations)
      if (each.function == function_id::execute) {
        requests.push_back(each.request_id);
        state_->discarding.insert(each.request_id);
      }
    if (kind == cancel_kind::all) {
      // Discard at once every result the connection holds.
      state_->finished.clear();
      state_->finished_bytes = 0;
      for (auto& [id, partial] : state_->building)
        partial.rows.clear();
      state_->update_waitables_locked();
      state_->maybe_resume_locked();
    }
  }
  if (!requests.empty()) {
    auto target = state_->link;
    state_->worker->run_or_post([target, requests] { target->send_cancel(requests); });
  }
  return retcode::succeed;
}

started_operation connection::close() {
  {
    std::lock_guard guard{state_->owner_state->mutex};
    if (!state_->connected && state_->operations.empty())
      return {retcode::succeed, 0};
  }
  auto target = state_->link;
  {
    std::lock_guard guard{state_->owner_state->mutex};
    if (state_->dead) {
      // A dead connection still closes (that is what one does with it).
      state_->dead = false;
      state_->connected = true;
    }
  }
  return detail::start_operation(*state_, function_id::close, true,
                         [target](std::uint64_t id) { target->start_close(id); });
}

retcode connection::wakeup(function_id function, retcode status) {
  completion_callback callback;
  {
    std::lock_guard guard{state_->owner_state->mutex};
    callback = state_->installed.completion;
  }
  if (!callback)
    return retcode::fail;
  retcode answer = retcode::succeed;
  std::string failure;
  if (!detail::run_as_callback(
        [&] {
          detail::in_completion_callback() = true;
          answer = callback(*this, function, status);
        },
        failure)) {
    state_->report(client_message{severity::error, errc::invalid_argument, failure});
    return retcode::fail;
  }
  return answer;
}

poll_result connection::poll(std::optional<runtime::duration> timeout) {
  {
    std::lock_guard guard{state_->owner_state->mutex};
    if (state_->effective_mode_locked() != io_mode::deferred && detail::callback_depth() == 0)
      return poll_result{retcode::quiet, nullptr, function_id::execute, retcode::succeed};
  }
  return detail::poll_connections(*state_->owner_state, state_.get(), timeout);
}

std::optional<result> connection::take_result() {
  std::lock_guard guard{state_->owner_state->mutex};
  if (state_->finished.empty())
    return std::nullopt;
  return take_finished_locked(*state_, state_->finished.begin());
}

std::optional<result> connection::take_result(std::uint64_t request_id) {
  std::lock_guard guard{state_->owner_state->mutex};
  auto found = std::find_if(state_->finished.begin(), state_->finished.end(),
                            [&](const result& each) { return each.request_id == request_id; });
  if (found == state_->finished.end())
    return std::nullopt;
  return take_finished_locked(*state_, found);
}

client_message connection::last_error() const {
  std::lock_guard guard{state_->owner_state->mutex};
  return state_->last_error;
}

namespace {

/// Marks the two events as handed out and brings them up to date: until
/// then the delivery path does not keep them (see waitables_exposed).
void expose_waitables(connection::state& state) {
  std::lock_guard guard{state.owner_state->mutex};
  if (state.waitables_exposed)
    return;
  state.waitables_exposed = true;
  state.update_waitables_locked();
}

} // namespace

runtime::waitable connection::completion_event() const {
  expose_waitables(*state_);
  return state_->completion_ready;
}

runtime::waitable connection::notification_event() const {
  expose_waitables(*state_);
  return state_->notification_ready;
}
} // namespace actorloop::netio
