// actorloop's framed protocol, version 1 (docs/protocol.md is the
// specification). Standard library only: the fuzzer (tests/fuzz/) compiles
// this file, message.cpp and error.cpp without CAF.
#include <actorloop/netio/codec.hpp>
#include <actorloop/netio/error.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

namespace actorloop::netio {

namespace {

/// The length field: the number of frame bytes that follow it.
constexpr std::size_t length_field_bytes = 4;
/// length + version + kind + flags + request_id.
constexpr std::size_t header_bytes = 16;
/// The smallest legal length value: the header after the length field.
constexpr std::uint32_t minimum_length = header_bytes - length_field_bytes;
/// Offsets of the header fields.
constexpr std::size_t version_offset = 4;
constexpr std::size_t kind_offset = 5;
constexpr std::size_t flags_offset = 6;
constexpr std::size_t request_id_offset = 8;
/// Every string and list starts with a u32 count.
constexpr std::size_t count_bytes = 4;

std::uint64_t read_big_endian(std::span<const std::byte> bytes) noexcept {
  std::uint64_t value = 0;
  for (auto each : bytes)
    value = (value << 8) | std::to_integer<std::uint64_t>(each);
  return value;
}

// Fixed-width loads for the decoder's hot path: one load and a byte swap
// instead of a loop per byte (a notification's fields cost ~60
// instructions each that way). The caller has checked the bounds.
std::uint32_t load_u32(const std::byte* at) noexcept {
  std::uint32_t value;
  std::memcpy(&value, at, sizeof value);
  if constexpr (std::endian::native == std::endian::little)
    value = __builtin_bswap32(value);
  return value;
}

std::uint64_t load_u64(const std::byte* at) noexcept {
  std::uint64_t value;
  std::memcpy(&value, at, sizeof value);
  if constexpr (std::endian::native == std::endian::little)
    value = __builtin_bswap64(value);
  return value;
}

std::uint64_t load(const std::byte* at, std::size_t width) noexcept {
  switch (width) {
    case 1: return std::to_integer<std::uint64_t>(*at);
    case 2: return (std::to_integer<std::uint64_t>(at[0]) << 8) | std::to_integer<std::uint64_t>(at[1]);
    case 4: return load_u32(at);
    case 8: return load_u64(at);
    default: return read_big_endian({at, width});
  }
}

bool known_kind(std::uint8_t value) noexcept {
  switch (static_cast<message_kind>(value)) {
    case message_kind::hello:
    case message_kind::challenge:
    case message_kind::response:
    case message_kind::ready:
    case message_kind::request:
    case message_kind::result_row:
    case message_kind::completion:
    case message_kind::server_message:
    case message_kind::notification:
    case message_kind::cancel:
    case message_kind::terminate: return true;
  }
  return false;
}

// Enumerators the wire accepts; encode refuses the others so that it never
// writes a frame the peer would have to reject.
bool known_method(std::uint8_t value) noexcept { return value == 1 || value == 2; }
bool known_status(std::uint16_t value) noexcept { return value <= 2; }
bool known_severity(std::uint8_t value) noexcept { return value <= 4; }

std::string hex16(std::uint16_t value) {
  constexpr char digits[] = "0123456789abcdef";
  std::string text = "0x";
  for (int shift = 12; shift >= 0; shift -= 4)
    text.push_back(digits[(value >> shift) & 0xf]);
  return text;
}

// ---------------------------------------------------------------------------
// Encoding: the size is computed first, so that a frame over the limit is
// refused before `out` grows at all.

std::uint64_t text_size(const std::string& value) noexcept { return count_bytes + value.size(); }

std::uint64_t list_size(const std::vector<std::string>& values) noexcept {
  std::uint64_t total = count_bytes;
  for (const auto& each : values)
    total += text_size(each);
  return total;
}

std::uint64_t body_size(const message_body& body) noexcept {
  return std::visit(
    [](const auto& each) -> std::uint64_t {
      using type = std::decay_t<decltype(each)>;
      if constexpr (std::is_same_v<type, hello>)
        return text_size(each.client_name) + text_size(each.user);
      else if constexpr (std::is_same_v<type, challenge>)
        return 1 + 4 + text_size(each.data);
      else if constexpr (std::is_same_v<type, response>)
        return 4 + text_size(each.data);
      else if constexpr (std::is_same_v<type, ready>)
        return text_size(each.server_name) + 8;
      else if constexpr (std::is_same_v<type, request>)
        return list_size(each.arguments);
      else if constexpr (std::is_same_v<type, result_row>)
        return list_size(each.columns);
      else if constexpr (std::is_same_v<type, completion>)
        return 2 + text_size(each.text);
      else if constexpr (std::is_same_v<type, server_message>)
        return 1 + 4 + text_size(each.text);
      else if constexpr (std::is_same_v<type, notification>)
        return text_size(each.channel) + text_size(each.payload) + 8;
      else
        return 0; // cancel, terminate
    },
    body);
}

/// False for values the wire cannot carry: the peer would refuse them as
/// malformed, so encode refuses them first.
bool representable(const message_body& body) noexcept {
  if (auto* value = std::get_if<request>(&body))
    return !value->arguments.empty();
  if (auto* value = std::get_if<challenge>(&body))
    return known_method(static_cast<std::uint8_t>(value->method));
  if (auto* value = std::get_if<completion>(&body))
    return known_status(static_cast<std::uint16_t>(value->status));
  if (auto* value = std::get_if<server_message>(&body))
    return known_severity(static_cast<std::uint8_t>(value->level));
  return true;
}

/// Writes a frame into space sized for it in advance (body_size), through
/// a pointer: pushing byte by byte cost a capacity check per byte, a sixth
/// of a request/reply's instructions. Never writes past `end`: a size
/// mismatch (a bug) is recorded and refused instead of overrunning.
class writer {
public:
  writer(std::byte* at, std::byte* end) : at_(at), end_(end) {}

