#include <actorloop/netio/server.hpp>

#include <actorloop/runtime/detail/access.hpp>

#include "channel.hpp"
#include "io_worker.hpp"
#include "security.hpp"
#include "socket_ops.hpp"

#include <actorloop/netio/error.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sys/epoll.h>
#include <unistd.h>
#include <unordered_map>

namespace actorloop::netio {

namespace {

class session;

std::uint32_t code_for(std::error_code error) {
  if (error == errc::frame_too_large)
    return server_codes::frame_too_large;
  if (error == errc::unsupported_version)
    return server_codes::unsupported_version;
  if (error == errc::unknown_message_kind)
    return server_codes::unknown_message_kind;
  return server_codes::malformed_frame;
}

bool parse_number(std::string_view text, std::uint64_t& value) {
  auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), value);
  return problem == std::errc{} && end == text.data() + text.size() && !text.empty();
}

} // namespace

/// Everything the server's sessions share.
class message_server::state final : public std::enable_shared_from_this<state>,
                                    public detail::io_handler {
public:
  state(runtime::engine& engine, server_options options)
    : engine(engine), options(std::move(options)), wire(make_framed_codec(this->options.limits)) {}

  ~state() override {
    if (listener >= 0)
      ::close(listener);
  }

  void listen();
  void on_io(std::uint32_t events) noexcept override;
  void on_worker_stopping() noexcept override { close_listener(); }
  void close_listener();
  void adopt(int fd, detail::io_worker& worker);
  void forget(session* gone);
  void subscribe(const std::string& channel, const std::shared_ptr<session>& who);
  void unsubscribe(const std::string& channel, session* who);
  void publish(const std::string& channel, const std::string& payload, std::uint64_t publisher,
               std::function<void(std::size_t)> done);
  void stop(runtime::duration drain_limit);

  runtime::engine& engine;
  const server_options options;
  const std::shared_ptr<const codec> wire;
  int listener = -1;
  endpoint bound;
  detail::io_worker* listen_worker = nullptr;
  bool listener_registered = false; // listen worker's thread only

  std::mutex mutex;
  std::condition_variable all_closed;
  std::set<std::shared_ptr<session>> sessions;
  std::map<std::string, std::vector<std::weak_ptr<session>>> subscriptions;
  bool stopping = false;
  std::uint64_t next_session_id = 1;

  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> completions{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> protocol_errors{0};
  std::atomic<std::uint64_t> warnings{0};
  std::atomic<std::uint64_t> slow_disconnects{0};
  std::atomic<std::uint64_t> in_flight{0};
};

namespace {

/// Completes a SLEEP request on the session's worker.
class sleep_deadline final : public runtime::detail::deadline_target {
public:
  sleep_deadline(std::weak_ptr<session> owner, std::uint64_t request_id)
    : owner_(std::move(owner)), request_id_(request_id) {}
  void on_deadline_reached() noexcept override;

private:
  std::weak_ptr<session> owner_;
  std::uint64_t request_id_;
};

/// One client session; lives on one I/O worker and runs only there.
class session final : public detail::channel_owner, public std::enable_shared_from_this<session> {
public:
  session(std::shared_ptr<message_server::state> server, detail::io_worker& worker,
          std::uint64_t id)
    : server_(std::move(server)), worker_(worker), id_(id) {}

  void start(int fd) {
    detail::channel_options options;
    options.wire = server_->wire;
    options.max_output_bytes = server_->options.max_output_bytes;
    if (server_->options.tls) {
      auto context = server_->options.tls;
      options.secure = [context](std::unique_ptr<byte_stream> plain) {
        return detail::make_tls_layer(*context, {}, std::move(plain));
      };
    }
    channel_ = std::make_shared<detail::channel>(worker_, fd, false, *this, std::move(options));
    channel_->start();
  }

  [[nodiscard]] detail::io_worker& worker() const noexcept { return worker_; }
  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }

  /// A notification encoded once for every subscriber.
  void deliver(const std::shared_ptr<const std::vector<std::byte>>& encoded) {
    if (!channel_ || !channel_->open() || phase_ != phase::ready)
      return;
    if (channel_->output_bytes() + encoded->size() > server_->options.max_output_bytes) {
      // Never drop a notification silently: tell the subscriber and let go.
      server_->slow_disconnects.fetch_add(1);
      send_message(0, server_message{severity::fatal, server_codes::subscriber_too_slow,
                                     "subscriber too slow: " +
                                       std::to_string(channel_->output_bytes()) +
                                       " bytes queued; closing the session"},
                   true);
      channel_->close_after_flush();
      return;
    }
    if (!channel_->send_encoded(*encoded)) {
      server_->delivered.fetch_add(1, std::memory_order_relaxed);
      check_backlog();
    }
  }

  /// The server stops: finish what was received, then close.
  void begin_drain(runtime::time_point limit);

  void drain_deadline_reached() {
    // Whatever still runs completes as canceled.
    if (current_) {
      complete(current_->id, completion_status::canceled, "server shutting down");
      current_.reset();
    }
    while (!queued_.empty()) {
      complete(queued_.front().request_id, completion_status::canceled, "server shutting down");
      queued_.pop_front();
    }
    maybe_finish_drain();
  }

  void publish_finished(std::uint64_t request_id, std::size_t count) {
    if (current_ && current_->id == request_id) {
      complete(request_id, completion_status::succeeded, "delivered " + std::to_string(count));
      current_.reset();
      run_queued();
    }
  }

  void sleep_finished(std::uint64_t request_id) {
    if (current_ && current_->id == request_id && current_->sleeping) {
      complete(request_id, completion_status::succeeded, "slept");
      current_.reset();
      run_queued();
    }
  }

  // -- channel_owner ----------------------------------------------------------------

  void on_channel_open() override {}

  bool on_channel_message(message&& value) override {
    switch (phase_) {
      case phase::awaiting_hello: return on_hello(value);
      case phase::authenticating: return on_response(value);
      case phase::ready: return on_session_message(std::move(value));
    }
    return true;
  }

  void on_channel_decode_error(std::error_code error, const std::string& detail) override {
    server_->protocol_errors.fetch_add(1);
    send_message(0, server_message{severity::fatal, code_for(error), detail}, true);
  }

  void on_channel_writable() override {
    warned_ = false;
    if (current_ && current_->rows_left > 0)
      produce_rows();
    if (channel_ && !channel_->closed() && !draining_ && queued_.size() < server_->options.max_queued_requests)
      channel_->resume_reading();
  }

  void on_channel_closed(std::error_code, const std::string&) override {
    if (current_ || !queued_.empty()) {
      auto unfinished = (current_ ? 1u : 0u) + queued_.size();
      server_->in_flight.fetch_sub(unfinished);
      current_.reset();
      queued_.clear();
    }
    for (auto& channel : subscribed_)
      server_->unsubscribe(channel, this);
    subscribed_.clear();
    // Leave the channel's call stack before letting go of it.
    auto self = shared_from_this();
    worker_.post([self] { self->server_->forget(self.get()); });
  }

private:
  enum class phase { awaiting_hello, authenticating, ready };

  struct running {
    std::uint64_t id = 0;
    bool sleeping = false;
    std::uint64_t rows_left = 0;
    std::uint64_t rows_sent = 0;
    std::shared_ptr<runtime::detail::deadline_target> timer;
  };

  void fail_login(const std::string& why) {
    server_->protocol_errors.fetch_add(1);
    send_message(0, server_message{severity::fatal, server_codes::authentication_failed, why}, true);
    channel_->close_after_flush();
  }

  bool on_hello(const message& value) {
    if (!std::holds_alternative<hello>(value.body)) {
      server_->protocol_errors.fetch_add(1);
      send_message(0, server_message{severity::fatal, server_codes::protocol_violation,
                                     std::string{"expected hello first, got "} +
                                       std::string{to_string(kind_of(value.body))}},
                   true);
      channel_->close_after_flush();
      return false;
    }
    phase_ = phase::authenticating;
    if (server_->options.password) {
      // A fresh key per login, so a recorded answer cannot be replayed.
      key_ = std::to_string(id_) + "-" + std::to_string(runtime::clock::now().time_since_epoch().count());
      send_message(0, challenge{challenge_method::password_key, 0, key_}, true);
      return true;
    }
    return next_negotiation_round();
  }

  bool next_negotiation_round() {
    auto& rounds = server_->options.negotiation;
    if (round_ < rounds.size()) {
      auto& round = rounds[round_];
      send_message(0, challenge{challenge_method::negotiate, round.message_id, round.challenge}, true);
      return true;
    }
    phase_ = phase::ready;
    send_message(0, ready{server_->options.server_name, id_}, true);
    return true;
  }

  bool on_response(const message& value) {
    auto* answer = std::get_if<response>(&value.body);
    if (!answer) {
      fail_login("expected a response to the login challenge");
      return false;
    }
    if (server_->options.password && !password_checked_) {
      password_checked_ = true;
      if (answer->data != default_password_encryption(*server_->options.password, key_)) {
        fail_login("login failed: wrong encrypted password");
        return false;
      }
      return next_negotiation_round();
    }
    auto& round = server_->options.negotiation.at(round_);
    if (answer->message_id != round.message_id || answer->data != round.expected_answer) {
      fail_login("login failed: negotiation round " + std::to_string(round.message_id) +
                 " got an unexpected answer");
      return false;
    }
    ++round_;
    return next_negotiation_round();
  }

  bool on_session_message(message&& value) {
    if (std::holds_alternative<request>(value.body)) {
      server_->requests.fetch_add(1, std::memory_order_relaxed);
      server_->in_flight.fetch_add(1, std::memory_order_relaxed);
      queued_.push_back(std::move(value));
      if (!current_)
        run_queued();
      return queued_.size() < server_->options.max_queued_requests &&
             channel_->output_bytes() < server_->options.max_output_bytes;
    }
    if (std::holds_alternative<cancel>(value.body)) {
      cancel_request(value.request_id);
      return true;
    }
    if (std::holds_alternative<terminate>(value.body)) {
      channel_->close_after_flush();
      return false;
    }
    server_->protocol_errors.fetch_add(1);
    send_message(0, server_message{severity::fatal, server_codes::protocol_violation,
                                   "a client may not send " +
                                     std::string{to_string(kind_of(value.body))}},
                 true);
    channel_->close_after_flush();
    return false;
  }

  void cancel_request(std::uint64_t request_id) {
    if (current_ && current_->id == request_id) {
      complete(request_id, completion_status::canceled, "canceled");
      current_.reset();
      run_queued();
      return;
    }
    auto found = std::find_if(queued_.begin(), queued_.end(),
                              [&](const message& each) { return each.request_id == request_id; });
    if (found != queued_.end()) {
      queued_.erase(found);
      complete(request_id, completion_status::canceled, "canceled before it started");
    }
    // A cancel for a finished request is not an error: they cross on the wire.
  }

  void run_queued() {
    while (!current_ && !queued_.empty() && channel_ && !channel_->closed()) {
      auto next = std::move(queued_.front());
      queued_.pop_front();
      execute(next.request_id, std::get<request>(next.body));
    }
    maybe_finish_drain();
    if (channel_ && !channel_->closed() && !draining_ && !current_ &&
        channel_->output_bytes() < server_->options.max_output_bytes)
      channel_->resume_reading();
  }

  void execute(std::uint64_t id, const request& command) {
    auto& arguments = command.arguments;
    const auto& name = arguments.at(0);
    auto wrong = [&](const std::string& why) {
      send_message(id, server_message{severity::error, server_codes::wrong_arguments,
                                      name + ": " + why});
      complete(id, completion_status::failed, name + ": " + why);
    };
    if (name == "ECHO") {
      send_message(id, result_row{{arguments.begin() + 1, arguments.end()}});
      complete(id, completion_status::succeeded, "ECHO");
    } else if (name == "ROWS") {
      std::uint64_t count = 0;
      if (arguments.size() != 2 || !parse_number(arguments[1], count))
        return wrong("expected ROWS <count>");
      current_ = running{id, false, count, 0, nullptr};
      produce_rows();
    } else if (name == "SLEEP") {
      std::uint64_t milliseconds = 0;
      if (arguments.size() != 2 || !parse_number(arguments[1], milliseconds) ||
          milliseconds > 3'600'000)
        return wrong("expected SLEEP <milliseconds up to 3600000>");
      auto timer = std::make_shared<sleep_deadline>(weak_from_this(), id);
      current_ = running{id, true, 0, 0, timer};
      runtime::detail::schedule_deadline(
        runtime::detail::access::group(worker_.engine().get_scheduler(worker_.name())),
        runtime::clock::now() + std::chrono::milliseconds(milliseconds), timer);
    } else if (name == "SUBSCRIBE" || name == "UNSUBSCRIBE") {
      if (arguments.size() != 2 || arguments[1].empty())
        return wrong("expected " + name + " <channel>");
      if (name == "SUBSCRIBE") {
        if (subscribed_.insert(arguments[1]).second)
          server_->subscribe(arguments[1], shared_from_this());
      } else if (subscribed_.erase(arguments[1]) != 0) {
        server_->unsubscribe(arguments[1], this);
      }
      complete(id, completion_status::succeeded, name + " " + arguments[1]);
    } else if (name == "PUBLISH") {
      if (arguments.size() != 3 || arguments[1].empty())
        return wrong("expected PUBLISH <channel> <payload>");
      // Complete only once every subscriber has the notification queued, so
      // "delivered N" happens-before anything the publisher does next.
      current_ = running{id, false, 0, 0, nullptr};
      auto self = shared_from_this();
      server_->publish(arguments[1], arguments[2], id_, [self, id](std::size_t count) {
        self->worker().run_or_post([self, id, count] { self->publish_finished(id, count); });
      });
    } else if (name == "STATS") {
      auto numbers = server_statistics_now();
      for (auto& [key, number] : numbers)
        send_message(id, result_row{{key, std::to_string(number)}});
      complete(id, completion_status::succeeded, "STATS");
    } else {
      send_message(id, server_message{severity::error, server_codes::unknown_command,
                                      "unknown command '" + name + "'"});
      complete(id, completion_status::failed, "unknown command '" + name + "'");
    }
  }

  std::vector<std::pair<std::string, std::uint64_t>> server_statistics_now() const {
    std::size_t open = 0;
    {
      std::lock_guard guard{server_->mutex};
      open = server_->sessions.size();
    }
    return {{"sessions_open", open},
            {"sessions_accepted", server_->accepted.load()},
            {"requests", server_->requests.load()},
            {"completions", server_->completions.load()},
            {"notifications_delivered", server_->delivered.load()}};
  }

  void produce_rows() {
    while (current_ && current_->rows_left > 0) {
      if (channel_->output_bytes() >= server_->options.max_output_bytes) {
        channel_->notify_when_drained(); // resumes in on_channel_writable
        return;
      }
      auto row = current_->rows_sent++;
      --current_->rows_left;
      send_message(current_->id, result_row{{"row " + std::to_string(row)}});
    }
    if (current_ && current_->rows_left == 0 && !current_->sleeping) {
      complete(current_->id, completion_status::succeeded, "ROWS " + std::to_string(current_->rows_sent));
      current_.reset();
      run_queued();
    }
  }

  void complete(std::uint64_t id, completion_status status, std::string text) {
    server_->completions.fetch_add(1, std::memory_order_relaxed);
    server_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    send_message(id, completion{status, std::move(text)}, true);
  }

  /// Sends one message; `always` ignores the output limit (a completion or
  /// a fatal message must not be lost to backpressure; the limit is enforced
  /// by not reading more requests).
  void send_message(std::uint64_t id, message_body body, bool always = false) {
    if (!channel_ || channel_->closed())
      return;
    message value{id, std::move(body)};
    std::vector<std::byte> bytes;
    if (auto failure = server_->wire->encode(value, bytes)) {
      channel_->close(failure, "cannot encode a reply: " + failure.message());
      return;
    }
    if (!always && channel_->output_bytes() >= server_->options.max_output_bytes)
      return;
    (void)channel_->send_encoded(bytes);
    check_backlog();
  }

  void check_backlog() {
    if (!warned_ && channel_ && channel_->output_bytes() > server_->options.output_warning_bytes) {
      warned_ = true;
      server_->warnings.fetch_add(1);
      message warning{0, server_message{severity::warning, server_codes::output_backing_up,
                                        "output queue backing up: " +
                                          std::to_string(channel_->output_bytes()) +
                                          " bytes waiting for this client"}};
      std::vector<std::byte> bytes;
      if (!server_->wire->encode(warning, bytes))
        (void)channel_->send_encoded(bytes);
    }
  }

  void maybe_finish_drain() {
    if (!draining_ || !channel_ || channel_->closed())
      return;
    if (current_ || !queued_.empty())
      return;
    send_message(0, server_message{severity::info, server_codes::shutting_down,
                                   "server shutting down"},
                 true);
    channel_->close_after_flush();
  }

  std::shared_ptr<message_server::state> server_;
  detail::io_worker& worker_;
  const std::uint64_t id_;
  std::shared_ptr<detail::channel> channel_;
  phase phase_ = phase::awaiting_hello;
  std::string key_;
  bool password_checked_ = false;
  std::size_t round_ = 0;
  std::deque<message> queued_;
  std::optional<running> current_;
  std::set<std::string> subscribed_;
  bool warned_ = false;
  bool draining_ = false;
  std::shared_ptr<runtime::detail::deadline_target> drain_timer_;
};

void sleep_deadline::on_deadline_reached() noexcept {
  if (auto alive = owner_.lock())
    alive->sleep_finished(request_id_);
}

class drain_deadline final : public runtime::detail::deadline_target {
public:
  explicit drain_deadline(std::weak_ptr<session> owner) : owner_(std::move(owner)) {}
  void on_deadline_reached() noexcept override {
    if (auto alive = owner_.lock())
      alive->drain_deadline_reached();
  }

private:
  std::weak_ptr<session> owner_;
};

} // namespace

