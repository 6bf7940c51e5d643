// Framing of backend messages: the type byte and length word are checked
// against libpq's limits as soon as the 5-byte header is there, before any
// body byte is awaited or stored, so a hostile length costs nothing.
#include "backend_parse.hpp"

#include <actorloop/pg/backend.hpp>
#include <actorloop/pg/error.hpp>

#include <algorithm>
#include <cstring>

namespace actorloop::pg {

namespace {

void fail_with(decode_result& out, errc code, std::string detail) {
  out.error = code;
  out.detail = std::move(detail);
}

/// decode_backend_message into `out` (empty on entry): the message is
/// parsed in place in the caller's result, never moved.
void decode_into(std::span<const std::byte> input, std::size_t& consumed,
                 const decoder_limits& limits, decode_result& out) {
  consumed = 0;
  if (input.empty())
    return;
  const char type = static_cast<char>(input[0]);
  if (detail::backend_message_name(type) == nullptr)
    return fail_with(out, errc::unknown_message_type,
                     detail::describe_type(type) + " is not a backend message type");
  if (input.size() < 5)
    return;
  std::uint32_t length = 0;
  for (std::size_t i = 1; i < 5; ++i)
    length = (length << 8) | std::to_integer<std::uint8_t>(input[i]);

  // The type's name goes into error texts only: never built on the good path.
  auto what = [type] { return detail::describe_type(type); };
  if (length < decoder_limits::min_length)
    return fail_with(out, errc::lost_synchronization,
                     what() + " claims length " + std::to_string(length) +
                       ", below the minimum of 4 (lost synchronization with the server)");
  if (type == 'R' &&
      (length < decoder_limits::min_auth_length || length > decoder_limits::max_auth_length))
    return fail_with(out, errc::bad_authentication_request,
                     what() + " claims length " + std::to_string(length) +
                       "; an authentication request must be 8 to 2000 bytes");
  if (!is_long_message_type(type) && length > decoder_limits::max_short_length)
    return fail_with(out, errc::lost_synchronization,
                     what() + " claims length " + std::to_string(length) +
                       ", above the 30000 allowed for this type (lost synchronization with the "
                       "server)");
  if (is_long_message_type(type) && length > limits.max_long_length)
    return fail_with(out, errc::message_too_large,
                     what() + " claims length " + std::to_string(length) +
                       ", above the limit of " + std::to_string(limits.max_long_length));

  const std::size_t total = std::size_t{1} + length;
  if (input.size() < total)
    return;
  std::error_code code;
  if (!detail::parse_backend_body(type, input.subspan(5, length - 4), code, out.detail,
                                  out.message)) {
    out.error = static_cast<errc>(code.value());
    return;
  }
  consumed = total;
}

} // namespace

decode_result decode_backend_message(std::span<const std::byte> input, std::size_t& consumed,
                                     const decoder_limits& limits) {
  decode_result out;
  decode_into(input, consumed, limits, out);
  return out;
}

backend_decoder::backend_decoder(decoder_limits limits) : limits_(limits) {
  if (limits_.max_long_length < decoder_limits::max_short_length)
    throw error(errc::invalid_argument,
                "decoder_limits::max_long_length " + std::to_string(limits_.max_long_length) +
                  " is below the 30000 bytes every message type may use");
}

void backend_decoder::make_room(std::size_t size) {
  // Drop what was decoded first when that moves no more bytes than it frees
  // (or the buffer would grow anyway): after a read decoded to its end only
  // the partial message at the end moves.
  if (start_ != 0 && (start_ >= end_ - start_ || capacity_ - end_ < size)) {
    if (start_ != end_)
      std::memmove(buffer_.get(), buffer_.get() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  if (capacity_ - end_ < size) {
    // Not zeroed first (a vector's resize would write every byte of a read's
    // room, 64 KiB per connection, before the read overwrites it).
    auto wanted = std::max(end_ + size, capacity_ + capacity_ / 2);
    auto grown = std::make_unique_for_overwrite<std::byte[]>(wanted);
    if (end_ != 0)
      std::memcpy(grown.get(), buffer_.get(), end_);
    buffer_ = std::move(grown);
    capacity_ = wanted;
  }
}

void backend_decoder::feed(std::span<const std::byte> bytes) {
  if (bytes.empty())
    return;
  make_room(bytes.size());
  std::memcpy(buffer_.get() + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
}

std::span<std::byte> backend_decoder::prepare(std::size_t size) {
  make_room(size);
  return std::span<std::byte>{buffer_.get() + end_, capacity_ - end_};
}

void backend_decoder::commit(std::size_t size) {
  if (size > capacity_ - end_)
    throw error(errc::invalid_argument,
                "backend_decoder::commit: " + std::to_string(size) + " bytes committed but only " +
                  std::to_string(capacity_ - end_) + " were prepared");
  end_ += size;
}

void backend_decoder::feed(std::string_view bytes) {
  feed(std::span<const std::byte>{reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()});
}

decode_result backend_decoder::next() {
  // One result object on every path, so that it is built in the caller's
  // slot and the message is never moved.
  decode_result out;
  if (error_) {
    out.error = error_;
    out.detail = error_detail_;
    return out;
  }
  std::size_t consumed = 0;
  decode_into(std::span<const std::byte>{buffer_.get() + start_, end_ - start_}, consumed, limits_,
              out);
  if (out.error) {
    error_ = out.error;
    error_detail_ = out.detail;
    return out;
  }
  start_ += consumed;
  if (start_ == end_)
    start_ = end_ = 0;
  return out;
}

// -- framing only (detail::backend_decoder_access) ---------------------------------

namespace detail {

bool backend_decoder_access::peek(const backend_decoder& decoder, backend_frame& frame) noexcept {
  // The checks of decode_into, without their texts: anything they would
  // refuse (or an incomplete message) is left to next().
  const std::size_t available = decoder.end_ - decoder.start_;
  if (available < 5 || decoder.error_)
    return false;
  const auto* at = reinterpret_cast<const unsigned char*>(decoder.buffer_.get() + decoder.start_);
  const char type = static_cast<char>(at[0]);
  const std::uint32_t length = (std::uint32_t{at[1]} << 24) | (std::uint32_t{at[2]} << 16) |
                               (std::uint32_t{at[3]} << 8) | std::uint32_t{at[4]};
  if (length < decoder_limits::min_length || available - 1 < length)
    return false;
  if (length > (is_long_message_type(type) ? decoder.limits_.max_long_length
                                           : decoder_limits::max_short_length))
    return false;
  if (type == 'R' &&
      (length < decoder_limits::min_auth_length || length > decoder_limits::max_auth_length))
    return false;
  if (backend_message_name(type) == nullptr)
    return false;
  frame.type = type;
  frame.body = std::span<const std::byte>{decoder.buffer_.get() + decoder.start_ + 5, length - 4};
  return true;
}

void backend_decoder_access::consume(backend_decoder& decoder, const backend_frame& frame) noexcept {
  decoder.start_ += 5 + frame.body.size();
  if (decoder.start_ == decoder.end_)
    decoder.start_ = decoder.end_ = 0;
}

} // namespace detail

} // namespace actorloop::pg