  void u8(std::uint8_t value) { put(value, 1); }
  void u16(std::uint16_t value) { put(value, 2); }
  void u32(std::uint32_t value) { put(value, 4); }
  void u64(std::uint64_t value) { put(value, 8); }

  /// The caller has checked the frame against the limit (at most 4 GiB - 1),
  /// so every size fits its u32.
  void text(const std::string& value) {
    u32(static_cast<std::uint32_t>(value.size()));
    if (!room(value.size()))
      return;
    std::memcpy(at_, value.data(), value.size());
    at_ += value.size();
  }

  void list(const std::vector<std::string>& values) {
    u32(static_cast<std::uint32_t>(values.size()));
    for (const auto& each : values)
      text(each);
  }

  /// True when exactly the space given was written.
  [[nodiscard]] bool filled() const noexcept { return !overrun_ && at_ == end_; }

private:
  [[nodiscard]] bool room(std::size_t bytes) noexcept {
    if (overrun_ || static_cast<std::size_t>(end_ - at_) < bytes) {
      overrun_ = true;
      return false;
    }
    return true;
  }

  void put(std::uint64_t value, int width) {
    if (!room(static_cast<std::size_t>(width)))
      return;
    for (int shift = (width - 1) * 8; shift >= 0; shift -= 8)
      *at_++ = static_cast<std::byte>((value >> shift) & 0xff);
  }