void session::begin_drain(runtime::time_point limit) {
  draining_ = true;
  if (channel_ && !channel_->closed())
    channel_->pause_reading();
  if (current_ || !queued_.empty()) {
    drain_timer_ = std::make_shared<drain_deadline>(weak_from_this());
    runtime::detail::schedule_deadline(runtime::detail::access::group(worker_.engine().get_scheduler(worker_.name())),
                                       limit, drain_timer_);
  }
  maybe_finish_drain();
}

// -- state ------------------------------------------------------------------------------

void message_server::state::listen() {
  std::error_code failure;
  std::string detail;
  auto addresses = detail::resolve(options.listen, true, failure, detail);
  if (failure)
    throw error(failure, "message server: cannot listen on " + options.listen.to_string() +
                           ": " + detail);
  for (auto& address : addresses) {
    failure.clear();
    listener = detail::open_listener(address, options.backlog, failure, detail);
    if (listener >= 0)
      break;
  }
  if (listener < 0)
    throw error(failure, "message server: " + detail);
  bound = detail::local_address(listener).to_endpoint();
  if (options.listen.kind == endpoint::family::tcp && bound.host == "0.0.0.0")
    bound.host = options.listen.host;
  auto& pool = detail::pool_of(engine);
  listen_worker = &pool.worker(0);
  auto self = shared_from_this();
  std::promise<std::error_code> registered;
  auto done = registered.get_future();
  if (!listen_worker->run_or_post([self, &registered] {
        auto result = self->listen_worker->add(self->listener, EPOLLIN, *self);
        self->listener_registered = !result;
        registered.set_value(result);
      }))
    throw error(errc::shutting_down, "message server: the I/O workers are stopping");
  if (auto result = done.get())
    throw error(result, "message server: registering the listener failed");
}

