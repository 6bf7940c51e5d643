// Notification fan-out to 1,000 subscribers.
//
//  notify_fanout_1000      notifications delivered per second: a publisher
//                          sends PUBLISH one after the other (each waits for
//                          its completion, which the server sends once every
//                          subscriber has the notification queued); 1,000
//                          async connections receive them on the I/O workers.
//  notify_fanout_1000_p99  delivery latency at p99, from just before the
//                          publish call to the subscriber's callback.
// Every side first makes 20 unmeasured publishes and waits for their
// notifications (one with --smoke); the span and the latencies are those of
// the publishes after them.
//
// Peers:
// - (limit) a minimal epoll broadcast server and an epoll client (one thread
//   each) that do the same: the server writes each published message to
//   1,000 sockets, then answers the publisher; the client reads all 1,000.
// - (alternative) Redis: a redis-server this benchmark starts on a free
//   loopback port (no persistence), 1,000 hiredis connections SUBSCRIBEd to
//   one channel and read by one epoll thread, and a hiredis publisher sending
//   PUBLISH one after the other, each waiting for its reply (Redis answers
//   once the message is in every subscriber's output buffer).
// cpu_s: CPU seconds from the first publish to the last delivery, of this
// process (cpu_meter) plus, for Redis, of the redis-server process (from
// /proc/<pid>/task/*/schedstat, nanoseconds on CPU).
//
// Placement (like for like, as echo): every server end on one CPU and every
// subscriber end on the other. Ours: the message_server on a server engine
// whose one I/O worker is pinned to the server CPU, the subscribers on a
// client engine whose one I/O worker is pinned to the client CPU; raw: its
// server thread and client thread pinned the same way; Redis: redis-server
// (every thread of it) pinned to the server CPU, its subscribers' epoll
// thread to the client CPU. The publisher (the main thread) is not pinned,
// on all three, and its socket is its own: raw and Redis read the answer on
// the main thread, ours on a third engine whose one I/O worker is not pinned
// (on the client engine, the answer waited behind the subscribers' reads on
// their worker, so the server idled between publishes).

#include "bench_support.hpp"

#include <actorloop/netio/connection.hpp>
#include <actorloop/netio/io_pool.hpp>
#include <actorloop/netio/server.hpp>
#include <actorloop/runtime/engine.hpp>

#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <mutex>
#include <optional>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
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
  return std::chrono::duration_cast<std::chrono::nanoseconds>(bench_clock::now().time_since_epoch())
      .count();
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
  double cpu_s = 0;
};

/// Latencies of one run, filled by the receiving side. The first `warm_up`
/// arrivals (the warm-up publishes' notifications, all read before the
/// measured publishes start) are counted but not kept.
struct latency_log {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<double> microseconds; // the measured arrivals
  std::size_t warm_up = 0;
  std::size_t expected = 0; // every arrival, the warm-up's included
  std::size_t arrived = 0;

  latency_log(int warm_up_publishes, int publishes)
    : warm_up(static_cast<std::size_t>(subscribers) *
              static_cast<std::size_t>(warm_up_publishes)),
      expected(warm_up +
               static_cast<std::size_t>(subscribers) * static_cast<std::size_t>(publishes)) {
    microseconds.reserve(expected - warm_up);
  }
  void add(double value) {
    std::lock_guard guard{mutex};
    if (++arrived > warm_up)
      microseconds.push_back(value);
    if (arrived == warm_up || arrived == expected)
      changed.notify_all();
  }
  /// Waits until `count` notifications arrived in all.
  bool wait_for(std::size_t count, std::chrono::seconds limit) {
    std::unique_lock guard{mutex};
    return changed.wait_for(guard, limit, [&] { return arrived >= count; });
  }
  [[nodiscard]] std::size_t measured() const noexcept { return expected - warm_up; }
  [[nodiscard]] std::size_t arrivals() {
    std::lock_guard guard{mutex};
    return arrived;
  }
};

