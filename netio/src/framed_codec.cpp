#include <actorloop/netio/codec.hpp>
#include <actorloop/netio/error.hpp>

#include <cstring>
#include <type_traits>

namespace actorloop::netio {

message_kind kind_of(const message_body& body) noexcept {
  return std::visit(
    [](const auto& each) -> message_kind {
      using type = std::decay_t<decltype(each)>;
      if constexpr (std::is_same_v<type, hello>) return message_kind::hello;
      else if constexpr (std::is_same_v<type, challenge>) return message_kind::challenge;
      else if constexpr (std::is_same_v<type, response>) return message_kind::response;
      else if constexpr (std::is_same_v<type, ready>) return message_kind::ready;
      else if constexpr (std::is_same_v<type, request>) return message_kind::request;
      else if constexpr (std::is_same_v<type, result_row>) return message_kind::result_row;
      else if constexpr (std::is_same_v<type, completion>) return message_kind::completion;
      else if constexpr (std::is_same_v<type, server_message>) return message_kind::server_message;
      else if constexpr (std::is_same_v<type, notification>) return message_kind::notification;
      else if constexpr (std::is_same_v<type, cancel>) return message_kind::cancel;
      else return message_kind::terminate;
    },
    body);
}

std::string_view to_string(message_kind kind) noexcept {
  switch (kind) {
    case message_kind::hello: return "hello";
    case message_kind::challenge: return "challenge";
    case message_kind::response: return "response";
    case message_kind::ready: return "ready";
    case message_kind::request: return "request";
    case message_kind::result_row: return "result_row";
    case message_kind::completion: return "completion";
    case message_kind::server_message: return "server_message";
    case message_kind::notification: return "notification";
    case message_kind::cancel: return "cancel";
    case message_kind::terminate: return "terminate";
  }
  return "unknown";
}

std::string_view to_string(severity level) noexcept {
  switch (level) {
    case severity::info: return "info";
    case severity::notice: return "notice";
    case severity::warning: return "warning";
    case severity::error: return "error";
    case severity::fatal: return "fatal";
  }
  return "unknown";
}

std::string_view to_string(completion_status status) noexcept {
  switch (status) {
    case completion_status::succeeded: return "succeeded";
    case completion_status::failed: return "failed";
    case completion_status::canceled: return "canceled";
  }
  return "unknown";
}

namespace {

constexpr std::size_t header_bytes = 16;
constexpr std::size_t length_bytes = 4;

class writer {
public:
  explicit writer(std::vector<std::byte>& out) : out_(out) {}
  void u8(std::uint8_t value) { out_.push_back(static_cast<std::byte>(value)); }
  void u16(std::uint16_t value) { put(value, 2); }
  void u32(std::uint32_t value) { put(value, 4); }
  void u64(std::uint64_t value) { put(value, 8); }
  void text(const std::string& value) {
    u32(static_cast<std::uint32_t>(value.size()));
    auto* bytes = reinterpret_cast<const std::byte*>(value.data());
    out_.insert(out_.end(), bytes, bytes + value.size());
  }
  void list(const std::vector<std::string>& values) {
    u32(static_cast<std::uint32_t>(values.size()));
    for (auto& each : values)
      text(each);
  }

private:
  void put(std::uint64_t value, int width) {
    for (int shift = (width - 1) * 8; shift >= 0; shift -= 8)
      out_.push_back(static_cast<std::byte>((value >> shift) & 0xff));
  }
  std::vector<std::byte>& out_;
};

class reader {
public:
  explicit reader(std::span<const std::byte> body) : body_(body) {}
  [[nodiscard]] bool failed() const noexcept { return !problem_.empty(); }
  [[nodiscard]] const std::string& problem() const noexcept { return problem_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return body_.size() - offset_; }

