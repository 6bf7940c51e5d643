#include <actorloop/netio/tls.hpp>

#include <actorloop/netio/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <array>
#include <cstring>

namespace actorloop::netio {

namespace {

/// Largest plaintext of one TLS record; also the bound on ciphertext a
/// stream keeps beyond what its inner stream accepted.
constexpr std::size_t record_bytes = 16 * 1024;
constexpr std::size_t max_buffered_ciphertext = record_bytes + 1024;

/// Every queued OpenSSL error, oldest first, as one line (and clears them).
std::string openssl_errors() {
  std::string text;
  while (auto code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty())
      text += "; ";
    text += buffer;
  }
  return text.empty() ? std::string{"no OpenSSL error recorded"} : text;
}

[[noreturn]] void configuration_error(const std::string& what) {
  throw error(errc::bad_configuration, "TLS: " + what + ": " + openssl_errors());
}

struct bio_deleter {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
struct x509_deleter {
  void operator()(X509* certificate) const noexcept { X509_free(certificate); }
};
struct key_deleter {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using bio_pointer = std::unique_ptr<BIO, bio_deleter>;
using x509_pointer = std::unique_ptr<X509, x509_deleter>;
using key_pointer = std::unique_ptr<EVP_PKEY, key_deleter>;

bio_pointer memory_bio(const std::string& text) {
  return bio_pointer{BIO_new_mem_buf(text.data(), static_cast<int>(text.size()))};
}

std::string read_file_or_throw(const std::string& path, const char* what) {
  bio_pointer file{BIO_new_file(path.c_str(), "r")};
  if (!file)
    configuration_error(std::string{"cannot read "} + what + " file '" + path + "'");
  std::string text;
  std::array<char, 4096> buffer;
  int got = 0;
  while ((got = BIO_read(file.get(), buffer.data(), static_cast<int>(buffer.size()))) > 0)
    text.append(buffer.data(), static_cast<std::size_t>(got));
  return text;
}

std::vector<x509_pointer> read_certificates(const std::string& pem, const char* what) {
  std::vector<x509_pointer> result;
  auto bio = memory_bio(pem);
  while (auto* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    result.emplace_back(certificate);
  // The loop ends with a "no start line" error at the end of the text.
  ERR_clear_error();
  if (result.empty())
    throw error(errc::bad_configuration,
                std::string{"TLS: "} + what + " holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)");
  return result;
}

bool is_ip_literal(const std::string& host) {
  unsigned char scratch[16];
  return inet_pton(AF_INET, host.c_str(), scratch) == 1 ||
         inet_pton(AF_INET6, host.c_str(), scratch) == 1;
}

std::vector<unsigned char> alpn_wire(const std::vector<std::string>& protocols) {
  std::vector<unsigned char> wire;
  for (auto& each : protocols) {
    if (each.empty() || each.size() > 255)
      throw error(errc::bad_configuration, "TLS: ALPN protocol names must be 1..255 bytes");
    wire.push_back(static_cast<unsigned char>(each.size()));
    wire.insert(wire.end(), each.begin(), each.end());
  }
  return wire;
}

} // namespace

// -- tls_context ----------------------------------------------------------------------------

struct tls_context::impl {
  SSL_CTX* context = nullptr;
  tls_role role = tls_role::client;
  std::vector<unsigned char> alpn;
  ~impl() { SSL_CTX_free(context); }
};

namespace {

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                unsigned int in_length, void* argument) {
  auto* self = static_cast<tls_context::impl*>(argument);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, out_length, self->alpn.data(),
                            static_cast<unsigned int>(self->alpn.size()), in,
                            in_length) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

} // namespace

tls_context::tls_context(const tls_options& options) : impl_(std::make_shared<impl>()) {
  impl_->role = options.role;
  impl_->context =
    SSL_CTX_new(options.role == tls_role::client ? TLS_client_method() : TLS_server_method());
  if (!impl_->context)
    configuration_error("cannot create an SSL context");
  SSL_CTX_set_min_proto_version(impl_->context, TLS1_2_VERSION);
  SSL_CTX_set_mode(impl_->context, SSL_MODE_ENABLE_PARTIAL_WRITE);

  auto chain = options.certificate_chain_pem;
  if (chain.empty() && !options.certificate_chain_file.empty())
    chain = read_file_or_throw(options.certificate_chain_file, "certificate chain");
  auto key = options.private_key_pem;
  if (key.empty() && !options.private_key_file.empty())
    key = read_file_or_throw(options.private_key_file, "private key");
  if (options.role == tls_role::server && (chain.empty() || key.empty()))
    throw error(errc::bad_configuration,
                "TLS: a server context needs a certificate chain and a private key");
  if (!chain.empty()) {
    auto certificates = read_certificates(chain, "the certificate chain");
    if (SSL_CTX_use_certificate(impl_->context, certificates.front().get()) != 1)
      configuration_error("the leaf certificate is not usable");
    for (std::size_t index = 1; index < certificates.size(); ++index) {
      // add_extra_chain_cert takes ownership on success.
      if (SSL_CTX_add_extra_chain_cert(impl_->context, certificates[index].get()) != 1)
        configuration_error("an intermediate certificate is not usable");
      (void)certificates[index].release();
    }
    if (key.empty())
      throw error(errc::bad_configuration, "TLS: a certificate chain needs its private key");
    auto bio = memory_bio(key);
    key_pointer private_key{PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
    if (!private_key)
      configuration_error("the private key is not valid PEM (expected -----BEGIN PRIVATE KEY-----)");
    if (SSL_CTX_use_PrivateKey(impl_->context, private_key.get()) != 1)
      configuration_error("the private key is not usable or does not match the certificate");
    if (SSL_CTX_check_private_key(impl_->context) != 1)
      configuration_error("the private key does not match the certificate");
  }

  if (!options.trusted_ca_pem.empty()) {
    auto* store = SSL_CTX_get_cert_store(impl_->context);
    for (auto& each : read_certificates(options.trusted_ca_pem, "the trusted CA text"))
      if (X509_STORE_add_cert(store, each.get()) != 1)
        configuration_error("a trusted CA certificate cannot be added");
  } else if (!options.trusted_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(impl_->context, options.trusted_ca_file.c_str(), nullptr) != 1)
      configuration_error("cannot load trusted CAs from '" + options.trusted_ca_file + "'");
  } else if (options.verify_peer) {
    if (SSL_CTX_set_default_verify_paths(impl_->context) != 1)
      configuration_error("cannot load the system's trusted CAs");
  }
  if (options.verify_peer)
    SSL_CTX_set_verify(impl_->context,
                       SSL_VERIFY_PEER | (options.role == tls_role::server
                                            ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                            : 0),
                       nullptr);
  else
    SSL_CTX_set_verify(impl_->context, SSL_VERIFY_NONE, nullptr);

  if (!options.alpn.empty()) {
    impl_->alpn = alpn_wire(options.alpn);
    if (options.role == tls_role::client) {
      if (SSL_CTX_set_alpn_protos(impl_->context, impl_->alpn.data(),
                                  static_cast<unsigned int>(impl_->alpn.size())) != 0)
        configuration_error("cannot set the ALPN protocols");
    } else {
      SSL_CTX_set_alpn_select_cb(impl_->context, select_alpn, impl_.get());
    }
  }
}

tls_context::~tls_context() = default;

tls_role tls_context::role() const noexcept {
  return impl_->role;
}

// -- tls_stream -----------------------------------------------------------------------------

struct tls_stream::impl {
  std::shared_ptr<tls_context::impl> context; // keeps the SSL_CTX alive
  std::unique_ptr<byte_stream> inner;
  SSL* ssl = nullptr;
  BIO* network_in = nullptr;  // ciphertext from the peer, owned by ssl
  BIO* network_out = nullptr; // ciphertext for the peer, owned by ssl
  std::vector<std::byte> pending;
  std::size_t pending_offset = 0;
  bool done = false;
  bool want_read = false;
  bool inner_ended = false;
  std::error_code inner_error;
  std::string detail;
  std::string expected_host;

