// The default password encryption of the framed protocol's login, shared by
// the client (connection) and the server.
#include <actorloop/netio/login.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace actorloop::netio {

std::string default_password_encryption(std::string_view password, std::string_view key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(password.data()), password.size(), digest, &length);
  static constexpr char hex[] = "0123456789abcdef";
  std::string result;
  result.reserve(length * 2);
  for (unsigned int index = 0; index < length; ++index) {
    result.push_back(hex[digest[index] >> 4]);
    result.push_back(hex[digest[index] & 15]);
  }
  return result;
}

} // namespace actorloop::netio
