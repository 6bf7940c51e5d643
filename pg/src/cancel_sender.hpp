#pragma once
// One CancelRequest on its own connection (PostgreSQL protocol, "Canceling
// Requests in Progress"): a non-blocking connect to the address the session
// uses, the 16-byte request, then wait for the server to close. Runs on the
// session's I/O worker and never blocks it; the worker's epoll drives every
// step.

#include <actorloop/netio/detail/io_worker.hpp>
#include <actorloop/netio/detail/socket_ops.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace actorloop::pg::detail {

class cancel_sender final : public netio::detail::io_handler,
                            public std::enable_shared_from_this<cancel_sender> {
public:
  /// `done` runs once on the worker: with an empty text when the request was
  /// sent and the server closed, else why it could not be sent.
  using finished = std::function<void(const std::shared_ptr<cancel_sender>&, std::string problem)>;

  cancel_sender(std::shared_ptr<netio::detail::io_worker> worker,
                netio::detail::socket_address address, std::vector<std::byte> request,
                finished done)
    : worker_(std::move(worker)), address_(std::move(address)), request_(std::move(request)),
      done_(std::move(done)) {}
  ~cancel_sender() override;

  /// Starts the connect (on the worker thread).
  void start();
  /// Drops the attempt without reporting (the session is going).
  void stop() noexcept;

  void on_io(std::uint32_t epoll_events) noexcept override;
  void on_worker_stopping() noexcept override { stop(); }

private:
  void finish(std::string problem);

  std::shared_ptr<netio::detail::io_worker> worker_;
  netio::detail::socket_address address_;
  std::vector<std::byte> request_;
  finished done_;
  std::shared_ptr<cancel_sender> self_; // alive while the worker watches the socket
  int fd_ = -1;
  bool connected_ = false;
  std::size_t sent_ = 0;
};

} // namespace actorloop::pg::detail
