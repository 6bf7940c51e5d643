// Echo round trips over loopback TCP.
//
//  echo_1conn, echo_100conn  actorloop's TCP path (a stream_listener echoing
//                            in its on_data callback; stream clients that
//                            send the next message from theirs), vs
//                            - (alternative) a standalone Asio echo server
//                              and client (one io_context thread each),
//                            - (limit) a minimal epoll echo server and client
//                              (one thread each) built here.
//  message_roundtrip         request + completion round trips of the message
//                            protocol (async mode, ECHO; the completion
//                            callback sends the next request) over 100
//                            connections, vs the raw epoll pair carrying the
//                            same bytes per round trip (limit).
//
// Placement, the same for every side: every server end runs on one thread
// pinned to the last allowed CPU, every client end on one thread pinned to
// the first (so every round trip crosses threads and CPUs). Ours gets this
// from two engines in the process, a server engine and a client engine, each
// with exactly one I/O worker pinned to its CPU (netio has no per-connection
// choice of worker; with one pool of two workers the ends of a connection
// share a worker or not depending on timing).
//
// Every connection keeps exactly one message in flight, so a round trip is
// one request and one reply on one connection. Each side connects once, runs
// 100 ms of warm-up, then counts round trips over the measured span. Results
// are round trips per second, medians over the repetitions; ratio > 1 means
// actorloop is ahead. cpu_s: process CPU seconds over the measured span.
//
// Profiling aid: ACTORLOOP_BENCH_ONLY=<name>[,<name>...] (echo_1conn,
// echo_100conn, message_roundtrip) runs only those comparisons, so that a
// profile (perf record, valgrind --tool=callgrind) covers one of them.

#include "bench_support.hpp"

#include <actorloop/netio/codec.hpp>
#include <actorloop/netio/connection.hpp>
#include <actorloop/netio/io_pool.hpp>
#include <actorloop/netio/server.hpp>
#include <actorloop/netio/stream.hpp>
#include <actorloop/runtime/engine.hpp>

#include <asio.hpp>

#include <arpa/inet.h>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace netio = actorloop::netio;
namespace runtime = actorloop::runtime;
using namespace std::chrono_literals;
using bench::bench_clock;

namespace {

constexpr std::size_t echo_bytes = 64;

// -- the peer: raw epoll, one server thread, one client thread ---------------------

int make_listener(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 1024) != 0)
    bench::fail("raw peer: listen failed: %s", std::strerror(errno));
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port = ntohs(address.sin_port);
  return fd;
}

/// Per-connection state of the raw peer: bytes still expected in this round.
struct raw_connection {
  int fd = -1;
  std::size_t received = 0;
};

using bench::placement;

/// One measurement: round trips per second and the CPU seconds of the span.
struct measured {
  double rate = 0;
  double cpu_s = 0;
};

