// Starting an operation: Client-Library's busy rule, what callbacks may
// start, dead and unconnected connections, then the hand-off to the
// connection's transport on its I/O worker.
#include <actorloop/netio/detail/connection_core.hpp>

#include <algorithm>

namespace actorloop::netio::detail {

namespace {

/// Largest number of pipelined requests one connection keeps in flight.
constexpr std::size_t max_pipelined_requests = 4096;

/// What every start_operation variant does; `run_here`, when given, runs
/// the worker's part when the caller is on the worker already.
started_operation
start(connection::state& state, function_id function, bool needs_connection,
      const std::function<void(std::uint64_t)>* run_here,
      const std::function<std::function<void(std::uint64_t)>()>& make_on_worker,
      const caller_io* on_caller);

} // namespace

/// Starts an operation: the busy rule, dead connections, then the worker.
started_operation start_operation(connection::state& state, function_id function,
                                  bool needs_connection, const std::function<void(std::uint64_t)>& on_worker,
                                  const caller_io* on_caller) {
  return start(state, function, needs_connection, &on_worker, [&on_worker] { return on_worker; },
               on_caller);
}

started_operation
start_operation_in_place(connection::state& state, function_id function, bool needs_connection,
                         const std::function<void(std::uint64_t)>& run_here,
                         const std::function<std::function<void(std::uint64_t)>()>& make_on_worker,
                         const caller_io* on_caller) {
  return start(state, function, needs_connection, &run_here, make_on_worker, on_caller);
}

namespace {

started_operation
start(connection::state& state, function_id function, bool needs_connection,
      const std::function<void(std::uint64_t)>* run_here,
      const std::function<std::function<void(std::uint64_t)>()>& make_on_worker,
      const caller_io* on_caller) {
  auto& owner = *state.owner_state;
  std::uint64_t id = 0;
  io_mode mode;
  bool try_caller = false;
  bool wake = false;
  std::optional<runtime::duration> timeout;
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
                                    "callback"});
      return {retcode::fail, 0};
    }
    if (!state.operations.empty()) {
      bool pipelined = state.options.pipelining && function == function_id::execute &&
                       state.operations.size() < max_pipelined_requests &&
                       std::all_of(state.operations.begin(), state.operations.end(),
                                   [](const detail::pending_operation& each) {
                                     return each.function == function_id::execute;
                                   });
      if (!pipelined)
        return {retcode::busy, 0};
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
      state.report(client_message{severity::error, code, problem});
      return {retcode::fail, 0};
    }
    id = function == function_id::lookup ? state.next_lookup_id++ : state.next_request_id++;
    // The caller may do the I/O itself only when nothing else is in flight
    // (no other operation's bytes on the wire) and no notification must
    // run on the worker meanwhile (async notifications).
    try_caller = on_caller != nullptr && mode == io_mode::sync && state.operations.empty() &&
                 !state.options.async_notifications;
    timeout = state.options.timeout;
    state.operations.push_back({function, id});
    state.publish_routing_locked();
    wake = state.release_held_locked(mode);
  }
  // After the lock, as `deliver` does (docs/netio.md).
  if (wake)
    owner.changed.notify_all();
  if (try_caller && !state.worker->stopping()) {
    auto deadline = timeout ? runtime::clock::now() + *timeout : runtime::time_point::max();
    auto outcome = (*on_caller)(id, deadline);
    if (outcome.completed)
      return {*outcome.completed, id}; // delivered in place: nothing left to wait for
    if (outcome.started)
      return {wait_sync(state, function, id, deadline), id};
  }
  if (state.worker->on_this_thread() && !state.worker->stopping()) {
    // On the worker already (a completion callback starting the next
    // operation): run it here, without wrapping and moving the worker's
    // part into a posted command (what run_or_post would run at once
    // anyway), and without building it when `run_here` can do it.
    if (run_here)
      (*run_here)(id);
    else
      make_on_worker()(id);
  } else if (auto target = state.link;
             !state.worker->run_or_post([target, id, on_worker = make_on_worker()] {
               struct inside {
                 connection_transport& transport;
                 ~inside() { transport.worker_leave(); }
               } scope{*target};
               target->worker_enter();
               on_worker(id);
             })) {
    {
      std::lock_guard guard{owner.mutex};
      std::erase_if(state.operations,
                    [&](const detail::pending_operation& each) { return each.request_id == id; });
      state.publish_routing_locked();
    }
    state.report(client_message{severity::error, errc::shutting_down,
                                "the I/O workers are shutting down"});
    return {retcode::fail, 0};
  }
  if (mode == io_mode::sync)
    return {wait_sync(state, function, id), id};
  return {retcode::pending, id};
}

} // namespace

} // namespace actorloop::netio::detail
