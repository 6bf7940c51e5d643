#pragma once
// Login and security glue shared by the client (connection) and the server:
// wraps a plain socket stream into a TLS stream, exposes its handshake as a
// channel security layer, describes the session for the security-session
// callback, and brings the password helper both sides use (login.hpp).

#include "channel.hpp"

#include <actorloop/netio/login.hpp>

#include <string>

namespace actorloop::netio {
class tls_context;
}

namespace actorloop::netio::detail {

/// A security layer running TLS over `plain`. `expected_host` is checked
/// against the peer's certificate on the client side (empty on servers).
[[nodiscard]] security_layer make_tls_layer(const tls_context& context, std::string expected_host,
                                            std::unique_ptr<byte_stream> plain);

/// What a finished TLS session looks like, for the security-session
/// callback; empty fields if `stream` is not a TLS stream.
[[nodiscard]] security_session_info describe_tls_session(byte_stream* stream);

} // namespace actorloop::netio::detail