measured raw_round_trips_per_second(int connections, std::size_t request, std::size_t response,
                                    std::chrono::milliseconds duration, placement where) {
  std::uint16_t port = 0;
  int listener = make_listener(port);
  std::atomic<bool> stop{false};
  std::thread server{[&] {
    bench::pin_this_thread(where.server_cpu);
    int epoll = epoll_create1(0);
    epoll_event entry{};
    entry.events = EPOLLIN;
    entry.data.ptr = nullptr;
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &entry);
    std::vector<raw_connection*> owned;
    std::vector<char> buffer(65536);
    std::vector<char> reply(response, 'r');
    epoll_event events[256];
    while (!stop.load(std::memory_order_relaxed)) {
      int count = epoll_wait(epoll, events, 256, 50);
      for (int index = 0; index < count; ++index) {
        auto* connection = static_cast<raw_connection*>(events[index].data.ptr);
        if (!connection) {
          int fd;
          while ((fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
            int on = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
            auto* accepted = new raw_connection{fd, 0};
            owned.push_back(accepted);
            epoll_event add{};
            add.events = EPOLLIN;
            add.data.ptr = accepted;
            epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &add);
          }
          continue;
        }
        auto got = ::recv(connection->fd, buffer.data(), buffer.size(), 0);
        if (got <= 0)
          continue;
        connection->received += static_cast<std::size_t>(got);
        while (connection->received >= request) {
          connection->received -= request;
          (void)::send(connection->fd, reply.data(), reply.size(), MSG_NOSIGNAL);
        }
      }
    }
    for (auto* each : owned) {
      ::close(each->fd);
      delete each;
    }
    ::close(epoll);
  }};

  std::atomic<std::uint64_t> round_trips{0};
  double rate = 0;
  double cpu_s = 0;
  std::thread client{[&] {
    bench::pin_this_thread(where.client_cpu);
    int epoll = epoll_create1(0);
    std::vector<raw_connection> all(static_cast<std::size_t>(connections));
    std::vector<char> message(request, 'q');
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (auto& each : all) {
      each.fd = ::socket(AF_INET, SOCK_STREAM, 0);
      if (::connect(each.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        bench::fail("raw peer: connect failed: %s", std::strerror(errno));
      int on = 1;
      ::setsockopt(each.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      ::fcntl(each.fd, F_SETFL, O_NONBLOCK);
      epoll_event add{};
      add.events = EPOLLIN;
      add.data.ptr = &each;
      epoll_ctl(epoll, EPOLL_CTL_ADD, each.fd, &add);
    }
    std::vector<char> buffer(65536);
    epoll_event events[256];
    auto run = [&](std::chrono::milliseconds how_long, bool count) {
      for (auto& each : all)
        (void)::send(each.fd, message.data(), message.size(), MSG_NOSIGNAL);
      std::uint64_t done = 0;
      bench::cpu_meter meter;
      meter.start();
      auto start = bench_clock::now();
      auto end = start + how_long;
      std::size_t in_flight = all.size();
      while (in_flight > 0) {
        bool more = bench_clock::now() < end;
        int ready = epoll_wait(epoll, events, 256, 1000);
        for (int index = 0; index < ready; ++index) {
          auto* connection = static_cast<raw_connection*>(events[index].data.ptr);
          auto got = ::recv(connection->fd, buffer.data(), buffer.size(), 0);
          if (got <= 0)
            continue;
          connection->received += static_cast<std::size_t>(got);
          while (connection->received >= response) {
            connection->received -= response;
            ++done;
            if (more)
              (void)::send(connection->fd, message.data(), message.size(), MSG_NOSIGNAL);
            else
              --in_flight;
          }
        }
      }
      if (count) {
        round_trips = done;
        rate = static_cast<double>(done) / bench::seconds_between(start, bench_clock::now());
        cpu_s = meter.stop();
      }
    };
    run(100ms, false); // warm up
    run(duration, true);
    for (auto& each : all)
      ::close(each.fd);
    ::close(epoll);
  }};
  client.join();
  stop = true;
  server.join();
  ::close(listener);
  if (round_trips.load() == 0)
    bench::fail("raw peer: no round trip completed");
  return {rate, cpu_s};
}

// -- the peer a user would pick: standalone Asio -------------------------------------

using asio::ip::tcp;

/// One accepted connection of the Asio echo server: read some, write it all
/// back, repeat; ends at EOF or error (the handlers hold the only reference).
class asio_session : public std::enable_shared_from_this<asio_session> {
public:
  explicit asio_session(tcp::socket socket) : socket_(std::move(socket)) {}
  void read() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(buffer_), [self](std::error_code error, std::size_t got) {
      if (error)
        return;
      asio::async_write(self->socket_, asio::buffer(self->buffer_.data(), got),
                        [self](std::error_code failed, std::size_t) {
                          if (!failed)
                            self->read();
                        });
    });
  }

private:
  tcp::socket socket_;
  std::array<char, 65536> buffer_{};
};

/// One client connection: write the message, read the echo, repeat while
/// `sending`. Runs on the client io_context's thread only.
struct asio_client {
  tcp::socket socket;
  std::array<char, echo_bytes> reply{};
  explicit asio_client(asio::io_context& io) : socket(io) {}
};

