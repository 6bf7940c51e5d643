#pragma once
/// @file
/// Sockets as waitable events for applets, as in Open Files (`ofc_socket`).
/// An applet enables the readiness bits it wants (read, write, accept,
/// connect, close) and registers the socket in preselect; the socket is
/// ready while one of the enabled conditions holds (level-triggered), so an
/// applet that reads only part of the data is woken again. `accept`, `read`
/// and `write` never block, so they are safe inside postselect.
///
/// Readiness is watched by one of the engine's I/O workers (epoll, one-shot,
/// re-armed whenever the socket is found not ready or is consumed); the
/// socket calls themselves run on the caller's thread.
///
/// Thread safety: distinct objects: safe. Shared objects: safe for
/// `enable`, `test` and the waitable interface; `accept`, `read`, `write`
/// and `close` from one thread at a time (normally the owning applet).

#include <actorloop/netio/endpoint.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/waitable.hpp>

#include <cstddef>
#include <span>
#include <system_error>

namespace actorloop::netio {

/// Readiness bits (combine with |).
enum class readiness : unsigned {
  none = 0,
  read = 1,    ///< data (or the end of the stream) can be read
  write = 2,   ///< data can be written
  accept = 4,  ///< a listening socket has a connection waiting
  connect = 8, ///< a non-blocking connect finished (check `connect_result`)
  close = 16,  ///< the peer closed or reset the connection
};
[[nodiscard]] constexpr readiness operator|(readiness a, readiness b) noexcept {
  return static_cast<readiness>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
[[nodiscard]] constexpr readiness operator&(readiness a, readiness b) noexcept {
  return static_cast<readiness>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
[[nodiscard]] constexpr bool any(readiness bits) noexcept { return bits != readiness::none; }

class socket : public runtime::waitable {
public:
  /// An empty handle.
  socket() = default;

  /// A listening socket (TCP or Unix). Port 0 picks a free port; see
  /// `local_endpoint`. Throws `netio::error` naming the address on failure.
  [[nodiscard]] static socket listen(runtime::engine& engine, const endpoint& where,
                                     int backlog = 128);

  /// Starts a non-blocking connect to a numeric address or a Unix path (host
  /// names: resolve first with `connection::lookup`). Enable
  /// `readiness::connect` and wait; then check `connect_result`.
  [[nodiscard]] static socket connect(runtime::engine& engine, const endpoint& where);

  /// Sets the readiness bits that make this socket ready.
  void enable(readiness bits);
  [[nodiscard]] readiness enabled() const;
  /// The enabled bits that hold now (a zero-timeout poll of the socket).
  [[nodiscard]] readiness test() const;

  /// Accepts one waiting connection; an empty socket when none is waiting.
  /// Throws `netio::error` on failure.
  [[nodiscard]] socket accept();

  /// Reads without blocking: n > 0 bytes; 0 with `error` clear = nothing now;
  /// 0 with `error` = end (`connection_closed`) or failure.
  [[nodiscard]] std::size_t read(std::span<std::byte> buffer, std::error_code& error);
  /// Writes without blocking; 0 with `error` clear = would block.
  [[nodiscard]] std::size_t write(std::span<const std::byte> data, std::error_code& error);

  /// The result of a connect once `readiness::connect` held (empty = connected).
  [[nodiscard]] std::error_code connect_result() const;
  [[nodiscard]] endpoint local_endpoint() const;

  /// Closes the socket; the waitable is closed too (waiters drop it).
  void close();

private:
  explicit socket(std::shared_ptr<runtime::detail::waitable_state> state)
    : runtime::waitable(std::move(state)) {}
};

} // namespace actorloop::netio
