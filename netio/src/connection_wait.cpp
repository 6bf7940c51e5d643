// Waiting for a connection's events on the thread that delivers them:
// deferred mode's poll (context and connection level) and the blocked
// caller of a sync-mode operation.
#include <actorloop/netio/detail/connection_core.hpp>

namespace actorloop::netio::detail {

namespace {

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

} // namespace

poll_result poll_connections(context::state& owner, connection::state* only,
                             std::optional<runtime::duration> timeout) {
  poll_result found;
  if (detail::callback_depth() > 0) {
    found.code = retcode::fail;
    auto text = std::string{"poll called from inside a callback"};
    if (only)
      only->report(client_message{severity::error, errc::not_allowed_in_callback, text});
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
      only->report(client_message{severity::error, errc::invalid_argument, text});
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

/// Waits on the calling thread (sync mode) until the operation `function`
/// with id `id` completes, running this connection's events here as they arrive.
retcode wait_sync(connection::state& state, function_id function, std::uint64_t id,
                  std::optional<runtime::time_point> first_deadline) {
  auto& owner = *state.owner_state;
  std::unique_lock guard{owner.mutex};
  auto period = state.options.timeout;
  auto deadline = first_deadline ? *first_deadline
                  : period       ? runtime::clock::now() + *period
                                 : runtime::time_point::max();
  for (;;) {
    if (!state.queue.empty()) {
      auto event = state.take_next_locked();
      guard.unlock();
      state.run_event(event);
      guard.lock();
      if (event.completes && event.function == function && event.id == id)
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
        detail::run_as_callback(
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
                    [&](const detail::pending_operation& each) { return each.request_id == id; });
      state.publish_routing_locked();
      auto doomed = state.link;
      state.worker->post([doomed] { doomed->start_close(0); });
      return retcode::fail;
    }
  }
}

} // namespace actorloop::netio::detail
