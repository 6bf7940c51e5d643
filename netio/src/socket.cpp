#include <actorloop/netio/socket.hpp>

#include <actorloop/runtime/detail/access.hpp>

#include <actorloop/netio/detail/io_worker.hpp>
#include <actorloop/netio/detail/socket_ops.hpp>

#include <actorloop/netio/error.hpp>

#include <arpa/inet.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

namespace actorloop::netio {

namespace {

class socket_state;

/// The epoll registration of one socket; lives on its I/O worker and only
/// reaches the socket's state through a weak reference, so a socket can go
/// away while the worker still has an event for it in hand.
class socket_watch final : public detail::io_handler {
public:
  socket_watch(std::weak_ptr<socket_state> owner, int fd) : owner_(std::move(owner)), fd_(fd) {}
  void on_io(std::uint32_t events) noexcept override;
  void on_worker_stopping() noexcept override;
  detail::io_worker* worker = nullptr;
  bool registered = false;

private:
  std::weak_ptr<socket_state> owner_;
  int fd_;
};

class socket_state final : public runtime::detail::waitable_state,
                           public std::enable_shared_from_this<socket_state> {
public:
  socket_state(std::shared_ptr<detail::io_worker> worker, int fd, bool listening, bool connecting)
    : waitable_state(runtime::waitable_kind::socket, listening ? "listening socket" : "socket"),
      worker_(std::move(worker)), fd_(fd), listening_(listening), connecting_(connecting) {}

  ~socket_state() override { release(); }

  void start() {
    watch_ = std::make_shared<socket_watch>(weak_from_this(), fd_);
    watch_->worker = worker_.get();
    auto watch = watch_;
    auto fd = fd_;
    auto self = shared_from_this();
    worker_->run_or_post([self, watch, fd] {
      // Registered disarmed; arming is up to the state from now on.
      if (!watch->worker->add(fd, EPOLLONESHOT, *watch)) {
        watch->registered = true;
        self->on_registered();
      }
    });
  }

  void enable(readiness bits) {
    std::lock_guard guard{mutex_};
    enabled_ = bits;
    armed_ = false;
    if (ready_locked())
      signal_locked();
  }

  readiness enabled() const {
    std::lock_guard guard{mutex_};
    return enabled_;
  }

  readiness test() const {
    std::lock_guard guard{mutex_};
    return current_locked();
  }

  /// The epoll registration is in place: arm it (or report readiness).
  void on_registered() {
    std::lock_guard guard{mutex_};
    registered_ = true;
    armed_ = false;
    if (ready_locked())
      signal_locked();
  }

  /// The worker saw an event: the one-shot registration is disarmed now.
  void on_event() {
    std::lock_guard guard{mutex_};
    armed_ = false;
    if (ready_locked())
      signal_locked();
  }

  int fd() const noexcept { return fd_; }
  bool listening() const noexcept { return listening_; }
  const std::shared_ptr<detail::io_worker>& worker() const noexcept { return worker_; }

  std::error_code connect_result() const {
    std::lock_guard guard{mutex_};
    if (fd_ < 0)
      return errc::not_connected;
    return detail::pending_socket_error(fd_);
  }

  void mark_connected() {
    std::lock_guard guard{mutex_};
    connecting_ = false;
  }

  void shut() {
    close();
    release();
  }

protected:
  bool ready_locked() const override {
    if (any(current_locked()))
      return true;
    arm_locked();
    return false;
  }

  void consume_locked() override {
    // The applet is about to act on the readiness; look again afterwards.
    armed_ = false;
    arm_locked();
  }

private:
  readiness current_locked() const {
    if (fd_ < 0 || enabled_ == readiness::none)
      return readiness::none;
    pollfd probe{fd_, POLLIN | POLLOUT | POLLRDHUP, 0};
    if (::poll(&probe, 1, 0) <= 0)
      return readiness::none;
    readiness now = readiness::none;
    if (probe.revents & POLLIN)
      now = now | (listening_ ? readiness::accept : readiness::read);
    if (probe.revents & POLLOUT)
      now = now | (connecting_ ? readiness::connect : readiness::write);
    if (probe.revents & (POLLHUP | POLLRDHUP | POLLERR))
      now = now | readiness::close | (connecting_ ? readiness::connect : readiness::none) |
            (listening_ ? readiness::none : readiness::read);
    return now & enabled_;
  }

  void arm_locked() const {
    if (armed_ || !registered_ || fd_ < 0 || enabled_ == readiness::none || !watch_)
      return;
    std::uint32_t events = EPOLLONESHOT;
    auto wants = [&](readiness bit) { return any(enabled_ & bit); };
    if (wants(readiness::read) || wants(readiness::accept))
      events |= EPOLLIN;
    if (wants(readiness::write) || wants(readiness::connect))
      events |= EPOLLOUT;
    if (wants(readiness::close))
      events |= EPOLLRDHUP;
    // epoll_ctl is thread-safe; re-arming needs no trip to the worker. Before
    // the worker has registered the socket there is nothing to arm;
    // `on_registered` arms it then.
    if (!worker_->modify(fd_, events, *watch_))
      armed_ = true;
  }

  void release() {
    std::shared_ptr<socket_watch> watch;
    int fd = -1;
    {
      // The worker reads fd_ under the lock (readiness tests); take it away
      // under the lock too.
      std::lock_guard guard{mutex_};
      if (released_)
        return;
      released_ = true;
      watch = watch_;
      fd = fd_;
      fd_ = -1;
    }
    if (fd < 0)
      return;
    auto cleanup = [watch, fd] {
      if (watch && watch->registered) {
        watch->worker->remove(fd, *watch);
        watch->registered = false;
      }
      ::close(fd);
    };
    if (!worker_->run_or_post(cleanup)) {
      // The worker stopped; it removed everything already.
      ::close(fd);
    }
  }

  std::shared_ptr<detail::io_worker> worker_;
  std::shared_ptr<socket_watch> watch_;
  int fd_;
  const bool listening_;
  bool connecting_;
  readiness enabled_ = readiness::none;
  mutable bool armed_ = false;
  bool registered_ = false;
  bool released_ = false;
};

void socket_watch::on_io(std::uint32_t) noexcept {
  if (auto alive = owner_.lock())
    alive->on_event();
}

void socket_watch::on_worker_stopping() noexcept {
  if (registered) {
    worker->remove(fd_, *this);
    registered = false;
  }
}

socket_state& state_of(const runtime::waitable& handle) {
  auto& shared = runtime::detail::access::state(handle);
  if (!shared)
    throw error(errc::invalid_argument, "empty socket handle");
  return static_cast<socket_state&>(*shared);
}

} // namespace

socket socket::listen(runtime::engine& engine, const endpoint& where, int backlog) {
  std::error_code failure;
  std::string detail;
  auto addresses = detail::resolve(where, true, failure, detail);
  if (failure)
    throw error(failure, "socket::listen on " + where.to_string() + ": " + detail);
  int fd = -1;
  for (auto& address : addresses) {
    fd = detail::open_listener(address, backlog, failure, detail);
    if (fd >= 0)
      break;
  }
  if (fd < 0)
    throw error(failure, "socket::listen: " + detail);
  auto state = std::make_shared<socket_state>(detail::pool_of(engine).next_shared_worker(), fd,
                                              true, false);
  state->start();
  return socket{state};
}

socket socket::connect(runtime::engine& engine, const endpoint& where) {
  std::error_code failure;
  std::string detail;
  std::vector<detail::socket_address> addresses;
  if (where.kind == endpoint::family::unix_domain) {
    addresses = detail::resolve(where, false, failure, detail);
  } else {
    unsigned char scratch[16];
    bool numeric = inet_pton(AF_INET, where.host.c_str(), scratch) == 1 ||
                   inet_pton(AF_INET6, where.host.c_str(), scratch) == 1;
    if (!numeric)
      throw error(errc::invalid_argument,
                  "socket::connect: '" + where.host +
                    "' is not a numeric address; resolve it first (connection::lookup)");
    addresses = detail::resolve(where, false, failure, detail);
  }
  if (failure)
    throw error(failure, "socket::connect to " + where.to_string() + ": " + detail);
  int fd = detail::start_connect(addresses.at(0), failure, detail);
  if (fd < 0)
    throw error(failure, "socket::connect: " + detail);
  auto state = std::make_shared<socket_state>(detail::pool_of(engine).next_shared_worker(), fd,
                                              false, true);
  state->start();
  return socket{state};
}

void socket::enable(readiness bits) {
  state_of(*this).enable(bits);
}

readiness socket::enabled() const {
  return state_of(*this).enabled();
}

readiness socket::test() const {
  return state_of(*this).test();
}

socket socket::accept() {
  auto& state = state_of(*this);
  if (!state.listening())
    throw error(errc::invalid_argument, "socket::accept on a socket that is not listening");
  std::error_code failure;
  int fd = detail::accept_connection(state.fd(), nullptr, failure);
  if (fd < 0) {
    if (failure)
      throw error(failure, "socket::accept failed: " + failure.message());
    return socket{};
  }
  detail::set_no_delay(fd);
  auto accepted = std::make_shared<socket_state>(state.worker(), fd, false, false);
  accepted->start();
  return socket{accepted};
}

std::size_t socket::read(std::span<std::byte> buffer, std::error_code& error) {
  auto& state = state_of(*this);
  if (state.fd() < 0) {
    error = errc::not_connected;
    return 0;
  }
  detail::socket_stream view{state.fd()};
  auto got = view.read_some(buffer, error);
  view.release();
  return got;
}

std::size_t socket::write(std::span<const std::byte> data, std::error_code& error) {
  auto& state = state_of(*this);
  if (state.fd() < 0) {
    error = errc::not_connected;
    return 0;
  }
  detail::socket_stream view{state.fd()};
  auto sent = view.write_some(data, error);
  view.release();
  return sent;
}

std::error_code socket::connect_result() const {
  auto& state = state_of(*this);
  auto result = state.connect_result();
  if (!result)
    state.mark_connected();
  return result;
}

endpoint socket::local_endpoint() const {
  return detail::local_address(state_of(*this).fd()).to_endpoint();
}

void socket::close() {
  if (state_)
    state_of(*this).shut();
}

} // namespace actorloop::netio
