// The protocol-independent core of a connection: delivering events on the
// thread the I/O mode prescribes, backpressure on undelivered events, the
// completion and notification waitables, and client-message reports; and
// async mode's direct delivery of rows, completions and notifications
// without an event object (connection_delivery.hpp).
#include "connection_delivery.hpp"

#include <algorithm>
#include <exception>
#include <functional>
#include <utility>

namespace actorloop::netio {

namespace detail {

bool& in_completion_callback() noexcept {
  thread_local bool inside = false;
  return inside;
}

int& callback_depth() noexcept {
  thread_local int depth = 0;
  return depth;
}

namespace {

/// run_as_callback for any callable: the direct delivery below calls it
/// without wrapping its body into a std::function first.
template <class Body>
bool run_callback(Body& body, std::string& failure) {
  // A new callback is of "another kind" until a completion marks itself.
  auto outer = std::exchange(in_completion_callback(), false);
  ++callback_depth();
  try {
    body();
  } catch (...) {
    failure = "a callback threw: " + describe_current_exception();
  }
  --callback_depth();
  in_completion_callback() = outer;
  return failure.empty();
}

} // namespace

bool run_as_callback(const std::function<void()>& body, std::string& failure) {
  return run_callback(body, failure);
}

std::string describe_current_exception() {
  try {
    throw;
  } catch (const std::exception& thrown) {
    return thrown.what();
  } catch (...) {
    return "a non-standard exception (not derived from std::exception)";
  }
}

std::size_t size_of(const result_row& row) {
  std::size_t total = sizeof(result_row);
  for (auto& column : row.columns)
    total += column.size() + sizeof(std::string);
  return total;
}

bool finish_operation_locked(connection::state& state, function_id function, std::uint64_t id,
                             retcode status) {
  {
    // Connect and close complete without an id of their own: the oldest.
    auto done = std::find_if(state.operations.begin(), state.operations.end(),
                             [&](const pending_operation& each) {
                               return each.function == function &&
                                      (id == 0 || each.request_id == id);
                             });
    // Mostly the oldest: pop_front is far cheaper than deque's general erase.
    if (done == state.operations.begin())
      state.operations.pop_front();
    else if (done != state.operations.end())
      state.operations.erase(done);
    state.publish_routing_locked();
    if (function == function_id::connect && status == retcode::succeed)
      state.connected = true;
    if (function == function_id::close) {
      state.connected = false;
      state.dead = false;
    }
    if (function == function_id::execute) {
      auto node = state.building.extract(id);
      if (!node.empty() && !state.discarding.contains(id)) {
        state.finished.push_back(std::move(node.mapped()));
      } else if (!node.empty()) {
        for (auto& row : node.mapped().rows)
          state.finished_bytes -= std::min(size_of(row), state.finished_bytes);
        // A canceled request still reports its completion, without rows.
        node.mapped().rows.clear();
        state.finished.push_back(std::move(node.mapped()));
      }
      if (!node.empty() && state.spare_building.empty())
        state.spare_building = std::move(node); // moved from: reused by open_result_locked
      if (!state.discarding.empty())
        state.discarding.erase(id);
    }
    state.update_waitables_locked();
    state.maybe_resume_locked();
  }
  return state.effective_mode_locked() != io_mode::sync && state.installed.completion;
}

result& open_result_locked(connection::state& state, std::uint64_t id) {
  if (!state.spare_building.empty() && !state.building.contains(id)) {
    auto node = std::move(state.spare_building);
    node.key() = id;
    node.mapped() = result{id, {}, {}};
    return state.building.insert(std::move(node)).position->second;
  }
  auto& opened = state.building[id];
  opened = result{id, {}, {}};
  return opened;
}

bool may_deliver_here_locked(const connection::state& state) {
  return state.queue.empty() && state.self != nullptr &&
         state.effective_mode_locked() == io_mode::sync;
}

void finish_operation(connection::state& state, connection& self, function_id function,
                      std::uint64_t id, retcode status) {
  completion_callback callback;
  {
    std::lock_guard guard{state.owner_state->mutex};
    if (finish_operation_locked(state, function, id, status))
      callback = state.installed.completion;
  }
  if (callback) {
    auto outer = std::exchange(in_completion_callback(), true);
    callback(self, function, status);
    in_completion_callback() = outer;
  }
}

connection_event completion_event_for(connection::state& owner, function_id function,
                                      std::uint64_t id, retcode status) {
  connection_event event;
  event.completes = true;
  event.function = function;
  event.id = id;
  event.status = status;
  auto* target = &owner;
  event.run = [target, function, id, status](connection& self) {
    finish_operation(*target, self, function, id, status);
  };
  return event;
}

void file_outcome_locked(connection::state& state, std::uint64_t id, completion&& outcome) {
  auto& building = state.building[id];
  building.request_id = id;
  building.outcome = std::move(outcome);
}

std::size_t file_row_locked(connection::state& state, std::uint64_t id, result_row&& row) {
  if (state.discarding.contains(id))
    return 0;
  auto& building = state.building[id];
  building.request_id = id;
  auto bytes = size_of(row);
  if (state.finished_bytes + bytes > state.options.max_result_bytes) {
    // Too much held: give up on this request, loudly, rather than grow
    // without bound.
    auto over = state.finished_bytes + bytes;
    for (auto& each : building.rows)
      state.finished_bytes -= std::min(size_of(each), state.finished_bytes);
    building.rows.clear();
    state.discarding.insert(id);
    return over;
  }
  state.finished_bytes += bytes;
  building.rows.push_back(std::move(row));
  return 0;
}

void refuse_rows_over(connection::state& state, std::uint64_t id, std::size_t over) {
  state.report(client_message{severity::error, errc::buffer_full,
                              "request " + std::to_string(id) + ": results would hold " +
                                std::to_string(over) + " bytes, over max_result_bytes (" +
                                std::to_string(state.options.max_result_bytes) +
                                "); the request is canceled and its rows dropped"});
  auto doomed = state.link;
  state.worker->run_or_post([doomed, id] { doomed->send_cancel({id}); });
}

namespace {

/// What `deliver` decides for an event of a request (neither unsolicited
/// nor marking the connection dead), from the routing snapshot (no lock):
/// `deliver` decides again under the lock when this says queue.
enum class route { now, drop, queue };

route route_of(const connection::state& state, connection*& target) {
  auto word = state.routing.load(std::memory_order_acquire);
  target = state.routing_target.load(std::memory_order_acquire);
  if (target == nullptr)
    return route::drop;
  return (word & connection::state::routing_async) != 0 ? route::now : route::queue;
}

/// Runs `body` as a callback (poll refused inside, a throw becomes a client
/// message), as `run_event` does, with no std::function around it.
template <class Body>
void run_here(connection::state& state, Body& body) {
  std::string failure;
  if (!run_callback(body, failure))
    state.report(client_message{severity::error, errc::invalid_argument, failure});
}

/// The callback `installed` for the worker's direct delivery (lock held):
/// the worker's copy in `cache`, refreshed only when the installed
/// callbacks changed since; inside a delivery of that copy (a nested one on
/// this worker), a copy of its own in `own`, so the one running is never
/// replaced under it.
template <class Callback>
Callback& worker_copy_locked(const connection::state& state, worker_callback<Callback>& cache,
                             const Callback& installed, Callback& own) {
  if (cache.running) {
    own = installed;
    return own;
  }
  if (cache.generation != state.installed_generation) {
    cache.callback = installed;
    cache.generation = state.installed_generation;
  }
  return cache.callback;
}

/// Marks `cache` as running for a scope (a throwing callback included).
template <class Callback>
class running_scope {
public:
  running_scope(worker_callback<Callback>& cache, const Callback& called)
    : cache_(&called == &cache.callback ? &cache : nullptr) {
    if (cache_)
      cache_->running = true;
  }
  ~running_scope() {
    if (cache_)
      cache_->running = false;
  }
  running_scope(const running_scope&) = delete;
  running_scope& operator=(const running_scope&) = delete;

private:
  worker_callback<Callback>* cache_;
};

} // namespace

bool deliver_row_now(connection::state& state, std::uint64_t id, result_row& row) {
  connection* target = nullptr;
  switch (route_of(state, target)) {
    case route::drop: return true;
    case route::queue: return false;
    case route::now: break;
  }
  std::size_t over = 0;
  {
    std::lock_guard guard{state.owner_state->mutex};
    // Filing a row calls no application code: no callback frame needed.
    over = file_row_locked(state, id, std::move(row));
  }
  if (over != 0)
    refuse_rows_over(state, id, over);
  return true;
}

bool deliver_completion_now(connection::state& state, function_id function, std::uint64_t id,
                            retcode status, completion* outcome) {
  if (outcome == nullptr)
    return complete_in_place(state, function, id, status, {});
  struct outcome_filing {
    connection::state& state;
    completion& outcome;
  } filing{state, *outcome};
  return complete_in_place(
    state, function, id, status,
    {[](void* argument, std::uint64_t request_id) {
       auto& self = *static_cast<outcome_filing*>(argument);
       file_outcome_locked(self.state, request_id, std::move(self.outcome));
     },
     nullptr, &filing});
}

bool complete_in_place(connection::state& state, function_id function, std::uint64_t id,
                       retcode status, completion_filing filing) {
  // `target` stays valid while this runs: the connection's destructor
  // waits for the worker, which is this thread.
  connection* target = nullptr;
  switch (route_of(state, target)) {
    case route::drop: return true;
    case route::queue: return false;
    case route::now: break;
  }
  // finish_operation, with the worker's copy of the completion callback.
  auto body = [&] {
    completion_callback own;
    completion_callback* callback = nullptr;
    bool call_own = false;
    {
      std::lock_guard guard{state.owner_state->mutex};
      if (filing.file_locked != nullptr)
        filing.file_locked(filing.argument, id);
      if (finish_operation_locked(state, function, id, status)) {
        if (filing.call != nullptr)
          call_own = true;
        else
          callback = &worker_copy_locked(state, state.worker_completion,
                                         state.installed.completion, own);
      }
    }
    if (!call_own && callback == nullptr)
      return;
    // A completion callback, whichever is called: it may start the next operation.
    auto outer = std::exchange(in_completion_callback(), true);
    struct restore {
      bool outer;
      ~restore() { in_completion_callback() = outer; }
    } restored{outer};
    if (call_own) {
      filing.call(filing.argument, *target, function, status);
    } else {
      running_scope running{state.worker_completion, *callback};
      (*callback)(*target, function, status);
    }
  };
  run_here(state, body);
  return true;
}

bool deliver_notification_now(connection::state& state, const notification& note) {
  // The common case without the lock: the snapshot says "now" and the
  // worker's copy of the callback is the one installed (its generation).
  {
    auto word = state.routing.load(std::memory_order_acquire);
    auto* target = state.routing_target.load(std::memory_order_acquire);
    auto& cache = state.worker_notification;
    if (target != nullptr && (word & connection::state::routing_notify_now) != 0 &&
        !cache.running &&
        cache.generation == (word >> connection::state::routing_generation_shift)) {
      if (cache.callback) {
        running_scope running{cache, cache.callback};
        auto body = [&] { cache.callback(*target, note); };
        run_here(state, body);
      }
      return true;
    }
  }
  connection* target = nullptr;
  notification_callback own;
  notification_callback* callback = nullptr;
  {
    std::lock_guard guard{state.owner_state->mutex};
    if (state.self == nullptr)
      return true;
    // Held back until an operation reads (no async notifications), not
    // async, or behind released events: the event path decides.
    if ((state.operations.empty() && !state.options.async_notifications) ||
        state.effective_mode_locked() != io_mode::async || !state.released.empty())
      return false;
    target = state.self;
    // The callback installed now, as a copy would be, without copying it.
    callback = &worker_copy_locked(state, state.worker_notification, state.installed.notification,
                                   own);
  }
  if (*callback) {
    running_scope running{state.worker_notification, *callback};
    auto body = [&] { (*callback)(*target, note); };
    run_here(state, body);
  }
  return true;
}

} // namespace detail

// -- connection::state ---------------------------------------------------------------

connection::state::state(std::shared_ptr<context::state> owner, connection_options options)
  : owner_state(std::move(owner)), options(std::move(options)) {
  requested_mode = this->options.mode.value_or(owner_state->mode);
  installed = owner_state->defaults;
  auto& pool = detail::pool_of(owner_state->engine);
  worker = this->options.io_worker
             ? pool.shared_worker(*this->options.io_worker, "connection_options::io_worker")
             : pool.next_shared_worker();
}

io_mode connection::state::effective_mode_locked() const {
  if (requested_mode == io_mode::sync)
    return io_mode::sync;
  // All asynchronous connections of a context are of the context's kind.
  return owner_state->mode == io_mode::deferred ? io_mode::deferred : io_mode::async;
}

void connection::state::publish_routing_locked() {
  // While released events wait for the worker, everything takes the event
  // path (deliver), which queues behind them.
  const bool async = effective_mode_locked() == io_mode::async && released.empty();
  std::uint64_t word = installed_generation << routing_generation_shift;
  if (async)
    word |= routing_async;
  if (async && (!operations.empty() || options.async_notifications))
    word |= routing_notify_now;
  // The target first: a reader that sees the new word sees it too.
  routing_target.store(self, std::memory_order_release);
  routing.store(word, std::memory_order_release);
}

namespace {

/// Sets or resets `ready` to `wanted` only on a change: each set or reset
/// takes the event's own lock, and `signalled` says what it is already.
void signal_on_change(runtime::event& ready, bool& signalled, bool wanted) {
  if (wanted == signalled)
    return;
  signalled = wanted;
  if (wanted)
    ready.set();
  else
    ready.reset();
}

} // namespace

void connection::state::update_waitables_locked() {
  if (!waitables_exposed)
    return; // nobody holds either event yet: see waitables_exposed
  // Only these lines set or reset the two events, always under this lock.
  signal_on_change(completion_ready, completion_signalled,
                   queued_completions > 0 || !finished.empty());
  signal_on_change(notification_ready, notification_signalled,
                   std::any_of(queue.begin(), queue.end(),
                               [](const detail::connection_event& each) { return each.is_notification; }));
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

bool connection::state::release_held_locked(io_mode mode) {
  if (held.empty())
    return false;
  if (mode == io_mode::async) {
    // Delivered on the worker, before anything of the operation just started
    // and before anything read after them (see `released`).
    bool posted = !released.empty(); // a job is on its way already
    for (auto& each : held)
      released.push_back(std::move(each));
    held.clear();
    publish_routing_locked();
    auto self_state = shared_from_this();
    if (!posted && !worker->post([self_state] { self_state->run_released(); })) {
      // The worker has stopped: nothing is delivered on it any more, and
      // the routing must not wait for a job that will not run.
      released.clear();
      publish_routing_locked();
    }
    return false;
  }
  for (auto position = held.rbegin(); position != held.rend(); ++position) {
    queued_bytes += position->bytes;
    queue.push_front(std::move(*position));
  }
  held.clear();
  update_waitables_locked();
  return true;
}

void connection::state::run_released() {
  for (;;) {
    detail::connection_event next;
    {
      std::lock_guard guard{owner_state->mutex};
      if (released.empty())
        return;
      next = std::move(released.front());
      released.pop_front();
      if (released.empty())
        publish_routing_locked(); // direct delivery again from here on
    }
    // The last one runs after the snapshot allows direct delivery again;
    // that is still in order: only this worker delivers, and it is here.
    run_event(next);
  }
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
  if (!released.empty()) {
    // Behind the released ones, which the worker runs next (run_released).
    released.push_back(std::move(event));
    return;
  }
  bool run_on_worker = mode == io_mode::async ||
                       (mode == io_mode::sync && event.unsolicited && options.async_notifications);
  if (run_on_worker) {
    // Read under this lock (run_event would take it again); the object stays
    // while this runs on the worker: its destructor waits for the worker.
    auto* target = self;
    guard.unlock();
    std::string failure;
    if (!detail::run_as_callback([&] { event.run(*target); }, failure))
      report(client_message{severity::error, errc::invalid_argument, failure});
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
  guard.unlock();
  // After the unlock: a waiter woken under the lock would wake only to block
  // on the mutex this thread still holds, and need a second wake-up (a futex
  // call on each side) to get it. The context state outlives this call: the
  // link that calls holds this connection's state, which holds the context's.
  owner_state->changed.notify_all();
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
  if (!detail::run_as_callback([&] { event.run(*target); }, failure))
    report(client_message{severity::error, errc::invalid_argument, failure});
}

void connection::state::report(const client_message& problem) {
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
  detail::run_as_callback([&] { answer = callback(target, problem); }, failure);
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

} // namespace actorloop::netio