  ~impl() { SSL_free(ssl); }

  [[nodiscard]] std::size_t pending_bytes() const noexcept { return pending.size() - pending_offset; }

  /// Moves SSL's ciphertext into `pending`, then into the inner stream.
  std::error_code push_out() {
    while (pending_bytes() < max_buffered_ciphertext && BIO_ctrl_pending(network_out) > 0) {
      std::array<std::byte, 4096> chunk;
      int got = BIO_read(network_out, chunk.data(), static_cast<int>(chunk.size()));
      if (got <= 0)
        break;
      pending.insert(pending.end(), chunk.begin(), chunk.begin() + got);
    }
    while (pending_bytes() > 0) {
      std::error_code failure;
      auto sent = inner->write_some(
        std::span<const std::byte>{pending.data() + pending_offset, pending_bytes()}, failure);
      if (failure)
        return failure;
      if (sent == 0)
        break;
      pending_offset += sent;
    }
    if (pending_offset == pending.size()) {
      pending.clear();
      pending_offset = 0;
    }
    return {};
  }

  /// Feeds the inner stream's ciphertext to SSL. Returns bytes moved; sets
  /// `inner_error` when the inner stream ended.
  std::size_t pull_in() {
    std::array<std::byte, record_bytes + 512> chunk;
    std::error_code failure;
    auto got = inner->read_some(chunk, failure);
    if (failure) {
      inner_ended = true;
      inner_error = failure;
      return 0;
    }
    if (got > 0)
      BIO_write(network_in, chunk.data(), static_cast<int>(got));
    return got;
  }

