#pragma once
/// @file
/// The client side of PostgreSQL's password authentication: MD5 password
/// hashing and a SCRAM-SHA-256 client (RFC 5802, RFC 7677) as PostgreSQL
/// uses it. Every primitive (MD5, SHA-256, HMAC, PBKDF2, random bytes,
/// base64, constant-time comparison) is OpenSSL's; nothing here is
/// hand-written cryptography.
///
/// SCRAM hashes the password after SASLprep (RFC 4013, GNU libidn's
/// profile), as PostgreSQL does when it stores one, so a non-ASCII password
/// matches in any Unicode form the user types. A password that is not
/// valid UTF-8, or that SASLprep refuses, is used as the bytes given
/// (PostgreSQL's and libpq's rule).
///
/// Thread safety: `md5_password` is safe from any thread. A `scram_client`
/// is a single exchange's state: use it from one thread at a time.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace actorloop::pg {

/// The PasswordMessage answer to AuthenticationMD5Password:
/// "md5" + hex(md5(hex(md5(password + user)) + salt)). Throws `pg::error`
/// (`invalid_argument`) unless `salt` has 4 bytes, `crypto_failure` if
/// OpenSSL fails.
[[nodiscard]] std::string md5_password(std::string_view user, std::string_view password,
                                       std::string_view salt);

/// SCRAM channel binding, as the client declares it in its GS2 header.
enum class channel_binding_mode {
  /// 'n': the client does not support channel binding (no TLS).
  none,
  /// 'y': the client supports it but the server did not offer
  /// SCRAM-SHA-256-PLUS (TLS in use; a downgrade shows up in the proof).
  supported_not_used,
  /// 'p=tls-server-end-point': bind to the server certificate's hash, which
  /// the caller computes from the TLS session (RFC 5929) and supplies.
  tls_server_end_point,
};

/// RFC 5929's tls-server-end-point channel binding data: the hash of the
/// server's certificate (DER) with the hash function of the certificate's
/// signature algorithm, SHA-256 when that is MD5 or SHA-1 (RFC 5929 section
/// 4.1). Binary, 32 to 64 bytes. Throws `pg::error` (`invalid_argument`)
/// for bytes that are not a certificate, and for a signature algorithm with
/// no single hash function (Ed25519, Ed448: RFC 5929 defines no binding
/// for them, as libpq reports).
[[nodiscard]] std::string tls_server_end_point(std::span<const std::byte> certificate_der);

/// One step's outcome.
struct scram_step {
  /// The message to send (client-final-message), when there is one.
  std::string message;
  /// `scram_protocol_violation`, `scram_server_signature_mismatch`,
  /// `scram_server_error` or `crypto_failure`; the exchange is then over.
  std::error_code error;
  /// Names the problem ("server nonce does not start with the client
  /// nonce"); empty without error.
  std::string detail;
};

/// Which SASL mechanism to answer an AuthenticationSASL with, and how to
/// bind the channel, following libpq: SCRAM-SHA-256-PLUS when the server
/// offers it and the caller has the certificate hash; else SCRAM-SHA-256
/// ('y' on TLS, 'n' without). `error` is `unsupported_authentication` when
/// neither is offered (or only PLUS without TLS).
struct sasl_choice {
  std::string mechanism;
  channel_binding_mode binding = channel_binding_mode::none;
  std::error_code error;
  std::string detail;
};
[[nodiscard]] sasl_choice choose_sasl_mechanism(std::span<const std::string> offered,
                                                bool tls_in_use, bool have_end_point_hash);

/// A SCRAM-SHA-256 client exchange: client-first-message, then the
/// server-first-message in, the client-final-message out, then the
/// server-final-message verified. Any step out of order, or after an error,
/// fails with `scram_protocol_violation`.
class scram_client {
public:
  struct options {
    std::string password;
    /// PostgreSQL ignores the name inside SCRAM (the startup user counts),
    /// and libpq sends it empty; tests give RFC 7677's "user".
    std::string username;
    /// Empty: 18 random bytes from OpenSSL, base64-encoded (as libpq).
    /// Tests fix it to reproduce RFC 7677's vector.
    std::string client_nonce;
    channel_binding_mode binding = channel_binding_mode::none;
    /// tls_server_end_point: the hash of the server's certificate.
    std::string channel_binding_data;
    /// Refuses a server asking for more PBKDF2 iterations than this (a
    /// hostile server could otherwise spin the CPU for minutes); PostgreSQL's
    /// default is 4096.
    std::uint32_t max_iterations = 1'000'000;
  };

  /// Throws `pg::error` (`invalid_argument`) for a nonce with a ',' or a
  /// non-printable byte, or end-point binding without data;
  /// `crypto_failure` if OpenSSL cannot give random bytes.
  explicit scram_client(options settings);

  /// "SCRAM-SHA-256-PLUS" with end-point binding, else "SCRAM-SHA-256".
  [[nodiscard]] std::string_view mechanism() const noexcept;
  /// The SASLInitialResponse data: GS2 header + client-first-message-bare.
  [[nodiscard]] const std::string& client_first_message() const noexcept { return client_first_; }
  /// Takes the AuthenticationSASLContinue data and returns the
  /// client-final-message (with the proof) to send as SASLResponse.
  [[nodiscard]] scram_step handle_server_first(std::string_view server_first);
  /// Takes the AuthenticationSASLFinal data and checks the server's
  /// signature (in constant time). No error: the server knows the password.
  [[nodiscard]] scram_step verify_server_final(std::string_view server_final);
  /// True once the server's signature verified.
  [[nodiscard]] bool authenticated() const noexcept { return state_ == state::done; }

private:
  enum class state { sent_first, sent_final, done, failed };
  scram_step fail(std::error_code code, std::string detail);

  options settings_;
  std::string client_first_bare_;
  std::string client_first_;
  std::string auth_message_;
  std::vector<unsigned char> server_signature_;
  state state_ = state::sent_first;
};

} // namespace actorloop::pg
