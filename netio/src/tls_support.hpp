#pragma once
// What the TLS sources share, private to netio: OpenSSL error text, owned
// OpenSSL objects, reading PEM configuration, certificate names, and the
// tls_context internals that tls_stream needs.
#include <actorloop/netio/tls.hpp>

#include <actorloop/netio/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <vector>

namespace actorloop::netio {

struct tls_context::impl {
  SSL_CTX* context = nullptr;
  tls_role role = tls_role::client;
  bool verify_peer = true;
  /// ALPN list in wire format; the server's selection callback reads it.
  std::vector<unsigned char> alpn;

  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() { SSL_CTX_free(context); }
};

} // namespace actorloop::netio

namespace actorloop::netio::detail {

// -- owned OpenSSL objects ------------------------------------------------------------------------

struct bio_deleter {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
struct x509_deleter {
  void operator()(X509* certificate) const noexcept { X509_free(certificate); }
};
struct key_deleter {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
struct general_names_deleter {
  void operator()(GENERAL_NAMES* names) const noexcept { GENERAL_NAMES_free(names); }
};
struct big_number_deleter {
  void operator()(BIGNUM* number) const noexcept { BN_free(number); }
};
using bio_pointer = std::unique_ptr<BIO, bio_deleter>;
using x509_pointer = std::unique_ptr<X509, x509_deleter>;
using key_pointer = std::unique_ptr<EVP_PKEY, key_deleter>;
using general_names_pointer = std::unique_ptr<GENERAL_NAMES, general_names_deleter>;
using big_number_pointer = std::unique_ptr<BIGNUM, big_number_deleter>;

/// Every queued OpenSSL error, oldest first, as "library: reason (data)";
/// clears the queue.
[[nodiscard]] std::string openssl_errors();
/// Throws bad_configuration naming `what` and OpenSSL's reason.
[[noreturn]] void configuration_error(const std::string& what);
/// PEM reading never prompts on a terminal for a passphrase.
int refuse_passphrase(char*, int, int, void*);
[[nodiscard]] bio_pointer memory_bio(const std::string& text);
[[nodiscard]] std::string bio_text(BIO* bio);
/// PEM text from `text`, or else from `path`; `source` is set to a phrase
/// naming where it came from, for messages.
[[nodiscard]] std::string text_or_file(const std::string& text, const std::string& path,
                                       const char* item, std::string& source);
/// Every certificate in `pem`, in order. Throws when there is none, or when
/// a certificate block is damaged.
[[nodiscard]] std::vector<x509_pointer> read_certificates(const std::string& pem,
                                                          const std::string& source);
[[nodiscard]] key_pointer read_private_key(const std::string& pem, const std::string& source);
[[nodiscard]] std::string subject_text(X509* certificate);
/// The names a certificate answers to, for a host-mismatch message:
/// "DNS:a, IP:127.0.0.1" (or its subject when it has no alternative names).
[[nodiscard]] std::string certificate_names(X509* certificate);
[[nodiscard]] bool is_ip_literal(const std::string& host);
[[nodiscard]] std::vector<unsigned char> alpn_wire(const std::vector<std::string>& protocols);
/// Server side of ALPN: the first of our protocols the client offers.
/// `argument` is the context's wire-format list.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                unsigned int in_length, void* argument);

} // namespace actorloop::netio::detail
