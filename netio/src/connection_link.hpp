#pragma once
// The framed protocol's side of a connection (docs/protocol.md): the
// worker-side `link` that owns the channel, logs in (TLS, security session,
// encryption and negotiation challenges) and turns what arrives into
// connection events for the core. Private to the netio module.

#include "channel.hpp"
#include <actorloop/netio/detail/connection_core.hpp>
#include <actorloop/netio/detail/socket_ops.hpp>

namespace actorloop::netio {

namespace detail {

/// The worker-side half of a connection: owns the channel, speaks the
/// protocol, and turns what arrives into connection events.
class link final : public connection_transport,
                   public channel_owner,
                   public std::enable_shared_from_this<link> {
public:
  link(std::shared_ptr<io_worker> worker, std::shared_ptr<connection::state> owner)
    : worker_(std::move(worker)), owner_(std::move(owner)) {}

  void start_connect(std::uint64_t connect_id, endpoint server, connect_options options);
  void send_request(std::uint64_t request_id, request command);
  void start_lookup(std::uint64_t lookup_id, std::string host, std::uint16_t port);

  // connection_transport
  void pause() override;
  void resume() override;
  void start_close(std::uint64_t close_id) override;
  void force_close() override;
  void send_cancel(std::vector<std::uint64_t> request_ids) override;
  void abandon() override;
  /// The connect timeout passed (worker thread).
  void connect_deadline_reached();

  // Login answers, posted back from the delivery thread.
  void answer_security(callback_result answer, std::string why);
  void answer_challenge(bool ok, std::uint32_t message_id, std::string data, std::string why);

  void on_channel_open() override;
  bool on_channel_message(message&& value) override;
  void on_channel_closed(std::error_code error, const std::string& detail) override;
  void on_channel_decode_error(std::error_code error, const std::string& detail) override;

private:
  void try_address(std::size_t index);
  void fail_connect(std::error_code error, const std::string& text);
  /// Delivers the completion of an outstanding operation, exactly once.
  /// `outcome`: the server's completion record of request `id`, filed into
  /// its result before the completion is delivered.
  void complete(function_id function, std::uint64_t id, retcode status,
                completion* outcome = nullptr);
  void send_hello();
  void handle_challenge(const challenge& question);
  void complete_connect(retcode status);

  std::shared_ptr<io_worker> worker_;
  std::shared_ptr<connection::state> owner_;
  std::shared_ptr<channel> channel_;
  endpoint server_;
  connect_options options_;
  std::vector<socket_address> addresses_;
  std::error_code last_connect_error_;
  std::string last_connect_detail_;
  enum class phase { idle, resolving, connecting, security, login, ready, closing, closed };
  phase phase_ = phase::idle;
  std::error_code decode_error_;
  // Operations this link still has to complete (the worker's own view).
  std::deque<pending_operation> outstanding_;
  std::shared_ptr<runtime::detail::deadline_target> connect_timer_;
  std::string decode_detail_;
};

} // namespace detail

} // namespace actorloop::netio
