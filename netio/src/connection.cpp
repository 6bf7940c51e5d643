#include "connection_state.hpp"

#include "resolver.hpp"
#include "security.hpp"
#include "socket_ops.hpp"

#include <actorloop/netio/error.hpp>
#include <actorloop/netio/server.hpp>
#include <actorloop/runtime/detail/access.hpp>
#include <actorloop/runtime/waitable.hpp>

#include <algorithm>
#include <future>
#include <utility>

namespace actorloop::netio {

namespace {

retcode to_retcode(completion_status status) noexcept {
  switch (status) {
    case completion_status::succeeded: return retcode::succeed;
    case completion_status::failed: return retcode::fail;
    case completion_status::canceled: return retcode::canceled;
  }
  return retcode::fail;
}

std::size_t size_of(const result_row& row) {
  std::size_t total = sizeof(result_row);
  for (auto& column : row.columns)
    total += column.size() + sizeof(std::string);
  return total;
}

/// Largest number of pipelined requests one connection keeps in flight.
constexpr std::size_t max_pipelined_requests = 4096;

/// Negotiation callbacks that keep answering `continue` are cut off here.
constexpr int max_negotiation_calls = 64;

const std::shared_ptr<const codec>& shared_framed_codec() {
  static const std::shared_ptr<const codec> instance = make_framed_codec();
  return instance;
}

/// Runs `body` as a callback: poll is refused inside, and a throwing
/// callback becomes a client message instead of unwinding into the runtime.
template <class F>
bool run_as_callback(F&& body, std::string& failure) {
  // A new callback is of "another kind" until a completion marks itself.
  auto outer = std::exchange(detail::in_completion_callback(), false);
  ++detail::callback_depth();
  try {
    body();
  } catch (const std::exception& thrown) {
    failure = std::string{"a callback threw: "} + thrown.what();
  } catch (...) {
    failure = "a callback threw a non-standard exception";
  }
  --detail::callback_depth();
  detail::in_completion_callback() = outer;
  return failure.empty();
}

} // namespace

namespace detail {

bool& in_completion_callback() noexcept {
  thread_local bool inside = false;
  return inside;
}

int& callback_depth() noexcept {
  thread_local int depth = 0;
  return depth;
}

} // namespace detail

// -- connection::state ---------------------------------------------------------------

connection::state::state(std::shared_ptr<context::state> owner, connection_options options)
  : owner_state(std::move(owner)), options(std::move(options)) {
  requested_mode = this->options.mode.value_or(owner_state->mode);
  installed = owner_state->defaults;
  worker = detail::pool_of(owner_state->engine).next_shared_worker();
}

io_mode connection::state::effective_mode_locked() const {
  if (requested_mode == io_mode::sync)
    return io_mode::sync;
  // All asynchronous connections of a context are of the context's kind.
  return owner_state->mode == io_mode::deferred ? io_mode::deferred : io_mode::async;
}

void connection::state::update_waitables_locked() {
  if (queued_completions > 0 || !finished.empty())
    completion_ready.set();
  else
    completion_ready.reset();
  bool notifications_waiting = false;
  for (auto& each : queue)
    if (each.is_notification) {
      notifications_waiting = true;
      break;
    }
  if (notifications_waiting)
    notification_ready.set();
  else
    notification_ready.reset();
}

void connection::state::maybe_resume_locked() {
  if (reading_paused && queued_bytes <= options.max_buffered_bytes / 2) {
    reading_paused = false;
    auto target = link;
    worker->post([target] { target->resume(); });
  }
}

detail::connection_event connection::state::take_next_locked() {
  auto event = std::move(queue.front());
  queue.pop_front();
  queued_bytes -= event.bytes;
  if (event.completes)
    --queued_completions;
  update_waitables_locked();
  maybe_resume_locked();
  return event;
}

void connection::state::release_held_locked(io_mode mode) {
  if (held.empty())
    return;
  if (mode == io_mode::async) {
    // Delivered on the worker, before anything of the operation just started.
    auto events = std::make_shared<std::deque<detail::connection_event>>(std::move(held));
    held.clear();
    auto self_state = shared_from_this();
    worker->post([self_state, events] {
      for (auto& each : *events)
        self_state->run_event(each);
    });
    return;
  }
  for (auto position = held.rbegin(); position != held.rend(); ++position) {
    queued_bytes += position->bytes;
    queue.push_front(std::move(*position));
  }
  held.clear();
  update_waitables_locked();
  owner_state->changed.notify_all();
}

void connection::state::deliver(detail::connection_event event) {
  std::unique_lock guard{owner_state->mutex};
  if (self == nullptr)
    return;
  if (event.marks_dead)
    dead = true;
  auto mode = effective_mode_locked();
  if (event.unsolicited && operations.empty() && !options.async_notifications) {
    // Client-Library: without asynchronous notifications they surface only
    // while the application reads from the connection.
    held.push_back(std::move(event));
    return;
  }
  bool run_on_worker = mode == io_mode::async ||
                       (mode == io_mode::sync && event.unsolicited && options.async_notifications);
  if (run_on_worker) {
    guard.unlock();
    run_event(event);
    return;
  }
  queued_bytes += event.bytes;
  if (event.completes)
    ++queued_completions;
  queue.push_back(std::move(event));
  update_waitables_locked();
  bool pause = !reading_paused && queued_bytes > options.max_buffered_bytes;
  if (pause)
    reading_paused = true;
  owner_state->changed.notify_all();
  guard.unlock();
  if (pause)
    link->pause();
}

void connection::state::run_event(detail::connection_event& event) {
  connection* target = nullptr;
  {
    std::lock_guard guard{owner_state->mutex};
    target = self;
  }
  if (target == nullptr)
    return;
  std::string failure;
  if (!run_as_callback([&] { event.run(*target); }, failure))
    report(client_message{severity::error, errc::invalid_argument, failure}, false);
}

void connection::state::report(const client_message& problem, bool) {
  client_message_callback callback;
  connection* target = nullptr;
  {
    std::lock_guard guard{owner_state->mutex};
    last_error = problem;
    callback = installed.client_message ? installed.client_message
                                        : owner_state->defaults.client_message;
    target = self;
  }
  if (!callback)
    return; // recorded in last_error; Client-Library discards it too
  auto answer = callback_result::succeed;
  std::string failure;
  run_as_callback([&] { answer = callback(target, problem); }, failure);
  if (answer == callback_result::fail && problem.code != errc::timed_out) {
    // Client-Library: CS_FAIL from the client-message callback kills the connection.
    std::lock_guard guard{owner_state->mutex};
    if (!dead) {
      dead = true;
      auto doomed = link;
      worker->post([doomed] { doomed->start_close(0); });
    }
  }
}

// -- context --------------------------------------------------------------------------

context::context(runtime::engine& engine, context_options options)
  : state_(std::make_shared<state>(engine, options)) {}

context::~context() {
  (void)exit(true);
}

runtime::engine& context::engine() const noexcept {
  return state_->engine;
}

io_mode context::mode() const {
  std::lock_guard guard{state_->mutex};
  return state_->mode;
}

void context::set_mode(io_mode mode) {
  std::lock_guard guard{state_->mutex};
  state_->mode = mode;
}

callbacks context::installed() const {
  std::lock_guard guard{state_->mutex};
  return state_->defaults;
}

void context::install(callbacks replacement) {
  std::lock_guard guard{state_->mutex};
  state_->defaults = std::move(replacement);
}

#define ACTORLOOP_NETIO_CONTEXT_SETTER(function, member, type)                                    \
  void context::function(type callback) {                                                       \
    std::lock_guard guard{state_->mutex};                                                       \
    state_->defaults.member = std::move(callback);                                              \
  }
ACTORLOOP_NETIO_CONTEXT_SETTER(set_completion, completion, completion_callback)
ACTORLOOP_NETIO_CONTEXT_SETTER(set_server_message, server_message, server_message_callback)
ACTORLOOP_NETIO_CONTEXT_SETTER(set_client_message, client_message, client_message_callback)
ACTORLOOP_NETIO_CONTEXT_SETTER(set_notification, notification, notification_callback)
ACTORLOOP_NETIO_CONTEXT_SETTER(set_error_handler, error_handler, error_handler_callback)
ACTORLOOP_NETIO_CONTEXT_SETTER(set_directory, directory, directory_callback)
ACTORLOOP_NETIO_CONTEXT_SETTER(set_encryption, encryption, encryption_callback)
ACTORLOOP_NETIO_CONTEXT_SETTER(set_negotiation, negotiation, negotiation_callback)
ACTORLOOP_NETIO_CONTEXT_SETTER(set_security_session, security_session, security_session_callback)
#undef ACTORLOOP_NETIO_CONTEXT_SETTER

namespace {

/// Reports a context-level usage error through the error handler (on the
/// calling thread, the one that provoked it) and returns it.
std::error_code context_error(context::state& state, std::error_code code, std::string text) {
  error_handler_callback handler;
  {
    std::lock_guard guard{state.mutex};
    handler = state.defaults.error_handler;
  }
  if (handler) {
    std::string failure;
    run_as_callback([&] { handler(client_message{severity::error, code, text}); }, failure);
  }
  return code;
}

/// One round of deferred polling over `candidates`; lock held.
/// Returns true and fills `found` when something was reported.
bool poll_once_locked(std::unique_lock<std::mutex>& guard,
                      std::vector<connection::state*>& candidates, std::size_t start,
                      poll_result& found, bool& ran_something) {
  for (std::size_t offset = 0; offset < candidates.size(); ++offset) {
    auto* each = candidates[(start + offset) % candidates.size()];
    if (each->effective_mode_locked() != io_mode::deferred || each->queue.empty())
      continue;
    auto event = each->take_next_locked();
    bool report = event.completes && !each->options.disable_poll;
    auto keep = each->shared_from_this();
    guard.unlock();
    each->run_event(event);
    guard.lock();
    ran_something = true;
    if (report) {
      found.code = retcode::succeed;
      found.completed = keep->self;
      found.function = event.function;
      found.status = event.status;
      return true;
    }
    return false;
  }
  return false;
}

poll_result poll_connections(context::state& owner, connection::state* only,
                             std::optional<runtime::duration> timeout) {
  poll_result found;
  if (detail::callback_depth() > 0) {
    found.code = retcode::fail;
    auto text = std::string{"poll called from inside a callback"};
    if (only)
      only->report(client_message{severity::error, errc::not_allowed_in_callback, text}, false);
    else
      context_error(owner, errc::not_allowed_in_callback, text);
    return found;
  }
  bool blocking = !timeout || *timeout > runtime::duration::zero();
  if (blocking && runtime::detail::on_scheduler_thread()) {
    found.code = retcode::fail;
    auto text = std::string{"poll with a timeout would block a scheduler or I/O worker thread; "
                            "poll with timeout zero there"};
    if (only)
      only->report(client_message{severity::error, errc::invalid_argument, text}, false);
    else
      context_error(owner, errc::invalid_argument, text);
    return found;
  }
  auto deadline = timeout ? runtime::clock::now() + *timeout : runtime::time_point::max();
  std::unique_lock guard{owner.mutex};
  for (;;) {
    std::vector<connection::state*> candidates;
    if (only)
      candidates.push_back(only);
    else
      candidates = owner.connections;
    bool ran = false;
    auto start = only ? 0 : owner.poll_start++;
    if (!candidates.empty() && poll_once_locked(guard, candidates, start, found, ran))
      return found;
    if (ran)
      continue;
    bool any_pending = false;
    for (auto* each : candidates)
      if (each->effective_mode_locked() == io_mode::deferred && !each->operations.empty())
        any_pending = true;
    if (!any_pending) {
      found.code = retcode::quiet;
      return found;
    }
    if (!timeout || runtime::clock::now() < deadline) {
      if (timeout && *timeout == runtime::duration::zero()) {
        found.code = retcode::timed_out;
        return found;
      }
      if (timeout)
        owner.changed.wait_until(guard, deadline);
      else
        owner.changed.wait(guard);
      continue;
    }
    found.code = retcode::timed_out;
    return found;
  }
}

} // namespace

poll_result context::poll(std::optional<runtime::duration> timeout) {
  return poll_connections(*state_, nullptr, timeout);
}

std::error_code context::exit(bool) {
  if (detail::callback_depth() > 0)
    return context_error(*state_, errc::not_allowed_in_callback,
                         "context exit called from inside a callback");
  std::vector<std::shared_ptr<connection::state>> open;
  bool pending = false;
  {
    std::lock_guard guard{state_->mutex};
    for (auto* each : state_->connections)
      pending = pending || !each->operations.empty();
    if (!pending)
      for (auto* each : state_->connections)
        open.push_back(each->shared_from_this());
  }
  // Client-Library: ct_exit fails with an operation pending, even when forced.
  if (pending)
    return context_error(*state_, errc::operations_pending,
                         "context exit: a connection still has a pending operation");
  for (auto& each : open) {
    auto target = each->link;
    each->worker->run_or_post([target] { target->start_close(0); });
  }
  return {};
}

// -- connection ----------------------------------------------------------------------------

connection::connection(context& owner, connection_options options) {
  if (options.mode == io_mode::deferred)
    throw error(errc::deferred_on_connection,
                "connection: deferred I/O is a context setting; set it on the context");
  state_ = std::make_shared<state>(owner.internals(), std::move(options));
  state_->owner = &owner;
  state_->self = this;
  state_->link = std::make_shared<detail::link>(state_->worker, state_);
  std::lock_guard guard{state_->owner_state->mutex};
  state_->owner_state->connections.push_back(state_.get());
}

connection::~connection() {
  {
    std::lock_guard guard{state_->owner_state->mutex};
    state_->self = nullptr;
    std::erase(state_->owner_state->connections, state_.get());
  }
  auto target = state_->link;
  if (state_->worker->on_this_thread()) {
    target->abandon();
    return;
  }
  // Wait until the worker has let go, so no async callback can still see us.
  std::promise<void> released;
  auto done = released.get_future();
  if (state_->worker->post([target, &released] {
        target->abandon();
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
                                  "deferred I/O can only be set on the context"},
                   false);
    return errc::deferred_on_connection;
  }
  std::lock_guard guard{state_->owner_state->mutex};
  if (!state_->operations.empty())
    return errc::busy;
  state_->requested_mode = mode;
  return {};
}

void connection::set_async_notifications(bool enabled) {
  std::lock_guard guard{state_->owner_state->mutex};
  state_->options.async_notifications = enabled;
  if (enabled && !state_->held.empty())
    state_->release_held_locked(state_->effective_mode_locked());
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
}

#define ACTORLOOP_NETIO_CONNECTION_SETTER(function, member, type)                                 \
  void connection::function(type callback) {                                                    \
    std::lock_guard guard{state_->owner_state->mutex};                                          \
    state_->installed.member = std::move(callback);                                             \
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

namespace {

/// Waits on the calling thread (sync mode) until the operation `function`
/// completes, running this connection's events here as they arrive.
retcode wait_sync(connection::state& state, function_id function) {
  auto& owner = *state.owner_state;
  std::unique_lock guard{owner.mutex};
  auto period = state.options.timeout;
  auto deadline = period ? runtime::clock::now() + *period : runtime::time_point::max();
  for (;;) {
    if (!state.queue.empty()) {
      auto event = state.take_next_locked();
      guard.unlock();
      state.run_event(event);
      guard.lock();
      if (event.completes && event.function == function)
        return event.status;
      continue;
    }
    if (!period) {
      owner.changed.wait(guard);
      continue;
    }
    if (owner.changed.wait_until(guard, deadline) == std::cv_status::timeout &&
        state.queue.empty()) {
      guard.unlock();
      // Client-Library: the client-message callback hears the timeout;
      // `succeed` waits one more period, `fail` kills the connection.
      client_message_callback callback;
      connection* target = nullptr;
      {
        std::lock_guard inner{owner.mutex};
        callback = state.installed.client_message ? state.installed.client_message
                                                  : owner.defaults.client_message;
        target = state.self;
        state.last_error = client_message{severity::error, errc::timed_out,
                                          "the operation timed out"};
      }
      auto answer = callback_result::fail;
      if (callback) {
        std::string failure;
        run_as_callback(
          [&] {
            answer = callback(target, client_message{severity::error, errc::timed_out,
                                                     "the operation timed out"});
          },
          failure);
      }
      guard.lock();
      if (answer == callback_result::succeed) {
        deadline = runtime::clock::now() + *period;
        continue;
      }
      state.dead = true;
      std::erase_if(state.operations,
                    [&](const detail::pending_operation& each) { return each.function == function; });
      auto doomed = state.link;
      state.worker->post([doomed] { doomed->start_close(0); });
      return retcode::fail;
    }
  }
}

/// Starts an operation: the busy rule, dead connections, then the worker.
retcode start_operation(connection::state& state, function_id function, bool needs_connection,
                        const std::function<void(std::uint64_t)>& on_worker) {
  auto& owner = *state.owner_state;
  std::uint64_t id = 0;
  io_mode mode;
  {
    std::unique_lock guard{owner.mutex};
    mode = state.effective_mode_locked();
    if (detail::callback_depth() > 0 && !detail::in_completion_callback()) {
      // Client-Library: only completion callbacks may start operations; the
      // others may read properties, set user data and cancel(attention).
      guard.unlock();
      state.report(client_message{severity::error, errc::not_allowed_in_callback,
                                  std::string{to_string(function)} +
                                    " called from inside a callback other than the completion "
                                    "callback"},
                   false);
      return retcode::fail;
    }
    if (!state.operations.empty()) {
      bool pipelined = state.options.pipelining && function == function_id::execute &&
                       state.operations.size() < max_pipelined_requests &&
                       std::all_of(state.operations.begin(), state.operations.end(),
                                   [](const detail::pending_operation& each) {
                                     return each.function == function_id::execute;
                                   });
      if (!pipelined)
        return retcode::busy;
    }
    std::string problem;
    std::error_code code;
    if (state.dead) {
      code = errc::connection_dead;
      problem = "the connection is dead; close it and connect a new one";
    } else if (needs_connection && !state.connected) {
      code = errc::not_connected;
      problem = "the connection is not connected";
    } else if (!needs_connection && function == function_id::connect && state.connected) {
      code = errc::invalid_argument;
      problem = "the connection is connected already";
    } else if (mode == io_mode::sync && runtime::detail::on_scheduler_thread()) {
      code = errc::invalid_argument;
      problem = "a sync-mode call would block a scheduler or I/O worker thread; use async or "
                "deferred mode there";
    }
    if (code) {
      guard.unlock();
      state.report(client_message{severity::error, code, problem}, false);
      return retcode::fail;
    }
    id = function == function_id::lookup ? state.next_lookup_id++ : state.next_request_id++;
    state.operations.push_back({function, id});
    state.release_held_locked(mode);
  }
  auto target = state.link;
  if (!state.worker->run_or_post([target, id, on_worker] { on_worker(id); })) {
    {
      std::lock_guard guard{owner.mutex};
      std::erase_if(state.operations,
                    [&](const detail::pending_operation& each) { return each.request_id == id; });
    }
    state.report(client_message{severity::error, errc::shutting_down,
                                "the I/O workers are shutting down"},
                 false);
    return retcode::fail;
  }
  if (mode == io_mode::sync)
    return wait_sync(state, function);
  return retcode::pending;
}

} // namespace

retcode connection::connect(const endpoint& server, connect_options options) {
  auto target = state_->link;
  return start_operation(*state_, function_id::connect, false,
                         [target, server, options](std::uint64_t id) {
                           target->start_connect(id, server, options);
                         });
}

retcode connection::execute(request command) {
  if (command.arguments.empty() || command.arguments.front().empty()) {
    state_->report(client_message{severity::error, errc::invalid_argument,
                                  "execute: a request needs a command name"},
                   false);
    return retcode::fail;
  }
  auto target = state_->link;
  auto shared_command = std::make_shared<request>(std::move(command));
  {
    std::lock_guard guard{state_->owner_state->mutex};
    // Rows are filed under the request id; the id is assigned below.
  }
  return start_operation(*state_, function_id::execute, true,
                         [target, shared_command](std::uint64_t id) {
                           target->send_request(id, std::move(*shared_command));
                         });
}

retcode connection::lookup(std::string host, std::uint16_t port) {
  if (host.empty()) {
    state_->report(client_message{severity::error, errc::invalid_argument,
                                  "lookup: empty host name"},
                   false);
    return retcode::fail;
  }
  auto target = state_->link;
  return start_operation(*state_, function_id::lookup, false,
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
                                    "cancel(attention) is allowed there"},
                     false);
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

retcode connection::close() {
  {
    std::lock_guard guard{state_->owner_state->mutex};
    if (!state_->connected && state_->operations.empty())
      return retcode::succeed;
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
  return start_operation(*state_, function_id::close, true,
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
  if (!run_as_callback(
        [&] {
          detail::in_completion_callback() = true;
          answer = callback(*this, function, status);
        },
        failure)) {
    state_->report(client_message{severity::error, errc::invalid_argument, failure}, false);
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
  return poll_connections(*state_->owner_state, state_.get(), timeout);
}

std::optional<result> connection::take_result() {
  std::lock_guard guard{state_->owner_state->mutex};
  if (state_->finished.empty())
    return std::nullopt;
  auto taken = std::move(state_->finished.front());
  state_->finished.pop_front();
  std::size_t bytes = 0;
  for (auto& row : taken.rows)
    bytes += size_of(row);
  state_->finished_bytes -= std::min(bytes, state_->finished_bytes);
  state_->update_waitables_locked();
  state_->maybe_resume_locked();
  return taken;
}

client_message connection::last_error() const {
  std::lock_guard guard{state_->owner_state->mutex};
  return state_->last_error;
}

runtime::waitable connection::completion_event() const {
  return state_->completion_ready;
}

runtime::waitable connection::notification_event() const {
  return state_->notification_ready;
}

// -- link (the connection's I/O worker) -------------------------------------------------------

namespace detail {

namespace {

connection_event completion_event_for(connection::state& owner, function_id function,
                                      std::uint64_t id, retcode status) {
  connection_event event;
  event.completes = true;
  event.function = function;
  event.status = status;
  auto* target = &owner;
  event.run = [target, function, id, status](connection& self) {
    completion_callback callback;
    bool call_back = false;
    {
      std::lock_guard guard{target->owner_state->mutex};
      // Connect and close complete without an id of their own: the oldest.
      auto done = std::find_if(target->operations.begin(), target->operations.end(),
                               [&](const pending_operation& each) {
                                 return each.function == function &&
                                        (id == 0 || each.request_id == id);
                               });
      if (done != target->operations.end())
        target->operations.erase(done);
      if (function == function_id::connect && status == retcode::succeed)
        target->connected = true;
      if (function == function_id::close) {
        target->connected = false;
        target->dead = false;
      }
      if (function == function_id::execute) {
        auto node = target->building.extract(id);
        if (!node.empty() && !target->discarding.contains(id)) {
          target->finished.push_back(std::move(node.mapped()));
        } else if (!node.empty()) {
          for (auto& row : node.mapped().rows)
            target->finished_bytes -= std::min(size_of(row), target->finished_bytes);
          // A canceled request still reports its completion, without rows.
          node.mapped().rows.clear();
          target->finished.push_back(std::move(node.mapped()));
        }
        target->discarding.erase(id);
      }
      target->update_waitables_locked();
      target->maybe_resume_locked();
      callback = target->installed.completion;
      call_back = target->effective_mode_locked() != io_mode::sync;
    }
    if (call_back && callback) {
      auto outer = std::exchange(in_completion_callback(), true);
      callback(self, function, status);
      in_completion_callback() = outer;
    }
  };
  return event;
}

} // namespace

namespace {

/// Fails a connect that has not finished (resolve, TCP, TLS and login
/// together) within the connect timeout.
class login_deadline final : public runtime::detail::deadline_target {
public:
  explicit login_deadline(std::weak_ptr<link> target) : target_(std::move(target)) {}
  void on_deadline_reached() noexcept override {
    if (auto alive = target_.lock())
      alive->connect_deadline_reached();
  }

private:
  std::weak_ptr<link> target_;
};

} // namespace

void link::connect_deadline_reached() {
  if (phase_ == phase::resolving || phase_ == phase::connecting || phase_ == phase::security ||
      phase_ == phase::login) {
    auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(options_.connect_timeout);
    fail_connect(errc::connect_timed_out, "the connect did not finish within " +
                                            std::to_string(limit.count()) +
                                            " ms (name resolution, TCP, TLS and login together)");
  }
}

void link::start_connect(std::uint64_t connect_id, endpoint server, connect_options options) {
  outstanding_.push_back({function_id::connect, connect_id});
  server_ = std::move(server);
  options_ = std::move(options);
  phase_ = phase::resolving;
  if (options_.connect_timeout > runtime::duration::zero()) {
    connect_timer_ = std::make_shared<login_deadline>(weak_from_this());
    runtime::detail::schedule_deadline(runtime::detail::access::group(worker_->engine().get_scheduler(worker_->name())),
                                       runtime::clock::now() + options_.connect_timeout,
                                       connect_timer_);
  }
  auto self = shared_from_this();
  auto worker = worker_;
  resolve_async(worker_->engine(), server_, [self, worker](resolution outcome) {
    worker->run_or_post([self, outcome = std::move(outcome)]() mutable {
      if (self->phase_ != phase::resolving)
        return;
      if (outcome.error) {
        self->fail_connect(outcome.error, outcome.detail);
        return;
      }
      self->addresses_ = std::move(outcome.addresses);
      self->try_address(0);
    });
  });
}

void link::try_address(std::size_t index) {
  for (; index < addresses_.size(); ++index) {
    std::error_code failure;
    std::string detail;
    int fd = detail::start_connect(addresses_[index], failure, detail);
    if (fd < 0) {
      last_connect_error_ = failure;
      last_connect_detail_ = detail;
      continue;
    }
    channel_options settings;
    settings.wire = shared_framed_codec();
    settings.connect_timeout = options_.connect_timeout;
    if (options_.tls) {
      auto context = options_.tls;
      auto host = options_.tls_host.empty() ? server_.host : options_.tls_host;
      settings.secure = [context, host](std::unique_ptr<byte_stream> plain) {
        return make_tls_layer(*context, host, std::move(plain));
      };
    }
    phase_ = phase::connecting;
    addresses_.erase(addresses_.begin(), addresses_.begin() + static_cast<std::ptrdiff_t>(index + 1));
    channel_ = std::make_shared<channel>(*worker_, fd, true, *this, std::move(settings));
    channel_->start();
    return;
  }
  fail_connect(last_connect_error_ ? last_connect_error_ : errc::connection_refused,
               last_connect_detail_.empty() ? "no address could be connected"
                                            : last_connect_detail_);
}

void link::fail_connect(std::error_code error, const std::string& text) {
  phase_ = phase::closed;
  if (channel_ && !channel_->closed())
    channel_->close(error, text);
  auto kept = channel_;
  channel_.reset();
  if (kept)
    worker_->post([kept] {}); // released outside the channel's own call stack
  if (!owner_)
    return;
  auto problem = client_message{severity::error, error,
                                "connect to " + server_.to_string() + " failed: " + text};
  connection_event report;
  auto* target = owner_.get();
  report.run = [target, problem](connection&) { target->report(problem, true); };
  owner_->deliver(std::move(report));
  complete(function_id::connect, 0, retcode::fail);
}

void link::on_channel_open() {
  security_session_callback callback;
  {
    std::lock_guard guard{owner_->owner_state->mutex};
    callback = owner_->installed.security_session;
  }
  if (options_.tls && callback) {
    auto info = describe_tls_session(channel_->stream());
    phase_ = phase::security;
    auto self = shared_from_this();
    auto worker = worker_;
    connection_event question;
    question.run = [self, worker, callback, info](connection& where) {
      auto answer = callback(where, info);
      worker->post([self, answer] {
        self->answer_security(answer, "the security-session callback rejected the session");
      });
    };
    owner_->deliver(std::move(question));
    return;
  }
  send_hello();
}

void link::answer_security(callback_result answer, std::string why) {
  if (phase_ != phase::security)
    return;
  if (answer != callback_result::succeed) {
    fail_connect(errc::authentication_failed, why);
    return;
  }
  send_hello();
}

void link::send_hello() {
  phase_ = phase::login;
  (void)channel_->send(message{0, hello{options_.client_name, options_.user}});
}

void link::handle_challenge(const challenge& question) {
  callbacks installed;
  {
    std::lock_guard guard{owner_->owner_state->mutex};
    installed = owner_->installed;
  }
  auto self = shared_from_this();
  auto worker = worker_;
  connection_event ask;
  if (question.method == challenge_method::password_key) {
    if (!installed.encryption) {
      // Client-Library uses its default encryption when no callback is set.
      answer_challenge(true, question.message_id,
                       default_password_encryption(options_.password, question.data), {});
      return;
    }
    auto callback = installed.encryption;
    auto password = options_.password;
    ask.run = [self, worker, callback, password, question](connection& where) {
      std::string encrypted;
      auto answer = callback(where, password, question.data, encrypted);
      worker->post([self, answer, question, encrypted] {
        self->answer_challenge(answer == callback_result::succeed, question.message_id, encrypted,
                               "the encryption callback failed the login");
      });
    };
  } else {
    if (!installed.negotiation) {
      fail_connect(errc::authentication_failed,
                   "the server asked for negotiation, but no negotiation callback is installed");
      return;
    }
    auto callback = installed.negotiation;
    ask.run = [self, worker, callback, question](connection& where) {
      std::string answers;
      bool ok = false;
      std::string why = "the negotiation callback failed the login";
      for (int call = 0; call < max_negotiation_calls; ++call) {
        std::string piece;
        auto answer = callback(where, question.message_id, question.data, piece);
        answers += piece;
        if (answer == negotiation_result::continue_negotiation)
          continue;
        ok = answer == negotiation_result::succeed;
        break;
      }
      if (!ok && why.empty())
        why = "the negotiation callback kept asking to continue";
      worker->post([self, ok, question, answers, why] {
        self->answer_challenge(ok, question.message_id, answers, why);
      });
    };
  }
  owner_->deliver(std::move(ask));
}

void link::answer_challenge(bool ok, std::uint32_t message_id, std::string data, std::string why) {
  if (phase_ != phase::login || !channel_)
    return;
  if (!ok) {
    fail_connect(errc::authentication_failed, why);
    return;
  }
  (void)channel_->send(message{0, response{message_id, std::move(data)}});
}

bool link::on_channel_message(message&& value) {
  if (!owner_)
    return true;
  auto* target = owner_.get();
  if (phase_ == phase::login) {
    if (auto* question = std::get_if<challenge>(&value.body)) {
      handle_challenge(*question);
      return true;
    }
    if (auto* done = std::get_if<ready>(&value.body)) {
      {
        std::lock_guard guard{owner_->owner_state->mutex};
        owner_->session_id = done->session_id;
      }
      phase_ = phase::ready;
      connect_timer_.reset();
      complete(function_id::connect, 0, retcode::succeed);
      return true;
    }
  }
  return std::visit(
    [&](auto& body) -> bool {
      using type = std::decay_t<decltype(body)>;
      if constexpr (std::is_same_v<type, result_row>) {
        connection_event event;
        event.bytes = size_of(body);
        auto id = value.request_id;
        event.run = [target, id, row = std::move(body)](connection&) mutable {
          std::size_t over = 0;
          {
            std::lock_guard guard{target->owner_state->mutex};
            if (target->discarding.contains(id))
              return;
            auto& building = target->building[id];
            building.request_id = id;
            if (target->finished_bytes + size_of(row) > target->options.max_result_bytes) {
              // Too much held: give up on this request, loudly, rather than
              // grow without bound.
              over = target->finished_bytes + size_of(row);
              for (auto& each : building.rows)
                target->finished_bytes -= std::min(size_of(each), target->finished_bytes);
              building.rows.clear();
              target->discarding.insert(id);
            } else {
              target->finished_bytes += size_of(row);
              building.rows.push_back(std::move(row));
            }
          }
          if (over != 0) {
            target->report(client_message{severity::error, errc::buffer_full,
                                          "request " + std::to_string(id) + ": results would hold " +
                                            std::to_string(over) + " bytes, over max_result_bytes (" +
                                            std::to_string(target->options.max_result_bytes) +
                                            "); the request is canceled and its rows dropped"},
                           false);
            auto doomed = target->link;
            target->worker->run_or_post([doomed, id] { doomed->send_cancel({id}); });
          }
        };
        owner_->deliver(std::move(event));
      } else if constexpr (std::is_same_v<type, server_message>) {
        connection_event event;
        event.unsolicited = value.request_id == 0;
        event.bytes = body.text.size() + sizeof(server_message);
        event.run = [target, text = body](connection& where) {
          server_message_callback callback;
          {
            std::lock_guard guard{target->owner_state->mutex};
            callback = target->installed.server_message;
          }
          if (callback)
            callback(where, text);
        };
        owner_->deliver(std::move(event));
      } else if constexpr (std::is_same_v<type, notification>) {
        connection_event event;
        event.unsolicited = true;
        event.is_notification = true;
        event.bytes = body.channel.size() + body.payload.size() + sizeof(notification);
        event.run = [target, note = std::move(body)](connection& where) {
          notification_callback callback;
          {
            std::lock_guard guard{target->owner_state->mutex};
            callback = target->installed.notification;
          }
          if (callback)
            callback(where, note);
        };
        owner_->deliver(std::move(event));
      } else if constexpr (std::is_same_v<type, completion>) {
        auto id = value.request_id;
        auto status = to_retcode(body.status);
        auto outcome = body;
        {
          std::lock_guard guard{target->owner_state->mutex};
          auto& building = target->building[id];
          building.request_id = id;
          building.outcome = outcome;
        }
        complete(function_id::execute, id, status);
      } else {
        // hello, response, request, cancel, terminate, or a late challenge/ready.
        decode_error_ = errc::protocol_violation;
        decode_detail_ = "the server sent " + std::string{to_string(kind_of(value.body))} +
                         " where it is not allowed";
        channel_->close(decode_error_, decode_detail_);
        return false;
      }
      return true;
    },
    value.body);
}

void link::on_channel_decode_error(std::error_code error, const std::string& detail) {
  decode_error_ = error;
  decode_detail_ = detail;
}

void link::on_channel_closed(std::error_code error, const std::string& detail) {
  auto kept = channel_;
  worker_->post([kept] {}); // let go of the channel outside its call stack
  auto previous = phase_;
  if (previous == phase::connecting && !addresses_.empty() && error != errc::connect_timed_out) {
    last_connect_error_ = error;
    last_connect_detail_ = detail;
    channel_.reset();
    try_address(0);
    return;
  }
  channel_.reset();
  phase_ = phase::closed;
  if (!owner_)
    return;
  if (previous == phase::resolving || previous == phase::connecting ||
      previous == phase::security || previous == phase::login) {
    fail_connect(decode_error_ ? decode_error_ : error,
                 decode_error_ ? decode_detail_ : detail);
    return;
  }
  auto unfinished = outstanding_;
  if (previous == phase::closing) {
    for (auto& each : unfinished)
      complete(each.function, each.request_id,
               each.function == function_id::close ? retcode::succeed : retcode::canceled);
    return;
  }
  // The connection died under us: say why, then fail what was pending.
  auto* target = owner_.get();
  auto why = decode_error_ ? decode_error_ : error;
  auto text = "connection to " + server_.to_string() + " lost: " +
              (decode_error_ ? decode_detail_ : detail);
  connection_event report;
  report.run = [target, why, text](connection&) {
    target->report(client_message{severity::fatal, why, text}, true);
  };
  report.marks_dead = true;
  owner_->deliver(std::move(report));
  for (auto& each : unfinished)
    complete(each.function, each.request_id, retcode::fail);
}

void link::send_request(std::uint64_t request_id, request command) {
  outstanding_.push_back({function_id::execute, request_id});
  if (!channel_ || !channel_->open() || phase_ != phase::ready) {
    complete(function_id::execute, request_id, retcode::fail);
    return;
  }
  {
    std::lock_guard guard{owner_->owner_state->mutex};
    owner_->building[request_id].request_id = request_id;
  }
  if (auto failure = channel_->send(message{request_id, std::move(command)})) {
    auto* target = owner_.get();
    auto text = "execute: the request could not be sent: " + failure.message();
    connection_event report;
    report.run = [target, failure, text](connection&) {
      target->report(client_message{severity::error, failure, text}, true);
    };
    owner_->deliver(std::move(report));
    {
      std::lock_guard guard{owner_->owner_state->mutex};
      owner_->building.erase(request_id);
    }
    complete(function_id::execute, request_id, retcode::fail);
  }
}

void link::send_cancel(std::vector<std::uint64_t> request_ids) {
  if (!channel_ || !channel_->open())
    return;
  for (auto id : request_ids)
    (void)channel_->send(message{id, cancel{}});
}

void link::start_close(std::uint64_t close_id) {
  if (close_id != 0)
    outstanding_.push_back({function_id::close, close_id});
  if (phase_ == phase::closed || !channel_) {
    phase_ = phase::closed;
    if (!owner_)
      return;
    {
      std::lock_guard guard{owner_->owner_state->mutex};
      owner_->connected = false;
    }
    auto unfinished = outstanding_;
    for (auto& each : unfinished)
      complete(each.function, each.request_id,
               each.function == function_id::close ? retcode::succeed : retcode::canceled);
    return;
  }
  phase_ = phase::closing;
  if (channel_->open())
    (void)channel_->send(message{0, terminate{}});
  channel_->close_after_flush();
}

void link::complete(function_id function, std::uint64_t id, retcode status) {
  auto found = std::find_if(outstanding_.begin(), outstanding_.end(),
                            [&](const pending_operation& each) {
                              return each.function == function && (id == 0 || each.request_id == id);
                            });
  if (found == outstanding_.end())
    return; // completed already (a late answer after a failure)
  auto request_id = found->request_id;
  outstanding_.erase(found);
  if (owner_)
    owner_->deliver(completion_event_for(*owner_, function, request_id, status));
}

void link::start_lookup(std::uint64_t lookup_id, std::string host, std::uint16_t port) {
  outstanding_.push_back({function_id::lookup, lookup_id});
  auto self = shared_from_this();
  auto worker = worker_;
  resolve_async(worker_->engine(), endpoint::tcp(host, port),
                [self, worker, lookup_id, host](resolution outcome) {
                  worker->run_or_post([self, lookup_id, host, outcome = std::move(outcome)] {
                    if (!self->owner_)
                      return;
                    auto* target = self->owner_.get();
                    auto stopped = std::make_shared<bool>(false);
                    auto total = outcome.addresses.size();
                    for (std::size_t index = 0; index < total; ++index) {
                      connection_event entry;
                      directory_entry found{host, outcome.addresses[index].to_endpoint()};
                      auto remaining = total - index;
                      entry.run = [target, stopped, lookup_id, remaining, found](connection& where) {
                        if (*stopped)
                          return;
                        directory_callback callback;
                        {
                          std::lock_guard guard{target->owner_state->mutex};
                          callback = target->installed.directory;
                        }
                        if (callback && callback(where, lookup_id, retcode::succeed, remaining,
                                                 found) == directory_action::stop)
                          *stopped = true;
                      };
                      self->owner_->deliver(std::move(entry));
                    }
                    if (outcome.error) {
                      connection_event report;
                      auto text = "lookup: " + outcome.detail;
                      auto code = outcome.error;
                      report.run = [target, code, text](connection&) {
                        target->report(client_message{severity::error, code, text}, true);
                      };
                      self->owner_->deliver(std::move(report));
                    }
                    self->complete(function_id::lookup, lookup_id,
                                   outcome.error ? retcode::fail : retcode::succeed);
                  });
                });
}

void link::pause() {
  if (channel_)
    channel_->pause_reading();
}

void link::resume() {
  if (channel_)
    channel_->resume_reading();
}

void link::abandon() {
  if (channel_ && !channel_->closed()) {
    phase_ = phase::closing;
    if (channel_->open())
      (void)channel_->send(message{0, terminate{}});
    channel_->close_after_flush();
  }
  // Break the state <-> link cycle; events for a gone connection are dropped.
  owner_.reset();
}

} // namespace detail

// -- names and signals -----------------------------------------------------------------------

std::string_view to_string(io_mode mode) noexcept {
  switch (mode) {
    case io_mode::sync: return "sync";
    case io_mode::deferred: return "deferred";
    case io_mode::async: return "async";
  }
  return "unknown";
}

std::string_view to_string(retcode code) noexcept {
  switch (code) {
    case retcode::succeed: return "succeed";
    case retcode::fail: return "fail";
    case retcode::pending: return "pending";
    case retcode::busy: return "busy";
    case retcode::quiet: return "quiet";
    case retcode::timed_out: return "timed_out";
    case retcode::canceled: return "canceled";
  }
  return "unknown";
}

std::string_view to_string(function_id function) noexcept {
  switch (function) {
    case function_id::cancel: return "cancel";
    case function_id::close: return "close";
    case function_id::connect: return "connect";
    case function_id::execute: return "execute";
    case function_id::lookup: return "lookup";
    case function_id::notification: return "notification";
    case function_id::user_first: return "user";
  }
  return static_cast<std::int32_t>(function) >= 10000 ? "user" : "unknown";
}

} // namespace actorloop::netio
