// TLS with OpenSSL over memory BIOs: SSL reads ciphertext from `network_in`
// (filled from the inner stream only when SSL asks for more) and writes it to
// `network_out` (drained into the inner stream as far as it accepts). Nothing
// blocks, and the owner sees the inner stream's readiness through
// wants_read / wants_write.
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

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>

namespace actorloop::netio {

namespace {

/// Largest plaintext of one TLS record.
constexpr std::size_t record_plaintext_bytes = 16 * 1024;
/// Upper bound of what a record adds to its plaintext (header, explicit IV,
/// MAC or tag, CBC padding) for every suite OpenSSL 3.0 offers.
constexpr std::size_t record_overhead_bytes = 512;
/// Ciphertext a stream holds beyond what its inner stream accepted: one
/// record. write_some admits new plaintext only while the result fits.
constexpr std::size_t max_buffered_ciphertext = record_plaintext_bytes + record_overhead_bytes;
/// Smallest record write_some makes while older ciphertext still waits:
/// waiting for the inner stream beats fragmenting the data into tiny records.
constexpr std::size_t minimum_record_while_buffered = 4 * 1024;
/// Bound on the steps one call takes, so one fast peer cannot hold the
/// owner's thread; the owner calls again on the next readiness.
constexpr int max_rounds_per_call = 256;

// -- OpenSSL errors ----------------------------------------------------------------------------

/// Every queued OpenSSL error, oldest first, as "library: reason (data)";
/// clears the queue.
std::string openssl_errors() {
  std::string text;
  const char* data = nullptr;
  int flags = 0;
  while (auto code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    if (!text.empty())
      text += "; ";
    const char* library = ERR_lib_error_string(code);
    // System errors carry errno as their reason.
    const char* reason =
      ERR_SYSTEM_ERROR(code) ? std::strerror(ERR_GET_REASON(code)) : ERR_reason_error_string(code);
    if (reason) {
      if (library)
        text += std::string{library} + ": ";
      text += reason;
    } else {
      char buffer[256];
      ERR_error_string_n(code, buffer, sizeof buffer);
      text += buffer;
    }
    if (data && (flags & ERR_TXT_STRING) && *data)
      text += std::string{" ("} + data + ")";
  }
  return text.empty() ? std::string{"no OpenSSL reason recorded"} : text;
}

/// Throws bad_configuration naming `what` and OpenSSL's reason.
[[noreturn]] void configuration_error(const std::string& what) {
  throw error(errc::bad_configuration, "TLS: " + what + ": " + openssl_errors());
}

/// PEM reading never prompts on a terminal for a passphrase.
int refuse_passphrase(char*, int, int, void*) {
  return -1;
}

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

bio_pointer memory_bio(const std::string& text) {
  bio_pointer bio{BIO_new_mem_buf(text.data(), static_cast<int>(text.size()))};
  if (!bio)
    configuration_error("cannot allocate a memory buffer");
  return bio;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  auto length = BIO_get_mem_data(bio, &data);
  return length > 0 ? std::string{data, static_cast<std::size_t>(length)} : std::string{};
}

// -- configuration input ---------------------------------------------------------------------------

/// PEM text from `text`, or else from `path`; `source` is set to a phrase
/// naming where it came from, for messages.
std::string text_or_file(const std::string& text, const std::string& path, const char* item,
                         std::string& source) {
  if (!text.empty()) {
    source = std::string{item} + " (PEM text)";
    return text;
  }
  if (path.empty())
    return {};
  source = std::string{item} + " file '" + path + "'";
  ERR_clear_error();
  bio_pointer file{BIO_new_file(path.c_str(), "r")};
  if (!file)
    configuration_error("cannot read " + source);
  std::string content;
  std::array<char, 4096> buffer;
  int got = 0;
  while ((got = BIO_read(file.get(), buffer.data(), static_cast<int>(buffer.size()))) > 0)
    content.append(buffer.data(), static_cast<std::size_t>(got));
  if (content.empty())
    throw error(errc::bad_configuration, "TLS: " + source + " is empty");
  return content;
}

/// Every certificate in `pem`, in order. Throws when there is none, or when
/// a certificate block is damaged.
std::vector<x509_pointer> read_certificates(const std::string& pem, const std::string& source) {
  std::vector<x509_pointer> result;
  ERR_clear_error();
  auto bio = memory_bio(pem);
  while (auto* certificate = PEM_read_bio_X509(bio.get(), nullptr, refuse_passphrase, nullptr))
    result.emplace_back(certificate);
  // Reading ends with "no start line" once the text has no further block.
  auto last = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  if (result.empty())
    throw error(errc::bad_configuration,
                "TLS: " + source +
                  " holds no PEM certificate (expected -----BEGIN CERTIFICATE-----): " +
                  openssl_errors());
  if (!clean_end)
    throw error(errc::bad_configuration,
                "TLS: " + source + ": certificate " + std::to_string(result.size() + 1) +
                  " is damaged: " + openssl_errors());
  ERR_clear_error();
  return result;
}

key_pointer read_private_key(const std::string& pem, const std::string& source) {
  ERR_clear_error();
  auto bio = memory_bio(pem);
  key_pointer key{PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr)};
  if (!key) {
    auto first = ERR_peek_error();
    if (ERR_GET_LIB(first) == ERR_LIB_PEM && (ERR_GET_REASON(first) == PEM_R_BAD_PASSWORD_READ ||
                                              ERR_GET_REASON(first) == PEM_R_PROBLEMS_GETTING_PASSWORD))
      configuration_error(source + " is encrypted; pass an unencrypted key");
    configuration_error(source + " is not a PEM private key (expected -----BEGIN PRIVATE KEY-----)");
  }
  return key;
}

std::string subject_text(X509* certificate) {
  bio_pointer bio{BIO_new(BIO_s_mem())};
  if (!bio)
    return {};
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  return bio_text(bio.get());
}

/// The names a certificate answers to, for a host-mismatch message:
/// "DNS:a, IP:127.0.0.1" (or its subject when it has no alternative names).
std::string certificate_names(X509* certificate) {
  std::string text;
  auto* names = static_cast<GENERAL_NAMES*>(
    X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  general_names_pointer owned{names};
  for (int index = 0; names && index < sk_GENERAL_NAME_num(names); ++index) {
    auto* name = sk_GENERAL_NAME_value(names, index);
    std::string entry;
    if (name->type == GEN_DNS) {
      auto* value = name->d.dNSName;
      entry = "DNS:" + std::string{reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                                   static_cast<std::size_t>(ASN1_STRING_length(value))};
    } else if (name->type == GEN_IPADD) {
      auto* value = name->d.iPAddress;
      char buffer[INET6_ADDRSTRLEN] = {};
      int length = ASN1_STRING_length(value);
      if ((length == 4 || length == 16) &&
          inet_ntop(length == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(value), buffer,
                    sizeof buffer))
        entry = std::string{"IP:"} + buffer;
    }
    if (entry.empty())
      continue;
    if (!text.empty())
      text += ", ";
    text += entry;
  }
  return text.empty() ? subject_text(certificate) : text;
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
      throw error(errc::bad_configuration,
                  "TLS: ALPN protocol name '" + each + "' must be 1 to 255 bytes long");
    wire.push_back(static_cast<unsigned char>(each.size()));
    wire.insert(wire.end(), each.begin(), each.end());
  }
  return wire;
}

/// Server side of ALPN: the first of our protocols the client offers.
/// `argument` is the context's wire-format list.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                unsigned int in_length, void* argument) {
  auto& ours = *static_cast<const std::vector<unsigned char>*>(argument);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, out_length, ours.data(), static_cast<unsigned int>(ours.size()),
                            in, in_length) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

} // namespace

