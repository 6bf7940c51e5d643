#pragma once
/// @file
/// A non-blocking byte stream: what a connection reads frames from and writes
/// frames to. Sockets, TLS sessions and the in-memory test stream all
/// implement it, so the protocol layer never knows which one it talks to.
///
/// Thread safety: distinct objects: safe. Shared objects: unsafe (one owner,
/// normally the connection's I/O worker, uses a stream at a time).

#include <cstddef>
#include <span>
#include <system_error>

namespace actorloop::netio {

class byte_stream {
public:
  virtual ~byte_stream() = default;

  /// Reads up to `buffer.size()` bytes without blocking.
  /// - returns n > 0: n bytes were read;
  /// - returns 0 and leaves `error` clear: nothing to read right now;
  /// - returns 0 and sets `error`: the stream ended (`errc::connection_closed`
  ///   for an orderly end, `errc::connection_reset`, or another error).
  [[nodiscard]] virtual std::size_t read_some(std::span<std::byte> buffer,
                                              std::error_code& error) = 0;

  /// Writes up to `data.size()` bytes without blocking.
  /// - returns n > 0: the first n bytes were accepted;
  /// - returns 0 and leaves `error` clear: the stream cannot take more now;
  /// - returns 0 and sets `error`: the stream failed.
  [[nodiscard]] virtual std::size_t write_some(std::span<const std::byte> data,
                                               std::error_code& error) = 0;

  /// True while the stream holds bytes of its own that still must reach the
  /// peer (for example TLS records); call `flush` when writable.
  [[nodiscard]] virtual bool has_pending_output() const noexcept { return false; }

  /// Pushes the stream's own pending bytes out; see `has_pending_output`.
  virtual std::error_code flush() { return {}; }

  /// Ends the sending direction in an orderly way (TLS close_notify, then a
  /// TCP half-close). Further writes fail.
  virtual void shutdown_send() noexcept = 0;
};

} // namespace actorloop::netio