  std::error_code classify_failure() {
    auto verify = SSL_get_verify_result(ssl);
    auto errors = openssl_errors();
    if (verify != X509_V_OK) {
      if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        detail = "TLS: the server's certificate does not name '" + expected_host + "' (" +
                 X509_verify_cert_error_string(verify) + ")";
        return errc::tls_hostname_mismatch;
      }
      detail = std::string{"TLS: the peer's certificate was rejected: "} +
               X509_verify_cert_error_string(verify);
      return errc::tls_certificate_rejected;
    }
    detail = "TLS handshake failed: " + errors;
    return errc::tls_handshake_failed;
  }
};

tls_stream::tls_stream(const tls_context& context, std::unique_ptr<byte_stream> inner,
                       const std::string& expected_host)
  : impl_(std::make_unique<impl>()) {
  if (!inner)
    throw error(errc::invalid_argument, "tls_stream: no inner stream");
  impl_->context = context.internals();
  auto& shared = *impl_->context;
  impl_->inner = std::move(inner);
  impl_->expected_host = expected_host;
  impl_->ssl = SSL_new(shared.context);
  if (!impl_->ssl)
    configuration_error("cannot create an SSL session");
  impl_->network_in = BIO_new(BIO_s_mem());
  impl_->network_out = BIO_new(BIO_s_mem());
  // A drained memory BIO reports "retry", not end of file.
  BIO_set_mem_eof_return(impl_->network_in, -1);
  BIO_set_mem_eof_return(impl_->network_out, -1);
  SSL_set_bio(impl_->ssl, impl_->network_in, impl_->network_out);
  if (shared.role == tls_role::client) {
    SSL_set_connect_state(impl_->ssl);
    if (!expected_host.empty()) {
      if (is_ip_literal(expected_host)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(impl_->ssl), expected_host.c_str());
      } else {
        SSL_set_tlsext_host_name(impl_->ssl, expected_host.c_str());
        SSL_set1_host(impl_->ssl, expected_host.c_str());
      }
    }
  } else {
    SSL_set_accept_state(impl_->ssl);
  }
}

tls_stream::~tls_stream() = default;

bool tls_stream::handshake(std::error_code& error) {
  auto& self = *impl_;
  if (self.done)
    return true;
  for (int round = 0; round < 64; ++round) {
    ERR_clear_error();
    int result = SSL_do_handshake(self.ssl);
    if (auto failure = self.push_out()) {
      error = failure;
      self.detail = "TLS handshake: sending failed: " + failure.message();
      return false;
    }
    if (result == 1) {
      self.done = true;
      self.want_read = false;
      return true;
    }
    auto reason = SSL_get_error(self.ssl, result);
    if (reason == SSL_ERROR_WANT_READ) {
      if (self.pull_in() > 0)
        continue;
      if (self.inner_ended) {
        error = self.inner_error == errc::connection_closed ? std::error_code{errc::tls_handshake_failed}
                                                            : self.inner_error;
        self.detail = "TLS handshake: the peer closed the connection (" +
                      self.inner_error.message() + ")";
        return false;
      }
      self.want_read = true;
      return false;
    }
    if (reason == SSL_ERROR_WANT_WRITE)
      return false;
    error = self.classify_failure();
    // Let the peer see our alert.
    (void)self.push_out();
    return false;
  }
  return false;
}