// -- tls_context ----------------------------------------------------------------------------------

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

tls_context::tls_context(const tls_options& options) : impl_(std::make_shared<impl>()) {
  auto& self = *impl_;
  self.role = options.role;
  self.verify_peer = options.verify_peer.value_or(options.role == tls_role::client);
  ERR_clear_error();
  self.context = SSL_CTX_new(options.role == tls_role::client ? TLS_client_method()
                                                              : TLS_server_method());
  if (!self.context)
    configuration_error("cannot create an SSL context");
  if (SSL_CTX_set_min_proto_version(self.context, TLS1_2_VERSION) != 1)
    configuration_error("cannot require TLS 1.2 or later");
  // Partial and moving writes: write_some hands SSL a span that may move
  // between retries. No renegotiation: it would make writes wait for reads.
  SSL_CTX_set_mode(self.context,
                   SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(self.context, SSL_OP_NO_RENEGOTIATION);

  std::string chain_source;
  std::string key_source;
  auto chain = text_or_file(options.certificate_chain_pem, options.certificate_chain_file,
                            "the certificate chain", chain_source);
  auto key_text =
    text_or_file(options.private_key_pem, options.private_key_file, "the private key", key_source);
  if (options.role == tls_role::server && chain.empty())
    throw error(errc::bad_configuration,
                "TLS: a server context needs a certificate chain and its private key "
                "(certificate_chain_pem or certificate_chain_file)");
  if (!chain.empty() && key_text.empty())
    throw error(errc::bad_configuration,
                "TLS: " + chain_source +
                  " has no private key (private_key_pem or private_key_file)");
  if (chain.empty() && !key_text.empty())
    throw error(errc::bad_configuration,
                "TLS: " + key_source +
                  " has no certificate chain (certificate_chain_pem or certificate_chain_file)");
  if (!chain.empty()) {
    auto certificates = read_certificates(chain, chain_source);
    auto key = read_private_key(key_text, key_source);
    ERR_clear_error();
    if (X509_check_private_key(certificates.front().get(), key.get()) != 1)
      configuration_error(key_source + " does not match the certificate '" +
                          subject_text(certificates.front().get()) + "' in " + chain_source);
    if (SSL_CTX_use_certificate(self.context, certificates.front().get()) != 1)
      configuration_error("the certificate in " + chain_source + " is not usable");
    if (SSL_CTX_use_PrivateKey(self.context, key.get()) != 1)
      configuration_error(key_source + " is not usable");
    for (std::size_t index = 1; index < certificates.size(); ++index) {
      // add_extra_chain_cert takes ownership on success.
      if (SSL_CTX_add_extra_chain_cert(self.context, certificates[index].get()) != 1)
        configuration_error("certificate " + std::to_string(index + 1) + " in " + chain_source +
                            " is not usable as an intermediate");
      (void)certificates[index].release();
    }
  }

  std::string trusted_source;
  auto trusted =
    text_or_file(options.trusted_ca_pem, options.trusted_ca_file, "the trusted CAs", trusted_source);
  if (!trusted.empty()) {
    auto* store = SSL_CTX_get_cert_store(self.context);
    for (auto& each : read_certificates(trusted, trusted_source)) {
      if (X509_STORE_add_cert(store, each.get()) != 1)
        configuration_error("a certificate in " + trusted_source + " cannot be trusted");
      // Servers name the CAs they accept when asking for a client certificate.
      if (options.role == tls_role::server && self.verify_peer &&
          SSL_CTX_add_client_CA(self.context, each.get()) != 1)
        configuration_error("a certificate in " + trusted_source + " cannot be named to clients");
    }
  } else if (self.verify_peer) {
    if (SSL_CTX_set_default_verify_paths(self.context) != 1)
      configuration_error("cannot load the system's trusted CAs");
  }
  if (self.verify_peer)
    SSL_CTX_set_verify(self.context,
                       SSL_VERIFY_PEER | (options.role == tls_role::server
                                            ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                            : 0),
                       nullptr);
  else
    SSL_CTX_set_verify(self.context, SSL_VERIFY_NONE, nullptr);

  if (!options.alpn.empty()) {
    self.alpn = alpn_wire(options.alpn);
    if (options.role == tls_role::client) {
      // Unlike most of OpenSSL, 0 means success here.
      if (SSL_CTX_set_alpn_protos(self.context, self.alpn.data(),
                                  static_cast<unsigned int>(self.alpn.size())) != 0)
        configuration_error("cannot set the ALPN protocols");
    } else {
      SSL_CTX_set_alpn_select_cb(self.context, select_alpn, &self.alpn);
    }
  }
}

tls_context::~tls_context() = default;

tls_role tls_context::role() const noexcept {
  return impl_->role;
}

bool tls_context::verifies_peer() const noexcept {
  return impl_->verify_peer;
}

// -- tls_stream ---------------------------------------------------------------------------------

struct tls_stream::impl {
  enum class phase { handshaking, open, failed };

  /// Keeps the SSL_CTX, and the ALPN list its callback reads, alive.
  tls_context context;
  std::unique_ptr<byte_stream> inner;
  SSL* ssl = nullptr;
  BIO* network_in = nullptr;  // ciphertext from the peer; owned by ssl
  BIO* network_out = nullptr; // ciphertext for the peer; owned by ssl
  /// Ciphertext taken from network_out that the inner stream has not taken.
  std::vector<std::byte> pending;
  std::size_t pending_offset = 0;
  phase state = phase::handshaking;
  std::error_code handshake_error;
  bool want_read = false;
  bool inner_ended = false;
  std::error_code inner_error;
  /// The first failed inner write; every later write reports it.
  std::error_code send_error;
  bool shutdown_requested = false;
  bool inner_shutdown_done = false;
  /// Length of an SSL_write that must be retried (SSL needs the same bytes).
  std::size_t write_retry_length = 0;
  std::string detail;
  std::string expected_host;
  /// The first certificate that failed verification: subject, depth, reason.
  std::string rejected_certificate;
  int rejected_depth = -1;
  long rejected_reason = X509_V_OK;

  explicit impl(const tls_context& shared) : context(shared) {}
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() { SSL_free(ssl); }

  [[nodiscard]] std::size_t pending_bytes() const noexcept { return pending.size() - pending_offset; }

  [[nodiscard]] std::size_t buffered_ciphertext() const noexcept {
    return pending_bytes() + BIO_ctrl_pending(network_out);
  }

  /// Moves SSL's ciphertext into the inner stream as far as it accepts, then
  /// half-closes the inner stream once everything is out after shutdown_send.
  std::error_code push_out() {
    if (send_error)
      return send_error;
    for (;;) {
      if (pending_bytes() == 0) {
        pending.clear();
        pending_offset = 0;
        auto available = BIO_ctrl_pending(network_out);
        if (available == 0)
          break;
        pending.resize(available);
        int got = BIO_read(network_out, pending.data(), static_cast<int>(available));
        pending.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
        if (pending.empty())
          break;
      }
      std::error_code failure;
      auto sent = inner->write_some(
        std::span<const std::byte>{pending.data() + pending_offset, pending_bytes()}, failure);
      if (failure) {
        send_error = failure;
        return failure;
      }
      if (sent == 0)
        return {};
      pending_offset += sent;
    }
    if (shutdown_requested && !inner_shutdown_done) {
      inner_shutdown_done = true;
      inner->shutdown_send();
    }
    return {};
  }

  /// Feeds one chunk of the inner stream's ciphertext to SSL. Returns the
  /// bytes moved; sets `inner_ended` / `inner_error` when the stream ended.
  std::size_t pull_in() {
    if (inner_ended)
      return 0;
    std::array<std::byte, record_plaintext_bytes + record_overhead_bytes> chunk;
    std::error_code failure;
    auto got = inner->read_some(chunk, failure);
    if (failure) {
      inner_ended = true;
      inner_error = failure;
      return 0;
    }
    if (got > 0 && BIO_write(network_in, chunk.data(), static_cast<int>(got)) != static_cast<int>(got)) {
      // Only an allocation failure gets here; the bytes are lost, so the
      // session is too.
      inner_ended = true;
      inner_error = errc::connection_reset;
      detail = "TLS: cannot buffer received ciphertext: " + openssl_errors();
      return 0;
    }
    return got;
  }

  void fail_handshake(std::error_code code, std::string why) {
    state = phase::failed;
    handshake_error = code;
    detail = std::move(why);
    want_read = false;
  }

  /// Which errc a failed SSL_do_handshake means, with `detail` saying why.
  std::error_code classify_handshake_failure() {
    auto first = ERR_peek_error();
    auto errors = openssl_errors();
    auto verify = SSL_get_verify_result(ssl);
    if (context.verifies_peer() && verify != X509_V_OK) {
      auto reason = std::string{X509_verify_cert_error_string(verify)} + " (X509 verify error " +
                    std::to_string(verify) + ")";
      if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        std::string names;
        if (auto* chain = SSL_get_peer_cert_chain(ssl); chain && sk_X509_num(chain) > 0)
          names = certificate_names(sk_X509_value(chain, 0));
        detail = "TLS: the server's certificate does not name the expected host '" + expected_host +
                 "'" + (names.empty() ? std::string{} : "; it names " + names) + ": " + reason;
        return errc::tls_hostname_mismatch;
      }
      detail = "TLS: the peer's certificate";
      if (!rejected_certificate.empty())
        detail += " chain was rejected at '" + rejected_certificate + "' (depth " +
                  std::to_string(rejected_depth) + ")";
      else
        detail += " was rejected";
      detail += ": " + reason;
      return errc::tls_certificate_rejected;
    }
    if (ERR_GET_LIB(first) == ERR_LIB_SSL &&
        ERR_GET_REASON(first) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
      detail = "TLS: the client sent no certificate, and this server requires one: " + errors;
      return errc::tls_certificate_rejected;
    }
    detail = "TLS handshake failed: " + errors;
    return errc::tls_handshake_failed;
  }

  /// OpenSSL's verify callback: records the first certificate that failed
  /// verification, for the message; the verdict stays OpenSSL's.
  static int remember_verification_failure(int verified, X509_STORE_CTX* store) {
    if (!verified) {
      auto* ssl = static_cast<SSL*>(
        X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
      if (auto* self = ssl ? static_cast<impl*>(SSL_get_app_data(ssl)) : nullptr)
        self->note_verification_failure(store);
    }
    return verified;
  }

  void note_verification_failure(X509_STORE_CTX* store) {
    if (rejected_reason != X509_V_OK)
      return;
    rejected_reason = X509_STORE_CTX_get_error(store);
    rejected_depth = X509_STORE_CTX_get_error_depth(store);
    if (auto* certificate = X509_STORE_CTX_get_current_cert(store))
      rejected_certificate = subject_text(certificate);
  }

  /// Read side of the post-handshake state; see tls_stream::read_some.
  std::size_t read(std::span<std::byte> buffer, std::error_code& error) {
    auto length = static_cast<int>(std::min<std::size_t>(buffer.size(), INT_MAX));
    for (int round = 0; round < max_rounds_per_call; ++round) {
      ERR_clear_error();
      int got = SSL_read(ssl, buffer.data(), length);
      // SSL may answer with records of its own (TLS 1.3 key updates); a
      // failed send shows up on the next write.
      (void)push_out();
      if (got > 0) {
        want_read = false;
        return static_cast<std::size_t>(got);
      }
      switch (SSL_get_error(ssl, got)) {
        case SSL_ERROR_WANT_READ:
          if (pull_in() > 0)
            continue;
          if (inner_ended) {
            want_read = false;
            error = inner_error;
            detail = inner_error == errc::connection_closed
                         ? "TLS: the peer ended the connection without a TLS close_notify; the "
                           "data may be truncated"
                         : "TLS: the connection failed: " + inner_error.message();
            return 0;
          }
          want_read = true;
          return 0;
        case SSL_ERROR_ZERO_RETURN:
          want_read = false;
          error = errc::connection_closed;
          detail = "TLS: the peer closed the session (close_notify)";
          return 0;
        case SSL_ERROR_WANT_WRITE: return 0;
        default:
          want_read = false;
          detail = "TLS: receiving failed: " + openssl_errors();
          error = inner_ended ? inner_error : std::error_code{errc::connection_reset};
          return 0;
      }
    }
    // Round budget used up with ciphertext still arriving: more is readable.
    want_read = true;
    return 0;
  }

  /// Write side of the post-handshake state; see tls_stream::write_some.
  std::size_t write(std::span<const std::byte> data, std::error_code& error) {
    if (auto failure = push_out()) {
      error = failure;
      return 0;
    }
    std::size_t length = 0;
    if (write_retry_length > 0) {
      // SSL must see the same bytes again; a shorter span it rejects below.
      length = std::min(data.size(), write_retry_length);
    } else {
      auto buffered = buffered_ciphertext();
      if (buffered + record_overhead_bytes >= max_buffered_ciphertext)
        return 0;
      length = std::min({data.size(), record_plaintext_bytes,
                         max_buffered_ciphertext - buffered - record_overhead_bytes});
      if (buffered > 0 && length < std::min(data.size(), minimum_record_while_buffered))
        return 0;
    }
    for (int round = 0; round < max_rounds_per_call; ++round) {
      ERR_clear_error();
      int sent = SSL_write(ssl, data.data(), static_cast<int>(length));
      if (sent > 0) {
        write_retry_length = 0;
        // The bytes are SSL's now; a failed send shows on the next call.
        (void)push_out();
        return static_cast<std::size_t>(sent);
      }
      switch (SSL_get_error(ssl, sent)) {
        case SSL_ERROR_WANT_READ:
          write_retry_length = length;
          if (pull_in() > 0)
            continue;
          if (inner_ended) {
            error = inner_error;
            detail = "TLS: sending needs input, but the connection ended: " + inner_error.message();
            return 0;
          }
          want_read = true;
          return 0;
        case SSL_ERROR_WANT_WRITE: write_retry_length = length; return 0;
        default:
          detail = "TLS: sending failed: " + openssl_errors();
          error = errc::connection_reset;
          return 0;
      }
    }
    want_read = true;
    return 0;
  }
};

tls_stream::tls_stream(const tls_context& context, std::unique_ptr<byte_stream> inner,
                       const std::string& expected_host)
  : impl_(std::make_unique<impl>(context)) {
  if (!inner)
    throw error(errc::invalid_argument, "tls_stream: the inner stream is null");
  auto& self = *impl_;
  self.inner = std::move(inner);
  self.expected_host = expected_host;
  ERR_clear_error();
  self.ssl = SSL_new(context.impl_->context);
  if (!self.ssl)
    configuration_error("cannot create an SSL session");
  SSL_set_app_data(self.ssl, &self);
  if (context.verifies_peer())
    SSL_set_verify(self.ssl, SSL_get_verify_mode(self.ssl), impl::remember_verification_failure);
  bio_pointer network_in{BIO_new(BIO_s_mem())};
  bio_pointer network_out{BIO_new(BIO_s_mem())};
  if (!network_in || !network_out)
    configuration_error("cannot allocate the TLS buffers");
  // A drained memory BIO means "retry later", not end of file.
  BIO_set_mem_eof_return(network_in.get(), -1);
  BIO_set_mem_eof_return(network_out.get(), -1);
  self.network_in = network_in.release();
  self.network_out = network_out.release();
  SSL_set_bio(self.ssl, self.network_in, self.network_out);
  if (context.role() == tls_role::server) {
    SSL_set_accept_state(self.ssl);
    return;
  }
  SSL_set_connect_state(self.ssl);
  if (expected_host.empty())
    return;
  if (is_ip_literal(expected_host)) {
    // RFC 6066: SNI carries host names only.
    if (context.verifies_peer() &&
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(self.ssl), expected_host.c_str()) != 1)
      throw error(errc::invalid_argument,
                  "TLS: cannot check the IP address '" + expected_host + "': " + openssl_errors());
    return;
  }
  if (SSL_set_tlsext_host_name(self.ssl, expected_host.c_str()) != 1)
    throw error(errc::invalid_argument,
                "TLS: '" + expected_host + "' cannot be sent as a server name: " + openssl_errors());
  if (context.verifies_peer() && SSL_set1_host(self.ssl, expected_host.c_str()) != 1)
    throw error(errc::invalid_argument,
                "TLS: cannot check the host name '" + expected_host + "': " + openssl_errors());
}

