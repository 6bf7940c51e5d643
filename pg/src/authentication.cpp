// The authentication requests of the start-up: cleartext and MD5 passwords
// and SCRAM-SHA-256 (-PLUS) through SASL. Client-Library's encryption
// callback encrypts the MD5 password (pg's own md5_password without one),
// and its negotiation callback audits each SASL step before pg answers it.
#include "connection_link.hpp"

#include <actorloop/pg/error.hpp>
#include <actorloop/pg/frontend.hpp>

namespace actorloop::pg::detail {

void link::handle_authentication(const authentication_request& request) {
  auto& options = pg_->options;
  auto password = options.password_for(options.hosts[host_index_]);
  auto need_password = [&] {
    if (password)
      return true;
    fail(errc::connection_failed,
         "connect to " + where() + " failed: the server asks for a password and none was given");
    return false;
  };
  switch (request.kind) {
    case auth_kind::ok: {
      phase_ = phase::starting;
      std::lock_guard guard{core_->owner_state->mutex};
      pg_->authentication = scram_ ? std::string{scram_->mechanism()}
                                   : auth_method_.empty() ? std::string{"trust"} : auth_method_;
      pg_->tls_in_use = tls_ != nullptr;
      return;
    }
    case auth_kind::cleartext_password:
      if (need_password())
        frontend::password(output_, *password);
      auth_method_ = "password";
      return;
    case auth_kind::md5_password: {
      auth_method_ = "md5";
      if (!need_password())
        return;
      auto callback = copy_installed<&callbacks::encryption>(*core_, *pg_).callback();
      if (!callback) {
        frontend::password(output_, md5_password(options.user, *password, request.salt));
        return;
      }
      ask_callback(
        "encryption",
        [callback, secret = *password, salt = request.salt](connection& target) {
          verdict answer;
          answer.ok = callback(target, secret, salt, answer.payload) ==
                      netio::callback_result::succeed;
          if (!answer.ok)
            answer.why = "the encryption callback failed the login";
          else if (answer.payload.empty())
            answer = verdict{false, "the encryption callback gave an empty password", {}};
          return answer;
        },
        [](link& self, verdict answer) {
          if (!answer.ok) {
            self.fail(errc::connection_failed,
                      "connect to " + self.where() + " failed: " + answer.why);
            return;
          }
          frontend::password(self.output_, answer.payload);
        });
      return;
    }
    case auth_kind::sasl: {
      auto choice = choose_sasl_mechanism(request.mechanisms, tls_ != nullptr,
                                          !end_point_hash_.empty());
      if (choice.error) {
        fail(choice.error, "connect to " + where() + " failed: " + choice.detail);
        return;
      }
      if (!need_password())
        return;
      scram_client::options settings;
      settings.password = *password;
      settings.binding = choice.binding;
      if (choice.binding == channel_binding_mode::tls_server_end_point)
        settings.channel_binding_data = end_point_hash_;
      scram_.emplace(std::move(settings));
      negotiation_step step;
      step.message_id = 10;
      step.offered = request.mechanisms;
      step.mechanism = scram_->mechanism();
      step.answer = scram_->client_first_message();
      negotiate(std::move(step));
      return;
    }
    case auth_kind::sasl_continue: {
      if (!scram_) {
        fail(errc::scram_protocol_violation, "SASLContinue without a SASL exchange");
        return;
      }
      auto result = scram_->handle_server_first(request.data);
      if (result.error) {
        fail(result.error, "connect to " + where() + " failed: " + result.detail);
        return;
      }
      negotiation_step step;
      step.message_id = 11;
      step.mechanism = scram_->mechanism();
      step.challenge = request.data;
      step.answer = std::move(result.message);
      negotiate(std::move(step));
      return;
    }
    case auth_kind::sasl_final: {
      auto result = scram_ ? scram_->verify_server_final(request.data)
                           : scram_step{{}, make_error_code(errc::scram_protocol_violation),
                                        "SASLFinal without a SASL exchange"};
      if (result.error) {
        fail(result.error, "connect to " + where() + " failed: " + result.detail);
        return;
      }
      negotiation_step step;
      step.message_id = 12;
      step.mechanism = scram_->mechanism();
      step.challenge = request.data;
      negotiate(std::move(step));
      return;
    }
    default:
      fail(errc::unsupported_authentication,
           "connect to " + where() + " failed: the server asks for authentication method " +
             std::to_string(static_cast<int>(request.kind)) +
             ", which pg supports not (trust, password, md5 and SCRAM-SHA-256 are supported)");
  }
}

void link::negotiate(negotiation_step step) {
  // What goes out once the step is approved: SASLInitialResponse (10),
  // SASLResponse (11), nothing (12).
  auto send = [](link& self, const negotiation_step& approved) {
    if (approved.message_id == 10)
      frontend::sasl_initial_response(self.output_, approved.mechanism,
                                      std::string_view{approved.answer});
    else if (approved.message_id == 11)
      frontend::sasl_response(self.output_, approved.answer);
  };
  auto callback = copy_installed<&callbacks::negotiation>(*core_, *pg_).callback();
  if (!callback) {
    send(*this, step);
    return;
  }
  ask_callback(
    "negotiation",
    [callback, step](connection& target) {
      verdict answer;
      switch (callback(target, step)) {
        case netio::negotiation_result::succeed:
          answer.ok = true;
          break;
        case netio::negotiation_result::continue_negotiation:
          answer.why = "the negotiation callback asked to continue, but a PostgreSQL SASL step "
                       "takes exactly one response";
          break;
        case netio::negotiation_result::fail:
          answer.why = "the negotiation callback failed the login";
          break;
      }
      return answer;
    },
    [send, step](link& self, verdict answer) {
      if (!answer.ok) {
        self.fail(errc::connection_failed,
                  "connect to " + self.where() + " failed: " + answer.why);
        return;
      }
      send(self, step);
    });
}

} // namespace actorloop::pg::detail
