// The PostgreSQL client against libpq, the client a user would otherwise
// pick, on the same throwaway PostgreSQL 15 (scripts/pg-server, started by
// this benchmark in a temporary directory on a free loopback port and
// stopped at the end), in the same run, alternating runs of ours and of
// libpq.
//
//  pg_select1_seq             `SELECT 1` round trips per second, one after
//                             the other: a sync-mode pg::connection against
//                             PQexec.
//  pg_select1_async_100conn   `SELECT 1` round trips per second over 100
//                             connections, each starting its next query when
//                             the previous one completes: async-mode
//                             connections (the completion callback on the
//                             I/O worker starts the next one) against libpq
//                             in non-blocking mode (PQsendQuery, PQflush,
//                             PQconsumeInput, PQisBusy, PQgetResult) driven
//                             by one epoll loop per I/O worker we use, each
//                             owning the same share of the connections.
//  pg_notify_latency_p50/_p99 from just before NOTIFY is sent to the
//                             notification callback: an async-mode listener
//                             with asynchronous notifications against a
//                             libpq listener thread that waits for socket
//                             readiness (poll), then PQconsumeInput and
//                             PQnotifies. The notifier is the same for both:
//                             a libpq connection on the main thread sending
//                             `NOTIFY` with the send time as payload, one at
//                             a time, waiting for each delivery before the
//                             next, so only the receiving path differs.
//
// Placement (like for like): our two I/O workers are pinned to the first two
// allowed CPUs; the libpq threads doing our workers' jobs are pinned the same
// way (epoll thread i on worker i's CPU; the notification listener on the CPU
// of the worker that holds our listener). The main thread (the sync caller,
// the notifier) is not pinned, on both sides. Every connection is TCP over
// 127.0.0.1 as `trust_user`, without TLS. Warm-up: every connection runs
// queries before the measured span, on both sides.
// cpu_s: CPU seconds of this (client) process over the measured span, the
// other side's idle threads left out (cpu_meter); the server's CPU is the
// same server's for both sides and is not counted.

#include "bench_support.hpp"

#include <actorloop/netio/connection.hpp>
#include <actorloop/netio/io_pool.hpp>
#include <actorloop/pg/connection.hpp>
#include <actorloop/runtime/engine.hpp>

#include <libpq-fe.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <mutex>
#include <poll.h>
#include <string>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace netio = actorloop::netio;
namespace pg = actorloop::pg;
namespace runtime = actorloop::runtime;
using namespace std::chrono_literals;
using bench::bench_clock;

namespace {

constexpr int async_connections = 100;
constexpr std::size_t io_workers = 2;

std::int64_t now_nanoseconds() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           bench_clock::now().time_since_epoch())
    .count();
}

std::int64_t stamp_of(std::string_view payload) {
  std::int64_t value = 0;
  std::from_chars(payload.data(), payload.data() + payload.size(), value);
  return value;
}

// -- the server -------------------------------------------------------------------

/// Output and exit status of a shell command.
std::string run_command(const std::string& command, int& status) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr)
    bench::fail("pg: popen failed for %s", command.c_str());
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr)
    output += buffer;
  int raw = ::pclose(pipe);
  status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return output;
}

/// The throwaway PostgreSQL of scripts/pg-server in its own temporary
/// directory; stopped (and the directory removed) on destruction.
class pg_process {
public:
  pg_process() {
    script_ = (std::filesystem::path(ACTORLOOP_SOURCE_DIR) / "scripts" / "pg-server").string();
    std::string pattern =
      (std::filesystem::temp_directory_path() / "actorloop-bench-pg-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      bench::fail("pg: mkdtemp failed: %s", std::strerror(errno));
    dir_ = pattern;
    int status = 0;
    auto out = run_command(script_ + " start " + dir_ + " 2>&1", status);
    if (status != 0)
      bench::fail("pg: scripts/pg-server start failed:\n%s", out.c_str());
    port_ = static_cast<std::uint16_t>(std::atoi(out.c_str()));
    if (port_ == 0)
      bench::fail("pg: scripts/pg-server printed no port: %s", out.c_str());
  }
  ~pg_process() {
    int status = 0;
    auto out = run_command(script_ + " stop " + dir_ + " 2>&1", status);
    if (status != 0)
      std::fprintf(stderr, "pg: scripts/pg-server stop failed:\n%s", out.c_str());
  }
  pg_process(const pg_process&) = delete;
  pg_process& operator=(const pg_process&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] pg::connection_options options() const {
    pg::connection_options result;
    result.hosts.push_back(pg::host_spec{"127.0.0.1", port_, {}});
    result.user = "trust_user";
    result.dbname = "postgres";
    result.sslmode = pg::ssl_mode::disable;
    return result;
  }
  [[nodiscard]] std::string conninfo() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) +
           " user=trust_user dbname=postgres sslmode=disable";
  }

