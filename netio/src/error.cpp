#include <actorloop/netio/error.hpp>

namespace actorloop::netio {

namespace {

class netio_error_category final : public std::error_category {
public:
  const char* name() const noexcept override { return "actorloop.netio"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_argument: return "invalid argument";
      case errc::busy: return "another operation is pending on the connection";
      case errc::not_connected: return "not connected";
      case errc::connection_dead: return "connection is dead";
      case errc::connection_closed: return "connection closed by the peer";
      case errc::connection_reset: return "connection reset by the peer";
      case errc::connection_refused: return "connection refused";
      case errc::connect_timed_out: return "connect timed out";
      case errc::host_not_found: return "host not found";
      case errc::resolve_failed: return "name resolution failed";
      case errc::address_in_use: return "address in use";
      case errc::tls_handshake_failed: return "TLS handshake failed";
      case errc::tls_certificate_rejected: return "TLS certificate rejected";
      case errc::tls_hostname_mismatch: return "TLS certificate does not match the host name";
      case errc::malformed_frame: return "malformed frame";
      case errc::frame_too_large: return "frame too large";
      case errc::unsupported_version: return "unsupported protocol version";
      case errc::unknown_message_kind: return "unknown message kind";
      case errc::protocol_violation: return "protocol violation";
      case errc::authentication_failed: return "authentication failed";
      case errc::not_allowed_in_callback: return "not allowed inside a callback";
      case errc::deferred_on_connection:
        return "deferred I/O can only be set on the context, not on a connection";
      case errc::canceled: return "canceled";
      case errc::timed_out: return "timed out";
      case errc::buffer_full: return "buffer full";
      case errc::shutting_down: return "shutting down";
      case errc::operations_pending: return "operations are still pending";
      case errc::results_pending: return "results are still waiting to be taken";
      case errc::system_failure: return "system call failed";
      case errc::bad_configuration: return "bad configuration";
    }
    return "unknown actorloop.netio error " + std::to_string(value);
  }
};

} // namespace

const std::error_category& netio_category() noexcept {
  static const netio_error_category instance;
  return instance;
}

std::error_code make_error_code(errc value) noexcept {
  return {static_cast<int>(value), netio_category()};
}

error::error(errc code, const std::string& message)
  : std::system_error(make_error_code(code), message) {}

error::error(std::error_code code, const std::string& message)
  : std::system_error(code, message) {}

} // namespace actorloop::netio
