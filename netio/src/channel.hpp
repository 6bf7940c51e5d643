#pragma once
// A channel: one socket on one I/O worker carrying codec messages. It does the
// non-blocking connect (with its timeout), an optional security handshake,
// bounded buffering in both directions, and framing. Client connections and
// server sessions are both built on it. Every member runs on the worker's
// thread.

#include <actorloop/netio/detail/io_worker.hpp>

#include <actorloop/netio/byte_stream.hpp>
#include <actorloop/netio/codec.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace actorloop::netio::detail {

/// What a channel tells its owner; every call runs on the worker's thread.
class channel_owner {
public:
  virtual ~channel_owner() = default;
  /// The transport (and its security handshake) is up.
  virtual void on_channel_open() = 0;
  /// One decoded message. Return false to stop reading until `resume_reading`
  /// (backpressure: the owner's queue is full).
  virtual bool on_channel_message(message&& value) = 0;
  /// The channel closed; `error` says why (connection_closed for an orderly
  /// end). Called exactly once; the channel sends and reads nothing after it.
  virtual void on_channel_closed(std::error_code error, const std::string& detail) = 0;
  /// Raw channels (no codec): bytes as they arrive. Return false to stop
  /// reading until `resume_reading`.
  virtual bool on_channel_bytes(std::span<const std::byte> bytes) {
    (void)bytes;
    return true;
  }
  /// The peer sent bytes the codec rejects. The owner may queue a last
  /// message (the server's fatal server message); the channel then sends
  /// what is queued and closes with `error`.
  virtual void on_channel_decode_error(std::error_code error, const std::string& detail) {
    (void)error;
    (void)detail;
  }
  /// Buffered output fell to zero after `send` had reported buffer_full or
  /// the output had been above the low-water mark.
  virtual void on_channel_writable() {}
};

/// A security layer over the socket (TLS). `step` advances the handshake;
/// true when finished. `wants_write` says which readiness to wait for next.
/// `wants_read` (optional): after a read that filled less than its buffer,
/// true when the layer holds no more input and waits for the socket (so the
/// channel need not ask again until it is readable).
struct security_layer {
  std::unique_ptr<byte_stream> stream;
  std::function<bool(std::error_code&, std::string&)> step;
  std::function<bool()> wants_write;
  std::function<bool()> wants_read;
};

struct channel_options {
  /// The codec; empty for a raw byte channel (`on_channel_bytes`).
  std::shared_ptr<const codec> wire;
  /// Bytes of encoded output a channel buffers before `send` says buffer_full.
  std::size_t max_output_bytes = 4u * 1024u * 1024u;
  /// Bytes read from the socket per call.
  std::size_t read_chunk_bytes = 64u * 1024u;
  /// Connect timeout (zero = none). Only for channels made by `connect`.
  runtime::duration connect_timeout = std::chrono::seconds(10);
  /// Security handshake timeout (zero = none); the channel closes with
  /// errc::timed_out when it passes.
  runtime::duration handshake_timeout = runtime::duration::zero();
  /// Wraps the plain socket stream into a security layer, if set. Called on
  /// the worker once the TCP connection is up.
  std::function<security_layer(std::unique_ptr<byte_stream>)> secure;
};

class channel final : public io_handler, public std::enable_shared_from_this<channel> {
public:
  /// A channel over an accepted socket, or over a socket whose non-blocking
  /// connect is in progress (`connecting`).
  channel(io_worker& worker, int fd, bool connecting, channel_owner& owner,
          channel_options options);
  ~channel() override;

  /// Registers with the worker and starts connecting/handshaking/reading.
  void start();

  /// Queues one message. Fails with buffer_full (nothing queued) above the
  /// output limit, or not_connected after close / once closing after a
  /// flush (a last message stays the last).
  [[nodiscard]] std::error_code send(const message& value);
  /// Queues raw, already-encoded bytes (a server relaying one encoding to
  /// many). `beyond_limit`: queue even above the output limit (an owner that
  /// enforces its own bound, such as a server session's replies).
  [[nodiscard]] std::error_code send_encoded(std::span<const std::byte> bytes,
                                             bool beyond_limit = false);
  /// The same for bytes the caller gives up: they become the queue when
  /// nothing else is queued (no copy).
  [[nodiscard]] std::error_code send_encoded(std::vector<std::byte>&& bytes,
                                             bool beyond_limit = false);
  [[nodiscard]] std::size_t output_bytes() const noexcept { return output_.size() - output_offset_; }
  [[nodiscard]] bool open() const noexcept { return state_ == state::open; }
  [[nodiscard]] bool closed() const noexcept { return state_ == state::closed; }

  /// Asks for `on_channel_writable` once the queued output has drained
  /// (a producer that stopped at the output limit by itself).
  void notify_when_drained() noexcept { was_full_ = true; }
  void pause_reading();
  void resume_reading();