private:
  std::string script_;
  std::string dir_;
  std::uint16_t port_ = 0;
};

PGconn* libpq_connect(const pg_process& server) {
  PGconn* connection = PQconnectdb(server.conninfo().c_str());
  if (PQstatus(connection) != CONNECTION_OK)
    bench::fail("libpq: connect failed: %s", PQerrorMessage(connection));
  return connection;
}

void libpq_exec(PGconn* connection, const char* sql) {
  PGresult* result = PQexec(connection, sql);
  auto status = PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    bench::fail("libpq: %s failed: %s", sql, PQerrorMessage(connection));
  PQclear(result);
}

/// One run's value and CPU seconds.
struct measured {
  double value = 0;
  double cpu_s = 0;
};

// -- pg_select1_seq ---------------------------------------------------------------

measured ours_seq(runtime::engine& engine, const pg_process& server, int round_trips,
                  int warm_up) {
  netio::context context{engine, {netio::io_mode::sync}};
  pg::connection connection{context, server.options()};
  if (connection.connect() != netio::retcode::succeed)
    bench::fail("ours: connect failed: %s", connection.last_error().text.c_str());
  auto one = [&] {
    if (connection.execute("SELECT 1") != netio::retcode::succeed)
      bench::fail("ours: SELECT 1 failed: %s", connection.last_error().text.c_str());
    auto result = connection.take_result();
    if (!result || result->results.size() != 1 || result->results[0].int64(0, 0) != 1)
      bench::fail("ours: SELECT 1 did not give 1");
  };
  for (int index = 0; index < warm_up; ++index)
    one();
  bench::cpu_meter meter;
  meter.start();
  auto start = bench_clock::now();
  for (int index = 0; index < round_trips; ++index)
    one();
  auto end = bench_clock::now();
  measured outcome{round_trips / bench::seconds_between(start, end), meter.stop()};
  (void)connection.close();
  return outcome;
}

measured libpq_seq(const pg_process& server, const std::vector<pid_t>& our_threads,
                   int round_trips, int warm_up) {
  PGconn* connection = libpq_connect(server);
  auto one = [&] {
    PGresult* result = PQexec(connection, "SELECT 1");
    if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1 ||
        std::strcmp(PQgetvalue(result, 0, 0), "1") != 0)
      bench::fail("libpq: SELECT 1 failed: %s", PQerrorMessage(connection));
    PQclear(result);
  };
  for (int index = 0; index < warm_up; ++index)
    one();
  bench::cpu_meter meter{our_threads};
  meter.start();
  auto start = bench_clock::now();
  for (int index = 0; index < round_trips; ++index)
    one();
  auto end = bench_clock::now();
  measured outcome{round_trips / bench::seconds_between(start, end), meter.stop()};
  PQfinish(connection);
  return outcome;
}

// -- pg_select1_async_100conn -------------------------------------------------------

/// Counts finished operations; the main thread waits for a total.
class tally {
public:
  void add() {
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == wanted_) {
      std::lock_guard guard{mutex_};
      reached_.notify_all();
    }
  }
  void expect(long wanted) {
    done_ = 0;
    wanted_ = wanted;
  }
  bool wait(std::chrono::seconds limit) {
    std::unique_lock guard{mutex_};
    return reached_.wait_for(guard, limit, [&] { return done_.load() >= wanted_; });
  }
  [[nodiscard]] long value() const { return done_.load(); }

private:
  std::atomic<long> done_{0};
  long wanted_ = 0;
  std::mutex mutex_;
  std::condition_variable reached_;
};

