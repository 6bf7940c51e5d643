#include "security.hpp"

#include <actorloop/netio/error.hpp>
#include <actorloop/netio/tls.hpp>

namespace actorloop::netio::detail {

security_layer make_tls_layer(const tls_context& context, std::string expected_host,
                              std::unique_ptr<byte_stream> plain) {
  auto secure = std::make_unique<tls_stream>(context, std::move(plain), expected_host);
  auto* raw = secure.get();
  security_layer layer;
  layer.step = [raw](std::error_code& failure, std::string& detail) {
    bool done = raw->handshake(failure);
    if (failure)
      detail = raw->last_error_detail().empty() ? failure.message() : raw->last_error_detail();
    return done;
  };
  layer.wants_write = [raw] { return raw->wants_write(); };
  layer.wants_read = [raw] { return raw->wants_read(); };
  layer.stream = std::move(secure);
  return layer;
}

security_session_info describe_tls_session(byte_stream* stream) {
  security_session_info info;
  if (auto* secure = dynamic_cast<tls_stream*>(stream)) {
    info.protocol = secure->protocol_version();
    info.cipher = secure->cipher();
    info.peer_subject = secure->peer_certificate_subject();
    info.peer_fingerprint_sha256 = secure->peer_certificate_fingerprint_sha256();
  }
  return info;
}

} // namespace actorloop::netio::detail
