#pragma once
// Reads the protocol's big-endian integers and NUL-terminated strings from a
// message body, never past its end. A failed read records what was being
// read, so the decoder can name the problem ("RowDescription ('T'): field 2
// name: no terminating NUL").
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace actorloop::pg::detail {

class wire_reader {
public:
  explicit wire_reader(std::span<const std::byte> body) : body_(body) {}

  [[nodiscard]] bool failed() const noexcept { return !problem_.empty(); }
  [[nodiscard]] const std::string& problem() const noexcept { return problem_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return body_.size() - pos_; }
  [[nodiscard]] bool at_end() const noexcept { return pos_ == body_.size(); }

  /// Records a problem (the first one wins).
  void fail(std::string what) {
    if (problem_.empty())
      problem_ = std::move(what);
  }

  std::uint32_t u32(std::string_view what) { return static_cast<std::uint32_t>(read(4, what)); }
  std::int32_t i32(std::string_view what) { return static_cast<std::int32_t>(u32(what)); }
  std::int16_t i16(std::string_view what) {
    return static_cast<std::int16_t>(static_cast<std::uint16_t>(read(2, what)));
  }
  std::uint8_t u8(std::string_view what) { return static_cast<std::uint8_t>(read(1, what)); }

  /// A NUL-terminated string.
  std::string cstring(std::string_view what) {
    if (failed())
      return {};
    auto rest = view(pos_, remaining());
    auto nul = rest.find('\0');
    if (nul == std::string_view::npos) {
      fail(std::string(what) + ": no terminating NUL byte before the end of the message");
      return {};
    }
    pos_ += nul + 1;
    return std::string(rest.substr(0, nul));
  }

  /// `count` raw bytes.
  std::string bytes(std::size_t count, std::string_view what) {
    if (failed())
      return {};
    if (count > remaining()) {
      fail(std::string(what) + ": claims " + std::to_string(count) + " bytes but only " +
           std::to_string(remaining()) + " remain in the message");
      return {};
    }
    std::string out(view(pos_, count));
    pos_ += count;
    return out;
  }

  /// A view of `count` raw bytes (lives as long as the body).
  std::string_view bytes_view(std::size_t count, std::string_view what) {
    if (failed())
      return {};
    if (count > remaining()) {
      fail(std::string(what) + ": claims " + std::to_string(count) + " bytes but only " +
           std::to_string(remaining()) + " remain in the message");
      return {};
    }
    auto out = view(pos_, count);
    pos_ += count;
    return out;
  }

  /// The rest of the body.
  std::string rest() { return bytes(remaining(), "rest"); }

private:
  std::uint64_t read(std::size_t width, std::string_view what) {
    if (failed())
      return 0;
    if (remaining() < width) {
      fail(std::string(what) + ": needs " + std::to_string(width) + " bytes but only " +
           std::to_string(remaining()) + " remain in the message");
      return 0;
    }
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i)
      value = (value << 8) | std::to_integer<std::uint8_t>(body_[pos_ + i]);
    pos_ += width;
    return value;
  }

  std::string_view view(std::size_t at, std::size_t count) const {
    return {reinterpret_cast<const char*>(body_.data()) + at, count};
  }

  std::span<const std::byte> body_;
  std::size_t pos_ = 0;
  std::string problem_;
};

} // namespace actorloop::pg::detail