measured ours_async(runtime::engine& engine, const pg_process& server, int per_connection,
                    int warm_up) {
  netio::context context{engine, {netio::io_mode::async}};
  std::vector<std::unique_ptr<pg::connection>> connections;
  std::vector<int> remaining(async_connections);
  std::atomic<bool> failed{false};
  tally finished;
  for (int index = 0; index < async_connections; ++index) {
    auto connection = std::make_unique<pg::connection>(context, server.options());
    int* left = &remaining[static_cast<std::size_t>(index)];
    connection->set_completion([&finished, &failed, left](pg::connection& self,
                                                          netio::function_id function,
                                                          netio::retcode status) {
      if (status != netio::retcode::succeed) {
        failed = true;
        finished.add();
        return;
      }
      if (function == netio::function_id::execute) {
        auto result = self.take_result();
        if (!result || result->results.size() != 1 || result->results[0].int64(0, 0) != 1)
          failed = true;
        if (--*left > 0) {
          if (self.execute("SELECT 1") != netio::retcode::pending)
            failed = true;
          return;
        }
      }
      finished.add();
    });
    connections.push_back(std::move(connection));
  }
  finished.expect(async_connections);
  for (auto& connection : connections)
    if (connection->connect() != netio::retcode::pending)
      bench::fail("ours: connect did not start");
  if (!finished.wait(120s) || failed.load())
    bench::fail("ours: connecting 100 connections failed");
  auto round = [&](int queries) {
    for (auto& left : remaining)
      left = queries;
    finished.expect(async_connections);
    for (auto& connection : connections)
      if (connection->execute("SELECT 1") != netio::retcode::pending)
        bench::fail("ours: execute did not start");
    if (!finished.wait(300s) || failed.load())
      bench::fail("ours: async round trips failed (%ld of %d connections done)",
                  finished.value(), async_connections);
  };
  round(warm_up);
  bench::cpu_meter meter;
  meter.start();
  auto start = bench_clock::now();
  round(per_connection);
  auto end = bench_clock::now();
  measured outcome{static_cast<double>(per_connection) * async_connections /
                     bench::seconds_between(start, end),
                   meter.stop()};
  finished.expect(async_connections);
  for (auto& connection : connections)
    if (connection->close() != netio::retcode::pending)
      bench::fail("ours: close did not start");
  if (!finished.wait(60s))
    bench::fail("ours: closing did not finish");
  connections.clear();
  return outcome;
}

/// One libpq epoll loop and its share of the connections.
struct libpq_loop {
  std::vector<PGconn*> connections;
  std::vector<int> remaining;
  int epoll = -1;
};

/// Sends the next `SELECT 1` on connection `index` of `loop`; watches for
/// writability while libpq could not flush it all.
void libpq_send(libpq_loop& loop, std::size_t index) {
  PGconn* connection = loop.connections[index];
  if (PQsendQuery(connection, "SELECT 1") != 1)
    bench::fail("libpq: PQsendQuery failed: %s", PQerrorMessage(connection));
  int flushed = PQflush(connection);
  if (flushed < 0)
    bench::fail("libpq: PQflush failed: %s", PQerrorMessage(connection));
  epoll_event change{};
  change.events = EPOLLIN | (flushed == 1 ? EPOLLOUT : 0u);
  change.data.u64 = index;
  if (flushed == 1)
    epoll_ctl(loop.epoll, EPOLL_CTL_MOD, PQsocket(connection), &change);
}

/// Runs `queries` round trips on every connection of `loop`, as a user of
/// libpq's asynchronous API writes it.
void libpq_loop_run(libpq_loop& loop, int queries) {
  std::size_t active = loop.connections.size();
  for (std::size_t index = 0; index < loop.connections.size(); ++index) {
    loop.remaining[index] = queries;
    libpq_send(loop, index);
  }
  epoll_event events[128];
  while (active > 0) {
    int ready = epoll_wait(loop.epoll, events, 128, 10000);
    if (ready <= 0)
      bench::fail("libpq: epoll_wait gave %d (%s)", ready, std::strerror(errno));
    for (int event = 0; event < ready; ++event) {
      auto index = static_cast<std::size_t>(events[event].data.u64);
      PGconn* connection = loop.connections[index];
      if ((events[event].events & EPOLLOUT) != 0) {
        int flushed = PQflush(connection);
        if (flushed < 0)
          bench::fail("libpq: PQflush failed: %s", PQerrorMessage(connection));
        if (flushed == 0) {
          epoll_event change{};
          change.events = EPOLLIN;
          change.data.u64 = index;
          epoll_ctl(loop.epoll, EPOLL_CTL_MOD, PQsocket(connection), &change);
        }
      }
      if ((events[event].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0)
        continue;
      if (PQconsumeInput(connection) != 1)
        bench::fail("libpq: PQconsumeInput failed: %s", PQerrorMessage(connection));
      while (PQisBusy(connection) == 0) {
        PGresult* result = PQgetResult(connection);
        if (result == nullptr) {
          // The query is complete.
          if (--loop.remaining[index] > 0)
            libpq_send(loop, index);
          else
            --active;
          break;
        }
        if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1 ||
            std::strcmp(PQgetvalue(result, 0, 0), "1") != 0)
          bench::fail("libpq: SELECT 1 failed: %s", PQerrorMessage(connection));
        PQclear(result);
      }
    }
  }
}

