// context: defaults inherited by connections, context-level errors, and
// Client-Library's ct_exit.
#include <actorloop/netio/detail/connection_core.hpp>

namespace actorloop::netio {

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
  // Every connection's effective mode follows the context's.
  for (auto* each : state_->connections)
    each->publish_routing_locked();
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


namespace detail {

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

} // namespace detail

poll_result context::poll(std::optional<runtime::duration> timeout) {
  return detail::poll_connections(*state_, nullptr, timeout);
}

std::error_code context::exit(bool force) {
  if (detail::callback_depth() > 0)
    return detail::context_error(*state_, errc::not_allowed_in_callback,
                                 "context exit called from inside a callback");
  std::vector<std::shared_ptr<connection::state>> open;
  bool pending = false;
  bool results_waiting = false;
  {
    std::lock_guard guard{state_->mutex};
    for (auto* each : state_->connections) {
      pending = pending || !each->operations.empty();
      results_waiting = results_waiting || !each->finished.empty();
    }
    if (!pending && (force || !results_waiting)) {
      for (auto* each : state_->connections) {
        open.push_back(each->shared_from_this());
        if (force) {
          // CS_FORCE_EXIT: what nobody has taken yet is discarded.
          each->finished.clear();
          each->finished_bytes = 0;
          each->queue.clear();
          each->held.clear();
          each->queued_bytes = 0;
          each->queued_completions = 0;
          each->update_waitables_locked();
        }
        // The connection is closing; new operations see not_connected.
        each->connected = false;
      }
    }
  }
  // Client-Library: ct_exit fails with an operation pending, even when forced.
  if (pending)
    return detail::context_error(*state_, errc::operations_pending,
                                 "context exit: a connection still has a pending operation");
  // Without CS_FORCE_EXIT, results not yet read make ct_exit fail.
  if (results_waiting && !force)
    return detail::context_error(*state_, errc::results_pending,
                                 "context exit: a connection holds results not taken yet; take "
                                 "them, or exit with force to discard them");
  for (auto& each : open) {
    auto target = each->link;
    if (force)
      each->worker->run_or_post([target] { target->force_close(); });
    else
      each->worker->run_or_post([target] { target->start_close(0); });
  }
  return {};
}

} // namespace actorloop::netio
