#pragma once
/// @file
/// The protocol seam: a codec turns `message`s into bytes and back. The
/// connection layer and the server only ever talk to this interface, so a
/// different wire format plugs in without touching them. `make_framed_codec`
/// gives actorloop's own length-prefixed format (docs/protocol.md).
///
/// Thread safety: a codec is immutable after construction. Distinct objects:
/// safe. Shared objects: safe (all members are const).

#include <actorloop/netio/message.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace actorloop::netio {

/// Limits a decoder enforces before it allocates anything.
struct codec_limits {
  /// Largest frame accepted or produced, header included.
  std::uint32_t max_frame_bytes = default_max_frame_bytes;
};

/// What `codec::decode` found at the front of its input.
struct decode_result {
  /// Bytes that made up the decoded message; 0 when more input is needed (or
  /// on error).
  std::size_t consumed = 0;
  /// Set when the input can never become a valid message. The stream cannot
  /// be resynchronised after that: close the connection.
  std::error_code error;
  /// Names the problem for people, with the numbers involved ("frame claims
  /// 4294967299 bytes (length field 4294967295); the limit is 16777216");
  /// empty when there is no error.
  std::string detail;

  [[nodiscard]] bool complete() const noexcept { return consumed != 0 && !error; }
  [[nodiscard]] bool needs_more() const noexcept { return consumed == 0 && !error; }
};

class codec {
public:
  virtual ~codec() = default;

  /// A short name for diagnostics ("framed/1").
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;

  /// Appends the encoding of `value` to `out`. Fails, leaving `out` as it
  /// was, with `frame_too_large` if the encoding would exceed the limit, and
  /// with `invalid_argument` if the peer would have to refuse the message as
  /// malformed (a request without a command name, an enumerator value the
  /// protocol does not define).
  [[nodiscard]] virtual std::error_code encode(const message& value,
                                               std::vector<std::byte>& out) const = 0;

  /// Decodes at most one message from the front of `input` into `out`.
  /// Never reads past `input`, never allocates more than the frame's length
  /// once that length has been checked against the limit. `out` is written
  /// only when a message is complete; on "needs more" and on errors nothing
  /// is consumed and `out` is left as it was. A caller that decodes frame
  /// after frame into the same `out` lets the framed codec reuse its
  /// storage: a body of the kind `out` already holds is written into the
  /// strings and vectors it has (no allocation while they are large enough).
  [[nodiscard]] virtual decode_result decode(std::span<const std::byte> input,
                                             message& out) const = 0;
};

/// actorloop's framed protocol, version `protocol_version`; `name()` is
/// "framed/1". Throws `netio::error` (`invalid_argument`) if
/// `limits.max_frame_bytes` is smaller than the 16-byte frame header.
[[nodiscard]] std::unique_ptr<codec> make_framed_codec(codec_limits limits = {});

} // namespace actorloop::netio
