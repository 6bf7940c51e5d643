// OpenSSL's primitives, wrapped so the authentication code reads as the
// RFC does. No cryptographic algorithm is implemented here.
#include "crypto.hpp"

#include <actorloop/pg/error.hpp>

#include <cctype>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace actorloop::pg::detail {

namespace {

[[noreturn]] void crypto_failed(const char* what) {
  throw error(errc::crypto_failure, std::string("OpenSSL: ") + what + " failed");
}

const unsigned char* data_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

} // namespace

std::string md5_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_md5(), nullptr) != 1)
    crypto_failed("MD5");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < size; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out;
}

bytes sha256(const bytes& data) {
  bytes out(EVP_MAX_MD_SIZE);
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha256(), nullptr) != 1)
    crypto_failed("SHA-256");
  out.resize(size);
  return out;
}

bytes hmac_sha256(const bytes& key, std::string_view data) {
  bytes out(EVP_MAX_MD_SIZE);
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data_of(data), data.size(),
           out.data(), &size) == nullptr)
    crypto_failed("HMAC-SHA-256");
  out.resize(size);
  return out;
}

bytes pbkdf2_sha256(std::string_view password, const bytes& salt, unsigned iterations) {
  bytes out(32);
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(out.size()), out.data()) != 1)
    crypto_failed("PBKDF2-HMAC-SHA-256");
  return out;
}

bytes random_bytes(std::size_t count) {
  bytes out(count);
  if (RAND_bytes(out.data(), static_cast<int>(count)) != 1)
    crypto_failed("RAND_bytes");
  return out;
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int size = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data_of(data),
                             static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(size));
  return out;
}

std::string base64_encode(const bytes& data) {
  return base64_encode(std::string_view{reinterpret_cast<const char*>(data.data()), data.size()});
}

std::optional<bytes> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0)
    return std::nullopt;
  // EVP_DecodeBlock accepts some whitespace; SCRAM attributes never hold any.
  for (char c : text)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '='))
      return std::nullopt;
  std::size_t padding = 0;
  if (text.back() == '=')
    padding = text[text.size() - 2] == '=' ? 2 : 1;
  if (text.substr(0, text.size() - padding).find('=') != std::string_view::npos)
    return std::nullopt;
  bytes out(text.size() / 4 * 3);
  int size = EVP_DecodeBlock(out.data(), data_of(text), static_cast<int>(text.size()));
  if (size < 0)
    return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  out.resize(static_cast<std::size_t>(size) - padding);
  return out;
}

bool equal_constant_time(const bytes& a, const bytes& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace actorloop::pg::detail
