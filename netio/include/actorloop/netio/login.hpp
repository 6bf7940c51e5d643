#pragma once
/// @file
/// What a client and a server of the framed protocol share about logging in:
/// the default password encryption both sides compute, and what a finished
/// TLS session looks like to the security-session callback.
///
/// Thread safety: plain values and a pure function; safe from any thread.

#include <string>
#include <string_view>

namespace actorloop::netio {

/// What the security-session callback learns about a TLS session.
struct security_session_info {
  std::string protocol;
  std::string cipher;
  std::string peer_subject;
  std::string peer_fingerprint_sha256;
};

/// The password transformation both sides use when no encryption callback
/// replaces it: lowercase hex of HMAC-SHA256(key, password).
[[nodiscard]] std::string default_password_encryption(std::string_view password,
                                                      std::string_view key);

} // namespace actorloop::netio
