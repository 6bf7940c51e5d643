// message_server itself: construction, the graceful stop, statistics, and
// reaching sessions from outside.

#include "server_session.hpp"

#include <actorloop/netio/error.hpp>

#include <actorloop/runtime/detail/access.hpp>

#include <future>
#include <unistd.h>

namespace actorloop::netio {

namespace detail {

namespace {

class function_deadline final : public runtime::detail::deadline_target {
public:
  explicit function_deadline(std::function<void()> fire) : fire_(std::move(fire)) {}
  void on_deadline_reached() noexcept override {
    try {
      fire_();
    } catch (...) {
      // Timer actions of the server do not throw; never let one escape.
    }
  }

private:
  std::function<void()> fire_;
};

} // namespace

std::shared_ptr<runtime::detail::deadline_target> schedule_on(io_worker& worker,
                                                              runtime::time_point at,
                                                              std::function<void()> fire) {
  auto target = std::make_shared<function_deadline>(std::move(fire));
  // Deadlines run on the group's worker, which is the I/O worker itself.
  runtime::detail::schedule_deadline(runtime::detail::access::group(worker.engine().get_scheduler(worker.name())), at,
                                     target);
  return target;
}

} // namespace detail

message_server::state::state(runtime::engine& engine, server_options options)
  : engine(engine), options(std::move(options)), wire(make_framed_codec(this->options.limits)) {
  if (this->options.output_hard_limit_bytes <
      this->options.max_output_bytes + this->options.limits.max_frame_bytes)
    throw error(errc::invalid_argument,
                "message server: output_hard_limit_bytes (" +
                  std::to_string(this->options.output_hard_limit_bytes) +
                  ") must exceed max_output_bytes plus the largest frame (" +
                  std::to_string(this->options.max_output_bytes + this->options.limits.max_frame_bytes) +
                  ")");
}

message_server::state::~state() {
  if (listener >= 0)
    ::close(listener);
  if (spare_descriptor >= 0)
    ::close(spare_descriptor);
}

void message_server::state::stop(runtime::duration drain_limit) {
  std::vector<std::shared_ptr<detail::session>> open;
  {
    std::lock_guard guard{mutex};
    if (stopping && sessions.empty())
      return;
    stopping = true;
    open.reserve(sessions.size());
    for (auto& [id, each] : sessions)
      open.push_back(each);
  }
  if (listen_worker) {
    auto self = shared_from_this();
    std::promise<void> closed;
    auto done = closed.get_future();
    if (listen_worker->run_or_post([self, &closed] {
          self->close_listener();
          closed.set_value();
        }))
      done.wait();
  }
  auto limit = runtime::clock::now() + drain_limit;
  for (auto& each : open) {
    auto target = each;
    target->worker().run_or_post([target, limit] { target->begin_drain(limit); });
  }
  open.clear();
  std::unique_lock guard{mutex};
  all_closed.wait(guard, [&] { return sessions.empty(); });
}

server_statistics message_server::state::statistics() {
  server_statistics result;
  result.sessions_open = sessions_open.load();
  result.sessions_accepted = accepted.load();
  result.requests = requests.load();
  result.completions = completions.load();
  result.notifications_delivered = delivered.load();
  result.protocol_errors = protocol_errors.load();
  result.warnings_sent = warnings.load();
  result.slow_subscribers_disconnected = slow_disconnects.load();
  result.requests_in_flight = in_flight.load();
  result.connections_dropped_at_descriptor_limit = dropped_at_descriptor_limit.load();
  result.login_timeouts = login_timeouts.load();
  result.handshake_timeouts = handshake_timeouts.load();
  result.idle_timeouts = idle_timeouts.load();
  result.output_overflows = output_overflows.load();
  return result;
}

// -- message_server ----------------------------------------------------------------------

message_server::message_server(runtime::engine& engine, server_options options)
  : state_(std::make_shared<state>(engine, std::move(options))) {
  state_->listen();
}

message_server::~message_server() {
  stop(runtime::duration::zero());
}

endpoint message_server::local_endpoint() const {
  return state_->bound;
}

void message_server::stop(runtime::duration drain_limit) {
  if (detail::pool_of(state_->engine).current() != nullptr)
    throw error(errc::invalid_argument,
                "message_server::stop would block an I/O worker; call it from another thread");
  state_->stop(drain_limit);
}

server_statistics message_server::statistics() const {
  return state_->statistics();
}

bool message_server::wait_for_statistics(
    const std::function<bool(const server_statistics&)>& holds, runtime::duration timeout) const {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  return state_->statistics_changed.wait([&] { return holds(state_->statistics()); }, deadline);
}

void message_server::publish(const std::string& channel, const std::string& payload,
                             std::function<void(std::size_t)> delivered) {
  state_->publish(channel, payload, 0, std::move(delivered));
}

bool message_server::notify_session(std::uint64_t session_id, const std::string& channel,
                                    const std::string& payload) {
  auto target = state_->find_session(session_id);
  if (!target)
    return false;
  return target->worker().run_or_post([target, channel, payload] {
    (void)target->send_unsolicited(notification{channel, payload, 0});
  });
}

bool message_server::message_session(std::uint64_t session_id, severity level, std::uint32_t code,
                                     const std::string& text) {
  auto target = state_->find_session(session_id);
  if (!target)
    return false;
  return target->worker().run_or_post([target, level, code, text] {
    (void)target->send_unsolicited(server_message{level, code, text});
  });
}

} // namespace actorloop::netio
