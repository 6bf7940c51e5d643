// OpenSSL helpers shared by the TLS sources (see tls_support.hpp).
#include "tls_support.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace actorloop::netio::detail {

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

} // namespace actorloop::netio::detail
