#pragma once
/// @file
/// Byte streams on the I/O workers: TCP or Unix connections (optionally
/// TLS) whose callbacks run on the connection's I/O worker. The lowest
/// layer of netio that applications use directly, for protocols of their own
/// (the message protocol's connections and server are built the same way).
///
/// Buffers are bounded: `write` refuses (`errc::buffer_full`) once the
/// output queue holds `max_output_bytes`; `on_writable` says when it
/// drained. A callback that wants no more input calls `pause_reading`; the
/// peer's writes then stall in its kernel buffers (backpressure end to end).
///
/// Thread safety: distinct objects: safe. Shared objects: safe; `write`,
/// `pause_reading`, `resume_reading` and `close` may be called from any
/// thread (off the worker they are carried there through its mailbox).
/// Callbacks of one stream run one after another on its I/O worker.

#include <actorloop/netio/endpoint.hpp>
#include <actorloop/netio/error.hpp>
#include <actorloop/runtime/clock.hpp>
#include <actorloop/runtime/engine.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <thread>

namespace actorloop::netio {

class tls_context;
class stream;

namespace detail {
/// The library's access point to `stream`'s private constructor.
struct stream_access;
} // namespace detail

struct stream_callbacks {
  /// The connection (and its TLS handshake) is up.
  std::function<void(stream&)> on_open;
  /// Bytes arrived; the span is valid during the call only.
  std::function<void(stream&, std::span<const std::byte>)> on_data;
  /// The output queue drained after a `write` was refused.
  std::function<void(stream&)> on_writable;
  /// The stream closed: `connection_closed` for an orderly end, otherwise
  /// the error; `detail` names it. Called exactly once.
  std::function<void(stream&, std::error_code, const std::string& detail)> on_closed;
};

struct stream_options {
  std::size_t max_output_bytes = 4u * 1024u * 1024u;
  std::size_t read_chunk_bytes = 64u * 1024u;
  runtime::duration connect_timeout = std::chrono::seconds(10);
  /// TLS, if set; clients check `tls_host` (default: the endpoint's host).
  std::shared_ptr<const tls_context> tls;
  std::string tls_host;
};

class stream {
public:
  /// Connects (resolving host names on the resolver thread); the callbacks
  /// say how it went. Never blocks.
  [[nodiscard]] static stream connect(runtime::engine& engine, const endpoint& server,
                                      stream_callbacks callbacks, stream_options options = {});

  stream() = default;
  [[nodiscard]] explicit operator bool() const noexcept { return state_ != nullptr; }

  /// Queues bytes; `buffer_full` (nothing queued) above the limit,
  /// `not_connected` before open or after close. Off the worker the bytes
  /// are copied and the result is known only on the worker: then `write`
  /// returns success and a refused write closes the stream with buffer_full.
  std::error_code write(std::span<const std::byte> bytes);
  void pause_reading();
  void resume_reading();
  /// Sends what is queued, then closes.
  void close();
  /// Output bytes queued now (worker thread only; 0 elsewhere).
  [[nodiscard]] std::size_t queued_output() const;
  [[nodiscard]] std::thread::id io_thread() const;

  class state;

private:
  friend struct detail::stream_access;
  explicit stream(std::shared_ptr<state> shared) : state_(std::move(shared)) {}
  std::shared_ptr<state> state_;
};

/// Accepts connections and makes each a stream on the next I/O worker.
class stream_listener {
public:
  /// `on_accept` runs on the new stream's worker and returns its callbacks.
  stream_listener(runtime::engine& engine, const endpoint& where,
                  std::function<stream_callbacks(stream&)> on_accept, stream_options options = {},
                  int backlog = 512);
  ~stream_listener();
  stream_listener(const stream_listener&) = delete;
  stream_listener& operator=(const stream_listener&) = delete;

  [[nodiscard]] endpoint local_endpoint() const;
  /// Stops accepting (streams already accepted go on). Idempotent.
  void close();

  class state;

private:
  std::shared_ptr<state> state_;
};

} // namespace actorloop::netio