bool tls_stream::handshake_done() const noexcept {
  return impl_->done;
}

bool tls_stream::wants_read() const noexcept {
  return impl_->want_read;
}

bool tls_stream::wants_write() const noexcept {
  return impl_->pending_bytes() > 0;
}

const std::string& tls_stream::last_error_detail() const noexcept {
  return impl_->detail;
}

std::string tls_stream::peer_certificate_subject() const {
  auto* peer = SSL_get0_peer_certificate(impl_->ssl);
  if (!peer)
    return {};
  char buffer[512];
  X509_NAME_oneline(X509_get_subject_name(peer), buffer, sizeof buffer);
  return buffer;
}

std::string tls_stream::peer_certificate_fingerprint_sha256() const {
  auto* peer = SSL_get0_peer_certificate(impl_->ssl);
  if (!peer)
    return {};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  X509_digest(peer, EVP_sha256(), digest, &length);
  static constexpr char hex[] = "0123456789abcdef";
  std::string text;
  for (unsigned int index = 0; index < length; ++index) {
    if (index)
      text += ':';
    text += hex[digest[index] >> 4];
    text += hex[digest[index] & 15];
  }
  return text;
}

std::string tls_stream::protocol_version() const {
  return SSL_get_version(impl_->ssl);
}

std::string tls_stream::cipher() const {
  auto* current = SSL_get_current_cipher(impl_->ssl);
  return current ? SSL_CIPHER_get_name(current) : "";
}

std::string tls_stream::selected_alpn() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(impl_->ssl, &data, &length);
  return data ? std::string{reinterpret_cast<const char*>(data), length} : std::string{};
}

std::size_t tls_stream::read_some(std::span<std::byte> buffer, std::error_code& error) {
  auto& self = *impl_;
  if (!self.done) {
    error = errc::not_connected;
    return 0;
  }
  for (;;) {
    ERR_clear_error();
    int got = SSL_read(self.ssl, buffer.data(), static_cast<int>(std::min<std::size_t>(buffer.size(), INT32_MAX)));
    // TLS 1.3 may answer with records of its own (key updates).
    (void)self.push_out();
    if (got > 0)
      return static_cast<std::size_t>(got);
    auto reason = SSL_get_error(self.ssl, got);
    if (reason == SSL_ERROR_WANT_READ) {
      if (self.pull_in() > 0)
        continue;
      if (self.inner_ended) {
        // The socket ended without close_notify: a truncation, reported as
        // the inner stream's end.
        error = self.inner_error;
      }
      return 0;
    }
    if (reason == SSL_ERROR_ZERO_RETURN) {
      error = errc::connection_closed;
      return 0;
    }
    if (reason == SSL_ERROR_WANT_WRITE)
      return 0;
    self.detail = "TLS read failed: " + openssl_errors();
    error = self.inner_ended ? self.inner_error : std::error_code{errc::connection_reset};
    return 0;
  }
}

std::size_t tls_stream::write_some(std::span<const std::byte> data, std::error_code& error) {
  auto& self = *impl_;
  if (!self.done) {
    error = errc::not_connected;
    return 0;
  }
  if (auto failure = self.push_out()) {
    error = failure;
    return 0;
  }
  // Backpressure: hold at most about one record the inner stream refused.
  if (self.pending_bytes() >= max_buffered_ciphertext || data.empty())
    return 0;
  ERR_clear_error();
  int sent = SSL_write(self.ssl, data.data(), static_cast<int>(std::min(data.size(), record_bytes)));
  if (sent > 0) {
    if (auto failure = self.push_out()) {
      error = failure;
      return 0;
    }
    return static_cast<std::size_t>(sent);
  }
  auto reason = SSL_get_error(self.ssl, sent);
  if (reason == SSL_ERROR_WANT_READ) {
    (void)self.pull_in();
    return 0;
  }
  if (reason == SSL_ERROR_WANT_WRITE)
    return 0;
  self.detail = "TLS write failed: " + openssl_errors();
  error = errc::connection_reset;
  return 0;
}

