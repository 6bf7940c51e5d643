// The CancelRequest connection: connect, send 16 bytes, wait for the close.
#include "cancel_sender.hpp"

#include <cerrno>
#include <cstring>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace actorloop::pg::detail {

cancel_sender::~cancel_sender() {
  if (fd_ >= 0)
    ::close(fd_);
}

void cancel_sender::start() {
  std::error_code problem;
  std::string detail;
  fd_ = netio::detail::start_connect(address_, problem, detail);
  if (fd_ < 0) {
    finish("cannot connect to " + address_.to_string() + ": " + detail);
    return;
  }
  if (auto added = worker_->add(fd_, EPOLLOUT, *this)) {
    ::close(fd_);
    fd_ = -1;
    finish("cannot watch the cancel connection: " + added.message());
    return;
  }
  self_ = shared_from_this();
}

void cancel_sender::stop() noexcept {
  auto keep = std::exchange(self_, nullptr);
  done_ = nullptr;
  if (fd_ >= 0) {
    worker_->remove(fd_, *this);
    ::close(fd_);
    fd_ = -1;
  }
}

void cancel_sender::finish(std::string problem) {
  auto keep = std::exchange(self_, nullptr);
  if (fd_ >= 0) {
    worker_->remove(fd_, *this);
    ::close(fd_);
    fd_ = -1;
  }
  if (auto done = std::exchange(done_, nullptr))
    done(keep ? keep : shared_from_this(), std::move(problem));
}

void cancel_sender::on_io(std::uint32_t epoll_events) noexcept {
  auto keep = shared_from_this();
  if (fd_ < 0)
    return;
  if (!connected_) {
    if (auto problem = netio::detail::pending_socket_error(fd_)) {
      finish("cannot connect to " + address_.to_string() + ": " + problem.message());
      return;
    }
    connected_ = true;
  }
  if (sent_ < request_.size()) {
    for (;;) {
      auto n = ::send(fd_, request_.data() + sent_, request_.size() - sent_, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return; // still EPOLLOUT
      if (n < 0) {
        finish("sending the CancelRequest to " + address_.to_string() +
               " failed: " + std::strerror(errno));
        return;
      }
      sent_ += static_cast<std::size_t>(n);
      if (sent_ == request_.size())
        break;
    }
    // Sent: the server answers nothing and closes once it has acted on it.
    if (auto changed = worker_->modify(fd_, EPOLLIN, *this)) {
      finish({}); // the request went out; only the wait for the close is lost
    }
    return;
  }
  if (epoll_events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    std::byte sink[64];
    for (;;) {
      auto n = ::recv(fd_, sink, sizeof sink, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
      if (n > 0)
        continue; // the protocol has no answer; anything else is ignored
      finish({}); // EOF or reset: the server is done with the request
      return;
    }
  }
}

} // namespace actorloop::pg::detail
