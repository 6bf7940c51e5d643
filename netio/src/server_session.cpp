// A session's requests and output: requests run one at a time through the
// registered handlers; replies are queued beyond the soft output limit
// (never dropped) while the session stops starting requests and reading
// until the queue drains; a reply past the hard limit, a slow subscriber, a
// timeout or the drain ends the session with one last fatal message.

#include "server_session.hpp"

#include <actorloop/netio/error.hpp>

#include <algorithm>

namespace actorloop::netio::detail {

session::session(std::shared_ptr<message_server::state> server, io_worker& worker,
                 std::uint64_t id, std::string peer)
  : server_(std::move(server)), worker_(worker), id_(id),
    info_(std::make_shared<session_info>()) {
  info_->id = id;
  info_->peer = std::move(peer);
}

void session::start(int fd) {
  const auto& options = server_->options;
  channel_options settings;
  settings.wire = server_->wire;
  settings.max_output_bytes = options.max_output_bytes;
  settings.handshake_timeout = options.handshake_timeout;
  if (options.tls) {
    auto context = options.tls;
    settings.secure = [context](std::unique_ptr<byte_stream> plain) {
      return make_tls_layer(*context, {}, std::move(plain));
    };
  }
  channel_ = std::make_shared<channel>(worker_, fd, false, *this, std::move(settings));
  last_activity_ = runtime::clock::now();
  if (options.login_timeout > runtime::duration::zero()) {
    std::weak_ptr<session> self = weak_from_this();
    login_timer_ = schedule_on(worker_, last_activity_ + options.login_timeout, [self] {
      if (auto alive = self.lock())
        alive->login_timed_out();
    });
  }
  channel_->start();
}

// -- output -----------------------------------------------------------------------------

bool session::can_send() const {
  return channel_ && !channel_->closing();
}

bool session::over_limit() const {
  return channel_ && channel_->output_bytes() >= server_->options.max_output_bytes;
}

bool session::send_frame(std::uint64_t id, message_body body) {
  if (!can_send())
    return false;
  // Encode into a buffer kept from the last frame (no allocation per
  // frame); taken out while in use, so a nested send (from a callback the
  // queueing provokes) simply gets a fresh one.
  auto bytes = std::move(frame_buffer_);
  bytes.clear();
  if (auto failure = server_->wire->encode(message{id, std::move(body)}, bytes)) {
    end_with(server_codes::protocol_violation, "cannot encode a reply: " + failure.message());
    return false;
  }
  bool queued = queue_bytes(bytes);
  if (bytes.capacity() <= max_kept_frame_buffer)
    frame_buffer_ = std::move(bytes);
  return queued;
}

bool session::queue_bytes(std::span<const std::byte> bytes) {
  auto queued = channel_->output_bytes();
  if (queued + bytes.size() > server_->options.output_hard_limit_bytes) {
    server_->output_overflows.fetch_add(1);
    end_with(server_codes::output_overflow,
             "output limit exceeded: " + std::to_string(queued) + " bytes queued and a reply of " +
               std::to_string(bytes.size()) + " more; the client does not read fast enough");
    return false;
  }
  if (channel_->send_encoded(bytes, true))
    return false;
  check_backlog();
  update_writable();
  return true;
}

void session::end_with(std::uint32_t code, const std::string& why) {
  if (!can_send())
    return;
  if (!channel_->open()) {
    // Still in the TLS handshake: no frame can be sent yet.
    channel_->close(errc::timed_out, why);
    return;
  }
  // The last frame bypasses both limits: it is what tells the client why.
  std::vector<std::byte> bytes;
  if (!server_->wire->encode(message{0, server_message{severity::fatal, code, why}}, bytes))
    (void)channel_->send_encoded(bytes, true);
  channel_->close_after_flush(server_->options.closing_flush_timeout);
}

void session::check_backlog() {
  if (warned_ || !can_send() || channel_->output_bytes() <= server_->options.output_warning_bytes)
    return;
  warned_ = true;
  server_->warnings.fetch_add(1);
  std::vector<std::byte> bytes;
  message warning{0, server_message{severity::warning, server_codes::output_backing_up,
                                    "output queue backing up: " +
                                      std::to_string(channel_->output_bytes()) +
                                      " bytes waiting for this client"}};
  if (!server_->wire->encode(warning, bytes))
    (void)channel_->send_encoded(bytes, true);
}

void session::update_writable() {
  bool below = !over_limit();
  if (current_)
    current_->writable.store(below);
  if (!below)
    channel_->notify_when_drained(); // on_channel_writable resumes the work
}

bool session::deliver(const std::shared_ptr<const std::vector<std::byte>>& encoded) {
  if (phase_ != phase::ready || !can_send())
    return false;
  if (channel_->output_bytes() + encoded->size() > server_->options.max_output_bytes) {
    // Never drop a notification silently: tell the subscriber, once, and
    // let it go; the fatal message is the last frame it gets.
    if (!cut_off_) {
      cut_off_ = true;
      server_->slow_disconnects.fetch_add(1);
      end_with(server_codes::subscriber_too_slow,
               "subscriber too slow: " + std::to_string(channel_->output_bytes()) +
                 " bytes queued; closing the session");
    }
    return false;
  }
  if (channel_->send_encoded(*encoded, true))
    return false;
  // The caller (publish) adds to `delivered` once per batch: one shared
  // counter touched per worker and PUBLISH rather than per subscriber.
  check_backlog();
  update_writable();
  return true;
}

bool session::send_unsolicited(message_body body) {
  return phase_ == phase::ready && send_frame(0, std::move(body));
}

// -- channel events -----------------------------------------------------------------------

void session::on_channel_open() {
  opened_ = true;
}

bool session::on_channel_message(message&& value) {
  touch();
  switch (phase_) {
    case phase::awaiting_hello: return on_hello(value);
    case phase::authenticating: return on_response(value);
    case phase::ready: return on_session_message(std::move(value));
  }
  return true;
}

void session::on_channel_decode_error(std::error_code error, const std::string& detail) {
  server_->protocol_errors.fetch_add(1);
  std::uint32_t code = server_codes::malformed_frame;
  if (error == errc::frame_too_large)
    code = server_codes::frame_too_large;
  else if (error == errc::unsupported_version)
    code = server_codes::unsupported_version;
  else if (error == errc::unknown_message_kind)
    code = server_codes::unknown_message_kind;
  // The channel closes after this frame; bound the wait for the client to read it.
  std::vector<std::byte> bytes;
  if (!server_->wire->encode(message{0, server_message{severity::fatal, code, detail}}, bytes))
    (void)channel_->send_encoded(bytes, true);
  channel_->close_after_flush(server_->options.closing_flush_timeout);
}

void session::on_channel_writable() {
  warned_ = false;
  if (current_) {
    current_->writable.store(true);
    if (auto resume = std::exchange(current_->resume, nullptr))
      resume();
  }
  run_queued();
}

void session::on_channel_closed(std::error_code reason, const std::string& detail) {
  if (reason == errc::timed_out && !opened_)
    server_->handshake_timeouts.fetch_add(1);
  login_timer_.reset();
  idle_timer_.reset();
  drain_timer_.reset();
  std::size_t unfinished = queued_.size();
  queued_.clear();
  if (current_) {
    auto which = std::move(current_);
    if (!which->done) {
      which->done = true;
      which->was_canceled = true;
      which->finished.store(true);
      which->writable.store(false);
      ++unfinished;
      which->resume = nullptr;
      if (auto canceled = std::exchange(which->canceled, nullptr)) {
        try {
          canceled();
        } catch (...) {
          server_->log("session " + std::to_string(id_) + ": an on_cancel callback threw");
        }
      }
    }
  }
  server_->in_flight.fetch_sub(unfinished);
  for (auto& channel : subscribed_)
    server_->unsubscribe(channel, this);
  subscribed_.clear();
  if (phase_ == phase::ready)
    for (auto& observer : server_->options.handlers.close_observers()) {
      try {
        observer(*info_, reason, detail);
      } catch (...) {
        server_->log("session " + std::to_string(id_) + ": a close observer threw");
      }
    }
  // Leave the channel's call stack before letting go of it.
  auto self = shared_from_this();
  worker_.post([self] { self->server_->forget(self.get()); });
}

// -- requests ------------------------------------------------------------------------------

bool session::on_session_message(message&& value) {
  if (auto* command = std::get_if<request>(&value.body)) {
    server_->requests.fetch_add(1, std::memory_order_relaxed);
    server_->in_flight.fetch_add(1, std::memory_order_relaxed);
    if (!dispatching_ && !current_ && queued_.empty() && can_send() && !over_limit()) {
      // Nothing ahead of it: run it from the channel's message, as the loop
      // in run_queued would, without moving it into the queue. The channel
      // keeps the arguments' storage for the next request's decoding.
      dispatching_ = true;
      execute(value.request_id, *command);
      dispatching_ = false;
    } else {
      queued_.push_back(std::move(value));
    }
    run_queued();
    return queued_.size() < server_->options.max_queued_requests && !over_limit();
  }
  if (std::holds_alternative<cancel>(value.body)) {
    cancel_request(value.request_id, "canceled");
    return true;
  }
  if (std::holds_alternative<terminate>(value.body)) {
    channel_->close_after_flush(server_->options.closing_flush_timeout);
    return false;
  }
  server_->protocol_errors.fetch_add(1);
  end_with(server_codes::protocol_violation,
           "a client may not send " + std::string{to_string(kind_of(value.body))});
  return false;
}

void session::cancel_request(std::uint64_t request_id, const std::string& why) {
  if (current_ && current_->request_id == request_id) {
    cancel_reply(*current_, why);
    return;
  }
  auto found = std::find_if(queued_.begin(), queued_.end(),
                            [&](const message& each) { return each.request_id == request_id; });
  if (found != queued_.end()) {
    queued_.erase(found);
    server_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (send_frame(request_id, completion{completion_status::canceled, why + " before it started"}))
      server_->completions.fetch_add(1, std::memory_order_relaxed);
  }
  // A cancel for a finished request is not an error: they cross on the wire.
}

void session::run_queued() {
  if (dispatching_)
    return; // the loop below picks the next one up
  dispatching_ = true;
  while (!current_ && !queued_.empty() && can_send() && !over_limit()) {
    auto next = std::move(queued_.front());
    queued_.pop_front();
    execute(next.request_id, std::get<request>(next.body));
  }
  dispatching_ = false;
  if (!can_send())
    return;
  if (over_limit() && !queued_.empty())
    channel_->notify_when_drained();
  maybe_finish_drain();
  if (can_send() && !draining_ && queued_.size() < server_->options.max_queued_requests &&
      !over_limit())
    channel_->resume_reading();
}

void session::execute(std::uint64_t id, const request& command) {
  auto which = next_reply_state(id);
  which->writable.store(!over_limit());
  current_ = which;
  reply answer{which};
  if (command.arguments.empty()) {
    answer.fail(server_codes::wrong_arguments, "an empty request names no command");
    return;
  }
  const auto& name = command.arguments.front();
  auto* handler = server_->options.handlers.find(name);
  if (!handler) {
    answer.fail(server_codes::unknown_command, "unknown command '" + name + "'");
    return;
  }
  try {
    (*handler)(command.arguments, answer);
  } catch (const std::exception& failure) {
    answer.fail(server_codes::handler_failed, name + " failed: " + failure.what());
  } catch (...) {
    answer.fail(server_codes::handler_failed, name + " failed: an exception that is not a std::exception");
  }
}

std::shared_ptr<reply_state> session::next_reply_state(std::uint64_t id) {
  // The last request's state is used again when nothing else holds it (no
  // reply handle kept by a handler, no posted action): one allocation less
  // per request. Nothing can take a new reference to it then, and every
  // field another thread may have touched is an atomic or stays the same
  // (owner, worker, info: one session's). The fence pairs with the release
  // of the last other reference (use_count reads it relaxed), so those
  // threads' last uses come before the reset. ThreadSanitizer does not model
  // fences (GCC warns about them under it); it needs none here, as every
  // field it could see shared is atomic.
  if (spare_reply_ && spare_reply_.use_count() == 1 && spare_reply_->info == info_) {
#if !defined(__SANITIZE_THREAD__)
    std::atomic_thread_fence(std::memory_order_acquire);
#endif
    auto& state = *spare_reply_;
    state.request_id.store(id, std::memory_order_relaxed);
    state.finished.store(false);
    state.writable.store(true);
    state.done = false;
    state.was_canceled = false;
    state.canceled = nullptr;
    state.resume = nullptr;
    return spare_reply_;
  }
  spare_reply_ = std::make_shared<reply_state>(weak_from_this(), worker_, id, info_);
  return spare_reply_;
}

void session::reply_frame(reply_state& which, message_body body) {
  if (which.done)
    return;
  (void)send_frame(which.request_id, std::move(body));
}

void session::reply_complete(reply_state& which, completion_status status, std::string text) {
  if (which.done)
    return;
  which.done = true;
  which.resume = nullptr;
  which.canceled = nullptr;
  which.writable.store(false);
  server_->in_flight.fetch_sub(1, std::memory_order_relaxed);
  if (send_frame(which.request_id, completion{status, std::move(text)}))
    server_->completions.fetch_add(1, std::memory_order_relaxed);
  touch();
  finish_current(which);
}

void session::cancel_reply(reply_state& which, const std::string& why) {
  if (which.done)
    return;
  which.done = true;
  which.was_canceled = true;
  which.finished.store(true);
  which.writable.store(false);
  which.resume = nullptr;
  auto canceled = std::exchange(which.canceled, nullptr);
  server_->in_flight.fetch_sub(1, std::memory_order_relaxed);
  if (send_frame(which.request_id, completion{completion_status::canceled, why}))
    server_->completions.fetch_add(1, std::memory_order_relaxed);
  if (canceled) {
    try {
      canceled();
    } catch (...) {
      server_->log("session " + std::to_string(id_) + ": an on_cancel callback threw");
    }
  }
  finish_current(which);
}

void session::finish_current(reply_state& which) {
  if (current_.get() != &which)
    return;
  current_.reset();
  run_queued();
}

void session::reply_subscribe(const std::string& channel, bool subscribe) {
  if (subscribe) {
    if (subscribed_.insert(channel).second)
      server_->subscribe(channel, shared_from_this());
  } else if (subscribed_.erase(channel) != 0) {
    server_->unsubscribe(channel, this);
  }
}

void session::reply_when_writable(reply_state& which) {
  if (which.done || !which.resume)
    return;
  if (!over_limit()) {
    auto resume = std::exchange(which.resume, nullptr);
    resume();
    return;
  }
  channel_->notify_when_drained();
}

// -- idle sessions and the drain -------------------------------------------------------------

void session::touch() {
  last_activity_ = runtime::clock::now();
}

void session::idle_check() {
  auto limit = server_->options.idle_timeout;
  if (!can_send())
    return;
  auto now = runtime::clock::now();
  if (!current_ && queued_.empty() && now - last_activity_ >= limit) {
    server_->idle_timeouts.fetch_add(1);
    end_with(server_codes::idle_timed_out,
             "idle for " +
               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(limit).count()) +
               " ms; closing the session");
    return;
  }
  // Busy (a request running is not idleness) or active since: look again later.
  auto next = (current_ || !queued_.empty()) ? now + limit : last_activity_ + limit;
  std::weak_ptr<session> self = weak_from_this();
  idle_timer_ = schedule_on(worker_, next, [self] {
    if (auto alive = self.lock())
      alive->idle_check();
  });
}