tls_stream::~tls_stream() = default;

bool tls_stream::handshake(std::error_code& error) {
  auto& self = *impl_;
  if (self.state == impl::phase::open)
    return true;
  if (self.state == impl::phase::failed) {
    error = self.handshake_error;
    return false;
  }
  for (int round = 0; round < max_rounds_per_call; ++round) {
    ERR_clear_error();
    int result = SSL_do_handshake(self.ssl);
    if (result != 1 && SSL_get_error(self.ssl, result) == SSL_ERROR_SSL) {
      // Classify before push_out: the error queue must be read first.
      auto code = self.classify_handshake_failure();
      auto why = self.detail;
      // Let the peer see our alert, if the inner stream takes it.
      (void)self.push_out();
      self.fail_handshake(code, std::move(why));
      error = code;
      return false;
    }
    if (auto failure = self.push_out()) {
      self.fail_handshake(failure, "TLS handshake: sending to the peer failed: " + failure.message());
      error = failure;
      return false;
    }
    if (result == 1) {
      self.state = impl::phase::open;
      self.want_read = false;
      return true;
    }
    switch (SSL_get_error(self.ssl, result)) {
      case SSL_ERROR_WANT_READ:
        if (self.pull_in() > 0)
          continue;
        if (self.inner_ended) {
          bool closed = self.inner_error == errc::connection_closed;
          std::error_code code =
            closed ? std::error_code{errc::tls_handshake_failed} : self.inner_error;
          self.fail_handshake(code, closed ? "TLS handshake failed: the peer closed the connection "
                                             "before the handshake finished"
                                           : "TLS handshake failed: the connection failed: " +
                                               self.inner_error.message());
          error = code;
          return false;
        }
        self.want_read = true;
        return false;
      case SSL_ERROR_WANT_WRITE: self.want_read = false; return false;
      default: {
        auto failure = openssl_errors();
        self.fail_handshake(errc::tls_handshake_failed,
                            "TLS handshake failed: " +
                              (self.inner_ended ? self.inner_error.message() : failure));
        error = errc::tls_handshake_failed;
        return false;
      }
    }
  }
  // Budget used up while ciphertext kept arriving: more is readable.
  self.want_read = true;
  return false;
}

