#pragma once
/// @file
/// An in-memory, connected pair of byte streams with fault injection, for
/// testing codecs and anything else that speaks through `byte_stream`
/// without a network.
///
/// What one end writes, the other end reads, in order. The faults:
///
/// | fault | how | effect |
/// |---|---|---|
/// | short reads | `max_read`, `set_max_read` | `read_some` returns at most that many bytes (1 = byte by byte) |
/// | short writes | `max_write`, `set_max_write` | `write_some` accepts at most that many bytes |
/// | backpressure | `capacity` | `write_some` returns 0 (no error) while the peer's unread bytes in that direction reach the capacity |
/// | stall | `stall`, `resume` | `read_some` on both ends returns 0 (no error: "nothing now") until `resume` or a reset; writes still go through |
/// | reset | `reset` | both ends fail with `connection_reset`; bytes that had arrived are still read first |
/// | mid-frame reset | `reset_after_bytes(n)` | the write that crosses `n` more bytes is cut short at the mark, then as `reset` |
/// | orderly close | `byte_stream::shutdown_send` | the peer reads what was sent, then `connection_closed`; the closing end's writes fail with `not_connected` |
/// | end destroyed | destructor | as `shutdown_send`; in addition, the peer's writes fail with `connection_reset` (nobody reads them) |
///
/// Thread safety: stronger than `byte_stream` requires. One mutex guards a
/// pair, so both ends and its `memory_faults` handle may be used from
/// different threads at the same time. Distinct objects: safe. Shared
/// objects: safe. Nothing blocks: a reader or writer that gets 0 without an
/// error polls again later (the pair has no readiness notifications).

#include <actorloop/netio/byte_stream.hpp>

#include <cstddef>
#include <memory>

namespace actorloop::netio {

/// Settings of a pair made by `make_memory_stream_pair`; they apply to both
/// directions.
struct memory_stream_options {
  /// Unread bytes one direction holds before `write_some` returns 0
  /// (backpressure). At least 1.
  std::size_t capacity = std::size_t{1} << 20;
  /// Most bytes one `read_some` returns (1 = byte by byte); 0 = no limit.
  std::size_t max_read = 0;
  /// Most bytes one `write_some` accepts; 0 = no limit.
  std::size_t max_write = 0;
};

namespace detail {
struct memory_pair_state;
} // namespace detail

struct memory_stream_pair;

/// Injects faults into a pair made by `make_memory_stream_pair` and shows
/// what is in flight. Copies share the pair. Thread safety: safe from any
/// thread, also while both ends are in use.
class memory_faults {
public:
  /// Reads on both ends return 0 without an error ("nothing now") until
  /// `resume` (or until a reset, which readers must see). Writes still go
  /// through, within the capacity.
  void stall();
  /// Ends a `stall`.
  void resume();
  /// Both ends fail from now on with `connection_reset`: writes at once,
  /// reads after they have returned the bytes that arrived before the reset.
  void reset();
  /// Arms a reset `bytes` bytes from now, counted over both directions: the
  /// write that crosses the mark is accepted only up to it (so a reset can
  /// fall in the middle of a frame), then the pair resets as with `reset`.
  /// With 0, the next write resets. Replaces an armed mark.
  void reset_after_bytes(std::size_t bytes);
  /// Changes `max_read` of both ends (0 = no limit).
  void set_max_read(std::size_t bytes);
  /// Changes `max_write` of both ends (0 = no limit).
  void set_max_write(std::size_t bytes);
  /// Bytes written by `first` and not yet read by `second`.
  [[nodiscard]] std::size_t pending_first_to_second() const;
  /// Bytes written by `second` and not yet read by `first`.
  [[nodiscard]] std::size_t pending_second_to_first() const;
  /// True once the pair has been reset (by `reset` or a crossed mark).
  [[nodiscard]] bool is_reset() const;

private:
  friend memory_stream_pair make_memory_stream_pair(memory_stream_options options);
  explicit memory_faults(std::shared_ptr<detail::memory_pair_state> state);

  std::shared_ptr<detail::memory_pair_state> state_;
};

/// The two ends of a pair and the handle that injects faults into it. The
/// ends and the handle share the pair's state; any of them may outlive the
/// others.
struct memory_stream_pair {
  std::unique_ptr<byte_stream> first;
  std::unique_ptr<byte_stream> second;
  memory_faults faults;
};

/// Makes two connected in-memory streams. Throws `netio::error`
/// (`invalid_argument`) if `options.capacity` is 0.
[[nodiscard]] memory_stream_pair make_memory_stream_pair(memory_stream_options options = {});

} // namespace actorloop::netio
