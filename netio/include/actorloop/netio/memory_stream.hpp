#pragma once
/// @file
/// An in-memory, connected pair of byte streams with fault injection, for
/// testing codecs and anything else that speaks through `byte_stream`
/// without a network: short reads and writes, a bounded capacity per
/// direction (backpressure), stalls, resets (also in the middle of a frame)
/// and orderly closes.
///
/// Thread safety: distinct objects: safe. Shared objects: safe; both ends
/// and the `memory_faults` handle may be used from different threads (one
/// mutex guards the pair).

#include <actorloop/netio/byte_stream.hpp>

#include <cstddef>
#include <memory>
#include <utility>

namespace actorloop::netio {

struct memory_stream_options {
  /// Bytes one direction holds before `write_some` returns 0 (backpressure).
  std::size_t capacity = 1u << 20;
  /// Most bytes one `read_some` returns (1 = byte by byte); 0 = no limit.
  std::size_t max_read = 0;
  /// Most bytes one `write_some` accepts; 0 = no limit.
  std::size_t max_write = 0;
};

/// Injects faults into a pair made by `make_memory_stream_pair`.
class memory_faults {
public:
  /// Reads on both ends return "nothing now" until `resume`.
  void stall();
  void resume();
  /// Both ends fail from now on with `connection_reset` (reads first return
  /// what had arrived before).
  void reset();
  /// The stream fails with `connection_reset` once `bytes` more bytes have
  /// been written through it (either direction); the write that crosses the
  /// mark is cut short there, so a reset can fall in the middle of a frame.
  void reset_after_bytes(std::size_t bytes);
  /// Changes the read limit of both ends (see memory_stream_options).
  void set_max_read(std::size_t bytes);
  /// Bytes written and not yet read, in the direction first -> second.
  [[nodiscard]] std::size_t pending_first_to_second() const;
  [[nodiscard]] std::size_t pending_second_to_first() const;

  struct shared;
  explicit memory_faults(std::shared_ptr<shared> state) : state_(std::move(state)) {}

private:
  std::shared_ptr<shared> state_;
};

struct memory_stream_pair {
  std::unique_ptr<byte_stream> first;
  std::unique_ptr<byte_stream> second;
  memory_faults faults;
};

/// Two connected streams: what one writes, the other reads. Closing one end
/// (`shutdown_send`) makes the other read `connection_closed` once drained.
[[nodiscard]] memory_stream_pair make_memory_stream_pair(memory_stream_options options = {});

} // namespace actorloop::netio