  /// Closes at once; the owner hears `on_channel_closed(reason)`.
  void close(std::error_code reason, std::string detail);
  /// Sends what is buffered, then closes with connection_closed. Nothing
  /// more is queued after this call. A positive `limit` closes the channel
  /// anyway (errc::timed_out) if the peer has not read it all by then.
  void close_after_flush(runtime::duration limit = runtime::duration::zero());
  [[nodiscard]] bool closing() const noexcept { return close_when_flushed_ || state_ == state::closed; }

  [[nodiscard]] io_worker& worker() const noexcept { return worker_; }
  /// The stream in use (a TLS stream once secured); nullptr after close.
  [[nodiscard]] byte_stream* stream() const noexcept { return stream_.get(); }
  [[nodiscard]] int fd() const noexcept { return fd_; }

  void on_io(std::uint32_t epoll_events) noexcept override;
  void on_worker_stopping() noexcept override;

private:
  enum class state { connecting, handshaking, open, closed };
  void update_interest();
  [[nodiscard]] bool can_write_through() const noexcept;
  /// Sends from `bytes` as far as the socket takes them; the bytes sent.
  /// A failure is only reported (the caller closes): closing tells the
  /// owner, which may drop this channel.
  std::size_t write_through(std::span<const std::byte> bytes, std::error_code& failure);
  void reset_drained_output() noexcept;
  void on_connected();
  void handshake();
  void read_available();
  void read_input();
  void drain_after_hangup();
  void write_pending();
  void deliver_buffered();
  /// Delivers the frames of bytes just read while nothing was buffered,
  /// decoding them where they lie (in the scratch buffer); only what is
  /// left after the last whole frame (or after a pause) is buffered.
  void deliver_in_place(std::span<const std::byte> bytes);
  /// Decodes and hands over the whole frames of `bytes` from `offset` on,
  /// while the channel is open and reading, advancing `offset` past each
  /// frame before its owner hears of it (so a nested delivery, through
  /// the same offset, starts after it). False when a frame was refused
  /// (refuse_input ran).
  bool deliver_frames(std::span<const std::byte> bytes, std::size_t& offset);
  /// Decodes the frame at the front of `bytes` into `decoded_` (or, in a
  /// nested delivery, into `nested`); `target` is set to the message used.
  decode_result decode_front(std::span<const std::byte> bytes, std::optional<message>& nested,
                             message*& target);
  /// Hands a message decode_front filled to the owner (pausing if it asks).
  void hand_over(message& decoded, std::size_t frame_bytes);
  /// A frame the codec refused: stop reading, let the owner say why, close.
  void refuse_input(const decode_result& result);
  void finish(std::error_code reason, std::string detail);

  io_worker& worker_;
  int fd_;
  channel_owner& owner_;
  channel_options options_;
  state state_;
  std::unique_ptr<byte_stream> stream_;
  security_layer security_;
  /// Where a read goes when the worker's shared receive buffer is lent
  /// already (a read nested in another channel's delivery), and where
  /// drain_after_hangup reads; made on first use.
  std::unique_ptr<std::byte[]> scratch_;
  std::vector<std::byte> input_;
  std::size_t input_offset_ = 0;
  std::vector<std::byte> output_;
  std::size_t output_offset_ = 0;
  bool reading_paused_ = false;
  bool registered_ = false;
  bool close_when_flushed_ = false;
  bool corked_ = false;
  /// deliver_in_place is decoding from the buffer just read into: a nested
  /// read must not overwrite it.
  bool delivering_read_ = false;
  /// deliver_buffered is decoding from input_: a nested one must not
  /// compact it under the outer one.
  bool delivering_input_ = false;
  /// The message frames are decoded into, reused from frame to frame so
  /// that the codec can decode into the storage the last one left (an
  /// owner that reads a message without moving from it leaves its strings
  /// for the next). `decoded_busy_`: a delivery is using it, so a nested
  /// one (an owner that resumes reading from its callback) decodes into a
  /// message of its own. `decoded_bytes_`: frame bytes decoded into it
  /// since it was last let go; past `max_decoded_bytes` it is dropped, so
  /// one large frame does not pin its buffers.
  static constexpr std::size_t max_decoded_bytes = 64u * 1024u;
  message decoded_;
  bool decoded_busy_ = false;
  std::size_t decoded_bytes_ = 0;
  std::error_code close_reason_;
  std::string close_detail_;
  bool was_full_ = false;
  std::uint32_t interest_ = 0;
  std::shared_ptr<runtime::detail::deadline_target> connect_timer_;
  std::shared_ptr<runtime::detail::deadline_target> handshake_timer_;
  std::shared_ptr<runtime::detail::deadline_target> flush_timer_;
};

} // namespace actorloop::netio::detail