  std::uint8_t u8(const char* what) { return static_cast<std::uint8_t>(get(1, what)); }
  std::uint16_t u16(const char* what) { return static_cast<std::uint16_t>(get(2, what)); }
  std::uint32_t u32(const char* what) { return static_cast<std::uint32_t>(get(4, what)); }
  std::uint64_t u64(const char* what) { return get(8, what); }

  std::string text(const char* what) {
    auto length = u32(what);
    if (failed())
      return {};
    if (length > remaining()) {
      fail(std::string{what} + " claims " + std::to_string(length) + " bytes but only " +
           std::to_string(remaining()) + " remain in the frame");
      return {};
    }
    std::string value{reinterpret_cast<const char*>(body_.data() + offset_), length};
    offset_ += length;
    return value;
  }

  std::vector<std::string> list(const char* what) {
    auto count = u32(what);
    std::vector<std::string> values;
    if (failed())
      return values;
    // Every string needs at least its 4-byte length: reject impossible
    // counts before reserving anything.
    if (count > remaining() / 4) {
      fail(std::string{what} + " claims " + std::to_string(count) + " entries but only " +
           std::to_string(remaining()) + " bytes remain in the frame");
      return values;
    }
    values.reserve(count);
    for (std::uint32_t index = 0; index < count && !failed(); ++index)
      values.push_back(text(what));
    return values;
  }

  void fail(std::string why) {
    if (problem_.empty())
      problem_ = std::move(why);
  }

private:
  std::uint64_t get(std::size_t width, const char* what) {
    if (failed())
      return 0;
    if (remaining() < width) {
      fail(std::string{"frame ends inside "} + what);
      return 0;
    }
    std::uint64_t value = 0;
    for (std::size_t index = 0; index < width; ++index)
      value = (value << 8) | std::to_integer<std::uint64_t>(body_[offset_ + index]);
    offset_ += width;
    return value;
  }

  std::span<const std::byte> body_;
  std::size_t offset_ = 0;
  std::string problem_;
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
      // cancel, terminate: empty bodies
    },
    body);
}

message_body decode_body(message_kind kind, reader& in) {
  switch (kind) {
    case message_kind::hello: {
      hello value;
      value.client_name = in.text("hello.client_name");
      value.user = in.text("hello.user");
      return value;
    }
    case message_kind::challenge: {
      challenge value;
      auto method = in.u8("challenge.method");
      if (!in.failed() && method != 1 && method != 2)
        in.fail("challenge method " + std::to_string(method) + " is unknown (1 or 2)");
      value.method = static_cast<challenge_method>(method);
      value.message_id = in.u32("challenge.message_id");
      value.data = in.text("challenge.data");
      return value;
    }
    case message_kind::response: {
      response value;
      value.message_id = in.u32("response.message_id");
      value.data = in.text("response.data");
      return value;
    }
    case message_kind::ready: {
      ready value;
      value.server_name = in.text("ready.server_name");
      value.session_id = in.u64("ready.session_id");
      return value;
    }
    case message_kind::request: {
      request value;
      value.arguments = in.list("request.arguments");
      if (!in.failed() && value.arguments.empty())
        in.fail("a request needs at least its command name");
      return value;
    }
    case message_kind::result_row: {
      result_row value;
      value.columns = in.list("result_row.columns");
      return value;
    }
    case message_kind::completion: {
      completion value;
      auto status = in.u16("completion.status");
      if (!in.failed() && status > 2)
        in.fail("completion status " + std::to_string(status) + " is unknown (0..2)");
      value.status = static_cast<completion_status>(status);
      value.text = in.text("completion.text");
      return value;
    }
    case message_kind::server_message: {
      server_message value;
      auto level = in.u8("server_message.severity");
      if (!in.failed() && level > 4)
        in.fail("severity " + std::to_string(level) + " is unknown (0..4)");
      value.level = static_cast<severity>(level);
      value.code = in.u32("server_message.code");
      value.text = in.text("server_message.text");
      return value;
    }
    case message_kind::notification: {
      notification value;
      value.channel = in.text("notification.channel");
      value.payload = in.text("notification.payload");
      value.publisher_session = in.u64("notification.publisher_session");
      return value;
    }
    case message_kind::cancel: return cancel{};
    case message_kind::terminate: return terminate{};
  }
  in.fail("unknown kind");
  return terminate{};
}

