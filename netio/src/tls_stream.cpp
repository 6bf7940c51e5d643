// TLS with OpenSSL over BIOs of our own making: SSL reads ciphertext through
// `network_in` straight from the inner stream into its own record buffer (as
// a socket BIO would: no buffer of ours in between, so no copy), and writes
// it to `network_out`, which hands each record straight to the inner stream
// and keeps only what the inner stream did not take. Nothing blocks, and the
// owner sees the inner stream's readiness through wants_read / wants_write.
#include "tls_support.hpp"

#include <algorithm>
#include <climits>
#include <span>
#include <utility>

namespace actorloop::netio {

using namespace detail;

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
/// Bound on the inner reads one call makes, so one fast peer cannot hold the
/// owner's thread; the owner calls again on the next readiness.
constexpr int max_inner_reads_per_call = 256;

/// Clears the thread's OpenSSL error queue before an SSL call, as
/// SSL_get_error needs; peeking first is far cheaper than clearing an
/// already empty queue, which is the usual case.
void clear_openssl_errors() noexcept {
  if (ERR_peek_error() != 0)
    ERR_clear_error();
}

} // namespace

// -- tls_stream ---------------------------------------------------------------------------------

struct tls_stream::impl {
  enum class phase { handshaking, open, failed };

  /// Keeps the SSL_CTX, and the ALPN list its callback reads, alive.
  tls_context context;
  std::unique_ptr<byte_stream> inner;
  SSL* ssl = nullptr;
  BIO* network_in = nullptr;  // ciphertext from the peer; owned by ssl
  BIO* network_out = nullptr; // ciphertext for the peer (outgoing_method); owned by ssl
  /// Inner reads network_in may still make in this call (see
  /// max_inner_reads_per_call).
  int inner_reads_left = 0;
  /// A failure found while read() already had plaintext to return: reported
  /// (with `read_failure_detail`) by the next read.
  std::error_code read_failure;
  std::string read_failure_detail;
  /// Ciphertext SSL wrote that the inner stream has not taken yet, in order.
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

  [[nodiscard]] std::size_t buffered_ciphertext() const noexcept { return pending_bytes(); }

  /// Where SSL's ciphertext goes (network_out's write): straight into the
  /// inner stream while nothing older waits, as a socket BIO would send it,
  /// so a record is not copied into a memory BIO and out again; the rest is
  /// kept in `pending` for push_out. Never refuses bytes, so SSL never sees
  /// SSL_ERROR_WANT_WRITE. After a failed send the bytes are dropped: the
  /// session is broken, and push_out reports `send_error` on the next call.
  void take_ciphertext(std::span<const std::byte> bytes) {
    if (send_error)
      return;
    if (pending_bytes() == 0) {
      pending.clear();
      pending_offset = 0;
      std::error_code failure;
      auto sent = inner->write_some(bytes, failure);
      if (failure) {
        send_error = failure;
        return;
      }
      bytes = bytes.subspan(sent);
    }
    pending.insert(pending.end(), bytes.begin(), bytes.end());
  }

  static int outgoing_write(BIO* bio, const char* data, int length) {
    BIO_clear_retry_flags(bio);
    if (length <= 0)
      return 0;
    static_cast<impl*>(BIO_get_data(bio))
      ->take_ciphertext({reinterpret_cast<const std::byte*>(data), static_cast<std::size_t>(length)});
    return length;
  }

  static long network_ctrl(BIO*, int command, long, void*) {
    // SSL flushes after each flight of records; everything else (pending
    // counts, kTLS, ...) these BIOs do not offer.
    return command == BIO_CTRL_FLUSH ? 1 : 0;
  }

