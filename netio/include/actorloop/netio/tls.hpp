#pragma once
/// @file
/// TLS over any `byte_stream`, with OpenSSL: contexts for the client and the
/// server side, certificate verification with the host name checked, clear
/// errors for a failed handshake, and development helpers that make
/// certificates for tests.
///
/// A `tls_stream` runs OpenSSL over memory buffers: it never blocks and never
/// touches a socket except through the stream it wraps, so the owner (an I/O
/// worker) keeps full control of readiness and of buffering.
///
/// Typical use by an owner that waits for socket readiness:
///
/// ```cpp
/// netio::tls_stream secure{context, std::move(socket_stream), "db.example.com"};
/// std::error_code failure;
/// while (!secure.handshake(failure)) {
///   if (failure) { log(secure.last_error_detail()); return; }
///   wait_for(secure.wants_read(), secure.wants_write()); // readable / writable
/// }
/// // From here on: read_some / write_some / flush like any byte_stream.
/// ```
///
/// OpenSSL types never appear here; the implementation is in tls.cpp.

#include <actorloop/netio/byte_stream.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace actorloop::netio {

/// Which end of the handshake a context (and the streams made from it) plays.
enum class tls_role { client, server };

/// How to build a `tls_context`.
///
/// Thread safety: a plain value. Distinct objects: safe. Shared objects:
/// unsafe while one thread modifies it.
struct tls_options {
  tls_role role = tls_role::client;
  /// PEM text of the certificate chain (leaf first, then intermediates) and
  /// of its private key. Servers need both; clients only to present a client
  /// certificate.
  std::string certificate_chain_pem;
  std::string private_key_pem;
  /// Files holding the same, read when the matching PEM text is empty.
  std::string certificate_chain_file;
  std::string private_key_file;
  /// Trusted CA certificates as PEM text (may hold several) or a PEM file.
  /// Both empty: the system's default store (only loaded when verifying).
  std::string trusted_ca_pem;
  std::string trusted_ca_file;
  /// Verify the peer's certificate against the trusted CAs. Unset means the
  /// usual default: on for clients, off for servers. A server with it on
  /// requires and checks a client certificate.
  std::optional<bool> verify_peer;
  /// Application protocols (ALPN) in preference order; empty = no ALPN. A
  /// server that has a list fails handshakes offering none of them.
  std::vector<std::string> alpn;
  /// The lowest protocol version accepted is always TLS 1.2.
};

/// Shared, immutable TLS configuration (an OpenSSL SSL_CTX). Copies share
/// one configuration; it lives until the last copy and the last stream made
/// from it are gone.
///
/// Thread safety: immutable after construction. Distinct objects: safe.
/// Shared objects: safe for const use (several threads may create streams
/// from one context); assigning to a shared object is unsafe.
class tls_context {
public:
  /// Builds the configuration. Throws `netio::error` with
  /// `errc::bad_configuration` whose message names the bad item (and file)
  /// and OpenSSL's reason: unreadable file, text that is not PEM, a key that
  /// does not match the certificate, a server without a certificate, an ALPN
  /// name that is empty or longer than 255 bytes.
  explicit tls_context(const tls_options& options);
  ~tls_context();
  tls_context(const tls_context&) = default;
  tls_context& operator=(const tls_context&) = default;

  [[nodiscard]] tls_role role() const noexcept;
  /// Whether streams from this context verify the peer's certificate.
  [[nodiscard]] bool verifies_peer() const noexcept;

private:
  friend class tls_stream;
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// How a client uses the host name it expects, when the two uses must be
/// chosen apart (PostgreSQL's sslmode=verify-ca sends SNI but does not check
/// the name; sslsni=0 checks it but does not send it).
struct tls_server_name {
  std::string host;
  /// Send `host` as SNI (never for an IP address literal, per RFC 6066).
  bool send_sni = true;
  /// Check `host` against the certificate when the context verifies peers.
  bool check_name = true;
};

/// A TLS session over an inner byte stream (normally a non-blocking socket).
///
/// Run `handshake` until it returns true, waiting for the readiness that
/// `wants_read` / `wants_write` name between calls. Afterwards the stream
/// follows `byte_stream`'s contract exactly:
/// - `read_some` returns 0 with a clear error when no whole record is there
///   yet; `errc::connection_closed` once the peer sent close_notify (or ended
///   the inner stream without one: then `last_error_detail` says the data may
///   be truncated); the inner stream's error (`errc::connection_reset`, ...)
///   when it failed.
/// - `write_some` encrypts at most one record per call and returns 0 with a
///   clear error while more than about one record (16 KiB plus overhead) of
///   ciphertext waits for the inner stream: the buffer never grows beyond
///   that (backpressure). Call `flush` when the inner stream is writable.
///   If it returns 0 with `wants_read()` true, OpenSSL needs input first:
///   retry with the same bytes once readable.
/// Before the handshake finished both return 0 with `errc::not_connected`
/// (or the handshake's error once it failed).
///
/// Thread safety: distinct objects: safe. Shared objects: unsafe (one owner,
/// normally the connection's I/O worker, uses a stream at a time).
class tls_stream final : public byte_stream {
public:
  /// Wraps `inner` (must not be null: throws `errc::invalid_argument`). A
  /// client passes the host name it expects: it is sent as SNI and, when the
  /// context verifies peers, checked against the certificate's names (an IP
  /// address literal is checked as an IP address and not sent as SNI).
  /// Without a host name a client checks the chain only. Servers pass none.
  tls_stream(const tls_context& context, std::unique_ptr<byte_stream> inner,
             const std::string& expected_host = {});
  /// The same with SNI and the name check chosen apart (client side only).
  tls_stream(const tls_context& context, std::unique_ptr<byte_stream> inner,
             const tls_server_name& name);
  ~tls_stream() override;
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;