bool known_kind(std::uint8_t value) noexcept {
  switch (value) {
    case 1: case 2: case 3: case 4: case 10: case 11: case 12: case 13: case 14: case 20: case 21:
      return true;
    default: return false;
  }
}

class framed_codec final : public codec {
public:
  explicit framed_codec(codec_limits limits) : limits_(limits) {}

  std::string_view name() const noexcept override { return "framed/1"; }

  std::error_code encode(const message& value, std::vector<std::byte>& out) const override {
    auto start = out.size();
    writer put{out};
    put.u32(0); // length, patched below
    put.u8(protocol_version);
    put.u8(static_cast<std::uint8_t>(kind_of(value.body)));
    put.u16(0);
    put.u64(value.request_id);
    encode_body(value.body, put);
    auto total = out.size() - start;
    if (total > limits_.max_frame_bytes) {
      out.resize(start);
      return errc::frame_too_large;
    }
    auto length = static_cast<std::uint32_t>(total - length_bytes);
    for (int index = 0; index < 4; ++index)
      out[start + static_cast<std::size_t>(index)] =
        static_cast<std::byte>((length >> (24 - 8 * index)) & 0xff);
    return {};
  }

  decode_result decode(std::span<const std::byte> input, message& out) const override {
    decode_result result;
    auto error = [&](errc code, std::string detail) {
      result.consumed = 0;
      result.error = code;
      result.detail = std::move(detail);
      return result;
    };
    if (input.size() < length_bytes)
      return result;
    std::uint32_t length = 0;
    for (std::size_t index = 0; index < length_bytes; ++index)
      length = (length << 8) | std::to_integer<std::uint32_t>(input[index]);
    std::uint64_t total = std::uint64_t{length} + length_bytes;
    if (total > limits_.max_frame_bytes)
      return error(errc::frame_too_large, "frame claims " + std::to_string(total) +
                                            " bytes; the limit is " +
                                            std::to_string(limits_.max_frame_bytes));
    if (length < header_bytes - length_bytes)
      return error(errc::malformed_frame, "frame length " + std::to_string(length) +
                                            " is shorter than the 12-byte header rest");
    if (input.size() >= 5) {
      auto version = std::to_integer<std::uint8_t>(input[4]);
      if (version != protocol_version)
        return error(errc::unsupported_version,
                     "frame has protocol version " + std::to_string(version) +
                       "; this side speaks version " + std::to_string(protocol_version));
    }
    if (input.size() >= 6) {
      auto kind = std::to_integer<std::uint8_t>(input[5]);
      if (!known_kind(kind))
        return error(errc::unknown_message_kind,
                     "frame has unknown message kind " + std::to_string(kind));
    }
    if (input.size() >= 8 && (input[6] != std::byte{0} || input[7] != std::byte{0}))
      return error(errc::malformed_frame, "frame flags must be 0 in version 1");
    if (input.size() < total)
      return result;
    reader in{input.subspan(8, static_cast<std::size_t>(total) - 8)};
    auto request_id = in.u64("request_id");
    auto body = decode_body(static_cast<message_kind>(std::to_integer<std::uint8_t>(input[5])), in);
    if (!in.failed() && in.remaining() != 0)
      in.fail(std::to_string(in.remaining()) + " unexpected bytes after the " +
              std::string{to_string(static_cast<message_kind>(std::to_integer<std::uint8_t>(input[5])))} +
              " body");
    if (in.failed())
      return error(errc::malformed_frame, "malformed frame: " + in.problem());
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
  return std::make_unique<framed_codec>(limits);
}

} // namespace actorloop::netio
