// A session's login: hello, the optional password challenge, the
// negotiation rounds, then ready; bounded by the login timeout.

#include "server_session.hpp"

namespace actorloop::netio::detail {

void session::fail_login(const std::string& why) {
  server_->protocol_errors.fetch_add(1);
  end_with(server_codes::authentication_failed, why);
}

void session::login_timed_out() {
  if (phase_ == phase::ready || !can_send())
    return;
  server_->login_timeouts.fetch_add(1);
  end_with(server_codes::login_timed_out,
           "login not finished within " +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                              server_->options.login_timeout)
                              .count()) +
             " ms; closing the connection");
}

bool session::on_hello(const message& value) {
  auto* greeting = std::get_if<hello>(&value.body);
  if (!greeting) {
    server_->protocol_errors.fetch_add(1);
    end_with(server_codes::protocol_violation, std::string{"expected hello first, got "} +
                                                 std::string{to_string(kind_of(value.body))});
    return false;
  }
  info_->client_name = greeting->client_name;
  info_->user = greeting->user;
  phase_ = phase::authenticating;
  if (server_->options.password) {
    // A fresh key per login, so a recorded answer cannot be replayed.
    key_ = std::to_string(id_) + "-" +
           std::to_string(runtime::clock::now().time_since_epoch().count());
    (void)send_frame(0, challenge{challenge_method::password_key, 0, key_});
    return true;
  }
  return next_negotiation_round();
}

bool session::next_negotiation_round() {
  auto& rounds = server_->options.negotiation;
  if (round_ < rounds.size()) {
    auto& round = rounds[round_];
    (void)send_frame(0, challenge{challenge_method::negotiate, round.message_id, round.challenge});
    return true;
  }
  phase_ = phase::ready;
  login_timer_.reset();
  (void)send_frame(0, ready{server_->options.server_name, id_});
  for (auto& observer : server_->options.handlers.login_observers()) {
    try {
      observer(*info_);
    } catch (...) {
      server_->log("session " + std::to_string(id_) + ": a login observer threw");
    }
  }
  if (server_->options.idle_timeout > runtime::duration::zero())
    idle_check();
  return true;
}

bool session::on_response(const message& value) {
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

} // namespace actorloop::netio::detail