  std::byte* at_;
  std::byte* end_;
  bool overrun_ = false;
};

void encode_body(const message_body& body, writer& out) {
  std::visit(
    [&](const auto& each) {
      using type = std::decay_t<decltype(each)>;
      if constexpr (std::is_same_v<type, hello>) {
        out.text(each.client_name);
        out.text(each.user);
      } else if constexpr (std::is_same_v<type, challenge>) {
        out.u8(static_cast<std::uint8_t>(each.method));
        out.u32(each.message_id);
        out.text(each.data);
      } else if constexpr (std::is_same_v<type, response>) {
        out.u32(each.message_id);
        out.text(each.data);
      } else if constexpr (std::is_same_v<type, ready>) {
        out.text(each.server_name);
        out.u64(each.session_id);
      } else if constexpr (std::is_same_v<type, request>) {
        out.list(each.arguments);
      } else if constexpr (std::is_same_v<type, result_row>) {
        out.list(each.columns);
      } else if constexpr (std::is_same_v<type, completion>) {
        out.u16(static_cast<std::uint16_t>(each.status));
        out.text(each.text);
      } else if constexpr (std::is_same_v<type, server_message>) {
        out.u8(static_cast<std::uint8_t>(each.level));
        out.u32(each.code);
        out.text(each.text);
      } else if constexpr (std::is_same_v<type, notification>) {
        out.text(each.channel);
        out.text(each.payload);
        out.u64(each.publisher_session);
      }
      // cancel, terminate: empty bodies.
    },
    body);
}

// ---------------------------------------------------------------------------
// Decoding of a body whose frame is complete. The reader records the first
// problem and turns every later read into a no-op, so the per-kind code reads
// straight through and checks once at the end.

/// Names a body field in error messages ("result_row.columns[2] length").
/// Spelled out only when a problem is found, so decoding a good frame
/// builds no strings for it.
struct field_name {
  static constexpr std::uint32_t no_index = 0xffffffffu;

  const char* name;
  std::uint32_t index = no_index; ///< the entry of a list
  const char* part = "";          ///< " length" or " count": the prefix of a string or list

  [[nodiscard]] field_name prefix(const char* which) const noexcept { return {name, index, which}; }
  [[nodiscard]] field_name entry(std::uint32_t position) const noexcept { return {name, position, part}; }

  [[nodiscard]] std::string spelled() const {
    // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive)
    // about "[" + std::to_string(...) once the decoder inlines this.
    std::string text = name;
    if (index != no_index) {
      text += '[';
      text += std::to_string(index);
      text += ']';
    }
    text += part;
    return text;
  }
};

class reader {
public:
  explicit reader(std::span<const std::byte> body) : body_(body) {}

  [[nodiscard]] bool failed() const noexcept { return !problem_.empty(); }
  [[nodiscard]] const std::string& problem() const noexcept { return problem_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return body_.size() - offset_; }

  std::uint8_t u8(field_name field) { return static_cast<std::uint8_t>(get(1, field)); }
  std::uint16_t u16(field_name field) { return static_cast<std::uint16_t>(get(2, field)); }
  std::uint32_t u32(field_name field) { return static_cast<std::uint32_t>(get(4, field)); }
  std::uint64_t u64(field_name field) { return get(8, field); }

  std::string text(field_name field) {
    auto length = u32(field.prefix(" length"));
    if (failed())
      return {};
    if (length > remaining()) {
      fail(field.spelled() + " claims " + std::to_string(length) + " bytes but " + only_remaining());
      return {};
    }
    std::string value{reinterpret_cast<const char*>(body_.data() + offset_), length};
    offset_ += length;
    return value;
  }

  std::vector<std::string> list(field_name field) {
    auto count = u32(field.prefix(" count"));
    std::vector<std::string> values;
    if (failed())
      return values;
    // Every entry needs at least its 4-byte length: an impossible count is
    // refused before anything is reserved for it.
    if (count > remaining() / count_bytes) {
      fail(field.spelled() + " claims " + std::to_string(count) + " entries but " +
           only_remaining() + " (each entry needs at least " + std::to_string(count_bytes) +
           " bytes)");
      return values;
    }
    values.reserve(count);
    for (std::uint32_t index = 0; index < count && !failed(); ++index)
      values.push_back(text(field.entry(index)));
    return values;
  }

  void fail(std::string why) {
    if (problem_.empty())
      problem_ = std::move(why);
  }

private:
  std::string only_remaining() const {
    return "only " + std::to_string(remaining()) +
           (remaining() == 1 ? " byte remains" : " bytes remain") + " in the body";
  }

