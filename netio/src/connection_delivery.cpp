// The protocol-independent core of a connection: delivering events on the
// thread the I/O mode prescribes, backpressure on undelivered events, the
// completion and notification waitables, and client-message reports.
#include <actorloop/netio/detail/connection_core.hpp>

#include <algorithm>
#include <exception>
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

bool run_as_callback(const std::function<void()>& body, std::string& failure) {
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

connection_event completion_event_for(connection::state& owner, function_id function,
                                      std::uint64_t id, retcode status) {
  connection_event event;
  event.completes = true;
  event.function = function;
  event.id = id;
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
