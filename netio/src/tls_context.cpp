// tls_context: one OpenSSL SSL_CTX built from tls_options.
#include "tls_support.hpp"

namespace actorloop::netio {

using namespace detail;

// -- tls_context ----------------------------------------------------------------------------------

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

} // namespace actorloop::netio