bool tls_stream::has_pending_output() const noexcept {
  return impl_->pending_bytes() > 0 || BIO_ctrl_pending(impl_->network_out) > 0;
}

std::error_code tls_stream::flush() {
  return impl_->push_out();
}

void tls_stream::shutdown_send() noexcept {
  if (impl_->done)
    SSL_shutdown(impl_->ssl);
  (void)impl_->push_out();
  impl_->inner->shutdown_send();
}

// -- development certificates -----------------------------------------------------------------

namespace {

key_pointer new_key() {
  key_pointer key{EVP_EC_gen("P-256")};
  if (!key)
    configuration_error("cannot generate an EC P-256 key");
  return key;
}

std::string to_pem(X509* certificate) {
  bio_pointer bio{BIO_new(BIO_s_mem())};
  PEM_write_bio_X509(bio.get(), certificate);
  char* data = nullptr;
  auto length = BIO_get_mem_data(bio.get(), &data);
  return std::string{data, static_cast<std::size_t>(length)};
}

std::string to_pem(EVP_PKEY* key) {
  bio_pointer bio{BIO_new(BIO_s_mem())};
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  auto length = BIO_get_mem_data(bio.get(), &data);
  return std::string{data, static_cast<std::size_t>(length)};
}

void add_extension(X509* certificate, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  auto* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (!extension)
    configuration_error("cannot build the certificate extension '" + value + "'");
  X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
}

certificate_and_key make_certificate(const std::string& common_name,
                                     const std::vector<std::string>& alternative_names,
                                     std::chrono::hours validity, bool authority,
                                     const certificate_and_key* issuer) {
  auto key = new_key();
  x509_pointer certificate{X509_new()};
  X509_set_version(certificate.get(), 2);
  std::array<unsigned char, 16> serial;
  RAND_bytes(serial.data(), static_cast<int>(serial.size()));
  serial[0] &= 0x7f;
  auto* number = BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr);
  BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate.get()));
  BN_free(number);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()),
                  static_cast<long>(std::chrono::seconds(validity).count()));
  X509_set_pubkey(certificate.get(), key.get());
  auto* name = X509_get_subject_name(certificate.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);

  x509_pointer issuer_certificate;
  key_pointer issuer_key;
  if (issuer) {
    issuer_certificate = std::move(read_certificates(issuer->certificate_pem, "the issuer")[0]);
    auto bio = memory_bio(issuer->private_key_pem);
    issuer_key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!issuer_key)
      configuration_error("the issuer's private key is not valid PEM");
    X509_set_issuer_name(certificate.get(), X509_get_subject_name(issuer_certificate.get()));
  } else {
    X509_set_issuer_name(certificate.get(), name);
  }
  auto* signer_certificate = issuer ? issuer_certificate.get() : certificate.get();
  add_extension(certificate.get(), signer_certificate, NID_basic_constraints,
                authority ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_extension(certificate.get(), signer_certificate, NID_key_usage,
                authority ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  if (!alternative_names.empty()) {
    std::string names;
    for (auto& each : alternative_names) {
      if (!names.empty())
        names += ',';
      names += (is_ip_literal(each) ? "IP:" : "DNS:") + each;
    }
    add_extension(certificate.get(), signer_certificate, NID_subject_alt_name, names);
  }
  if (!X509_sign(certificate.get(), issuer ? issuer_key.get() : key.get(), EVP_sha256()))
    configuration_error("cannot sign the certificate");
  return {to_pem(certificate.get()), to_pem(key.get())};
}

} // namespace

certificate_and_key generate_self_signed_certificate(const std::string& common_name,
                                                     const std::vector<std::string>& alternative_names,
                                                     std::chrono::hours validity) {
  return make_certificate(common_name, alternative_names, validity, false, nullptr);
}

certificate_and_key generate_certificate_authority(const std::string& common_name) {
  return make_certificate(common_name, {}, std::chrono::hours(24 * 30), true, nullptr);
}

certificate_and_key issue_certificate(const certificate_and_key& authority,
                                      const std::string& common_name,
                                      const std::vector<std::string>& alternative_names,
                                      std::chrono::hours validity) {
  return make_certificate(common_name, alternative_names, validity, false, &authority);
}

} // namespace actorloop::netio