bool tls_stream::handshake_done() const noexcept {
  return impl_->state == impl::phase::open;
}

bool tls_stream::wants_read() const noexcept {
  return impl_->want_read;
}

bool tls_stream::wants_write() const noexcept {
  return has_pending_output();
}

const std::string& tls_stream::last_error_detail() const noexcept {
  return impl_->detail;
}

std::string tls_stream::peer_certificate_subject() const {
  auto* peer = SSL_get0_peer_certificate(impl_->ssl);
  return peer ? subject_text(peer) : std::string{};
}

std::string tls_stream::peer_certificate_fingerprint_sha256() const {
  auto* peer = SSL_get0_peer_certificate(impl_->ssl);
  if (!peer)
    return {};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(peer, EVP_sha256(), digest, &length) != 1) {
    ERR_clear_error();
    return {};
  }
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
  return handshake_done() ? std::string{SSL_get_version(impl_->ssl)} : std::string{};
}

std::string tls_stream::cipher() const {
  auto* current = handshake_done() ? SSL_get_current_cipher(impl_->ssl) : nullptr;
  return current ? std::string{SSL_CIPHER_get_name(current)} : std::string{};
}

std::string tls_stream::selected_alpn() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(impl_->ssl, &data, &length);
  return data ? std::string{reinterpret_cast<const char*>(data), length} : std::string{};
}

