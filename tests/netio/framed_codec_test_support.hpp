// Shared pieces of the framed-codec and memory-stream tests: frames built by
// hand (so the tests pin the wire format instead of trusting the encoder), a
// sample of every message kind, and a loop that moves bytes through a
// byte_stream and decodes what arrives.
#pragma once

#include <actorloop/netio/byte_stream.hpp>
#include <actorloop/netio/codec.hpp>
#include <actorloop/netio/error.hpp>
#include <actorloop/netio/message.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace framed_codec_test {

namespace netio = actorloop::netio;

using bytes = std::vector<std::byte>;

inline bytes bytes_of(std::initializer_list<unsigned> values) {
  bytes result;
  for (auto each : values)
    result.push_back(static_cast<std::byte>(each));
  return result;
}

inline void append(bytes& out, const bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

inline void put_big_endian(bytes& out, std::uint64_t value, int width) {
  for (int shift = (width - 1) * 8; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::byte>((value >> shift) & 0xff));
}

inline void put_u8(bytes& out, std::uint8_t value) { put_big_endian(out, value, 1); }
inline void put_u16(bytes& out, std::uint16_t value) { put_big_endian(out, value, 2); }
inline void put_u32(bytes& out, std::uint32_t value) { put_big_endian(out, value, 4); }
inline void put_u64(bytes& out, std::uint64_t value) { put_big_endian(out, value, 8); }

/// A wire string: u32 byte count, then the bytes.
inline void put_text(bytes& out, std::string_view text) {
  put_u32(out, static_cast<std::uint32_t>(text.size()));
  for (char each : text)
    out.push_back(static_cast<std::byte>(each));
}

/// A 16-byte header with any field values, followed by `body`. `length`
/// defaults to the correct 12 + body size.
struct frame_fields {
  std::uint8_t version = netio::protocol_version;
  std::uint8_t kind = static_cast<std::uint8_t>(netio::message_kind::terminate);
  std::uint16_t flags = 0;
  std::uint64_t request_id = 0;
  bytes body = {};
  std::int64_t length = -1; ///< -1: 12 + body.size()
};

inline bytes frame(const frame_fields& fields) {
  bytes out;
  auto length = fields.length < 0 ? 12 + fields.body.size() : static_cast<std::size_t>(fields.length);
  put_u32(out, static_cast<std::uint32_t>(length));
  put_u8(out, fields.version);
  put_u8(out, fields.kind);
  put_u16(out, fields.flags);
  put_u64(out, fields.request_id);
  append(out, fields.body);
  return out;
}

inline bytes frame(netio::message_kind kind, std::uint64_t request_id, bytes body) {
  frame_fields fields;
  fields.kind = static_cast<std::uint8_t>(kind);
  fields.request_id = request_id;
  fields.body = std::move(body);
  return frame(fields);
}

/// One message of every kind, with empty, binary and large strings.
inline std::vector<netio::message> every_kind() {
  using namespace actorloop::netio;
  return {
    {0, hello{"client", "user"}},
    {0, challenge{challenge_method::password_key, 1, std::string("\x00\xff key", 6)}},
    {0, challenge{challenge_method::negotiate, 0xffffffffu, ""}},
    {0, response{1, "answer"}},
    {0, ready{"server", 0xfedcba9876543210u}},
    {1, request{{"ECHO", "a", std::string(3000, 'x')}}},
    {1, result_row{{"a", "", std::string(1, '\0')}}},
    {1, result_row{}},
    {1, server_message{severity::warning, 3001, "careful"}},
    {0, notification{"news", "payload", 7}},
    {1, completion{completion_status::succeeded, "ECHO"}},
    {2, completion{completion_status::canceled, ""}},
    {0xffffffffffffffffu, cancel{}},
    {0, terminate{}},
  };
}

inline bytes encode_all(const netio::codec& codec, const std::vector<netio::message>& messages) {
  bytes out;
  for (const auto& each : messages)
    REQUIRE_FALSE(codec.encode(each, out));
  return out;
}

/// Decodes every complete message at the front of `buffer` into `out` and
/// erases their bytes; fails the test on a decode error. Returns how many
/// messages it decoded.
inline std::size_t decode_available(const netio::codec& codec, bytes& buffer,
                                    std::vector<netio::message>& out) {
  std::size_t decoded_count = 0;
  for (;;) {
    netio::message decoded;
    auto outcome = codec.decode(buffer, decoded);
    REQUIRE_MESSAGE(!outcome.error, outcome.detail);
    if (outcome.needs_more())
      return decoded_count;
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(outcome.consumed));
    out.push_back(std::move(decoded));
    ++decoded_count;
  }
}

/// Reads until the stream has nothing now (returns no error) or fails
/// (returns the error), appending to `buffer` and decoding as it goes.
inline std::error_code read_and_decode(netio::byte_stream& in, const netio::codec& codec,
                                       bytes& buffer, std::vector<netio::message>& out) {
  for (;;) {
    std::byte chunk[256];
    std::error_code failure;
    auto got = in.read_some(chunk, failure);
    buffer.insert(buffer.end(), chunk, chunk + got);
    decode_available(codec, buffer, out);
    if (failure || got == 0)
      return failure;
  }
}

/// Writes the front of `pending` until the stream takes no more now; erases
/// what was accepted. Returns the write error, if any.
inline std::error_code write_what_fits(netio::byte_stream& out, bytes& pending) {
  while (!pending.empty()) {
    std::error_code failure;
    auto sent = out.write_some(pending, failure);
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(sent));
    if (failure || sent == 0)
      return failure;
  }
  return {};
}

inline bool mentions(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

} // namespace framed_codec_test

// Byte vectors print as hex in failed checks ("{00 1f ff}").
template <>
struct doctest::StringMaker<std::vector<std::byte>> {
  static doctest::String convert(const std::vector<std::byte>& value) {
    constexpr char digits[] = "0123456789abcdef";
    std::string text = "{";
    for (std::size_t index = 0; index < value.size(); ++index) {
      if (index != 0)
        text += ' ';
      auto each = std::to_integer<unsigned>(value[index]);
      text += digits[each >> 4];
      text += digits[each & 0xf];
    }
    text += '}';
    return text.c_str();
  }
};
