// Notification fan-out to 1,000 subscribers.
//
//  notify_fanout_1000      notifications delivered per second: a publisher
//                          sends PUBLISH one after the other (each waits for
//                          its completion, which the server sends once every
//                          subscriber has the notification queued); 1,000
//                          async connections receive them on the I/O workers.
//  notify_fanout_1000_p99  delivery latency at p99, from just before the
//                          publish call to the subscriber's callback.
//
// The peer is a minimal epoll broadcast server and an epoll client (one
// thread each) that do the same: the server writes each published message to
// 1,000 sockets, then answers the publisher; the client reads all 1,000.

#include "bench_support.hpp"

#include <actorloop/netio/connection.hpp>
#include <actorloop/netio/io_pool.hpp>
#include <actorloop/netio/server.hpp>
#include <actorloop/runtime/engine.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace netio = actorloop::netio;
namespace runtime = actorloop::runtime;
using namespace std::chrono_literals;
using bench::bench_clock;

namespace {

constexpr int subscribers = 1000;
constexpr std::size_t payload_bytes = 32;

std::int64_t now_nanoseconds() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(bench_clock::now().time_since_epoch()).count();
}

/// A payload of `payload_bytes` that starts with the publish time.
std::string stamped_payload() {
  auto text = std::to_string(now_nanoseconds());
  text.resize(payload_bytes, '.');
  return text;
}

std::int64_t stamp_of(std::string_view payload) {
  std::int64_t value = 0;
  std::from_chars(payload.data(), payload.data() + payload.size(), value);
  return value;
}

struct fanout_result {
  double delivered_per_second = 0;
  double p99_microseconds = 0;
};

/// Latencies of one run, filled by the receiving side.
struct latency_log {
  std::mutex mutex;
  std::condition_variable all_arrived;
  std::vector<double> microseconds;
  std::size_t expected = 0;

  void add(double value) {
    std::lock_guard guard{mutex};
    microseconds.push_back(value);
    if (microseconds.size() == expected)
      all_arrived.notify_all();
  }
  bool wait_all(std::chrono::seconds limit) {
    std::unique_lock guard{mutex};
    return all_arrived.wait_for(guard, limit, [&] { return microseconds.size() >= expected; });
  }
};

// -- ours -----------------------------------------------------------------------------

fanout_result ours(runtime::engine& engine, int publishes) {
  netio::server_options options;
  netio::message_server server{engine, options};
  latency_log log;
  log.expected = static_cast<std::size_t>(subscribers) * static_cast<std::size_t>(publishes);
  log.microseconds.reserve(log.expected);
  netio::context context{engine, {netio::io_mode::sync}};
  std::vector<std::unique_ptr<netio::connection>> listeners;
  for (int index = 0; index < subscribers; ++index) {
    netio::connection_options settings;
    settings.async_notifications = true;
    auto connection = std::make_unique<netio::connection>(context, settings);
    if (connection->connect(server.local_endpoint()) != netio::retcode::succeed ||
        connection->execute({"SUBSCRIBE", "fan"}) != netio::retcode::succeed)
      bench::fail("subscriber %d: %s", index, connection->last_error().text.c_str());
    (void)connection->take_result();
    if (connection->set_mode(netio::io_mode::async))
      bench::fail("subscriber %d: cannot switch to async mode", index);
    connection->set_notification([&](netio::connection&, const netio::notification& note) {
      log.add(static_cast<double>(now_nanoseconds() - stamp_of(note.payload)) / 1000.0);
    });
    listeners.push_back(std::move(connection));
  }
  netio::connection publisher{context};
  if (publisher.connect(server.local_endpoint()) != netio::retcode::succeed)
    bench::fail("publisher: %s", publisher.last_error().text.c_str());
  auto start = bench_clock::now();
  for (int index = 0; index < publishes; ++index) {
    if (publisher.execute({"PUBLISH", "fan", stamped_payload()}) != netio::retcode::succeed)
      bench::fail("publish failed: %s", publisher.last_error().text.c_str());
    auto result = publisher.take_result();
    if (!result || result->outcome.text != "delivered " + std::to_string(subscribers))
      bench::fail("publish reached %s", result ? result->outcome.text.c_str() : "nobody");
  }
  if (!log.wait_all(120s))
    bench::fail("only %zu of %zu notifications arrived", log.microseconds.size(), log.expected);
  auto end = bench_clock::now();
  fanout_result outcome;
  outcome.delivered_per_second = static_cast<double>(log.expected) / bench::seconds_between(start, end);
  outcome.p99_microseconds = bench::percentile(log.microseconds, 0.99);
  listeners.clear();
  server.stop(1s);
  return outcome;
}

// -- the peer: raw epoll broadcast ----------------------------------------------------------