/// Makes `warm_up` unmeasured publishes and waits for their notifications,
/// calls `measure_from_here`, then makes `publishes` measured ones and waits
/// for all their notifications. Returns the seconds of the measured span.
template <class Publish, class Start>
double publish_and_wait(latency_log& log, const char* who, int warm_up, int publishes,
                        Publish&& publish, Start&& measure_from_here) {
  for (int index = 0; index < warm_up; ++index)
    publish();
  if (!log.wait_for(log.warm_up, 120s))
    bench::fail("%s: only %zu of the %zu warm-up notifications arrived", who, log.arrivals(),
                log.warm_up);
  measure_from_here();
  auto start = bench_clock::now();
  for (int index = 0; index < publishes; ++index)
    publish();
  if (!log.wait_for(log.expected, 120s))
    bench::fail("%s: only %zu of %zu notifications arrived", who, log.arrivals(), log.expected);
  return bench::seconds_between(start, bench_clock::now());
}

// -- ours -----------------------------------------------------------------------------

fanout_result ours(runtime::engine& server_engine, runtime::engine& engine,
                   runtime::engine& publisher_engine, int warm_up, int publishes) {
  netio::server_options options;
  netio::message_server server{server_engine, options};
  latency_log log{warm_up, publishes};
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
  netio::context publisher_context{publisher_engine, {netio::io_mode::sync}};
  netio::connection publisher{publisher_context};
  if (publisher.connect(server.local_endpoint()) != netio::retcode::succeed)
    bench::fail("publisher: %s", publisher.last_error().text.c_str());
  auto publish = [&] {
    if (publisher.execute({"PUBLISH", "fan", stamped_payload()}) != netio::retcode::succeed)
      bench::fail("publish failed: %s", publisher.last_error().text.c_str());
    auto result = publisher.take_result();
    if (!result || result->outcome.text != "delivered " + std::to_string(subscribers))
      bench::fail("publish reached %s", result ? result->outcome.text.c_str() : "nobody");
  };
  bench::cpu_meter meter;
  double seconds =
    publish_and_wait(log, "ours", warm_up, publishes, publish, [&] { meter.start(); });
  fanout_result outcome;
  outcome.cpu_s = meter.stop();
  outcome.delivered_per_second = static_cast<double>(log.measured()) / seconds;
  outcome.p99_microseconds = bench::percentile(log.microseconds, 0.99);
  listeners.clear();
  server.stop(1s);
  return outcome;
}

// -- the peer: raw epoll broadcast ----------------------------------------------------------

