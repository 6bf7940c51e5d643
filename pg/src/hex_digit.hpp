#pragma once
// One hexadecimal digit's value, for the three places pg reads hex: URI
// percent-escapes, bytea's text format and uuid text.

namespace actorloop::pg::detail {

/// 0..15 for 0-9, a-f and A-F; -1 for any other character.
[[nodiscard]] constexpr int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace actorloop::pg::detail
