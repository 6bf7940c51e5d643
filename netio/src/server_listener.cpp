// The listening socket: binding, accepting onto the I/O workers (with TCP
// keepalive), and riding out descriptor exhaustion without spinning.

#include "server_session.hpp"
#include <actorloop/netio/detail/socket_ops.hpp>

#include <actorloop/netio/error.hpp>

#include <cerrno>
#include <fcntl.h>
#include <future>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace actorloop::netio {

namespace {

/// How long the listener rests when even the spare descriptor is gone.
constexpr auto exhausted_pause = std::chrono::milliseconds(100);

int open_spare() {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void enable_keepalive(int fd, std::chrono::seconds idle) {
  int on = 1;
  int first = static_cast<int>(std::max<std::chrono::seconds::rep>(idle.count(), 1));
  int interval = 10;
  int probes = 6;
  // Best effort: a Unix socket refuses these, which is fine.
  (void)::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &first, sizeof first);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
}

} // namespace

void message_server::state::listen() {
  std::error_code failure;
  std::string detail;
  auto addresses = detail::resolve(options.listen, true, failure, detail);
  if (failure)
    throw error(failure, "message server: cannot listen on " + options.listen.to_string() +
                           ": " + detail);
  for (auto& address : addresses) {
    failure.clear();
    listener = detail::open_listener(address, options.backlog, failure, detail);
    if (listener >= 0)
      break;
  }
  if (listener < 0)
    throw error(failure, "message server: " + detail);
  bound = detail::local_address(listener).to_endpoint();
  if (options.listen.kind == endpoint::family::tcp && bound.host == "0.0.0.0")
    bound.host = options.listen.host;
  spare_descriptor = open_spare();
  auto& pool = detail::pool_of(engine);
  listen_worker = &pool.worker(0);
  auto self = shared_from_this();
  std::promise<std::error_code> registered;
  auto done = registered.get_future();
  if (!listen_worker->run_or_post([self, &registered] {
        auto result = self->listen_worker->add(self->listener, EPOLLIN, *self);
        self->listener_registered = !result;
        registered.set_value(result);
      }))
    throw error(errc::shutting_down, "message server: the I/O workers are stopping");
  if (auto result = done.get())
    throw error(result, "message server: registering the listener failed");
}

void message_server::state::on_io(std::uint32_t) noexcept {
  auto& pool = detail::pool_of(engine);
  // Accept what is waiting (a bounded batch: level-triggered epoll brings us
  // back for the rest after the other sockets had their turn).
  for (int accepted_now = 0; accepted_now < 256 && listener >= 0; ++accepted_now) {
    std::error_code failure;
    detail::socket_address peer;
    int fd = detail::accept_connection(listener, &peer, failure);
    if (fd >= 0) {
      adopt(fd, peer.to_string(), pool.next_worker());
      continue;
    }
    if (!failure)
      return; // nothing waiting
    // Compared by value: at the descriptor limit even a sanitizer's memory
    // probe (a pipe) fails, so stay away from virtual category calls here.
    const bool system = &failure.category() == &std::system_category();
    if (system && (failure.value() == EMFILE || failure.value() == ENFILE)) {
      const char* which = failure.value() == EMFILE ? "EMFILE: the process's open-file limit"
                                                    : "ENFILE: the system's open-file limit";
      // The listener stays readable while connections wait in the backlog:
      // take one off with the spare descriptor and close it at once, so the
      // client hears a close instead of hanging and we do not spin.
      if (spare_descriptor >= 0) {
        ::close(spare_descriptor);
        spare_descriptor = -1;
        int dropped = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (dropped >= 0) {
          ::close(dropped);
          auto count = dropped_at_descriptor_limit.fetch_add(1) + 1;
          if ((count & (count - 1)) == 0) // 1, 2, 4, 8...: say so without flooding the log
            log(std::string{"message server: out of file descriptors ("} + which +
                "); closed a new connection at once (" + std::to_string(count) + " so far)");
        }
        spare_descriptor = open_spare();
        if (dropped >= 0)
          continue;
      }
      // No spare descriptor either: stop watching the listener for a moment.
      if (!listener_paused && listener_registered &&
          !listen_worker->modify(listener, 0, *this)) {
        listener_paused = true;
        log(std::string{"message server: out of file descriptors ("} + which +
            "); not accepting for " + std::to_string(exhausted_pause.count()) + " ms");
        std::weak_ptr<state> self = weak_from_this();
        listener_resume = detail::schedule_on(*listen_worker, runtime::clock::now() + exhausted_pause,
                                              [self] {
                                                auto alive = self.lock();
                                                if (!alive || !alive->listener_paused)
                                                  return;
                                                alive->listener_paused = false;
                                                if (alive->spare_descriptor < 0)
                                                  alive->spare_descriptor = open_spare();
                                                if (alive->listener_registered)
                                                  (void)alive->listen_worker->modify(
                                                    alive->listener, EPOLLIN, *alive);
                                              });
      }
      return;
    }
    log("message server: accept failed: " + failure.message());
    return;
  }
}

void message_server::state::adopt(int fd, std::string peer, detail::io_worker& worker) {
  if (options.tcp_keepalive && options.listen.kind == endpoint::family::tcp)
    enable_keepalive(fd, options.keepalive_idle);
  std::shared_ptr<detail::session> created;
  {
    std::lock_guard guard{mutex};
    if (stopping) {
      ::close(fd);
      return;
    }
    created = std::make_shared<detail::session>(shared_from_this(), worker, next_session_id++,
                                                 std::move(peer));
    sessions.emplace(created->id(), created);
    sessions_open.fetch_add(1);
  }
  accepted.fetch_add(1, std::memory_order_relaxed);
  if (!worker.run_or_post([created, fd] { created->start(fd); })) {
    ::close(fd);
    forget(created.get());
  }
}

void message_server::state::forget(detail::session* gone) {
  std::lock_guard guard{mutex};
  if (auto found = sessions.find(gone->id());
      found != sessions.end() && found->second.get() == gone) {
    sessions.erase(found);
    sessions_open.fetch_sub(1);
  }
  if (sessions.empty())
    all_closed.notify_all();
}

void message_server::state::close_listener() {
  listener_resume.reset();
  if (listener_registered) {
    listen_worker->remove(listener, *this);
    listener_registered = false;
  }
  // Closed, not only unwatched: otherwise the kernel would go on completing
  // handshakes into a backlog nobody accepts from.
  if (listener >= 0) {
    ::close(listener);
    listener = -1;
  }
}

void message_server::state::log(const std::string& line) const {
  if (options.log) {
    try {
      options.log(line);
    } catch (...) {
      // A failing log sink must not take the server down.
    }
    return;
  }
  std::fprintf(stderr, "%s\n", line.c_str());
}

} // namespace actorloop::netio