measured libpq_async(const pg_process& server, const std::vector<pid_t>& our_threads,
                     const std::vector<unsigned>& cpus, int per_connection, int warm_up) {
  std::vector<libpq_loop> loops(io_workers);
  for (int index = 0; index < async_connections; ++index) {
    auto& loop = loops[static_cast<std::size_t>(index) % io_workers];
    PGconn* connection = libpq_connect(server);
    if (PQsetnonblocking(connection, 1) != 0)
      bench::fail("libpq: PQsetnonblocking failed");
    loop.connections.push_back(connection);
    loop.remaining.push_back(0);
  }
  for (auto& loop : loops) {
    loop.epoll = epoll_create1(EPOLL_CLOEXEC);
    for (std::size_t index = 0; index < loop.connections.size(); ++index) {
      epoll_event add{};
      add.events = EPOLLIN;
      add.data.u64 = index;
      if (epoll_ctl(loop.epoll, EPOLL_CTL_ADD, PQsocket(loop.connections[index]), &add) != 0)
        bench::fail("libpq: epoll_ctl failed: %s", std::strerror(errno));
    }
  }
  // Each loop thread: warm up, meet the others, run the measured span, meet again.
  std::mutex mutex;
  std::condition_variable changed;
  int warmed = 0;
  bool go = false;
  int finished = 0;
  bench_clock::time_point start;
  bench_clock::time_point end;
  bench::cpu_meter meter{our_threads};
  std::vector<std::thread> threads;
  for (std::size_t index = 0; index < io_workers; ++index)
    threads.emplace_back([&, index] {
      bench::pin_this_thread(cpus[index % cpus.size()]);
      libpq_loop_run(loops[index], warm_up);
      {
        std::unique_lock guard{mutex};
        ++warmed;
        changed.notify_all();
        changed.wait(guard, [&] { return go; });
      }
      libpq_loop_run(loops[index], per_connection);
      std::unique_lock guard{mutex};
      if (++finished == static_cast<int>(io_workers)) {
        end = bench_clock::now();
        changed.notify_all();
      }
      // Stay alive until the CPU time is read (cpu_meter counts live threads).
      changed.wait(guard, [&] { return finished < 0; });
    });
  double cpu_s = 0;
  {
    std::unique_lock guard{mutex};
    changed.wait(guard, [&] { return warmed == static_cast<int>(io_workers); });
    meter.start();
    start = bench_clock::now();
    go = true;
    changed.notify_all();
    changed.wait(guard, [&] { return finished == static_cast<int>(io_workers); });
    cpu_s = meter.stop();
    finished = -1;
    changed.notify_all();
  }
  for (auto& thread : threads)
    thread.join();
  for (auto& loop : loops) {
    ::close(loop.epoll);
    for (PGconn* connection : loop.connections)
      PQfinish(connection);
  }
  return {static_cast<double>(per_connection) * async_connections /
            bench::seconds_between(start, end),
          cpu_s};
}

// -- pg_notify_latency ------------------------------------------------------------

/// Latencies of one run; the notifier waits for each before sending the next.
struct latency_log {
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<double> microseconds;
  std::size_t unexpected = 0;

  void add(std::string_view payload) {
    double value = static_cast<double>(now_nanoseconds() - stamp_of(payload)) / 1000.0;
    std::lock_guard guard{mutex};
    microseconds.push_back(value);
    arrived.notify_all();
  }
  bool wait_for_count(std::size_t count) {
    std::unique_lock guard{mutex};
    return arrived.wait_for(guard, 30s, [&] { return microseconds.size() >= count; });
  }
};

struct latency_run {
  double p50 = 0;
  double p99 = 0;
  double cpu_s = 0;
};

/// Sends `count` notifications one at a time, each after the previous arrived.
void notify_each(PGconn* notifier, latency_log& log, int count, const char* side) {
  for (int index = 0; index < count; ++index) {
    std::size_t before = 0;
    {
      std::lock_guard guard{log.mutex};
      before = log.microseconds.size();
    }
    auto sql = "NOTIFY bench_latency, '" + std::to_string(now_nanoseconds()) + "'";
    libpq_exec(notifier, sql.c_str());
    if (!log.wait_for_count(before + 1))
      bench::fail("%s: notification %d did not arrive within 30 s", side, index);
  }
}