void session::begin_drain(runtime::time_point limit) {
  draining_ = true;
  if (!can_send())
    return;
  channel_->pause_reading();
  if (current_ || !queued_.empty()) {
    std::weak_ptr<session> self = weak_from_this();
    drain_timer_ = schedule_on(worker_, limit, [self] {
      if (auto alive = self.lock())
        alive->drain_deadline_reached();
    });
  }
  maybe_finish_drain();
}

void session::drain_deadline_reached() {
  // Whatever has not finished completes as canceled: the queued ones first,
  // so that canceling the current one does not start them.
  while (!queued_.empty()) {
    auto id = queued_.front().request_id;
    queued_.pop_front();
    server_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (send_frame(id, completion{completion_status::canceled, "server shutting down"}))
      server_->completions.fetch_add(1, std::memory_order_relaxed);
  }
  if (current_)
    cancel_reply(*current_, "server shutting down");
  maybe_finish_drain();
}

void session::maybe_finish_drain() {
  if (!draining_ || !can_send() || current_ || !queued_.empty())
    return;
  if (!channel_->open()) {
    // Still in the TLS handshake: nothing can be said; just close.
    channel_->close(errc::shutting_down, "server shutting down");
    return;
  }
  (void)send_frame(0, server_message{severity::info, server_codes::shutting_down,
                                     "server shutting down"});
  channel_->close_after_flush(server_->options.closing_flush_timeout);
}

} // namespace actorloop::netio::detail
