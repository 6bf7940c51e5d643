#pragma once
/// @file
/// TLS over any `byte_stream`, with OpenSSL: contexts for the client and the
/// server side, certificate verification with the host name checked, clear
/// errors for a failed handshake, and development helpers that make
/// certificates for tests.
///
/// A `tls_stream` runs OpenSSL over memory buffers: it never blocks and
/// never calls the socket itself except through the wrapped stream, so the
/// owner (an I/O worker) keeps full control of readiness and of buffering.
///
/// Thread safety: `tls_context` is immutable after construction: distinct
/// objects: safe; shared objects: safe. `tls_stream`: distinct objects:
/// safe; shared objects: unsafe (one owner at a time).

#include <actorloop/netio/byte_stream.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace actorloop::netio {

enum class tls_role { client, server };

struct tls_options {
  tls_role role = tls_role::client;
  /// PEM text of the certificate chain (leaf first) and the private key;
  /// servers need both, clients only for client certificates.
  std::string certificate_chain_pem;
  std::string private_key_pem;
  /// Alternatively, files holding the same (used when the PEM text is empty).
  std::string certificate_chain_file;
  std::string private_key_file;
  /// Trusted CAs as PEM text or a file; both empty = the system's store.
  std::string trusted_ca_pem;
  std::string trusted_ca_file;
  /// Verify the peer's certificate (clients: on by default; servers: asks
  /// for and checks a client certificate).
  bool verify_peer = true;
  /// Application protocols to offer/accept (ALPN), in preference order.
  std::vector<std::string> alpn;
};

/// Shared, immutable TLS configuration (an SSL_CTX).
class tls_context {
public:
  /// Throws `netio::error` (`errc::bad_configuration`) naming the bad item
  /// and OpenSSL's reason: unreadable file, bad PEM, key not matching.
  explicit tls_context(const tls_options& options);
  ~tls_context();
  tls_context(const tls_context&) = default;
  tls_context& operator=(const tls_context&) = default;

  [[nodiscard]] tls_role role() const noexcept;

  struct impl;
  [[nodiscard]] const std::shared_ptr<impl>& internals() const noexcept { return impl_; }

private:
  std::shared_ptr<impl> impl_;
};

class tls_stream final : public byte_stream {
public:
  /// Wraps `inner`. Clients pass the host name they expect: it is sent as SNI
  /// and, with `verify_peer`, checked against the certificate (an IP literal
  /// is checked as an IP address).
  tls_stream(const tls_context& context, std::unique_ptr<byte_stream> inner,
             const std::string& expected_host = {});
  ~tls_stream() override;
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;

  /// One non-blocking handshake step; true once the handshake finished. On
  /// failure sets `error` (tls_handshake_failed, tls_certificate_rejected,
  /// tls_hostname_mismatch, connection_closed, ...) and
  /// `last_error_detail()` says why.
  [[nodiscard]] bool handshake(std::error_code& error);
  [[nodiscard]] bool handshake_done() const noexcept;
  /// What the stream waits for next: ciphertext to read, or to write.
  [[nodiscard]] bool wants_read() const noexcept;
  [[nodiscard]] bool wants_write() const noexcept;
  [[nodiscard]] const std::string& last_error_detail() const noexcept;

  [[nodiscard]] std::string peer_certificate_subject() const;
  [[nodiscard]] std::string peer_certificate_fingerprint_sha256() const;
  [[nodiscard]] std::string protocol_version() const;
  [[nodiscard]] std::string cipher() const;
  [[nodiscard]] std::string selected_alpn() const;

  // byte_stream (after the handshake)
  [[nodiscard]] std::size_t read_some(std::span<std::byte> buffer, std::error_code& error) override;
  [[nodiscard]] std::size_t write_some(std::span<const std::byte> data,
                                       std::error_code& error) override;
  [[nodiscard]] bool has_pending_output() const noexcept override;
  std::error_code flush() override;
  void shutdown_send() noexcept override;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

/// A certificate and its private key, as PEM text.
struct certificate_and_key {
  std::string certificate_pem;
  std::string private_key_pem;
};

/// For tests and development only: a self-signed certificate (EC P-256,
/// SHA-256) for `common_name` with subject alternative names (DNS names, or
/// IP addresses written as literals).
[[nodiscard]] certificate_and_key generate_self_signed_certificate(
  const std::string& common_name, const std::vector<std::string>& alternative_names,
  std::chrono::hours validity = std::chrono::hours(24));

/// For tests and development only: a certificate authority, and a leaf
/// certificate it issues.
[[nodiscard]] certificate_and_key generate_certificate_authority(const std::string& common_name);
[[nodiscard]] certificate_and_key issue_certificate(const certificate_and_key& authority,
                                                    const std::string& common_name,
                                                    const std::vector<std::string>& alternative_names,
                                                    std::chrono::hours validity = std::chrono::hours(24));

} // namespace actorloop::netio