std::size_t tls_stream::read_some(std::span<std::byte> buffer, std::error_code& error) {
  auto& self = *impl_;
  if (self.state != impl::phase::open) {
    error = self.state == impl::phase::failed ? self.handshake_error
                                              : std::error_code{errc::not_connected};
    return 0;
  }
  if (buffer.empty())
    return 0;
  return self.read(buffer, error);
}

std::size_t tls_stream::write_some(std::span<const std::byte> data, std::error_code& error) {
  auto& self = *impl_;
  if (self.state != impl::phase::open) {
    error = self.state == impl::phase::failed ? self.handshake_error
                                              : std::error_code{errc::not_connected};
    return 0;
  }
  if (self.shutdown_requested) {
    self.detail = "TLS: write after shutdown_send";
    error = errc::not_connected;
    return 0;
  }
  if (data.empty())
    return 0;
  return self.write(data, error);
}

bool tls_stream::has_pending_output() const noexcept {
  auto& self = *impl_;
  return self.buffered_ciphertext() > 0 || (self.shutdown_requested && !self.inner_shutdown_done);
}

std::error_code tls_stream::flush() {
  return impl_->push_out();
}

void tls_stream::shutdown_send() noexcept {
  auto& self = *impl_;
  if (self.shutdown_requested)
    return;
  self.shutdown_requested = true;
  if (self.state == impl::phase::open) {
    // Queues close_notify; 0 means "sent, the peer's has not arrived yet".
    SSL_shutdown(self.ssl);
    ERR_clear_error();
  }
  (void)self.push_out();
}