measured asio_round_trips_per_second(int connections, std::chrono::milliseconds duration,
                                     placement where) {
  asio::io_context server_io{1};
  asio::io_context client_io{1};
  tcp::acceptor acceptor{server_io, tcp::endpoint{asio::ip::address_v4::loopback(), 0}};
  const auto port = acceptor.local_endpoint().port();
  std::function<void()> accept_next = [&] {
    acceptor.async_accept([&](std::error_code error, tcp::socket socket) {
      if (error)
        return;
      socket.set_option(tcp::no_delay(true));
      std::make_shared<asio_session>(std::move(socket))->read();
      accept_next();
    });
  };
  accept_next();
  std::thread server{[&] {
    bench::pin_this_thread(where.server_cpu);
    server_io.run();
  }};

  std::vector<std::unique_ptr<asio_client>> clients;
  for (int index = 0; index < connections; ++index) {
    auto each = std::make_unique<asio_client>(client_io);
    std::error_code error;
    each->socket.connect(tcp::endpoint{asio::ip::address_v4::loopback(), port}, error);
    if (error)
      bench::fail("asio peer: connect failed: %s", error.message().c_str());
    each->socket.set_option(tcp::no_delay(true));
    clients.push_back(std::move(each));
  }
  const std::array<char, echo_bytes> message{};
  std::atomic<bool> sending{true};
  std::atomic<std::uint64_t> round_trips{0};
  std::function<void(asio_client&)> exchange = [&](asio_client& each) {
    asio::async_write(each.socket, asio::buffer(message), [&](std::error_code error, std::size_t) {
      if (error)
        bench::fail("asio client: write failed: %s", error.message().c_str());
      asio::async_read(each.socket, asio::buffer(each.reply),
                       [&](std::error_code failed, std::size_t) {
                         if (failed)
                           bench::fail("asio client: read failed: %s", failed.message().c_str());
                         round_trips.fetch_add(1, std::memory_order_relaxed);
                         if (sending.load(std::memory_order_relaxed))
                           exchange(each);
                       });
    });
  };
  for (auto& each : clients)
    exchange(*each);
  // run() returns once every connection has stopped after `sending` ends.
  std::thread client{[&] {
    bench::pin_this_thread(where.client_cpu);
    client_io.run();
  }};
  std::this_thread::sleep_for(100ms); // warm-up (a measuring window, not a synchronisation)
  bench::cpu_meter meter;
  meter.start();
  auto start = bench_clock::now();
  auto counted_at_start = round_trips.load();
  std::this_thread::sleep_for(duration);
  auto counted = round_trips.load() - counted_at_start;
  auto end = bench_clock::now();
  double cpu_s = meter.stop();
  sending = false;
  client.join();
  clients.clear(); // closes the client ends: the sessions see EOF and end
  asio::post(server_io, [&] { acceptor.close(); });
  server.join();
  if (counted == 0)
    bench::fail("asio peer: no round trip completed");
  return {static_cast<double>(counted) / bench::seconds_between(start, end), cpu_s};
}

// -- ours: streams on the I/O workers -------------------------------------------------

/// Counts round trips of stream clients; decides when they stop sending.
struct stream_run {
  std::atomic<bool> sending{true};
  std::atomic<std::uint64_t> round_trips{0};
  std::atomic<int> in_flight{0};
  std::mutex mutex;
  std::condition_variable drained;
};

