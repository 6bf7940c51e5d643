#pragma once
// Reads the protocol's big-endian integers and NUL-terminated strings from a
// message body, never past its end. A failed read records what was being
// read, so the decoder can name the problem ("RowDescription ('T'): field 2
// name: no terminating NUL").
//
// What a read is for is a `wire_label`, formatted only when the bytes are
// bad: the good path builds no text (the decoder reads millions of values).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace actorloop::pg::detail {

/// Names a field for an error text: `head`, then ` <number>` when `number`
/// is not 0, then `tail` ("value 3 length" is {"value", 3, " length"}).
/// Holds views: it lives only for the call it is passed to.
struct wire_label {
  std::string_view head;
  std::size_t number = 0;
  std::string_view tail;

  wire_label(const char* text) : head(text) {}       // NOLINT: a plain name converts
  wire_label(std::string_view text) : head(text) {}  // NOLINT
  wire_label(const std::string& text) : head(text) {} // NOLINT
  wire_label(std::string_view first, std::size_t n, std::string_view last = {})
    : head(first), number(n), tail(last) {}

  [[nodiscard]] std::string str() const {
    std::string out{head};
    if (number != 0) {
      out += ' ';
      out += std::to_string(number);
    }
    out += tail;
    return out;
  }
};

class wire_reader {
public:
  explicit wire_reader(std::span<const std::byte> body) : body_(body) {}

  [[nodiscard]] bool failed() const noexcept { return !problem_.empty(); }
  [[nodiscard]] const std::string& problem() const noexcept { return problem_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return body_.size() - pos_; }
  [[nodiscard]] bool at_end() const noexcept { return pos_ == body_.size(); }
  /// Bytes read so far.
  [[nodiscard]] std::size_t position() const noexcept { return pos_; }
  /// The unread rest of the body, without reading it.
  [[nodiscard]] std::string_view peek_rest() const noexcept { return view(pos_, remaining()); }

  /// Records a problem (the first one wins).
  void fail(std::string what) {
    if (problem_.empty())
      problem_ = std::move(what);
  }

  std::uint32_t u32(const wire_label& what) { return static_cast<std::uint32_t>(read(4, what)); }
  std::int32_t i32(const wire_label& what) { return static_cast<std::int32_t>(u32(what)); }
  std::int16_t i16(const wire_label& what) {
    return static_cast<std::int16_t>(static_cast<std::uint16_t>(read(2, what)));
  }
  std::uint8_t u8(const wire_label& what) { return static_cast<std::uint8_t>(read(1, what)); }

  /// A NUL-terminated string.
  std::string cstring(const wire_label& what) {
    if (failed())
      return {};
    auto rest = view(pos_, remaining());
    auto nul = rest.find('\0');
    if (nul == std::string_view::npos) {
      fail(what.str() + ": no terminating NUL byte before the end of the message");
      return {};
    }
    pos_ += nul + 1;
    return std::string(rest.substr(0, nul));
  }

  /// `count` raw bytes.
  std::string bytes(std::size_t count, const wire_label& what) {
    return std::string(bytes_view(count, what));
  }

  /// A view of `count` raw bytes (lives as long as the body).
  std::string_view bytes_view(std::size_t count, const wire_label& what) {
    if (failed())
      return {};
    if (count > remaining()) {
      too_short("claims", count, what);
      return {};
    }
    auto out = view(pos_, count);
    pos_ += count;
    return out;
  }

  /// The rest of the body.
  std::string rest() { return bytes(remaining(), "rest"); }

private:
  std::uint64_t read(std::size_t width, const wire_label& what) {
    if (failed())
      return 0;
    if (remaining() < width) {
      too_short("needs", width, what);
      return 0;
    }
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i)
      value = (value << 8) | std::to_integer<std::uint8_t>(body_[pos_ + i]);
    pos_ += width;
    return value;
  }

  // Out of line of the reads above: only bad bytes get here.
  [[gnu::noinline, gnu::cold]] void too_short(const char* verb, std::size_t count,
                                              const wire_label& what) {
    fail(what.str() + ": " + verb + " " + std::to_string(count) + " bytes but only " +
         std::to_string(remaining()) + " remain in the message");
  }

  std::string_view view(std::size_t at, std::size_t count) const {
    return {reinterpret_cast<const char*>(body_.data()) + at, count};
  }

  std::span<const std::byte> body_;
  std::size_t pos_ = 0;
  std::string problem_;
};

} // namespace actorloop::pg::detail
