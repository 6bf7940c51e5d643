// The TLS files check at node construction: the same loading caf::openssl
// does for every connection (session.cpp in libcaf_openssl 0.17.6), done
// once up front on the constructing thread, so that a wrong path, a wrong
// passphrase, a key of another certificate or a certificate of another CA
// is a clear error instead of an exception on CAF's middleman thread (which
// ends the process) or a refusal by every peer.
#include "settings.hpp"

#include <actorloop/nodes/error.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <cstring>
#include <memory>

namespace actorloop::nodes::detail {

namespace {

std::string openssl_errors() {
  std::string text;
  while (auto code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    text += text.empty() ? "" : "; ";
    text += buffer;
  }
  return text.empty() ? "no detail from OpenSSL" : text;
}

int passphrase_callback(char* buffer, int size, int, void* data) {
  auto* passphrase = static_cast<const std::string*>(data);
  if (size <= 0 || passphrase->size() >= static_cast<std::size_t>(size))
    return 0;
  std::memcpy(buffer, passphrase->data(), passphrase->size());
  return static_cast<int>(passphrase->size());
}

} // namespace

void check_tls_files(const caf::actor_system_config& config, const std::string& node_name) {
  auto fail = [&](const std::string& what) {
    auto text = "node '" + node_name + "': TLS: " + what + " (" + openssl_errors() + ")";
    throw error(std::make_error_code(std::errc::invalid_argument), text);
  };
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context{SSL_CTX_new(TLS_method()),
                                                             &SSL_CTX_free};
  if (!context)
    fail("cannot create an OpenSSL context");
  std::string passphrase = config.openssl_passphrase;
  SSL_CTX_set_default_passwd_cb(context.get(), &passphrase_callback);
  SSL_CTX_set_default_passwd_cb_userdata(context.get(), &passphrase);
  if (SSL_CTX_use_certificate_chain_file(context.get(), config.openssl_certificate.c_str()) != 1)
    fail("cannot load the certificate '" + config.openssl_certificate + "'");
  if (SSL_CTX_use_PrivateKey_file(context.get(), config.openssl_key.c_str(), SSL_FILETYPE_PEM) !=
      1)
    fail("cannot load the private key '" + config.openssl_key + "' (wrong passphrase?)");
  if (SSL_CTX_check_private_key(context.get()) != 1)
    fail("the key '" + config.openssl_key + "' does not belong to the certificate '" +
         config.openssl_certificate + "'");
  if (SSL_CTX_load_verify_locations(context.get(), config.openssl_cafile.c_str(), nullptr) != 1)
    fail("cannot load the CA file '" + config.openssl_cafile + "'");
  // Peers verify this node's certificate against the same CA file: one that
  // does not chain to it would be refused by every one of them.
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> check{X509_STORE_CTX_new(),
                                                                       &X509_STORE_CTX_free};
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(context.get(), &chain);
  if (!check || X509_STORE_CTX_init(check.get(), SSL_CTX_get_cert_store(context.get()),
                                    SSL_CTX_get0_certificate(context.get()), chain) != 1)
    fail("cannot set up the certificate check");
  if (X509_verify_cert(check.get()) != 1)
    fail("the certificate '" + config.openssl_certificate +
         "' does not chain to a CA of '" + config.openssl_cafile +
         "': " + X509_verify_cert_error_string(X509_STORE_CTX_get_error(check.get())));
}

} // namespace actorloop::nodes::detail