void message_server::state::on_io(std::uint32_t) noexcept {
  auto& pool = detail::pool_of(engine);
  // Accept everything waiting; level-triggered epoll brings us back otherwise.
  for (int accepted_now = 0; accepted_now < 256; ++accepted_now) {
    std::error_code failure;
    int fd = detail::accept_connection(listener, nullptr, failure);
    if (fd < 0)
      return; // none waiting, or a transient error (EMFILE...) retried on the next event
    adopt(fd, pool.next_worker());
  }
}

void message_server::state::adopt(int fd, detail::io_worker& worker) {
  std::shared_ptr<session> created;
  {
    std::lock_guard guard{mutex};
    if (stopping) {
      ::close(fd);
      return;
    }
    created = std::make_shared<session>(shared_from_this(), worker, next_session_id++);
    sessions.insert(created);
  }
  accepted.fetch_add(1, std::memory_order_relaxed);
  if (!worker.run_or_post([created, fd] { created->start(fd); })) {
    ::close(fd);
    forget(created.get());
  }
}

void message_server::state::forget(session* gone) {
  std::lock_guard guard{mutex};
  for (auto each = sessions.begin(); each != sessions.end(); ++each)
    if (each->get() == gone) {
      sessions.erase(each);
      break;
    }
  if (sessions.empty())
    all_closed.notify_all();
}

