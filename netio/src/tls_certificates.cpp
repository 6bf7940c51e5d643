// Development certificates: self-signed leaves, a certificate authority,
// and leaves it issues (for tests, samples and local servers).
#include "tls_support.hpp"

#include <arpa/inet.h>

namespace actorloop::netio {

using namespace detail;

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