measured stream_round_trips_per_second(runtime::engine& server_engine,
                                       runtime::engine& client_engine, int connections,
                                       std::chrono::milliseconds duration) {
  netio::stream_listener server{server_engine, netio::endpoint::tcp("127.0.0.1", 0), [](netio::stream&) {
    netio::stream_callbacks echo;
    echo.on_data = [](netio::stream& self, std::span<const std::byte> bytes) {
      if (self.write(bytes))
        bench::fail("echo server: write refused");
    };
    return echo;
  }};
  {
    auto run = std::make_shared<stream_run>();
    std::vector<netio::stream> clients;
    std::vector<std::byte> message(echo_bytes, std::byte{'q'});
    std::atomic<int> opened{0};
    for (int index = 0; index < connections; ++index) {
      auto received = std::make_shared<std::size_t>(0);
      netio::stream_callbacks callbacks;
      callbacks.on_open = [&opened, message](netio::stream& self) {
        ++opened;
        (void)self.write(message);
      };
      callbacks.on_data = [run, received, message](netio::stream& self, std::span<const std::byte> bytes) {
        *received += bytes.size();
        while (*received >= echo_bytes) {
          *received -= echo_bytes;
          run->round_trips.fetch_add(1, std::memory_order_relaxed);
          if (run->sending.load(std::memory_order_relaxed)) {
            (void)self.write(message);
          } else if (run->in_flight.fetch_sub(1) == 1) {
            std::lock_guard guard{run->mutex};
            run->drained.notify_all();
          }
        }
      };
      callbacks.on_closed = [](netio::stream&, std::error_code error, const std::string& detail) {
        if (error != netio::errc::connection_closed && error != netio::errc::shutting_down)
          bench::fail("echo client: closed: %s", detail.c_str());
      };
      run->in_flight++;
      clients.push_back(netio::stream::connect(client_engine, server.local_endpoint(), callbacks));
    }
    std::unique_lock guard{run->mutex};
    run->drained.wait_for(guard, 100ms); // warm-up (a measuring window)
    bench::cpu_meter meter;
    meter.start();
    auto start = bench_clock::now();
    auto counted_at_start = run->round_trips.load();
    run->drained.wait_for(guard, duration);
    auto counted = run->round_trips.load() - counted_at_start;
    auto end = bench_clock::now();
    double cpu_s = meter.stop();
    run->sending = false;
    if (!run->drained.wait_for(guard, 60s, [&] { return run->in_flight.load() == 0; }))
      bench::fail("echo clients did not drain");
    for (auto& each : clients)
      each.close();
    if (opened.load() != connections)
      bench::fail("only %d of %d echo clients connected", opened.load(), connections);
    return {static_cast<double>(counted) / bench::seconds_between(start, end), cpu_s};
  }
}

// -- ours: the message protocol in async mode ------------------------------------------

measured message_round_trips_per_second(runtime::engine& server_engine,
                                        runtime::engine& engine, int connections,
                                        std::chrono::milliseconds duration) {
  netio::message_server server{server_engine, {}};
  netio::context context{engine, {netio::io_mode::async}};
  std::vector<std::unique_ptr<netio::connection>> all;
  std::atomic<std::uint64_t> round_trips{0};
  std::atomic<bool> sending{true};
  std::atomic<int> in_flight{0};
  std::mutex mutex;
  std::condition_variable drained;
  netio::context setup{engine};
  netio::connection_options sync_options;
  sync_options.mode = netio::io_mode::sync;
  for (int index = 0; index < connections; ++index) {
    auto connection = std::make_unique<netio::connection>(context, sync_options);
    if (connection->connect(server.local_endpoint()) != netio::retcode::succeed)
      bench::fail("message client: connect failed: %s", connection->last_error().text.c_str());
    if (connection->set_mode(netio::io_mode::async))
      bench::fail("message client: cannot switch to async");
    connection->set_completion([&](netio::connection& self, netio::function_id, netio::retcode status) {
      if (status != netio::retcode::succeed)
        bench::fail("message client: a request failed");
      (void)self.take_result();
      round_trips.fetch_add(1, std::memory_order_relaxed);
      if (sending.load(std::memory_order_relaxed))
        return self.execute({"ECHO", "0123456789012345678901234567890123456789"}).code;
      if (in_flight.fetch_sub(1) == 1) {
        std::lock_guard guard{mutex};
        drained.notify_all();
      }
      return netio::retcode::succeed;
    });
    all.push_back(std::move(connection));
  }
  auto measure = [&](std::chrono::milliseconds how_long) {
    sending = true;
    round_trips = 0;
    in_flight = connections;
    for (auto& each : all)
      if (each->execute({"ECHO", "0123456789012345678901234567890123456789"}) != netio::retcode::pending)
        bench::fail("message client: execute did not go pending");
    bench::cpu_meter meter;
    meter.start();
    auto start = bench_clock::now();
    std::unique_lock guard{mutex};
    drained.wait_for(guard, how_long);
    sending = false;
    auto counted = round_trips.load();
    auto end = bench_clock::now();
    double cpu_s = meter.stop();
    if (!drained.wait_for(guard, 60s, [&] { return in_flight.load() == 0; }))
      bench::fail("message clients did not drain");
    return measured{static_cast<double>(counted) / bench::seconds_between(start, end), cpu_s};
  };
  (void)measure(100ms);
  auto rate = measure(duration);
  for (auto& each : all)
    each->set_completion(nullptr);
  all.clear();
  server.stop(1s);
  return rate;
}