fanout_result peer(int warm_up, int publishes, bench::placement where) {
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
    bench::pin_this_thread(where.server_cpu);
    std::vector<char> message(payload_bytes);
    for (int index = 0; index < warm_up + publishes; ++index) {
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
  latency_log log{warm_up, publishes};
  std::thread client{[&] {
    bench::pin_this_thread(where.client_cpu);
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
  auto publish = [&] {
    auto payload = stamped_payload();
    (void)::send(publisher, payload.data(), payload.size(), MSG_NOSIGNAL);
    char done = 0;
    if (::recv(publisher, &done, 1, 0) != 1)
      bench::fail("peer: publisher got no answer");
  };
  bench::cpu_meter meter;
  double seconds =
    publish_and_wait(log, "peer", warm_up, publishes, publish, [&] { meter.start(); });
  double cpu_s = meter.stop();
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
  outcome.delivered_per_second = static_cast<double>(log.measured()) / seconds;
  outcome.p99_microseconds = bench::percentile(log.microseconds, 0.99);
  outcome.cpu_s = cpu_s;
  return outcome;
}

// -- the peer a user would pick: Redis PUBLISH / SUBSCRIBE ----------------------------

/// A redis-server child process on a free loopback port, without
/// persistence; stopped (SIGTERM, then waited for) on destruction.
class redis_process {
public:
  redis_process() {
    const char* binary = "/usr/bin/redis-server";
    if (::access(binary, X_OK) != 0)
      bench::fail("notify: %s is missing (scripts/install-deps installs redis-server)", binary);
    // A free port: bind port 0, read it back, release it for redis-server. If
    // another process takes it meanwhile, redis-server fails to start and we
    // try again with a new port.
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      port_ = free_port();
      auto port_text = std::to_string(port_);
      pid_ = ::fork();
      if (pid_ < 0)
        bench::fail("notify: fork failed: %s", std::strerror(errno));
      if (pid_ == 0) {
        // Die with this process even when it is killed: a leftover server
        // would keep its port and the stderr that bench/run reads.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() == 1)
          ::_exit(126);
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::execl(binary, binary, "--port", port_text.c_str(), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--maxclients", "4000",
                "--protected-mode", "no", "--loglevel", "warning", "--dir", "/tmp",
                static_cast<char*>(nullptr));
        ::_exit(127);
      }
      if (!wait_until_ready()) {
        stop();
        pid_ = -1;
      }
    }
    if (pid_ <= 0)
      bench::fail("notify: redis-server did not start on a free loopback port");
    cleanup_.emplace([this] { stop(); });
  }
  ~redis_process() { stop(); }
  redis_process(const redis_process&) = delete;
  redis_process& operator=(const redis_process&) = delete;

  [[nodiscard]] int port() const { return port_; }
  /// Pins every thread of redis-server to `cpu`.
  void pin_to(unsigned cpu) const {
    cpu_set_t mask;
    CPU_ZERO(&mask);
    CPU_SET(cpu, &mask);
    auto dir = "/proc/" + std::to_string(pid_) + "/task";
    DIR* tasks = ::opendir(dir.c_str());
    if (tasks == nullptr)
      bench::fail("notify: cannot list redis-server's threads in %s", dir.c_str());
    int pinned = 0;
    while (dirent* entry = ::readdir(tasks)) {
      if (entry->d_name[0] == '.')
        continue;
      if (::sched_setaffinity(std::atoi(entry->d_name), sizeof mask, &mask) != 0)
        bench::fail("notify: pinning redis-server's thread %s to CPU %u failed: %s", entry->d_name,
                    cpu, std::strerror(errno));
      ++pinned;
    }
    ::closedir(tasks);
    if (pinned == 0)
      bench::fail("notify: redis-server has no threads to pin");
  }
  /// CPU seconds the server's threads have used so far.
  [[nodiscard]] double cpu_seconds() const {
    double total = 0;
    auto dir = "/proc/" + std::to_string(pid_) + "/task";
    DIR* tasks = ::opendir(dir.c_str());
    if (tasks == nullptr)
      return 0;
    while (dirent* entry = ::readdir(tasks)) {
      if (entry->d_name[0] == '.')
        continue;
      std::FILE* file = std::fopen((dir + "/" + entry->d_name + "/schedstat").c_str(), "r");
      if (file == nullptr)
        continue;
      unsigned long long on_cpu_ns = 0;
      if (std::fscanf(file, "%llu", &on_cpu_ns) == 1)
        total += static_cast<double>(on_cpu_ns) / 1e9;
      std::fclose(file);
    }
    ::closedir(tasks);
    return total;
  }

private:
  static int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      bench::fail("notify: cannot bind a loopback port: %s", std::strerror(errno));
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
  }
  bool wait_until_ready() {
    // Poll with PING until it answers, the child exits, or 10 s pass: the
    // server gives no other sign that it listens.
    auto limit = bench_clock::now() + 10s;
    while (bench_clock::now() < limit) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      timeval timeout{1, 0};
      if (redisContext* probe = redisConnectWithTimeout("127.0.0.1", port_, timeout)) {
        bool ok = false;
        if (probe->err == 0)
          if (auto* reply = static_cast<redisReply*>(redisCommand(probe, "PING"))) {
            ok = reply->type == REDIS_REPLY_STATUS;
            freeReplyObject(reply);
          }
        redisFree(probe);
        if (ok)
          return true;
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  void stop() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  pid_t pid_ = -1;
  int port_ = 0;
  std::optional<bench::failure_cleanup> cleanup_;
};

fanout_result redis_peer(const redis_process& redis, int warm_up, int publishes,
                         bench::placement where) {
  timeval timeout{10, 0};
  std::vector<redisContext*> subscriber_contexts;
  for (int index = 0; index < subscribers; ++index) {
    redisContext* each = redisConnectWithTimeout("127.0.0.1", redis.port(), timeout);
    if (each == nullptr || each->err != 0)
      bench::fail("redis subscriber %d: %s", index, each ? each->errstr : "out of memory");
    int on = 1;
    ::setsockopt(each->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    auto* reply = static_cast<redisReply*>(redisCommand(each, "SUBSCRIBE fan"));
    if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY)
      bench::fail("redis subscriber %d: SUBSCRIBE failed", index);
    freeReplyObject(reply);
    subscriber_contexts.push_back(each);
  }
  redisContext* publisher = redisConnectWithTimeout("127.0.0.1", redis.port(), timeout);
  if (publisher == nullptr || publisher->err != 0)
    bench::fail("redis publisher: %s", publisher ? publisher->errstr : "out of memory");
  int on = 1;
  ::setsockopt(publisher->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);

  latency_log log{warm_up, publishes};
  std::atomic<bool> failed{false};
  std::thread client{[&] {
    bench::pin_this_thread(where.client_cpu);
    int epoll = epoll_create1(0);
    for (std::size_t index = 0; index < subscriber_contexts.size(); ++index) {
      ::fcntl(subscriber_contexts[index]->fd, F_SETFL, O_NONBLOCK);
      epoll_event add{};
      add.events = EPOLLIN;
      add.data.u64 = index;
      epoll_ctl(epoll, EPOLL_CTL_ADD, subscriber_contexts[index]->fd, &add);
    }
    epoll_event events[256];
    char buffer[16384];
    std::size_t seen = 0;
    while (seen < log.expected && !failed.load()) {
      int ready = epoll_wait(epoll, events, 256, 1000);
      for (int index = 0; index < ready; ++index) {
        redisContext* each = subscriber_contexts[events[index].data.u64];
        auto got = ::recv(each->fd, buffer, sizeof buffer, 0);
        if (got <= 0)
          continue;
        if (redisReaderFeed(each->reader, buffer, static_cast<std::size_t>(got)) != REDIS_OK) {
          failed = true;
          break;
        }
        void* raw = nullptr;
        while (redisReaderGetReply(each->reader, &raw) == REDIS_OK && raw != nullptr) {
          auto* message = static_cast<redisReply*>(raw);
          // ["message", channel, payload]
          if (message->type == REDIS_REPLY_ARRAY && message->elements == 3) {
            std::string_view payload{message->element[2]->str, message->element[2]->len};
            log.add(static_cast<double>(now_nanoseconds() - stamp_of(payload)) / 1000.0);
            ++seen;
          }
          freeReplyObject(message);
          raw = nullptr;
        }
      }
    }
    ::close(epoll);
  }};
  auto publish = [&] {
    auto payload = stamped_payload();
    auto* reply = static_cast<redisReply*>(
        redisCommand(publisher, "PUBLISH fan %b", payload.data(), payload.size()));
    if (reply == nullptr || reply->type != REDIS_REPLY_INTEGER || reply->integer != subscribers)
      bench::fail("redis PUBLISH reached %lld subscribers, expected %d",
                  reply ? static_cast<long long>(reply->integer) : -1LL, subscribers);
    freeReplyObject(reply);
  };
  double server_cpu_at_start = 0;
  bench::cpu_meter meter;
  double seconds = publish_and_wait(log, "redis peer", warm_up, publishes, publish, [&] {
    server_cpu_at_start = redis.cpu_seconds();
    meter.start();
  });
  double cpu_s = meter.stop() + (redis.cpu_seconds() - server_cpu_at_start);
  client.join();
  if (failed.load())
    bench::fail("redis peer: a subscriber's reply stream did not parse");
  for (auto* each : subscriber_contexts)
    redisFree(each);
  redisFree(publisher);
  fanout_result outcome;
  outcome.delivered_per_second = static_cast<double>(log.measured()) / seconds;
  outcome.p99_microseconds = bench::percentile(log.microseconds, 0.99);
  outcome.cpu_s = cpu_s;
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
  int publishes = settings.smoke ? 5 : settings.quick ? 50 : 200;
  // Unmeasured publishes before each run, the same on every side: a run's
  // first publishes to its 1,000 fresh connections are slower than the rest
  // (ours about 15 of them, raw epoll one or two).
  int warm_up = settings.smoke ? 1 : 20;
  std::signal(SIGPIPE, SIG_IGN);
  auto where = bench::client_server_placement();
  redis_process redis;
  redis.pin_to(where.server_cpu);
  auto server_engine = bench::engine_with_one_io_worker(where.server_cpu);
  auto client_engine = bench::engine_with_one_io_worker(where.client_cpu);
  auto publisher_engine = bench::engine_with_one_io_worker(std::nullopt);
  bench::side our_rates, raw_rates, redis_rates, our_p99, raw_p99, redis_p99;
  for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
    fanout_result mine, raw, theirs;
    bench::in_turn(
        repetition,
        {[&] {
           mine = ours(*server_engine, *client_engine, *publisher_engine, warm_up, publishes);
         },
         [&] { raw = peer(warm_up, publishes, where); },
         [&] { theirs = redis_peer(redis, warm_up, publishes, where); }});
    our_rates.add(mine.delivered_per_second, mine.cpu_s);
    raw_rates.add(raw.delivered_per_second, raw.cpu_s);
    redis_rates.add(theirs.delivered_per_second, theirs.cpu_s);
    our_p99.add(mine.p99_microseconds, mine.cpu_s);
    raw_p99.add(raw.p99_microseconds, raw.cpu_s);
    redis_p99.add(theirs.p99_microseconds, theirs.cpu_s);
  }
  bench::comment("notify fan-out: %d subscribers, %d sequential publishes of %zu bytes after %d "
                 "unmeasured ones (every side); every "
                 "server end on CPU %u, every subscriber end on CPU %u (ours: a server engine "
                 "and a client engine, one pinned I/O worker each; raw epoll: one server and one "
                 "client thread; Redis: redis-server and one client thread); the publisher "
                 "unpinned, its socket its own (ours: on a third engine, one unpinned I/O "
                 "worker); cpu_s includes redis-server's CPU",
                 subscribers, publishes, payload_bytes, warm_up, where.server_cpu,
                 where.client_cpu);
  const auto higher = bench::better::higher;
  const auto lower = bench::better::lower;
  bench::report("notify_fanout_1000", "notifications/s", higher, our_rates, "raw epoll broadcast",
                bench::peer_kind::limit, raw_rates);
  bench::report("notify_fanout_1000", "notifications/s", higher, our_rates,
                "redis-server PUBLISH, hiredis subscribers", bench::peer_kind::alternative,
                redis_rates);
  bench::report("notify_fanout_1000_p99", "us", lower, our_p99, "raw epoll broadcast",
                bench::peer_kind::limit, raw_p99);
  bench::report("notify_fanout_1000_p99", "us", lower, our_p99,
                "redis-server PUBLISH, hiredis subscribers", bench::peer_kind::alternative,
                redis_p99);
  return 0;
}