  std::uint64_t get(std::size_t width, field_name field) {
    if (failed())
      return 0;
    if (remaining() < width) {
      fail(field.spelled() + " needs " + std::to_string(width) + " bytes but " + only_remaining());
      return 0;
    }
    auto value = load(body_.data() + offset_, width);
    offset_ += width;
    return value;
  }

  std::span<const std::byte> body_;
  std::size_t offset_ = 0;
  std::string problem_;
};

message_body decode_body(message_kind kind, reader& in) {
  switch (kind) {
    case message_kind::hello: {
      hello value;
      value.client_name = in.text({"hello.client_name"});
      value.user = in.text({"hello.user"});
      return value;
    }
    case message_kind::challenge: {
      challenge value;
      auto method = in.u8({"challenge.method"});
      if (!in.failed() && !known_method(method))
        in.fail("challenge method " + std::to_string(method) +
                " is not 1 (password_key) or 2 (negotiate)");
      value.method = static_cast<challenge_method>(method);
      value.message_id = in.u32({"challenge.message_id"});
      value.data = in.text({"challenge.data"});
      return value;
    }
    case message_kind::response: {
      response value;
      value.message_id = in.u32({"response.message_id"});
      value.data = in.text({"response.data"});
      return value;
    }
    case message_kind::ready: {
      ready value;
      value.server_name = in.text({"ready.server_name"});
      value.session_id = in.u64({"ready.session_id"});
      return value;
    }
    case message_kind::request: {
      request value;
      value.arguments = in.list({"request.arguments"});
      if (!in.failed() && value.arguments.empty())
        in.fail("request.arguments is empty; a request needs at least its command name");
      return value;
    }
    case message_kind::result_row: {
      result_row value;
      value.columns = in.list({"result_row.columns"});
      return value;
    }
    case message_kind::completion: {
      completion value;
      auto status = in.u16({"completion.status"});
      if (!in.failed() && !known_status(status))
        in.fail("completion status " + std::to_string(status) + " is not 0..2");
      value.status = static_cast<completion_status>(status);
      value.text = in.text({"completion.text"});
      return value;
    }
    case message_kind::server_message: {
      server_message value;
      auto level = in.u8({"server_message.severity"});
      if (!in.failed() && !known_severity(level))
        in.fail("severity " + std::to_string(level) + " is not 0..4");
      value.level = static_cast<severity>(level);
      value.code = in.u32({"server_message.code"});
      value.text = in.text({"server_message.text"});
      return value;
    }
    case message_kind::notification: {
      notification value;
      value.channel = in.text({"notification.channel"});
      value.payload = in.text({"notification.payload"});
      value.publisher_session = in.u64({"notification.publisher_session"});
      return value;
    }
    case message_kind::cancel: return cancel{};
    case message_kind::terminate: return terminate{};
  }
  // decode checked the kind byte before calling.
  in.fail("message kind " + std::to_string(static_cast<unsigned>(kind)) + " has no body decoder");
  return terminate{};
}

// ---------------------------------------------------------------------------
// In-place decoding of the per-message kinds (request, result_row,
// completion, notification): one pass over a well-formed body, straight
// into `out`, reusing the strings and vector `out` holds from the previous
// frame when it holds the same kind (a channel decodes into one message
// from frame to frame, so a steady stream of like frames allocates
// nothing). Each returns false, touching nothing, when the body is not
// well formed; the checked decoder above then says why, so error texts do
// not depend on these paths.

/// The body of `out` as a `type`: the one it holds (its storage reused) or
/// a fresh one.
template <class type>
type& reuse_as(message& out) {
  if (auto* held = std::get_if<type>(&out.body))
    return *held;
  return out.body.template emplace<type>();
}

/// A list of strings: the u32 count, then each entry's u32 length and bytes,
/// ending exactly at the end of the body. Checks the structure first (the
/// length fields only), so that `values` is written only for a good body.
template <class type>
bool decode_list(std::span<const std::byte> body, bool need_entry,
                 std::vector<std::string> type::*field, message& out) {
  const auto* at = body.data();
  const std::size_t size = body.size();
  if (size < count_bytes)
    return false;
  const std::uint32_t count = load_u32(at);
  if (count > (size - count_bytes) / count_bytes || (need_entry && count == 0))
    return false;
  std::size_t offset = count_bytes;
  for (std::uint32_t index = 0; index < count; ++index) {
    if (size - offset < count_bytes)
      return false;
    const std::size_t length = load_u32(at + offset);
    offset += count_bytes;
    if (length > size - offset)
      return false;
    offset += length;
  }
  if (offset != size)
    return false;
  auto& values = reuse_as<type>(out).*field;
  // resize keeps the entries (and their capacity) that are already there.
  values.resize(count);
  const auto* text = reinterpret_cast<const char*>(at);
  offset = count_bytes;
  for (auto& value : values) {
    const std::size_t length = load_u32(at + offset);
    offset += count_bytes;
    value.assign(text + offset, length);
    offset += length;
  }
  return true;
}

bool decode_completion(std::span<const std::byte> body, message& out) {
  const auto* at = body.data();
  const std::size_t size = body.size();
  if (size < 2 + count_bytes)
    return false;
  const auto status = static_cast<std::uint16_t>(load(at, 2));
  if (!known_status(status) || load_u32(at + 2) != size - 2 - count_bytes)
    return false;
  auto& done = reuse_as<completion>(out);
  done.status = static_cast<completion_status>(status);
  done.text.assign(reinterpret_cast<const char*>(at) + 2 + count_bytes, size - 2 - count_bytes);
  return true;
}

bool decode_notification(std::span<const std::byte> body, message& out) {
  const auto* at = body.data();
  const auto size = body.size();
  if (size < count_bytes)
    return false;
  const std::uint64_t channel_bytes = load_u32(at);
  const std::uint64_t payload_at = count_bytes + channel_bytes;
  if (payload_at + count_bytes > size)
    return false;
  const std::uint64_t payload_bytes = load_u32(at + payload_at);
  const std::uint64_t session_at = payload_at + count_bytes + payload_bytes;
  if (session_at + 8 != size)
    return false;
  const auto* text = reinterpret_cast<const char*>(at);
  // Field by field (not a parenthesised aggregate init, which clang, the
  // fuzz target's compiler, does not take in C++20 mode yet).
  auto& note = reuse_as<notification>(out);
  note.channel.assign(text + count_bytes, channel_bytes);
  note.payload.assign(text + payload_at + count_bytes, payload_bytes);
  note.publisher_session = load_u64(at + session_at);
  return true;
}

/// The in-place path for `kind`; false when it has none or the body is not
/// well formed.
bool decode_in_place(message_kind kind, std::span<const std::byte> body, message& out) {
  switch (kind) {
    case message_kind::request: return decode_list(body, true, &request::arguments, out);
    case message_kind::result_row: return decode_list(body, false, &result_row::columns, out);
    case message_kind::completion: return decode_completion(body, out);
    case message_kind::notification: return decode_notification(body, out);
    default: return false;
  }
}

class framed_codec final : public codec {
public:
  explicit framed_codec(codec_limits limits) : limits_(limits) {}