/// `io_thread` is set to the I/O worker the listener ran on.
latency_run ours_notify(runtime::engine& engine, const pg_process& server, PGconn* notifier,
                        int count, int warm_up, std::thread::id& io_thread) {
  netio::context context{engine, {netio::io_mode::async}};
  netio::connection_options core;
  core.async_notifications = true;
  pg::connection listener{context, server.options(), core};
  latency_log log;
  tally completions;
  std::atomic<bool> failed{false};
  listener.set_notification(
    [&](pg::connection&, const pg::notification& note) { log.add(note.payload); });
  listener.set_completion([&](pg::connection&, netio::function_id, netio::retcode status) {
    if (status != netio::retcode::succeed)
      failed = true;
    completions.add();
  });
  completions.expect(1);
  if (listener.connect() != netio::retcode::pending || !completions.wait(60s) || failed.load())
    bench::fail("ours: listener connect failed");
  completions.expect(1);
  if (listener.execute("LISTEN bench_latency") != netio::retcode::pending ||
      !completions.wait(60s) || failed.load())
    bench::fail("ours: LISTEN failed");
  (void)listener.take_result();
  io_thread = listener.io_thread();
  notify_each(notifier, log, warm_up, "ours");
  {
    std::lock_guard guard{log.mutex};
    log.microseconds.clear();
  }
  bench::cpu_meter meter;
  meter.start();
  notify_each(notifier, log, count, "ours");
  latency_run outcome;
  outcome.cpu_s = meter.stop();
  {
    std::lock_guard guard{log.mutex};
    if (log.microseconds.size() != static_cast<std::size_t>(count))
      bench::fail("ours: %zu notifications for %d sent", log.microseconds.size(), count);
    outcome.p50 = bench::percentile(log.microseconds, 0.50);
    outcome.p99 = bench::percentile(log.microseconds, 0.99);
  }
  completions.expect(1);
  if (listener.close() != netio::retcode::pending || !completions.wait(60s))
    bench::fail("ours: listener close failed");
  return outcome;
}

