// A fault-injecting TCP proxy for tests and benchmarks (header-only, no
// doctest): it listens on 127.0.0.1 on a free port and forwards every
// accepted connection to 127.0.0.1:<target>. Its mode can be switched while
// it runs, from any thread:
//   pass        forward both ways at once;
//   delay       hold every chunk read for the given time, then forward it
//               (order kept per direction);
//   cut         reset both sides of every link (SO_LINGER 0, so the peers
//               see ECONNRESET) and reset connections accepted later;
//   black_hole  stop forwarding without closing: read and discard both ways,
//               and keep each side open until that side closes (its close is
//               not passed on either), like a network that drops everything.
// One thread runs everything with poll(); set_mode() returns once that
// thread has applied the mode, so a test can rely on it right after the
// call. Loopback only. Thread safety: every member is safe from any thread;
// destroy it from a thread other than its own (it joins the thread).
#pragma once

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <list>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace actorloop_test {

class fault_proxy {
public:
  enum class mode { pass, delay, cut, black_hole };

  /// Listens on 127.0.0.1:0 and forwards to 127.0.0.1:`target_port`.
  explicit fault_proxy(std::uint16_t target_port) : target_port_(target_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listener_ < 0)
      throw std::runtime_error(std::string{"fault_proxy: socket: "} + std::strerror(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 64) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      auto text = std::string{"fault_proxy: listen: "} + std::strerror(errno);
      ::close(listener_);
      throw std::runtime_error(text);
    }
    port_ = ntohs(address.sin_port);
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
      ::close(listener_);
      throw std::runtime_error("fault_proxy: pipe failed");
    }
    thread_ = std::thread{[this] { run(); }};
  }
  fault_proxy(const fault_proxy&) = delete;
  fault_proxy& operator=(const fault_proxy&) = delete;
  ~fault_proxy() {
    {
      std::lock_guard guard{mutex_};
      stopping_ = true;
    }
    wake();
    thread_.join();
    for (auto& each : links_)
      close_link(each, false);
    ::close(listener_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  /// The port it listens on (127.0.0.1).
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

  /// Switches the mode; `delay` is the hold time of mode::delay. Returns
  /// once the proxy thread applied it (a cut has reset every link by then).
  void set_mode(mode next, std::chrono::milliseconds delay = std::chrono::milliseconds{0}) {
    std::unique_lock lock{mutex_};
    requested_ = next;
    delay_ = delay;
    auto wanted = ++requested_generation_;
    lock.unlock();
    wake();
    lock.lock();
    applied_changed_.wait(lock, [&] { return applied_generation_ >= wanted || stopping_; });
  }

  /// Bytes written to either side so far.
  [[nodiscard]] std::uint64_t bytes_forwarded() const noexcept { return forwarded_.load(); }
  /// Bytes read and dropped in black-hole mode (or left unsent by a cut).
  [[nodiscard]] std::uint64_t bytes_dropped() const noexcept { return dropped_.load(); }
  /// Connections accepted so far.
  [[nodiscard]] std::uint64_t connections() const noexcept { return accepted_.load(); }
  /// Connections reset by a cut so far (each link counts once).
  [[nodiscard]] std::uint64_t links_cut() const noexcept { return cut_.load(); }
  /// Closes of one side that black-hole mode did not pass on.
  [[nodiscard]] std::uint64_t closes_swallowed() const noexcept { return swallowed_.load(); }
  /// Links open now.
  [[nodiscard]] std::uint64_t links_open() const noexcept { return open_.load(); }

  /// Waits until `done()` (which reads the counters above) holds, or
  /// `limit` passed; returns `done()`. Woken by the proxy thread whenever a
  /// counter changed: no polling.
  template <class Predicate>
  [[nodiscard]] bool wait_until(Predicate done, std::chrono::milliseconds limit) {
    std::unique_lock lock{mutex_};
    return progress_.wait_for(lock, limit, [&] { return done(); });
  }

private:
  using clock = std::chrono::steady_clock;

  struct chunk {
    clock::time_point due;
    std::vector<char> bytes;
    std::size_t sent = 0;
  };
  // One direction: read from `from`, write to `to`.
  struct direction {
    std::deque<chunk> queue;
    bool eof = false; // `from` closed; shut `to` down once the queue is empty
    bool shut = false;
  };
  struct link {
    int client = -1; // accepted
    int server = -1; // connected to the target
    bool connecting = true;
    direction up;   // client -> server
    direction down; // server -> client
  };

  void wake() {
    char byte = 1;
    (void)!::write(wake_[1], &byte, 1);
  }

  static void reset_socket(int fd) {
    if (fd < 0)
      return;
    linger hard{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(fd);
  }

  void close_link(link& each, bool reset) {
    if (reset) {
      reset_socket(each.client);
      reset_socket(each.server);
    } else {
      if (each.client >= 0)
        ::close(each.client);
      if (each.server >= 0)
        ::close(each.server);
    }
    each.client = each.server = -1;
  }

  void accept_all() {
    for (;;) {
      int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (client < 0)
        return;
      accepted_.fetch_add(1);
      if (mode_ == mode::cut) {
        cut_.fetch_add(1);
        reset_socket(client);
        continue;
      }
      int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(target_port_);
      if (server < 0 || (::connect(server, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 &&
                         errno != EINPROGRESS)) {
        // Nothing at the target: the client sees a reset, as it would
        // without the proxy.
        reset_socket(client);
        if (server >= 0)
          ::close(server);
        continue;
      }
      int one = 1;
      ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      link made;
      made.client = client;
      made.server = server;
      links_.push_back(std::move(made));
    }
  }

  // Reads what `fd` has into `way` (or drops it in black-hole mode). Returns
  // false if `fd` failed (reset).
  bool read_side(int fd, direction& way) {
    char buffer[16384];
    for (;;) {
      auto got = ::read(fd, buffer, sizeof buffer);
      if (got > 0) {
        if (mode_ == mode::black_hole) {
          dropped_.fetch_add(static_cast<std::uint64_t>(got));
          continue;
        }
        auto due = clock::now() + (mode_ == mode::delay ? delay_now_ : clock::duration{0});
        way.queue.push_back(chunk{due, std::vector<char>(buffer, buffer + got), 0});
        continue;
      }
      if (got == 0) {
        way.eof = true;
        return true;
      }
      if (errno == EINTR)
        continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
  }

  // Writes the due chunks of `way` to `fd`; false if `fd` failed.
  bool write_side(int fd, direction& way) {
    auto now = clock::now();
    while (!way.queue.empty() && way.queue.front().due <= now) {
      auto& head = way.queue.front();
      auto wrote = ::send(fd, head.bytes.data() + head.sent, head.bytes.size() - head.sent,
                          MSG_NOSIGNAL);
      if (wrote < 0) {
        if (errno == EINTR)
          continue;
        return errno == EAGAIN || errno == EWOULDBLOCK;
      }
      forwarded_.fetch_add(static_cast<std::uint64_t>(wrote));
      head.sent += static_cast<std::size_t>(wrote);
      if (head.sent == head.bytes.size())
        way.queue.pop_front();
    }
    if (way.eof && way.queue.empty() && !way.shut && mode_ != mode::black_hole) {
      ::shutdown(fd, SHUT_WR);
      way.shut = true;
    }
    return true;
  }

  void apply_mode() {
    std::lock_guard guard{mutex_};
    if (applied_generation_ == requested_generation_)
      return;
    mode_ = requested_;
    delay_now_ = delay_;
    if (mode_ == mode::cut) {
      for (auto& each : links_) {
        for (auto* way : {&each.up, &each.down})
          for (auto& pending : way->queue)
            dropped_.fetch_add(pending.bytes.size() - pending.sent);
        close_link(each, true);
        cut_.fetch_add(1);
      }
      links_.clear();
      open_.store(0);
    } else if (mode_ == mode::black_hole) {
      for (auto& each : links_)
        for (auto* way : {&each.up, &each.down}) {
          for (auto& pending : way->queue)
            dropped_.fetch_add(pending.bytes.size() - pending.sent);
          way->queue.clear();
        }
    }
    applied_generation_ = requested_generation_;
    applied_changed_.notify_all();
    progress_.notify_all();
  }

  void run() {
    for (;;) {
      apply_mode();
      {
        std::lock_guard guard{mutex_};
        if (stopping_) {
          applied_changed_.notify_all();
          return;
        }
      }
      std::vector<pollfd> watched;
      watched.push_back({wake_[0], POLLIN, 0});
      watched.push_back({listener_, POLLIN, 0});
      auto now = clock::now();
      auto next_due = clock::time_point::max();
      auto want = [&](direction& way, int from, int to, bool connecting) {
        // Nothing is read before the link to the target is up.
        short from_events = (way.eof || connecting) ? 0 : POLLIN;
        short to_events = 0;
        if (connecting)
          to_events = POLLOUT;
        else if (!way.queue.empty()) {
          if (way.queue.front().due <= now)
            to_events = POLLOUT;
          else
            next_due = std::min(next_due, way.queue.front().due);
        }
        if (from >= 0)
          watched.push_back({from, from_events, 0});
        if (to >= 0)
          watched.push_back({to, to_events, 0});
      };
      for (auto& each : links_) {
        want(each.up, each.client, each.server, each.connecting);
        want(each.down, each.server, each.client, false);
      }
      int timeout = -1;
      if (next_due != clock::time_point::max())
        timeout = static_cast<int>(
            std::chrono::ceil<std::chrono::milliseconds>(next_due - now).count());
      if (::poll(watched.data(), watched.size(), timeout) < 0 &&
          errno != EINTR)
        throw std::runtime_error("fault_proxy: poll failed");
      char drain[64];
      while (::read(wake_[0], drain, sizeof drain) > 0) {
      }
      accept_all();
      for (auto each = links_.begin(); each != links_.end();) {
        bool alive = true;
        if (each->connecting) {
          int failure = 0;
          socklen_t length = sizeof failure;
          pollfd probe{each->server, POLLOUT, 0};
          if (::poll(&probe, 1, 0) == 1) {
            ::getsockopt(each->server, SOL_SOCKET, SO_ERROR, &failure, &length);
            if (failure != 0)
              alive = false;
            else
              each->connecting = false;
          }
        }
        if (alive && !each->connecting) {
          if (each->client >= 0 && !each->up.eof)
            alive = read_side(each->client, each->up);
          if (alive && each->server >= 0 && !each->down.eof)
            alive = read_side(each->server, each->down);
          if (alive && each->server >= 0)
            alive = write_side(each->server, each->up);
          if (alive && each->client >= 0)
            alive = write_side(each->client, each->down);
        }
        if (alive && mode_ == mode::black_hole) {
          // A side that closed is closed here too; the other side hears
          // nothing of it.
          if (each->up.eof && each->client >= 0) {
            ::close(each->client);
            each->client = -1;
            swallowed_.fetch_add(1);
          }
          if (each->down.eof && each->server >= 0) {
            ::close(each->server);
            each->server = -1;
            swallowed_.fetch_add(1);
          }
          if (each->client < 0 && each->server < 0)
            alive = false;
        }
        bool finished = each->up.shut && each->down.shut;
        if (!alive || finished) {
          // A reset on one side is passed on as a reset.
          close_link(*each, !alive && mode_ != mode::black_hole);
          each = links_.erase(each);
        } else {
          ++each;
        }
      }
      open_.store(links_.size());
      // Under the lock, so that a waiter between its check and its wait
      // cannot miss it.
      {
        std::lock_guard guard{mutex_};
      }
      progress_.notify_all();
    }
  }

  std::uint16_t target_port_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  int wake_[2] = {-1, -1};
  std::thread thread_;

  std::mutex mutex_;
  std::condition_variable applied_changed_;
  std::condition_variable progress_;
  bool stopping_ = false;
  mode requested_ = mode::pass;
  std::chrono::milliseconds delay_{0};
  std::uint64_t requested_generation_ = 0;
  std::uint64_t applied_generation_ = 0;

  // Proxy thread only.
  mode mode_ = mode::pass;
  clock::duration delay_now_{0};
  std::list<link> links_;

  std::atomic<std::uint64_t> forwarded_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> cut_{0};
  std::atomic<std::uint64_t> open_{0};
  std::atomic<std::uint64_t> swallowed_{0};
};

} // namespace actorloop_test