void message_server::state::close_listener() {
  if (listener_registered) {
    listen_worker->remove(listener, *this);
    listener_registered = false;
  }
  // Closed, not only unwatched: otherwise the kernel would go on completing
  // handshakes into a backlog nobody accepts from.
  if (listener >= 0) {
    ::close(listener);
    listener = -1;
  }
}

void message_server::state::subscribe(const std::string& channel,
                                      const std::shared_ptr<session>& who) {
  std::lock_guard guard{mutex};
  subscriptions[channel].push_back(who);
}

void message_server::state::unsubscribe(const std::string& channel, session* who) {
  std::lock_guard guard{mutex};
  auto found = subscriptions.find(channel);
  if (found == subscriptions.end())
    return;
  std::erase_if(found->second, [&](const std::weak_ptr<session>& each) {
    auto alive = each.lock();
    return !alive || alive.get() == who;
  });
  if (found->second.empty())
    subscriptions.erase(found);
}

void message_server::state::publish(const std::string& channel, const std::string& payload,
                                    std::uint64_t publisher,
                                    std::function<void(std::size_t)> done) {
  message value{0, notification{channel, payload, publisher}};
  auto encoded = std::make_shared<std::vector<std::byte>>();
  if (wire->encode(value, *encoded)) {
    done(0);
    return;
  }
  // Group the subscribers by worker: one mailbox command per worker.
  std::unordered_map<detail::io_worker*, std::vector<std::shared_ptr<session>>> by_worker;
  std::size_t count = 0;
  {
    std::lock_guard guard{mutex};
    auto found = subscriptions.find(channel);
    if (found != subscriptions.end())
      for (auto& each : found->second)
        if (auto alive = each.lock()) {
          by_worker[&alive->worker()].push_back(std::move(alive));
          ++count;
        }
  }
  if (by_worker.empty()) {
    done(0);
    return;
  }
  std::shared_ptr<const std::vector<std::byte>> shared = std::move(encoded);
  auto remaining = std::make_shared<std::atomic<std::size_t>>(by_worker.size());
  auto finished = std::make_shared<std::function<void(std::size_t)>>(std::move(done));
  for (auto& [worker, targets] : by_worker) {
    auto deliver = [targets = std::move(targets), shared, remaining, finished, count] {
      for (auto& each : targets)
        each->deliver(shared);
      if (remaining->fetch_sub(1) == 1)
        (*finished)(count);
    };
    if (!worker->run_or_post(deliver) && remaining->fetch_sub(1) == 1)
      (*finished)(count);
  }
}

void message_server::state::stop(runtime::duration drain_limit) {
  std::vector<std::shared_ptr<session>> open;
  {
    std::lock_guard guard{mutex};
    if (stopping && sessions.empty())
      return;
    stopping = true;
    open.assign(sessions.begin(), sessions.end());
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
  server_statistics result;
  {
    std::lock_guard guard{state_->mutex};
    result.sessions_open = state_->sessions.size();
  }
  result.sessions_accepted = state_->accepted.load();
  result.requests = state_->requests.load();
  result.completions = state_->completions.load();
  result.notifications_delivered = state_->delivered.load();
  result.protocol_errors = state_->protocol_errors.load();
  result.warnings_sent = state_->warnings.load();
  result.slow_subscribers_disconnected = state_->slow_disconnects.load();
  result.requests_in_flight = state_->in_flight.load();
  return result;
}

} // namespace actorloop::netio