fanout_result peer(int publishes) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener, 2048) != 0)
    bench::fail("peer: listen failed: %s", std::strerror(errno));
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);

  auto connect_one = [&] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      bench::fail("peer: connect failed: %s", std::strerror(errno));
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    return fd;
  };
  // Subscribers first, then the publisher: the server accepts in that order.
  std::vector<int> subscriber_fds;
  std::vector<int> server_side;
  for (int index = 0; index < subscribers; ++index) {
    subscriber_fds.push_back(connect_one());
    int accepted = ::accept(listener, nullptr, nullptr);
    ::setsockopt(accepted, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    server_side.push_back(accepted);
  }
  int publisher = connect_one();
  int publisher_server_side = ::accept(listener, nullptr, nullptr);
  ::setsockopt(publisher_server_side, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);

  std::thread server{[&] {
    std::vector<char> message(payload_bytes);
    for (int index = 0; index < publishes; ++index) {
      std::size_t got = 0;
      while (got < payload_bytes) {
        auto part = ::recv(publisher_server_side, message.data() + got, payload_bytes - got, 0);
        if (part <= 0)
          return;
        got += static_cast<std::size_t>(part);
      }
      for (int fd : server_side)
        (void)::send(fd, message.data(), message.size(), MSG_NOSIGNAL);
      char done = 'd';
      (void)::send(publisher_server_side, &done, 1, MSG_NOSIGNAL);
    }
  }};
  latency_log log;
  log.expected = static_cast<std::size_t>(subscribers) * static_cast<std::size_t>(publishes);
  log.microseconds.reserve(log.expected);
  std::thread client{[&] {
    int epoll = epoll_create1(0);
    std::vector<std::size_t> buffered(subscriber_fds.size());
    std::vector<std::string> partial(subscriber_fds.size());
    for (std::size_t index = 0; index < subscriber_fds.size(); ++index) {
      ::fcntl(subscriber_fds[index], F_SETFL, O_NONBLOCK);
      epoll_event add{};
      add.events = EPOLLIN;
      add.data.u64 = index;
      epoll_ctl(epoll, EPOLL_CTL_ADD, subscriber_fds[index], &add);
    }
    epoll_event events[256];
    char buffer[4096];
    std::size_t seen = 0;
    while (seen < log.expected) {
      int ready = epoll_wait(epoll, events, 256, 1000);
      for (int index = 0; index < ready; ++index) {
        auto which = events[index].data.u64;
        auto got = ::recv(subscriber_fds[which], buffer, sizeof buffer, 0);
        if (got <= 0)
          continue;
        partial[which].append(buffer, static_cast<std::size_t>(got));
        while (partial[which].size() >= payload_bytes) {
          log.add(static_cast<double>(now_nanoseconds() - stamp_of(partial[which])) / 1000.0);
          partial[which].erase(0, payload_bytes);
          ++seen;
        }
      }
    }
    ::close(epoll);
  }};
  auto start = bench_clock::now();
  for (int index = 0; index < publishes; ++index) {
    auto payload = stamped_payload();
    (void)::send(publisher, payload.data(), payload.size(), MSG_NOSIGNAL);
    char done = 0;
    if (::recv(publisher, &done, 1, 0) != 1)
      bench::fail("peer: publisher got no answer");
  }
  if (!log.wait_all(120s))
    bench::fail("peer: only %zu notifications arrived", log.microseconds.size());
  auto end = bench_clock::now();
  client.join();
  server.join();
  for (int fd : subscriber_fds)
    ::close(fd);
  for (int fd : server_side)
    ::close(fd);
  ::close(publisher);
  ::close(publisher_server_side);
  ::close(listener);
  fanout_result outcome;
  outcome.delivered_per_second = static_cast<double>(log.expected) / bench::seconds_between(start, end);
  outcome.p99_microseconds = bench::percentile(log.microseconds, 0.99);
  return outcome;
}

} // namespace

int main(int argc, char** argv) {
  auto settings = bench::parse_arguments(argc, argv);
  // About 4,100 descriptors: 1,000 subscribers on both ends, twice (ours and
  // the peer run one after the other, but sockets linger in TIME_WAIT only
  // as kernel state, not descriptors).
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_cur < 4096 && files.rlim_max >= 4096) {
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, 8192);
    setrlimit(RLIMIT_NOFILE, &files);
  }
  getrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_cur < 2200)
    bench::fail("notify fan-out needs about 2,200 file descriptors; the limit is %llu",
                static_cast<unsigned long long>(files.rlim_cur));
  int publishes = settings.quick ? 50 : 200;
  runtime::engine engine;
  netio::io_pool_options pool;
  pool.workers = 2;
  netio::start_io_workers(engine, pool);
  std::vector<double> our_rates, peer_rates, our_p99, peer_p99;
  for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
    auto mine = ours(engine, publishes);
    auto theirs = peer(publishes);
    our_rates.push_back(mine.delivered_per_second);
    peer_rates.push_back(theirs.delivered_per_second);
    our_p99.push_back(mine.p99_microseconds);
    peer_p99.push_back(theirs.p99_microseconds);
  }
  bench::comment("notify fan-out: %d subscribers, %d sequential publishes of %zu bytes", subscribers,
                 publishes, payload_bytes);
  bench::report("notify_fanout_1000", bench::median(our_rates), "notifications/s",
                "raw epoll broadcast", bench::median(peer_rates), bench::better::higher);
  bench::report("notify_fanout_1000_p99", bench::median(our_p99), "us", "raw epoll broadcast",
                bench::median(peer_p99), bench::better::lower);
  return 0;
}
