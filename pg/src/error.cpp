#include <actorloop/pg/error.hpp>

namespace actorloop::pg {

namespace {

class pg_error_category final : public std::error_category {
public:
  const char* name() const noexcept override { return "actorloop.pg"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_argument: return "invalid argument";
      case errc::lost_synchronization: return "lost synchronization with the server";
      case errc::message_too_large: return "message too large";
      case errc::bad_authentication_request: return "bad authentication request from the server";
      case errc::unknown_message_type: return "unknown message type";
      case errc::malformed_message: return "malformed message";
      case errc::unsupported_authentication: return "unsupported authentication method";
      case errc::scram_protocol_violation: return "SCRAM protocol violation";
      case errc::scram_server_signature_mismatch: return "SCRAM server signature mismatch";
      case errc::scram_server_error: return "SCRAM error reported by the server";
      case errc::crypto_failure: return "cryptographic primitive failed";
      case errc::bad_connection_option: return "bad connection option";
      case errc::insecure_password_file: return "insecure password file";
      case errc::null_value: return "the value is NULL";
      case errc::wrong_type: return "the column has another type";
      case errc::connection_failed: return "connection failed";
      case errc::server_error: return "the server reported an error";
    }
    return "unknown actorloop.pg error " + std::to_string(value);
  }
};

} // namespace

const std::error_category& pg_category() noexcept {
  static const pg_error_category instance;
  return instance;
}

std::error_code make_error_code(errc value) noexcept {
  return {static_cast<int>(value), pg_category()};
}

error::error(errc code, const std::string& message)
  : std::system_error(make_error_code(code), message) {}

error::error(std::error_code code, const std::string& message)
  : std::system_error(code, message) {}

} // namespace actorloop::pg