// -- development certificates -------------------------------------------------------------------

namespace {

key_pointer new_key() {
  ERR_clear_error();
  key_pointer key{EVP_EC_gen("P-256")};
  if (!key)
    configuration_error("cannot generate an EC P-256 key");
  return key;
}

std::string to_pem(X509* certificate) {
  bio_pointer bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio_X509(bio.get(), certificate) != 1)
    configuration_error("cannot write a certificate as PEM");
  return bio_text(bio.get());
}

std::string to_pem(EVP_PKEY* key) {
  bio_pointer bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    configuration_error("cannot write a private key as PEM");
  return bio_text(bio.get());
}

void add_extension(X509* certificate, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  auto* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (!extension)
    configuration_error(std::string{"cannot build the certificate extension '"} + value + "'");
  int added = X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
  if (added != 1)
    configuration_error(std::string{"cannot add the certificate extension '"} + value + "'");
}

/// subjectAltName from names: an address literal becomes an IP entry, any
/// other text a DNS entry.
void add_alternative_names(X509* certificate, const std::vector<std::string>& names) {
  general_names_pointer entries{sk_GENERAL_NAME_new_null()};
  if (!entries)
    configuration_error("cannot allocate the subject alternative names");
  for (auto& each : names) {
    if (each.empty() || each.find_first_of(" \t\r\n,") != std::string::npos)
      throw error(errc::invalid_argument,
                  "development certificate: '" + each +
                    "' is not a DNS name or IP address (empty, or holds a space or comma)");
    auto* entry = GENERAL_NAME_new();
    if (!entry)
      configuration_error("cannot allocate a subject alternative name");
    if (is_ip_literal(each)) {
      auto* address = a2i_IPADDRESS(each.c_str());
      if (!address) {
        GENERAL_NAME_free(entry);
        configuration_error("cannot encode the IP address '" + each + "'");
      }
      GENERAL_NAME_set0_value(entry, GEN_IPADD, address);
    } else {
      auto* dns = ASN1_IA5STRING_new();
      if (!dns || ASN1_STRING_set(dns, each.data(), static_cast<int>(each.size())) != 1) {
        ASN1_IA5STRING_free(dns);
        GENERAL_NAME_free(entry);
        configuration_error("cannot encode the DNS name '" + each + "'");
      }
      GENERAL_NAME_set0_value(entry, GEN_DNS, dns);
    }
    if (sk_GENERAL_NAME_push(entries.get(), entry) == 0) {
      GENERAL_NAME_free(entry);
      configuration_error("cannot collect the subject alternative names");
    }
  }
  if (X509_add1_ext_i2d(certificate, NID_subject_alt_name, entries.get(), 0, X509V3_ADD_DEFAULT) != 1)
    configuration_error("cannot add the subject alternative names");
}