  std::string_view name() const noexcept override { return "framed/1"; }

  std::error_code encode(const message& value, std::vector<std::byte>& out) const override {
    if (!representable(value.body))
      return errc::invalid_argument;
    auto total = header_bytes + body_size(value.body);
    if (total > limits_.max_frame_bytes)
      return errc::frame_too_large;
    // One allocation at most, growing geometrically: callers append frame
    // after frame to the same buffer, and an exact reserve would copy it
    // on every append.
    auto start = out.size();
    auto needed = start + static_cast<std::size_t>(total);
    if (needed > out.capacity())
      out.reserve(std::max(needed, 2 * out.capacity()));
    out.resize(needed);
    writer put{out.data() + start, out.data() + needed};
    put.u32(static_cast<std::uint32_t>(total - length_field_bytes));
    put.u8(protocol_version);
    put.u8(static_cast<std::uint8_t>(kind_of(value.body)));
    put.u16(0); // flags: none defined in version 1
    put.u64(value.request_id);
    encode_body(value.body, put);
    if (!put.filled()) {
      // body_size and encode_body disagree: leave `out` as it was.
      out.resize(start);
      return errc::invalid_argument;
    }
    return {};
  }

  decode_result decode(std::span<const std::byte> input, message& out) const override {
    decode_result result;
    auto refuse = [&](errc code, std::string detail) {
      result.error = code;
      result.detail = std::move(detail);
      return result;
    };

    // Each header field is judged as soon as its bytes are present, in
    // header order, so a bad frame is refused without waiting for the rest.
    if (input.size() < length_field_bytes)
      return result;
    auto length = load_u32(input.data());
    // 64 bits: 4 + a length near 4 GiB must not wrap around.
    std::uint64_t total = std::uint64_t{length} + length_field_bytes;
    if (total > limits_.max_frame_bytes)
      return refuse(errc::frame_too_large,
                    "frame claims " + std::to_string(total) + " bytes (length field " +
                      std::to_string(length) + "); the limit is " +
                      std::to_string(limits_.max_frame_bytes));
    if (length < minimum_length)
      return refuse(errc::malformed_frame,
                    "frame length " + std::to_string(length) + " is less than " +
                      std::to_string(minimum_length) + ", the rest of the header");

    if (input.size() <= version_offset)
      return result;
    auto version = std::to_integer<std::uint8_t>(input[version_offset]);
    if (version != protocol_version)
      return refuse(errc::unsupported_version,
                    "frame has protocol version " + std::to_string(version) +
                      "; this side speaks version " + std::to_string(protocol_version));

    if (input.size() <= kind_offset)
      return result;
    auto kind_byte = std::to_integer<std::uint8_t>(input[kind_offset]);
    if (!known_kind(kind_byte))
      return refuse(errc::unknown_message_kind,
                    "frame has unknown message kind " + std::to_string(kind_byte) +
                      " (version " + std::to_string(protocol_version) + " knows 1-4, 10-14, 20-21)");
    auto kind = static_cast<message_kind>(kind_byte);

    if (input.size() < flags_offset + 2)
      return result;
    auto flags = static_cast<std::uint16_t>(load(input.data() + flags_offset, 2));
    if (flags != 0)
      return refuse(errc::malformed_frame, "frame flags are " + hex16(flags) +
                                             "; they must be 0 in protocol version " +
                                             std::to_string(protocol_version));

    if (input.size() < total)
      return result;
    auto request_id = load_u64(input.data() + request_id_offset);
    auto body_bytes = input.subspan(header_bytes, static_cast<std::size_t>(total) - header_bytes);
    if (decode_in_place(kind, body_bytes, out)) {
      out.request_id = request_id;
      result.consumed = static_cast<std::size_t>(total);
      return result;
    }
    reader in{body_bytes};
    auto body = decode_body(kind, in);
    if (!in.failed() && in.remaining() != 0)
      in.fail(std::to_string(in.remaining()) +
              (in.remaining() == 1 ? " byte remains" : " bytes remain") + " after the end of the " +
              std::string{to_string(kind)} + " body");
    if (in.failed())
      return refuse(errc::malformed_frame, std::string{to_string(kind)} + " frame (request " +
                                             std::to_string(request_id) + ", " +
                                             std::to_string(total) + " bytes): " + in.problem());
    out.request_id = request_id;
    out.body = std::move(body);
    result.consumed = static_cast<std::size_t>(total);
    return result;
  }

private:
  codec_limits limits_;
};

} // namespace

std::unique_ptr<codec> make_framed_codec(codec_limits limits) {
  if (limits.max_frame_bytes < header_bytes)
    throw error(errc::invalid_argument,
                "framed codec: max_frame_bytes " + std::to_string(limits.max_frame_bytes) +
                  " is smaller than the " + std::to_string(header_bytes) + "-byte frame header");
  return std::make_unique<framed_codec>(limits);
}

} // namespace actorloop::netio
