#pragma once
// Helpers for the pg wire tests: build backend messages byte by byte, the
// way a scripted server would send them, and decode a whole byte string.
#include <actorloop/pg/backend.hpp>
#include <actorloop/pg/error.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pg_test {

namespace pg = actorloop::pg;

/// A message under construction: type byte, then a length word patched by
/// `bytes()` (or forced with `claim`), then the body.
class wire {
public:
  explicit wire(char type) { body_.push_back(type); body_.append(4, '\0'); }
  wire& u8(std::uint8_t v) { body_.push_back(static_cast<char>(v)); return *this; }
  wire& i16(std::int16_t v) {
    auto u = static_cast<std::uint16_t>(v);
    return u8(static_cast<std::uint8_t>(u >> 8)).u8(static_cast<std::uint8_t>(u));
  }
  wire& i32(std::int32_t v) {
    auto u = static_cast<std::uint32_t>(v);
    return u8(static_cast<std::uint8_t>(u >> 24)).u8(static_cast<std::uint8_t>(u >> 16))
      .u8(static_cast<std::uint8_t>(u >> 8)).u8(static_cast<std::uint8_t>(u));
  }
  wire& str(std::string_view s) { body_.append(s); body_.push_back('\0'); return *this; }
  wire& raw(std::string_view s) { body_.append(s); return *this; }
  /// Sets the length word to `length` instead of the true one.
  wire& claim(std::uint32_t length) { claimed_ = length; has_claim_ = true; return *this; }
  [[nodiscard]] std::string bytes() const {
    std::string out = body_;
    auto length = has_claim_ ? claimed_ : static_cast<std::uint32_t>(out.size() - 1);
    for (int i = 0; i < 4; ++i)
      out[1 + static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * (3 - i))) & 0xff);
    return out;
  }
  operator std::string() const { return bytes(); }

private:
  std::string body_;
  std::uint32_t claimed_ = 0;
  bool has_claim_ = false;
};

/// Appends every complete message `decoder` holds to `out` until it needs
/// more bytes; fails the test on an error.
inline void drain(pg::backend_decoder& decoder, std::vector<pg::backend_message>& out) {
  for (;;) {
    auto result = decoder.next();
    REQUIRE_MESSAGE(!result.error, result.detail);
    if (result.needs_more())
      return;
    out.push_back(std::move(*result.message));
  }
}

/// Decodes `bytes` completely; fails the test if anything is left over or
/// an error comes.
inline std::vector<pg::backend_message> decode_all(const std::string& bytes) {
  pg::backend_decoder decoder;
  decoder.feed(bytes);
  std::vector<pg::backend_message> out;
  drain(decoder, out);
  CHECK(decoder.buffered() == 0);
  return out;
}

/// Decodes `bytes` and returns the error it must end in.
inline pg::decode_result decode_error(const std::string& bytes, pg::decoder_limits limits = {}) {
  pg::backend_decoder decoder{limits};
  decoder.feed(bytes);
  for (;;) {
    auto result = decoder.next();
    if (result.error)
      return result;
    REQUIRE_MESSAGE(result.message.has_value(), "the input ended without the expected error");
  }
}

/// The bytes of an encoded frontend message as a string (for comparisons).
inline std::string as_string(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

} // namespace pg_test

// doctest shows an error code as "category:value (message)".
template <>
struct doctest::StringMaker<std::error_code> {
  static doctest::String convert(const std::error_code& code) {
    auto text = std::string(code.category().name()) + ":" + std::to_string(code.value()) + " (" +
                code.message() + ")";
    return doctest::String(text.c_str());
  }
};