latency_run libpq_notify(const pg_process& server, const std::vector<pid_t>& our_threads,
                         unsigned cpu, PGconn* notifier, int count, int warm_up) {
  PGconn* listener = libpq_connect(server);
  libpq_exec(listener, "LISTEN bench_latency");
  if (PQsetnonblocking(listener, 1) != 0)
    bench::fail("libpq: PQsetnonblocking failed");
  latency_log log;
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC) != 0)
    bench::fail("pipe2 failed: %s", std::strerror(errno));
  std::thread receiver{[&] {
    bench::pin_this_thread(cpu);
    pollfd watched[2] = {{PQsocket(listener), POLLIN, 0}, {wake[0], POLLIN, 0}};
    while (!stop.load()) {
      if (::poll(watched, 2, -1) < 0 && errno != EINTR) {
        failed = true;
        return;
      }
      if ((watched[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
        continue;
      if (PQconsumeInput(listener) != 1) {
        failed = true;
        return;
      }
      while (PGnotify* note = PQnotifies(listener)) {
        log.add(note->extra);
        PQfreemem(note);
      }
    }
  }};
  notify_each(notifier, log, warm_up, "libpq");
  {
    std::lock_guard guard{log.mutex};
    log.microseconds.clear();
  }
  bench::cpu_meter meter{our_threads};
  meter.start();
  notify_each(notifier, log, count, "libpq");
  latency_run outcome;
  outcome.cpu_s = meter.stop();
  stop = true;
  char byte = 'x';
  (void)::write(wake[1], &byte, 1);
  receiver.join();
  ::close(wake[0]);
  ::close(wake[1]);
  if (failed.load())
    bench::fail("libpq: the listener's connection failed: %s", PQerrorMessage(listener));
  {
    std::lock_guard guard{log.mutex};
    if (log.microseconds.size() != static_cast<std::size_t>(count))
      bench::fail("libpq: %zu notifications for %d sent", log.microseconds.size(), count);
    outcome.p50 = bench::percentile(log.microseconds, 0.50);
    outcome.p99 = bench::percentile(log.microseconds, 0.99);
  }
  PQfinish(listener);
  return outcome;
}

/// The CPU of the I/O worker whose thread is `thread`.
unsigned cpu_of_worker(runtime::engine& engine, std::thread::id thread,
                       const std::vector<unsigned>& cpus) {
  auto stats = netio::io_worker_statistics(engine);
  for (std::size_t index = 0; index < stats.size(); ++index)
    if (stats[index].thread == thread)
      return cpus[index % cpus.size()];
  bench::fail("the listener's I/O thread is none of the I/O workers");
}

} // namespace

int main(int argc, char** argv) {
  auto settings = bench::parse_arguments(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  const int seq_round_trips = settings.smoke ? 200 : settings.quick ? 2000 : 20000;
  const int per_connection = settings.smoke ? 5 : settings.quick ? 20 : 200;
  const int notifications = settings.smoke ? 50 : settings.quick ? 200 : 2000;
  const int warm_up_seq = settings.smoke ? 20 : 500;
  const int warm_up_async = settings.smoke ? 1 : 10;
  const int warm_up_notify = settings.smoke ? 5 : 50;

  pg_process server;
  auto allowed = bench::allowed_cpus();
  std::vector<unsigned> cpus(allowed.begin(),
                             allowed.begin() + static_cast<std::ptrdiff_t>(
                                                 std::min(allowed.size(), io_workers)));
  bench::thread_watch watch;
  runtime::engine engine;
  netio::io_pool_options pool;
  pool.workers = io_workers;
  for (unsigned cpu : cpus)
    pool.cpus.add(cpu);
  netio::start_io_workers(engine, pool);
  auto our_threads = watch.take();
  PGconn* notifier = libpq_connect(server);

  bench::side seq_ours, seq_peer, async_ours, async_peer, p50_ours, p50_peer, p99_ours,
    p99_peer;
  for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
    auto mine = ours_seq(engine, server, seq_round_trips, warm_up_seq);
    auto theirs = libpq_seq(server, our_threads, seq_round_trips, warm_up_seq);
    seq_ours.add(mine.value, mine.cpu_s);
    seq_peer.add(theirs.value, theirs.cpu_s);

    mine = ours_async(engine, server, per_connection, warm_up_async);
    theirs = libpq_async(server, our_threads, cpus, per_connection, warm_up_async);
    async_ours.add(mine.value, mine.cpu_s);
    async_peer.add(theirs.value, theirs.cpu_s);

    std::thread::id listener_thread;
    auto our_latency =
      ours_notify(engine, server, notifier, notifications, warm_up_notify, listener_thread);
    // The libpq listener thread on the CPU of the worker that ran ours.
    auto listener_cpu = cpu_of_worker(engine, listener_thread, cpus);
    auto their_latency =
      libpq_notify(server, our_threads, listener_cpu, notifier, notifications, warm_up_notify);
    p50_ours.add(our_latency.p50, our_latency.cpu_s);
    p50_peer.add(their_latency.p50, their_latency.cpu_s);
    p99_ours.add(our_latency.p99, our_latency.cpu_s);
    p99_peer.add(their_latency.p99, their_latency.cpu_s);
  }
  PQfinish(notifier);
  bench::comment("pg: PostgreSQL %s from scripts/pg-server on 127.0.0.1:%u (TCP, trust, no TLS); "
                 "ours on %zu I/O workers pinned to CPUs %u-%u, libpq's loop threads pinned the "
                 "same way; cpu_s is this client process's CPU over the span",
                 "15", server.port(), io_workers, cpus.front(), cpus.back());
  bench::comment("pg_select1_seq: %d round trips per run after %d warm-up; "
                 "pg_select1_async_100conn: %d connections x %d round trips; notify: %d "
                 "notifications, one at a time, the same libpq notifier for both",
                 seq_round_trips, warm_up_seq, async_connections, per_connection, notifications);
  const auto higher = bench::better::higher;
  const auto lower = bench::better::lower;
  const auto alternative = bench::peer_kind::alternative;
  bench::report("pg_select1_seq", "queries/s", higher, seq_ours, "libpq PQexec", alternative,
                seq_peer);
  bench::report("pg_select1_async_100conn", "queries/s", higher, async_ours,
                "libpq non-blocking, epoll loop per thread", alternative, async_peer);
  bench::report("pg_notify_latency_p50", "us", lower, p50_ours,
                "libpq PQnotifies on socket readiness", alternative, p50_peer);
  bench::report("pg_notify_latency_p99", "us", lower, p99_ours,
                "libpq PQnotifies on socket readiness", alternative, p99_peer);
  return 0;
}
