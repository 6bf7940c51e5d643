// The framed protocol's side of a connection, on its I/O worker: connect
// (resolve, TCP, TLS, login), requests, cancels, close, lookups, and the
// messages that arrive turned into connection events.
#include "connection_link.hpp"

#include "connection_delivery.hpp"

#include <actorloop/netio/detail/resolver.hpp>
#include "security.hpp"

#include <algorithm>

namespace actorloop::netio::detail {

namespace {

retcode to_retcode(completion_status status) noexcept {
  switch (status) {
    case completion_status::succeeded: return retcode::succeed;
    case completion_status::failed: return retcode::fail;
    case completion_status::canceled: return retcode::canceled;
  }
  return retcode::fail;
}

/// Negotiation callbacks that keep answering `continue` are cut off here.
constexpr int max_negotiation_calls = 64;

const std::shared_ptr<const codec>& shared_framed_codec() {
  static const std::shared_ptr<const codec> instance = make_framed_codec();
  return instance;
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
    worker_->schedule_deadline(runtime::clock::now() + options_.connect_timeout, connect_timer_);
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
  report.run = [target, problem](connection&) { target->report(problem); };
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
      // Every path posts an answer: a throwing callback fails the connect
      // at once, naming the exception, instead of leaving it waiting.
      auto answer = callback_result::fail;
      std::string why = "the security session callback rejected the session";
      try {
        answer = callback(where, info);
      } catch (...) {
        why = "the security session callback threw: " + describe_current_exception();
      }
      worker->post([self, answer, why] { self->answer_security(answer, why); });
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
      auto answer = callback_result::fail;
      std::string why = "the encryption callback failed the login";
      try {
        answer = callback(where, password, question.data, encrypted);
      } catch (...) {
        why = "the encryption callback threw: " + describe_current_exception();
      }
      worker->post([self, answer, question, encrypted, why] {
        self->answer_challenge(answer == callback_result::succeed, question.message_id, encrypted,
                               why);
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
      bool decided = false;
      std::string why;
      try {
        for (int call = 0; call < max_negotiation_calls && !decided; ++call) {
          std::string piece;
          auto answer = callback(where, question.message_id, question.data, piece);
          answers += piece;
          if (answer == negotiation_result::continue_negotiation)
            continue;
          decided = true;
          ok = answer == negotiation_result::succeed;
          if (!ok)
            why = "the negotiation callback failed the login";
        }
        if (!decided)
          why = "the negotiation callback kept asking to continue (" +
                std::to_string(max_negotiation_calls) + " calls)";
      } catch (...) {
        ok = false;
        why = "the negotiation callback threw: " + describe_current_exception();
      }
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
        auto id = value.request_id;
        // Async mode files the row here; the other modes queue an event.
        if (deliver_row_now(*target, id, body))
          return true;
        connection_event event;
        event.bytes = size_of(body);
        event.run = [target, id, row = std::move(body)](connection&) mutable {
          std::size_t over = 0;
          {
            std::lock_guard guard{target->owner_state->mutex};
            over = file_row_locked(*target, id, std::move(row));
          }
          if (over != 0)
            refuse_rows_over(*target, id, over);
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
        if (deliver_notification_now(*target, body))
          return true;
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
        // The completion record is filed with the completion's bookkeeping,
        // under one acquisition of the lock.
        complete(function_id::execute, value.request_id, to_retcode(body.status), &body);
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
  if (previous == phase::closed) {
    // fail_connect closed it, and reports the failed connect itself: not a
    // lost connection, and not a second client message.
    channel_.reset();
    return;
  }
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
    target->report(client_message{severity::fatal, why, text});
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
    (void)open_result_locked(*owner_, request_id); // in the last result's map node
  }
  if (auto failure = channel_->send(message{request_id, std::move(command)})) {
    auto* target = owner_.get();
    auto text = "execute: the request could not be sent: " + failure.message();
    connection_event report;
    report.run = [target, failure, text](connection&) {
      target->report(client_message{severity::error, failure, text});
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

void link::complete(function_id function, std::uint64_t id, retcode status, completion* outcome) {
  auto file_outcome = [&] {
    if (outcome == nullptr || !owner_)
      return;
    std::lock_guard guard{owner_->owner_state->mutex};
    file_outcome_locked(*owner_, id, std::move(*outcome));
  };
  auto found = std::find_if(outstanding_.begin(), outstanding_.end(),
                            [&](const pending_operation& each) {
                              return each.function == function && (id == 0 || each.request_id == id);
                            });
  if (found == outstanding_.end()) {
    file_outcome();
    return; // completed already (a late answer after a failure)
  }
  auto request_id = found->request_id;
  // Mostly the oldest: pop_front is far cheaper than deque's general erase.
  if (found == outstanding_.begin())
    outstanding_.pop_front();
  else
    outstanding_.erase(found);
  if (!owner_)
    return;
  if (request_id != id) {
    file_outcome(); // filed under the id it came with, as it always was
    outcome = nullptr;
  }
  if (deliver_completion_now(*owner_, function, request_id, status, outcome))
    return;
  file_outcome(); // untouched by deliver_completion_now when it declined
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
                        target->report(client_message{severity::error, code, text});
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

void link::force_close() {
  if (phase_ == phase::closed || !channel_) {
    phase_ = phase::closed;
    return;
  }
  // No terminate: Client-Library's forced exit closes without the logout.
  phase_ = phase::closing;
  channel_->close(errc::canceled, "closed by a forced context exit");
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

} // namespace actorloop::netio::detail