  /// One non-blocking handshake step: exchanges what the inner stream can
  /// carry now. Returns true once the handshake finished (also on every later
  /// call); false with `error` clear while it waits for the peer. On failure
  /// sets `error` and `last_error_detail()` says why:
  /// - `errc::tls_certificate_rejected`: the peer's certificate did not
  ///   verify (detail names OpenSSL's verification reason);
  /// - `errc::tls_hostname_mismatch`: the certificate does not name the
  ///   expected host (detail names that host and what the certificate names);
  /// - `errc::tls_handshake_failed`: any other failure, including the peer
  ///   closing mid-handshake or refusing us (detail has OpenSSL's reason);
  /// - the inner stream's error (for example `errc::connection_reset`).
  /// A failed handshake stays failed: later calls report the same error.
  [[nodiscard]] bool handshake(std::error_code& error);
  [[nodiscard]] bool handshake_done() const noexcept;

  /// What the owner waits for before the next call: the inner stream
  /// readable (OpenSSL needs more ciphertext) ...
  [[nodiscard]] bool wants_read() const noexcept;
  /// ... or writable (ciphertext is waiting for it; same as
  /// `has_pending_output`).
  [[nodiscard]] bool wants_write() const noexcept;

  /// Why the last failure happened, in words, or empty.
  [[nodiscard]] const std::string& last_error_detail() const noexcept;

  /// The peer certificate's subject as RFC 2253 text ("CN=db.example.com"),
  /// or empty without one.
  [[nodiscard]] std::string peer_certificate_subject() const;
  /// SHA-256 of the peer certificate (DER), lowercase hex pairs joined by
  /// ':' (95 characters), or empty without one.
  [[nodiscard]] std::string peer_certificate_fingerprint_sha256() const;
  /// The peer certificate in DER (what RFC 5929's tls-server-end-point
  /// hashes), or empty without one.
  [[nodiscard]] std::vector<std::byte> peer_certificate_der() const;
  /// OpenSSL's verdict on the peer's chain after the handshake: empty when
  /// it verified against the trusted CAs, else the reason ("self-signed
  /// certificate in certificate chain"). A context that does not verify
  /// peers still records it (the handshake then goes on regardless).
  [[nodiscard]] std::string peer_verification_error() const;
  /// The negotiated protocol ("TLSv1.3") and cipher suite
  /// ("TLS_AES_256_GCM_SHA384"); empty before the handshake finished.
  [[nodiscard]] std::string protocol_version() const;
  [[nodiscard]] std::string cipher() const;
  /// The application protocol agreed with ALPN, or empty.
  [[nodiscard]] std::string selected_alpn() const;

  // byte_stream; see the class comment.
  [[nodiscard]] std::size_t read_some(std::span<std::byte> buffer, std::error_code& error) override;
  [[nodiscard]] std::size_t write_some(std::span<const std::byte> data,
                                       std::error_code& error) override;
  /// True while ciphertext (or a requested half-close of the inner stream)
  /// waits for the inner stream to become writable.
  [[nodiscard]] bool has_pending_output() const noexcept override;
  std::error_code flush() override;
  /// Sends close_notify, then half-closes the inner stream once everything
  /// buffered went out (keep calling `flush` while `has_pending_output`).
  /// Later writes fail with `errc::not_connected`; reading goes on.
  void shutdown_send() noexcept override;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A certificate and its private key, as PEM text.
struct certificate_and_key {
  std::string certificate_pem;
  std::string private_key_pem;
};

/// For tests and development only (real deployments use certificates from
/// their own CA): a self-signed certificate with a fresh EC P-256 key, signed
/// with SHA-256, for `common_name`, with subject alternative names (each a
/// DNS name, or an IPv4/IPv6 address literal), valid from an hour ago for
/// `validity`. Trust it by passing `certificate_pem` as the trusted CA.
/// Throws `netio::error` (`errc::invalid_argument`) for an empty or
/// malformed name.
[[nodiscard]] certificate_and_key generate_self_signed_certificate(
  const std::string& common_name, const std::vector<std::string>& alternative_names,
  std::chrono::hours validity = std::chrono::hours(24));

/// For tests and development only: a certificate authority (CA:TRUE,
/// keyCertSign) with a fresh EC P-256 key, for building CA-signed chains
/// with `issue_certificate`.
[[nodiscard]] certificate_and_key generate_certificate_authority(
  const std::string& common_name, std::chrono::hours validity = std::chrono::hours(24 * 30));

/// For tests and development only: a leaf certificate (server and client
/// authentication) for `common_name` and `alternative_names`, signed by
/// `authority`. Throws `netio::error` (`errc::bad_configuration`) when the
/// authority's PEM text is not usable.
[[nodiscard]] certificate_and_key issue_certificate(const certificate_and_key& authority,
                                                    const std::string& common_name,
                                                    const std::vector<std::string>& alternative_names,
                                                    std::chrono::hours validity = std::chrono::hours(24));

} // namespace actorloop::netio
