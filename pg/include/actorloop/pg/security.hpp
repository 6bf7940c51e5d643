#pragma once
/// @file
/// What a pg::connection's security-session callback sees of a TLS session
/// (the PostgreSQL mirror of netio's `security_session_info`, plus the
/// verification verdict and the sslmode that asked for it).
///
/// Thread safety: plain values; safe from any thread.

#include <actorloop/pg/options.hpp>

#include <string>

namespace actorloop::pg {

struct security_session_info {
  /// "TLSv1.3", and the cipher suite ("TLS_AES_256_GCM_SHA384").
  std::string protocol;
  std::string cipher;
  /// The server certificate's subject (RFC 2253) and SHA-256 fingerprint
  /// (lowercase hex pairs joined by ':').
  std::string peer_subject;
  std::string peer_fingerprint_sha256;
  /// True when the server's chain verified against the trusted CAs
  /// (sslrootcert): always with verify-ca and verify-full, and with any
  /// sslmode when sslrootcert is given (libpq's rule).
  bool chain_verified = false;
  /// OpenSSL's reason when the chain did not verify (or was not checked
  /// against a trusted CA: "unable to get local issuer certificate");
  /// empty when it verified.
  std::string verification_error;
  /// True when the host name was checked against the certificate
  /// (verify-full).
  bool host_name_checked = false;
  /// The sslmode the session was made under.
  ssl_mode mode = ssl_mode::prefer;
  /// The host the client connected to (sent as SNI unless sslsni=0 or it
  /// is an IP address).
  std::string host;
  /// True when the tls-server-end-point hash (RFC 5929) of the server
  /// certificate is known, so SCRAM-SHA-256-PLUS can bind to the channel.
  bool channel_binding_available = false;
};

} // namespace actorloop::pg
