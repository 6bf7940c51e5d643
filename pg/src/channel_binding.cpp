// RFC 5929 section 4.1, tls-server-end-point: hash the server certificate
// with its signature's hash function, upgraded to SHA-256 from MD5 or SHA-1.
// OpenSSL does the parsing and hashing.
#include <actorloop/pg/auth.hpp>
#include <actorloop/pg/error.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <memory>

namespace actorloop::pg {

std::string tls_server_end_point(std::span<const std::byte> certificate_der) {
  const auto* cursor = reinterpret_cast<const unsigned char*>(certificate_der.data());
  std::unique_ptr<X509, decltype(&X509_free)> certificate{
    d2i_X509(nullptr, &cursor, static_cast<long>(certificate_der.size())), &X509_free};
  if (!certificate) {
    ERR_clear_error();
    throw error(errc::invalid_argument,
                "tls-server-end-point: the server's certificate (" +
                  std::to_string(certificate_der.size()) + " bytes) is not a DER certificate");
  }
  int digest_nid = NID_undef;
  int key_nid = NID_undef;
  if (OBJ_find_sigid_algs(X509_get_signature_nid(certificate.get()), &digest_nid, &key_nid) != 1 ||
      digest_nid == NID_undef) {
    ERR_clear_error();
    throw error(errc::invalid_argument,
                std::string{"tls-server-end-point: the server certificate's signature algorithm "} +
                  OBJ_nid2sn(X509_get_signature_nid(certificate.get())) +
                  " has no single hash function, so RFC 5929 defines no channel binding for it");
  }
  if (digest_nid == NID_md5 || digest_nid == NID_sha1)
    digest_nid = NID_sha256;
  const EVP_MD* digest = EVP_get_digestbynid(digest_nid);
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!digest || X509_digest(certificate.get(), digest, hash, &length) != 1) {
    ERR_clear_error();
    throw error(errc::crypto_failure,
                std::string{"tls-server-end-point: cannot hash the certificate with "} +
                  OBJ_nid2sn(digest_nid));
  }
  return std::string{reinterpret_cast<const char*>(hash), length};
}

} // namespace actorloop::pg