void set_random_serial(X509* certificate) {
  std::array<unsigned char, 16> serial;
  if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1)
    configuration_error("cannot draw a random serial number");
  serial[0] &= 0x7f; // positive
  serial[0] |= 0x01; // and never zero
  big_number_pointer number{BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr)};
  if (!number || !BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(certificate)))
    configuration_error("cannot set the serial number");
}

certificate_and_key make_certificate(const std::string& common_name,
                                     const std::vector<std::string>& alternative_names,
                                     std::chrono::hours validity, bool authority,
                                     const certificate_and_key* issuer) {
  if (common_name.empty())
    throw error(errc::invalid_argument, "development certificate: the common name is empty");
  if (validity.count() <= 0)
    throw error(errc::invalid_argument, "development certificate: the validity must be positive");
  ERR_clear_error();
  x509_pointer issuer_certificate;
  key_pointer issuer_key;
  if (issuer) {
    issuer_certificate =
      std::move(read_certificates(issuer->certificate_pem, "the issuing authority's certificate")[0]);
    issuer_key = read_private_key(issuer->private_key_pem, "the issuing authority's private key");
    if (X509_check_private_key(issuer_certificate.get(), issuer_key.get()) != 1)
      configuration_error("the issuing authority's private key does not match its certificate");
  }
  auto key = new_key();
  x509_pointer certificate{X509_new()};
  if (!certificate)
    configuration_error("cannot allocate a certificate");
  auto* raw = certificate.get();
  if (X509_set_version(raw, X509_VERSION_3) != 1)
    configuration_error("cannot make an X.509 v3 certificate");
  set_random_serial(raw);
  // Valid from an hour ago: clocks of test machines disagree a little.
  if (!X509_gmtime_adj(X509_getm_notBefore(raw), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(raw),
                       static_cast<long>(std::chrono::seconds(validity).count())))
    configuration_error("cannot set the validity period");
  if (X509_set_pubkey(raw, key.get()) != 1)
    configuration_error("cannot set the public key");
  auto* name = X509_get_subject_name(raw);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                                 0) != 1)
    configuration_error("cannot set the common name '" + common_name + "'");
  if (X509_set_issuer_name(raw, issuer ? X509_get_subject_name(issuer_certificate.get()) : name) != 1)
    configuration_error("cannot set the issuer name");

  auto* signer = issuer ? issuer_certificate.get() : raw;
  add_extension(raw, signer, NID_basic_constraints, authority ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_extension(raw, signer, NID_key_usage,
                authority ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  if (!authority)
    add_extension(raw, signer, NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(raw, signer, NID_subject_key_identifier, "hash");
  if (issuer)
    add_extension(raw, signer, NID_authority_key_identifier, "keyid:always");
  if (!alternative_names.empty())
    add_alternative_names(raw, alternative_names);
  if (X509_sign(raw, issuer ? issuer_key.get() : key.get(), EVP_sha256()) <= 0)
    configuration_error("cannot sign the certificate for '" + common_name + "'");
  return {to_pem(raw), to_pem(key.get())};
}

} // namespace

certificate_and_key generate_self_signed_certificate(const std::string& common_name,
                                                     const std::vector<std::string>& alternative_names,
                                                     std::chrono::hours validity) {
  return make_certificate(common_name, alternative_names, validity, false, nullptr);
}

certificate_and_key generate_certificate_authority(const std::string& common_name,
                                                   std::chrono::hours validity) {
  return make_certificate(common_name, {}, validity, true, nullptr);
}

certificate_and_key issue_certificate(const certificate_and_key& authority,
                                      const std::string& common_name,
                                      const std::vector<std::string>& alternative_names,
                                      std::chrono::hours validity) {
  return make_certificate(common_name, alternative_names, validity, false, &authority);
}

} // namespace actorloop::netio