  /// The BIO_METHOD of network_in and network_out (one BIO reads, the other
  /// writes), made once per process.
  static const BIO_METHOD* network_method() {
    static BIO_METHOD* method = [] {
      auto* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "actorloop TLS network");
      if (made == nullptr || BIO_meth_set_write(made, &impl::outgoing_write) != 1 ||
          BIO_meth_set_read(made, &impl::incoming_read) != 1 ||
          BIO_meth_set_ctrl(made, &impl::network_ctrl) != 1)
        configuration_error("cannot create the TLS network BIO method");
      return made;
    }();
    return method;
  }

  /// Moves the ciphertext the inner stream has not taken yet into it as far as
  /// it accepts, then half-closes the inner stream once everything is out
  /// after shutdown_send.
  std::error_code push_out() {
    if (send_error)
      return send_error;
    while (pending_bytes() > 0) {
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
    pending.clear();
    pending_offset = 0;
    if (shutdown_requested && !inner_shutdown_done) {
      inner_shutdown_done = true;
      inner->shutdown_send();
    }
    return {};
  }

  /// Starts one call's budget of inner reads.
  void begin_call() noexcept { inner_reads_left = max_inner_reads_per_call; }

  /// network_in's read: reads the inner stream straight into SSL's record
  /// buffer. With read-ahead on, SSL asks for as much as its buffer holds, so
  /// one inner read carries about a record. When the inner stream has
  /// nothing (or ended: `inner_ended` / `inner_error` say so), "retry
  /// later", as a drained memory BIO says, so SSL answers SSL_ERROR_WANT_READ.
  static int incoming_read(BIO* bio, char* out, int length) {
    BIO_clear_retry_flags(bio);
    if (length <= 0)
      return 0;
    auto& self = *static_cast<impl*>(BIO_get_data(bio));
    if (!self.inner_ended && self.inner_reads_left > 0) {
      --self.inner_reads_left;
      std::error_code failure;
      auto got = self.inner->read_some(
        {reinterpret_cast<std::byte*>(out), static_cast<std::size_t>(length)}, failure);
      if (failure) {
        self.inner_ended = true;
        self.inner_error = failure;
      } else if (got > 0) {
        return static_cast<int>(got);
      }
    }
    BIO_set_retry_read(bio);
    return -1;
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
  /// Fills `buffer` with as many records as arrived (one SSL_read returns
  /// one record), so the owner handles 64 KiB at a time, not 16.
  std::size_t read(std::span<std::byte> buffer, std::error_code& error) {
    if (read_failure) {
      error = std::exchange(read_failure, {});
      detail = std::move(read_failure_detail);
      return 0;
    }
    begin_call();
    std::size_t total = 0;
    // Set for an end or a failure; with plaintext in hand it waits for the next call.
    std::error_code failure;
    std::string why;
    while (total < buffer.size()) {
      clear_openssl_errors();
      int got = SSL_read(ssl, buffer.data() + total,
                         static_cast<int>(std::min<std::size_t>(buffer.size() - total, INT_MAX)));
      // SSL may answer with records of its own (TLS 1.3 key updates); a
      // failed send shows up on the next write.
      (void)push_out();
      if (got > 0) {
        total += static_cast<std::size_t>(got);
        continue;
      }
      switch (SSL_get_error(ssl, got)) {
        case SSL_ERROR_WANT_READ:
          if (inner_ended) {
            failure = inner_error;
            why = inner_error == errc::connection_closed
                    ? "TLS: the peer ended the connection without a TLS close_notify; the "
                      "data may be truncated"
                    : "TLS: the connection failed: " + inner_error.message();
            break;
          }
          // Nothing more now, or the budget ran out with ciphertext still
          // arriving: either way the inner stream is (still) readable.
          want_read = true;
          return total;
        case SSL_ERROR_ZERO_RETURN:
          failure = errc::connection_closed;
          why = "TLS: the peer closed the session (close_notify)";
          break;
        case SSL_ERROR_WANT_WRITE: want_read = false; return total;
        default:
          why = "TLS: receiving failed: " + openssl_errors();
          failure = inner_ended ? inner_error : std::error_code{errc::connection_reset};
          break;
      }
      break;
    }
    want_read = false;
    if (!failure)
      return total; // buffer full
    if (total > 0) {
      read_failure = failure;
      read_failure_detail = std::move(why);
      return total;
    }
    error = failure;
    detail = std::move(why);
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
    begin_call();
    clear_openssl_errors();
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
};

tls_stream::tls_stream(const tls_context& context, std::unique_ptr<byte_stream> inner,
                       const std::string& expected_host)
  : tls_stream(context, std::move(inner), tls_server_name{expected_host, true, true}) {}

tls_stream::tls_stream(const tls_context& context, std::unique_ptr<byte_stream> inner,
                       const tls_server_name& name)
  : impl_(std::make_unique<impl>(context)) {
  const auto& expected_host = name.host;
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
  bio_pointer network_in{BIO_new(impl::network_method())};
  bio_pointer network_out{BIO_new(impl::network_method())};
  if (!network_in || !network_out)
    configuration_error("cannot allocate the TLS buffers");
  for (auto* bio : {network_in.get(), network_out.get()}) {
    BIO_set_data(bio, &self);
    BIO_set_init(bio, 1);
  }
  self.network_in = network_in.release();
  self.network_out = network_out.release();
  SSL_set_bio(self.ssl, self.network_in, self.network_out);
  // SSL then asks network_in for as much as its record buffer holds: about one
  // inner read per record rather than two (header, then body).
  SSL_set_read_ahead(self.ssl, 1);
  if (context.role() == tls_role::server) {
    SSL_set_accept_state(self.ssl);
    return;
  }
  SSL_set_connect_state(self.ssl);
  if (expected_host.empty())
    return;
  if (is_ip_literal(expected_host)) {
    // RFC 6066: SNI carries host names only.
    if (name.check_name && context.verifies_peer() &&
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(self.ssl), expected_host.c_str()) != 1)
      throw error(errc::invalid_argument,
                  "TLS: cannot check the IP address '" + expected_host + "': " + openssl_errors());
    return;
  }
  if (name.send_sni && SSL_set_tlsext_host_name(self.ssl, expected_host.c_str()) != 1)
    throw error(errc::invalid_argument,
                "TLS: '" + expected_host + "' cannot be sent as a server name: " + openssl_errors());
  if (name.check_name && context.verifies_peer() &&
      SSL_set1_host(self.ssl, expected_host.c_str()) != 1)
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
  self.begin_call();
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
      // Nothing more now, or the budget ran out while ciphertext kept
      // arriving: either way wait for readability.
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

std::vector<std::byte> tls_stream::peer_certificate_der() const {
  auto* peer = SSL_get0_peer_certificate(impl_->ssl);
  if (!peer)
    return {};
  int length = i2d_X509(peer, nullptr);
  if (length <= 0) {
    ERR_clear_error();
    return {};
  }
  std::vector<std::byte> der(static_cast<std::size_t>(length));
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509(peer, &out) != length) {
    ERR_clear_error();
    return {};
  }
  return der;
}

std::string tls_stream::peer_verification_error() const {
  if (!SSL_get0_peer_certificate(impl_->ssl))
    return "the peer sent no certificate";
  auto verdict = SSL_get_verify_result(impl_->ssl);
  return verdict == X509_V_OK ? std::string{} : std::string{X509_verify_cert_error_string(verdict)};
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

} // namespace actorloop::netio
