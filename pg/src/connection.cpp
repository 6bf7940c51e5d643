// pg::connection: the public face. Properties, modes, poll, wakeup and the
// waitables are netio's connection core; operations start through the core
// (busy rule, modes) and run on pg's link on the I/O worker.
#include "connection_link.hpp"

#include <actorloop/pg/error.hpp>

#include <algorithm>

namespace actorloop::pg {

namespace {

/// Removes the core's record of a taken result (lock held), so the
/// completion waitable follows what is left to take.
void forget_core_result_locked(netio::connection::state& core, std::uint64_t id) {
  // The completion files pg's result a moment before the core's record: a
  // record not filed yet is dropped where it waits, so it is never filed.
  if (!core.finished.empty() && core.finished.front().request_id == id)
    core.finished.pop_front(); // the usual case: results are taken in order
  else if (std::erase_if(core.finished,
                         [&](const netio::result& each) { return each.request_id == id; }) == 0)
    core.building.erase(id);
  core.update_waitables_locked();
  core.maybe_resume_locked();
}

} // namespace

connection::connection(netio::context& owner, connection_options options,
                       netio::connection_options core) {
  core.pipelining = false; // one operation at a time; a pg::pipeline is one operation
  state_ = std::make_shared<state>(std::move(options));
  auto pg = state_;
  core_ = std::make_unique<netio::connection>(
    owner, std::move(core), [pg](const std::shared_ptr<netio::connection::state>& core_state) {
      return std::make_shared<detail::link>(core_state->worker, core_state, pg);
    });
  state_->core = netio::detail::connection_access::state_of(*core_);
  // pg's callbacks take a pg::connection: the core's completion and
  // client-message callbacks forward to them; the context's framed-protocol
  // defaults are not inherited.
  netio::callbacks forwarders;
  forwarders.completion = [pg](netio::connection&, function_id function, retcode status) {
    auto installed = detail::copy_installed<&callbacks::completion>(*pg->core, *pg);
    if (installed.callback() && installed.target)
      installed.callback()(*installed.target, function, status);
    return retcode::succeed;
  };
  forwarders.client_message = [pg](netio::connection*, const netio::client_message& problem) {
    auto installed = detail::copy_installed<&callbacks::client_message>(*pg->core, *pg);
    return installed.callback() ? installed.callback()(installed.target, problem)
                              : netio::callback_result::succeed;
  };
  core_->install(std::move(forwarders));
  std::lock_guard guard{state_->core->owner_state->mutex};
  state_->self = this;
}

connection::~connection() {
  {
    std::lock_guard guard{state_->core->owner_state->mutex};
    state_->self = nullptr;
  }
  core_.reset(); // waits until the worker let go
  // Break pg state -> core state -> (link, forwarding callbacks) -> pg state.
  state_->core.reset();
}

void connection::install(callbacks replacement) {
  std::lock_guard guard{state_->core->owner_state->mutex};
  state_->installed = std::make_shared<const callbacks>(std::move(replacement));
}

#define ACTORLOOP_PG_CONNECTION_SETTER(function, member, type)                                    \
  void connection::function(type callback) {                                                    \
    std::lock_guard guard{state_->core->owner_state->mutex};                                    \
    auto next = std::make_shared<callbacks>(*state_->installed);                                \
    next->member = std::move(callback);                                                         \
    state_->installed = std::move(next);                                                        \
  }
ACTORLOOP_PG_CONNECTION_SETTER(set_completion, completion, completion_callback)
ACTORLOOP_PG_CONNECTION_SETTER(set_server_message, server_message, server_message_callback)
ACTORLOOP_PG_CONNECTION_SETTER(set_client_message, client_message, client_message_callback)
ACTORLOOP_PG_CONNECTION_SETTER(set_notification, notification, notification_callback)
ACTORLOOP_PG_CONNECTION_SETTER(set_security_session, security_session, security_session_callback)
ACTORLOOP_PG_CONNECTION_SETTER(set_encryption, encryption, encryption_callback)
ACTORLOOP_PG_CONNECTION_SETTER(set_negotiation, negotiation, negotiation_callback)
#undef ACTORLOOP_PG_CONNECTION_SETTER

namespace {

std::shared_ptr<detail::link> link_of(netio::connection::state& core) {
  return std::static_pointer_cast<detail::link>(core.link);
}

} // namespace

started_operation connection::connect() {
  auto target = link_of(*state_->core);
  return netio::detail::start_operation(*state_->core, function_id::connect, false,
                                        [target](std::uint64_t id) { target->start_connect(id); });
}

started_operation connection::execute(std::string sql) {
  if (sql.find('\0') != std::string::npos) {
    state_->core->report(netio::client_message{netio::severity::error,
                                               make_error_code(errc::invalid_argument),
                                               "execute: the query text contains a NUL byte"});
    return {retcode::fail, 0};
  }
  auto target = link_of(*state_->core);
  // Sync mode on an idle connection: the query runs on this thread (see
  // link::run_query_here), as libpq's PQexec does.
  netio::detail::caller_io here = [&target, &sql](std::uint64_t id, runtime::time_point deadline) {
    return target->run_query_here(id, sql, deadline);
  };
  // On the worker already (a completion callback's next query), the link
  // sends it at once; the worker's part (and its copy of the text) is built
  // only when it is posted.
  std::function<void(std::uint64_t)> on_worker_now = [&target, &sql](std::uint64_t id) {
    target->send_query(id, sql);
  };
  return netio::detail::start_operation_in_place(
    *state_->core, function_id::execute, true, on_worker_now,
    [&target, &sql]() -> std::function<void(std::uint64_t)> {
      return [target, text = std::move(sql)](std::uint64_t id) { target->send_query(id, text); };
    },
    &here);
}

retcode connection::cancel() {
  // The core marks the pending execute and calls the link's send_cancel on
  // the worker, which opens the CancelRequest connection.
  return core_->cancel(netio::cancel_kind::attention);
}

started_operation connection::close() {
  return core_->close();
}

retcode connection::wakeup(function_id function, retcode status) {
  return core_->wakeup(function, status);
}

netio::poll_result connection::poll(std::optional<runtime::duration> timeout) {
  return core_->poll(timeout);
}

std::optional<query_result> connection::take_result() {
  auto& core = *state_->core;
  std::lock_guard guard{core.owner_state->mutex};
  if (state_->finished.empty())
    return std::nullopt;
  auto taken = state_->finished.take_front();
  forget_core_result_locked(core, taken.request_id);
  return taken;
}

std::optional<query_result> connection::take_result(std::uint64_t request_id) {
  auto& core = *state_->core;
  std::lock_guard guard{core.owner_state->mutex};
  auto taken = state_->finished.take(request_id);
  if (taken)
    forget_core_result_locked(core, request_id);
  return taken;
}

io_mode connection::mode() const {
  return core_->mode();
}

void connection::set_async_notifications(bool enabled) {
  core_->set_async_notifications(enabled);
  // A sync caller leaves an idle socket unwatched only without them
  // (link::give_back); turned on, the worker watches it again.
  link_of(*state_->core)->set_async_notifications(enabled);
}

bool connection::connected() const {
  return core_->connected();
}

bool connection::dead() const {
  return core_->dead();
}

netio::client_message connection::last_error() const {
  return core_->last_error();
}

std::thread::id connection::io_thread() const {
  return core_->io_thread();
}

std::optional<std::string> connection::parameter(const std::string& name) const {
  std::lock_guard guard{state_->core->owner_state->mutex};
  auto found = state_->parameters.find(name);
  if (found == state_->parameters.end())
    return std::nullopt;
  return found->second;
}

backend_key_data connection::backend_key() const {
  std::lock_guard guard{state_->core->owner_state->mutex};
  return state_->key;
}

std::string connection::authentication_method() const {
  std::lock_guard guard{state_->core->owner_state->mutex};
  return state_->authentication;
}

bool connection::tls_in_use() const {
  std::lock_guard guard{state_->core->owner_state->mutex};
  return state_->tls_in_use;
}

transaction_status connection::transaction() const {
  std::lock_guard guard{state_->core->owner_state->mutex};
  return state_->status;
}

runtime::waitable connection::completion_event() const {
  return core_->completion_event();
}

runtime::waitable connection::notification_event() const {
  return core_->notification_event();
}

} // namespace actorloop::pg