/// Bytes of one ECHO request frame and of its reply (row + completion).
std::pair<std::size_t, std::size_t> message_sizes() {
  auto codec = netio::make_framed_codec();
  std::vector<std::byte> request;
  std::vector<std::byte> reply;
  (void)codec->encode({1, netio::request{{"ECHO", "0123456789012345678901234567890123456789"}}}, request);
  (void)codec->encode({1, netio::result_row{{"0123456789012345678901234567890123456789"}}}, reply);
  (void)codec->encode({1, netio::completion{netio::completion_status::succeeded, "ECHO"}}, reply);
  return {request.size(), reply.size()};
}


} // namespace

int main(int argc, char** argv) {
  auto settings = bench::parse_arguments(argc, argv);
  auto duration = settings.smoke ? 100ms : settings.quick ? 150ms : 1000ms;
  auto where = bench::client_server_placement();
  // Every server end on the server engine's worker, every client end on the client engine's.
  auto server_engine = bench::engine_with_one_io_worker(where.server_cpu);
  auto client_engine = bench::engine_with_one_io_worker(where.client_cpu);

  for (int connections : {1, 100}) {
    const char* name = connections == 1 ? "echo_1conn" : "echo_100conn";
    if (!bench::selected(name))
      continue;
    bench::side ours, asio_side, raw_side;
    for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
      bench::in_turn(repetition, {[&] {
                                    auto mine = stream_round_trips_per_second(
                                      *server_engine, *client_engine, connections, duration);
                                    ours.add(mine.rate, mine.cpu_s);
                                  },
                                  [&] {
                                    auto theirs =
                                      asio_round_trips_per_second(connections, duration, where);
                                    asio_side.add(theirs.rate, theirs.cpu_s);
                                  },
                                  [&] {
                                    auto raw = raw_round_trips_per_second(
                                      connections, echo_bytes, echo_bytes, duration, where);
                                    raw_side.add(raw.rate, raw.cpu_s);
                                  }});
    }
    bench::comment("echo %d connection(s): %zu-byte messages, %d repetitions of %lld ms; every "
                   "client end on one thread pinned to CPU %u, every server end on one thread "
                   "pinned to CPU %u (ours: one I/O worker per engine, client and server "
                   "engine)",
                   connections, echo_bytes, settings.repetitions,
                   static_cast<long long>(duration.count()), where.client_cpu, where.server_cpu);
    bench::report(name, "round_trips/s", bench::better::higher, ours,
                  "standalone Asio, one io_context thread per side", bench::peer_kind::alternative,
                  asio_side);
    bench::report(name, "round_trips/s", bench::better::higher, ours, "raw epoll",
                  bench::peer_kind::limit, raw_side);
  }

  if (bench::selected("message_roundtrip")) {
    auto [request_bytes, reply_bytes] = message_sizes();
    bench::side ours, raw_side;
    for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
      bench::in_turn(repetition, {[&] {
                                    auto mine = message_round_trips_per_second(
                                      *server_engine, *client_engine, 100, duration);
                                    ours.add(mine.rate, mine.cpu_s);
                                  },
                                  [&] {
                                    auto raw = raw_round_trips_per_second(
                                      100, request_bytes, reply_bytes, duration, where);
                                    raw_side.add(raw.rate, raw.cpu_s);
                                  }});
    }
    bench::comment("message_roundtrip: 100 async connections, %zu-byte requests, %zu-byte "
                   "replies, same placement as echo",
                   request_bytes, reply_bytes);
    bench::report("message_roundtrip", "round_trips/s", bench::better::higher, ours,
                  "raw epoll, same bytes", bench::peer_kind::limit, raw_side);
  }
  client_engine.reset();
  server_engine.reset();
  return 0;
}
