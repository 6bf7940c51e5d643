#pragma once
// Thin wrappers over OpenSSL's primitives for the authentication code; each
// throws pg::error(crypto_failure) when OpenSSL reports a failure.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace actorloop::pg::detail {

using bytes = std::vector<unsigned char>;

[[nodiscard]] std::string md5_hex(std::string_view data);
[[nodiscard]] bytes sha256(const bytes& data);
[[nodiscard]] bytes hmac_sha256(const bytes& key, std::string_view data);
[[nodiscard]] bytes pbkdf2_sha256(std::string_view password, const bytes& salt,
                                  unsigned iterations);
[[nodiscard]] bytes random_bytes(std::size_t count);
[[nodiscard]] std::string base64_encode(std::string_view data);
[[nodiscard]] std::string base64_encode(const bytes& data);
/// nullopt when `text` is not canonical padded base64.
[[nodiscard]] std::optional<bytes> base64_decode(std::string_view text);
/// Constant-time equality (sizes compared first).
[[nodiscard]] bool equal_constant_time(const bytes& a, const bytes& b);

} // namespace actorloop::pg::detail
