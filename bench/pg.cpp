// The PostgreSQL client against libpq, the client a user would otherwise
// pick, on the same throwaway PostgreSQL 15 (scripts/pg-server, started by
// this benchmark in a temporary directory on a free loopback port and
// stopped at the end), in the same run, alternating runs of ours and of
// libpq.
//
//  pg_select1_seq             `SELECT 1` round trips per second, one after
//                             the other: a sync-mode pg::connection against
//                             PQexec, and against a raw protocol reader
//                             spinning on recv for each answer (limit).
//  pg_select1_async_100conn   `SELECT 1` round trips per second over 100
//                             connections, each starting its next query when
//                             the previous one completes: async-mode
//                             connections (the completion callback on the
//                             I/O worker starts the next one) against libpq
//                             in non-blocking mode (PQsendQuery, PQflush,
//                             PQconsumeInput, PQisBusy, PQgetResult) driven
//                             by one epoll loop per I/O worker we use, each
//                             owning the same share of the connections; and
//                             against the same loops over raw protocol
//                             readers (limit: a simple Query per round trip,
//                             the reply walked message by message, its one
//                             row checked, nothing else).
//  pg_notify_latency_p50/_p99 from just before NOTIFY is sent to the
//                             notification callback: an async-mode listener
//                             with asynchronous notifications against a
//                             libpq listener thread that waits for socket
//                             readiness (poll), then PQconsumeInput and
//                             PQnotifies. The notifier is the same for both:
//                             a libpq connection on the main thread sending
//                             `NOTIFY` with the send time as payload, one at
//                             a time, waiting for each delivery before the
//                             next, so only the receiving path differs. A
//                             limit beside it: a raw protocol reader that has
//                             sent LISTEN and blocks in recv on a thread
//                             pinned as libpq's.
//  pg_insert_pipelined_100k   rows per second of 100,000 prepared inserts
//                             (int8 in binary, text) in one pipeline with a
//                             Sync every 1,000 on both sides: one async-mode
//                             connection's execute(pipeline_source), fed a
//                             segment at a time, against libpq's
//                             pipeline mode, non-blocking (PQsendQueryPrepared,
//                             PQpipelineSync, PQflush, PQconsumeInput,
//                             PQgetResult, poll when it cannot go on).
//  pg_fetch_1m_rows           rows per second of one SELECT of 1,000,000
//                             (int8, text) rows in the binary format: an
//                             async-mode connection's fetch_options::on_rows
//                             in chunks of 10,000 against libpq's single-row
//                             mode (PQsendQueryParams, PQsetSingleRowMode,
//                             PQgetResult per row). A limit beside it
//                             (rows/s only): a raw protocol reader that
//                             sends the same messages and takes the same two
//                             fields from each DataRow, blocking in recv
//                             when the socket is empty. _spin: ours with
//                             io_pool_options::spin. Each side runs in a
//                             child process of its own, so that the peak
//                             memory is its own: _peak_mib is how far the
//                             peak RSS rose during the fetch.
//  pg_copy_in_100mb           MB per second of COPY FROM STDIN of 100 MB of
//                             text rows, in the same ~64 KiB pieces made
//                             before the runs: copy_in's source against
//                             PQputCopyData/PQputCopyEnd (blocking mode), and
//                             against a raw protocol writer (limit) sending
//                             each piece as one CopyData with one blocking
//                             sendmsg.
// For the three bulk ones ours is in async mode because that is the mode in
// which one thread does all of a connection's work, as libpq's one thread
// does: the I/O worker writes, reads, decodes and runs on_rows, the copy
// source and the completion. (Sync mode would hand every chunk and the
// completion to the calling thread, deferred mode to the poll caller.) In
// each repetition our connection is placed on one I/O worker
// (connection_options::io_worker) and the libpq thread is pinned to that
// worker's CPU; the CPU alternates from one repetition to the next, and so
// does which side runs first (bench::in_turn).
//
// Placement (like for like): our two I/O workers are pinned to the first two
// allowed CPUs; the libpq threads doing our workers' jobs are pinned the same
// way (epoll thread i on worker i's CPU; the notification listener on the CPU
// of the worker that holds our listener, which the repetition chooses). The
// main thread (the sync caller, the notifier) is not pinned, on both sides.
// The one-connection bulk records (insert, fetch, COPY) also pin the
// connection's server backend, on every side, to the allowed CPU other than
// the client's: left to the kernel it now and then shared the client's CPU
// while the other idled, and which side that hit was chance.
// Every connection is TCP over 127.0.0.1 as `trust_user`, without TLS.
// Warm-up: every connection runs queries before the measured span, on both
// sides.
// cpu_s: CPU seconds of this (client) process over the measured span, the
// other side's idle threads left out (cpu_meter); the server's CPU is the
// same server's for both sides and is not counted.

#include "bench_support.hpp"

#include <actorloop/netio/connection.hpp>
#include <actorloop/netio/io_pool.hpp>
#include <actorloop/pg/connection.hpp>
#include <actorloop/runtime/engine.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <endian.h>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
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

/// How both sides reach the server on `port`: TCP to 127.0.0.1 as
/// trust_user, without TLS.
pg::connection_options options_for(std::uint16_t port) {
  pg::connection_options result;
  result.hosts.push_back(pg::host_spec{"127.0.0.1", port, {}});
  result.user = "trust_user";
  result.dbname = "postgres";
  result.sslmode = pg::ssl_mode::disable;
  return result;
}

std::string conninfo_for(std::uint16_t port) {
  return "host=127.0.0.1 port=" + std::to_string(port) +
         " user=trust_user dbname=postgres sslmode=disable";
}

/// Pins the server backend of a one-connection benchmark (insert, fetch,
/// COPY) to the allowed CPU other than the client's `cpu` (that one if it
/// is the only one), alike for every side: left to the kernel, the backend
/// now and then shares the client's CPU while the other idles, and which
/// side that hits is chance.
void pin_backend_away_from(std::int32_t backend_pid, unsigned cpu) {
  auto allowed = bench::allowed_cpus();
  unsigned target = cpu;
  for (unsigned each : allowed)
    if (each != cpu) {
      target = each;
      break;
    }
  cpu_set_t mask;
  CPU_ZERO(&mask);
  CPU_SET(target, &mask);
  if (backend_pid <= 0 || ::sched_setaffinity(backend_pid, sizeof mask, &mask) != 0)
    bench::fail("pinning the server backend %d to CPU %u failed: %s", backend_pid, target,
                std::strerror(errno));
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
    cleanup_.emplace([this] { stop(); });
  }
  ~pg_process() { stop(); }
  pg_process(const pg_process&) = delete;
  pg_process& operator=(const pg_process&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] pg::connection_options options() const { return options_for(port_); }
  [[nodiscard]] std::string conninfo() const { return conninfo_for(port_); }

private:
  void stop() {
    if (stopped_)
      return;
    stopped_ = true;
    int status = 0;
    auto out = run_command(script_ + " stop " + dir_ + " 2>&1", status);
    if (status != 0)
      std::fprintf(stderr, "pg: scripts/pg-server stop failed:\n%s", out.c_str());
  }
  std::string script_;
  std::string dir_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
  std::optional<bench::failure_cleanup> cleanup_;
};

PGconn* libpq_connect(const std::string& conninfo) {
  PGconn* connection = PQconnectdb(conninfo.c_str());
  if (PQstatus(connection) != CONNECTION_OK)
    bench::fail("libpq: connect failed: %s", PQerrorMessage(connection));
  return connection;
}

PGconn* libpq_connect(const pg_process& server) { return libpq_connect(server.conninfo()); }

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

/// Runs `queries` round trips on each connection whose socket `epoll`
/// watches (an event carries the connection's index): `send(index)` starts
/// the connection's next one; `answered(index, events)` handles an event
/// and is true once it completed the connection's round trip in flight.
template <class Send, class Answered>
void run_round_trips(int epoll, std::vector<int>& remaining, int queries, const char* side,
                     Send send, Answered answered) {
  std::size_t active = remaining.size();
  for (std::size_t index = 0; index < remaining.size(); ++index) {
    remaining[index] = queries;
    send(index);
  }
  epoll_event events[128];
  while (active > 0) {
    int ready = epoll_wait(epoll, events, 128, 10000);
    if (ready <= 0)
      bench::fail("%s: epoll_wait gave %d (%s)", side, ready, std::strerror(errno));
    for (int event = 0; event < ready; ++event) {
      auto index = static_cast<std::size_t>(events[event].data.u64);
      if (!answered(index, events[event].events))
        continue;
      if (--remaining[index] > 0)
        send(index);
      else
        --active;
    }
  }
}

/// One epoll event of connection `index` of `loop`: flushes what libpq
/// holds back, reads, and checks the results; true once the query is
/// complete.
bool libpq_answered(libpq_loop& loop, std::size_t index, std::uint32_t events) {
  PGconn* connection = loop.connections[index];
  if ((events & EPOLLOUT) != 0) {
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
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0)
    return false;
  if (PQconsumeInput(connection) != 1)
    bench::fail("libpq: PQconsumeInput failed: %s", PQerrorMessage(connection));
  while (PQisBusy(connection) == 0) {
    PGresult* result = PQgetResult(connection);
    if (result == nullptr)
      return true; // the query is complete
    if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1 ||
        std::strcmp(PQgetvalue(result, 0, 0), "1") != 0)
      bench::fail("libpq: SELECT 1 failed: %s", PQerrorMessage(connection));
    PQclear(result);
  }
  return false;
}

/// Runs `queries` round trips on every connection of `loop`, as a user of
/// libpq's asynchronous API writes it.
void libpq_loop_run(libpq_loop& loop, int queries) {
  run_round_trips(
    loop.epoll, loop.remaining, queries, "libpq",
    [&](std::size_t index) { libpq_send(loop, index); },
    [&](std::size_t index, std::uint32_t events) { return libpq_answered(loop, index, events); });
}

/// An epoll instance watching `sockets` for input, each event carrying the
/// socket's index in `sockets`.
int epoll_watching(const std::vector<int>& sockets, const char* side) {
  int epoll = epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0)
    bench::fail("%s: epoll_create1 failed: %s", side, std::strerror(errno));
  for (std::size_t index = 0; index < sockets.size(); ++index) {
    epoll_event add{};
    add.events = EPOLLIN;
    add.data.u64 = index;
    if (epoll_ctl(epoll, EPOLL_CTL_ADD, sockets[index], &add) != 0)
      bench::fail("%s: epoll_ctl failed: %s", side, std::strerror(errno));
  }
  return epoll;
}

/// Runs `loops` threads, thread i pinned to `cpus[i % size]`: each runs
/// `run(i, warm_up)`, they all meet, the measured span runs
/// `run(i, per_connection)` on every thread, and they meet again. Returns
/// the round trips per second over all `connections`, and the CPU seconds
/// of this process over the span less those of `our_threads` (our engine's
/// threads, idle meanwhile).
template <class Run>
measured run_pinned_loops(std::size_t loops, const std::vector<pid_t>& our_threads,
                          const std::vector<unsigned>& cpus, int connections, int per_connection,
                          int warm_up, Run run) {
  std::mutex mutex;
  std::condition_variable changed;
  int warmed = 0;
  bool go = false;
  int finished = 0;
  bench_clock::time_point start;
  bench_clock::time_point end;
  bench::cpu_meter meter{our_threads};
  std::vector<std::thread> threads;
  for (std::size_t index = 0; index < loops; ++index)
    threads.emplace_back([&, index] {
      bench::pin_this_thread(cpus[index % cpus.size()]);
      run(index, warm_up);
      {
        std::unique_lock guard{mutex};
        ++warmed;
        changed.notify_all();
        changed.wait(guard, [&] { return go; });
      }
      run(index, per_connection);
      std::unique_lock guard{mutex};
      if (++finished == static_cast<int>(loops)) {
        end = bench_clock::now();
        changed.notify_all();
      }
      // Stay alive until the CPU time is read (cpu_meter counts live threads).
      changed.wait(guard, [&] { return finished < 0; });
    });
  double cpu_s = 0;
  {
    std::unique_lock guard{mutex};
    changed.wait(guard, [&] { return warmed == static_cast<int>(loops); });
    meter.start();
    start = bench_clock::now();
    go = true;
    changed.notify_all();
    changed.wait(guard, [&] { return finished == static_cast<int>(loops); });
    cpu_s = meter.stop();
    finished = -1;
    changed.notify_all();
  }
  for (auto& thread : threads)
    thread.join();
  return {static_cast<double>(per_connection) * connections / bench::seconds_between(start, end),
          cpu_s};
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
    std::vector<int> sockets;
    for (PGconn* connection : loop.connections)
      sockets.push_back(PQsocket(connection));
    loop.epoll = epoll_watching(sockets, "libpq");
  }
  auto outcome = run_pinned_loops(io_workers, our_threads, cpus, async_connections,
                                  per_connection, warm_up, [&](std::size_t index, int queries) {
                                    libpq_loop_run(loops[index], queries);
                                  });
  for (auto& loop : loops) {
    ::close(loop.epoll);
    for (PGconn* connection : loop.connections)
      PQfinish(connection);
  }
  return outcome;
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

/// A side's warm-up, then `count` notifications measured by `meter`; the
/// CPU seconds over them.
double measure_notifications(PGconn* notifier, latency_log& log, int count, int warm_up,
                             const char* side, bench::cpu_meter meter) {
  notify_each(notifier, log, warm_up, side);
  {
    std::lock_guard guard{log.mutex};
    log.microseconds.clear();
  }
  meter.start();
  notify_each(notifier, log, count, side);
  return meter.stop();
}

/// The run's percentiles, once every one of its `count` notifications came.
void take_percentiles(latency_log& log, int count, const char* side, latency_run& outcome) {
  std::lock_guard guard{log.mutex};
  if (log.microseconds.size() != static_cast<std::size_t>(count))
    bench::fail("%s: %zu notifications for %d sent", side, log.microseconds.size(), count);
  outcome.p50 = bench::percentile(log.microseconds, 0.50);
  outcome.p99 = bench::percentile(log.microseconds, 0.99);
}

/// The listener runs on I/O worker `worker`; `io_thread` is set to its thread.
latency_run ours_notify(runtime::engine& engine, const pg_process& server, PGconn* notifier,
                        int count, int warm_up, std::size_t worker, std::thread::id& io_thread) {
  netio::context context{engine, {netio::io_mode::async}};
  netio::connection_options core;
  core.async_notifications = true;
  core.io_worker = worker;
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
  latency_run outcome;
  outcome.cpu_s =
    measure_notifications(notifier, log, count, warm_up, "ours", bench::cpu_meter{});
  take_percentiles(log, count, "ours", outcome);
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
  latency_run outcome;
  outcome.cpu_s = measure_notifications(notifier, log, count, warm_up, "libpq",
                                        bench::cpu_meter{our_threads});
  stop = true;
  char byte = 'x';
  (void)::write(wake[1], &byte, 1);
  receiver.join();
  ::close(wake[0]);
  ::close(wake[1]);
  if (failed.load())
    bench::fail("libpq: the listener's connection failed: %s", PQerrorMessage(listener));
  take_percentiles(log, count, "libpq", outcome);
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

/// Fails unless our connection ran on the I/O worker pinned to `cpu`, where
/// the peer's thread was pinned in the same repetition.
void check_placement(runtime::engine& engine, std::thread::id thread,
                     const std::vector<unsigned>& cpus, unsigned cpu, const char* what) {
  if (cpu_of_worker(engine, thread, cpus) != cpu)
    bench::fail("ours: the %s ran on the I/O worker of CPU %u, not on CPU %u", what,
                cpu_of_worker(engine, thread, cpus), cpu);
}

/// The options of one of our connections that runs on I/O worker `worker`.
netio::connection_options on_worker(std::size_t worker) {
  netio::connection_options core;
  core.io_worker = worker;
  return core;
}

// -- shared by the bulk benchmarks -------------------------------------------------

/// Runs one async-mode operation after another on one connection: `run`
/// starts it and waits for its completion (on the I/O worker).
class async_steps {
public:
  explicit async_steps(pg::connection& connection) : connection_(connection) {
    connection_.set_completion(
      [this](pg::connection&, netio::function_id, netio::retcode status) {
        if (status != netio::retcode::succeed)
          failed_ = true;
        done_.add();
      });
  }
  /// Starts an operation with `start` and waits for its completion; fails
  /// the benchmark, naming `what`, unless it succeeded.
  template <class Start>
  void run(Start&& start, const char* what) {
    failed_ = false;
    done_.expect(1); // before the start: the completion may come at once
    netio::started_operation started = start();
    if (started.code != netio::retcode::pending)
      bench::fail("ours: %s did not start: %s", what, connection_.last_error().text.c_str());
    if (!done_.wait(600s))
      bench::fail("ours: %s did not complete within 600 s", what);
    if (failed_.load()) {
      auto result = connection_.take_result();
      bench::fail("ours: %s failed: %s", what,
                  result && result->error ? result->error->message.c_str()
                                          : connection_.last_error().text.c_str());
    }
  }
private:
  pg::connection& connection_;
  tally done_;
  std::atomic<bool> failed_{false};
};

/// The text column of the inserted rows: the same bytes on both sides.
std::string payload_of(std::int64_t id) {
  return "actorloop bulk row " + std::to_string(id);
}

/// The count and sum of ids of a table, read through libpq.
std::pair<std::int64_t, std::int64_t> count_and_sum(PGconn* admin, const char* table) {
  auto sql = std::string{"SELECT count(*), coalesce(sum(id), 0) FROM "} + table;
  PGresult* result = PQexec(admin, sql.c_str());
  if (PQresultStatus(result) != PGRES_TUPLES_OK)
    bench::fail("libpq: %s failed: %s", sql.c_str(), PQerrorMessage(admin));
  std::pair<std::int64_t, std::int64_t> outcome{std::atoll(PQgetvalue(result, 0, 0)),
                                                std::atoll(PQgetvalue(result, 0, 1))};
  PQclear(result);
  return outcome;
}

/// Checks that `table` holds ids 1..rows exactly (count and sum) and empties it.
void check_and_empty(PGconn* admin, const char* table, std::int64_t rows, const char* side) {
  auto [count, sum] = count_and_sum(admin, table);
  if (count != rows || sum != rows * (rows + 1) / 2)
    bench::fail("%s: %s holds %lld rows (id sum %lld), not %lld", side, table,
                static_cast<long long>(count), static_cast<long long>(sum),
                static_cast<long long>(rows));
  libpq_exec(admin, (std::string{"TRUNCATE "} + table).c_str());
}

/// Runs `work` on a thread pinned to `cpu` (the CPU of the I/O worker that
/// runs ours in the same repetition), as the libpq side's one thread.
template <class Work>
void on_pinned_thread(unsigned cpu, Work&& work) {
  std::thread thread{[&] {
    bench::pin_this_thread(cpu);
    work();
  }};
  thread.join();
}

// -- pg_insert_pipelined_100k ------------------------------------------------------

constexpr int insert_sync_every = 1000;
constexpr const char* insert_sql = "INSERT INTO bench_insert (id, payload) VALUES ($1, $2)";

/// Ours: one async-mode connection, the statement prepared, then one
/// pipeline of `rows` execute_prepared with a Sync every insert_sync_every,
/// fed in pieces of one segment (execute(pipeline_source)): the source runs
/// on the I/O worker, which encodes the next segment whenever less than
/// pg::pipeline_window bytes wait to be written, and sends and reads, as
/// libpq's one thread does. `warm_up` rows go first in a pipeline of their
/// own (ids -1, -2, ..., deleted before the span). The connection runs on
/// I/O worker `worker`, pinned to cpus[worker].
measured ours_insert(runtime::engine& engine, const pg_process& server, PGconn* admin, int rows,
                     int warm_up, const std::vector<unsigned>& cpus, std::size_t worker) {
  netio::context context{engine, {netio::io_mode::async}};
  pg::connection connection{context, server.options(), on_worker(worker)};
  async_steps steps{connection};
  steps.run([&] { return connection.connect(); }, "connect");
  check_placement(engine, connection.io_thread(), cpus, cpus[worker], "insert connection");
  pin_backend_away_from(connection.backend_key().process_id, cpus[worker]);
  steps.run([&] { return connection.prepare("bench_insert", insert_sql, {20, 25}); }, "prepare");
  (void)connection.take_result();
  auto load = [&](std::int64_t first, int count, std::int64_t step) {
    int sent = 0;
    // One segment per piece, as libpq's loop sends one segment at a time.
    pg::pipeline_source source = [&](pg::connection&, pg::pipeline& next) {
      int until = std::min(count, sent + insert_sync_every);
      for (; sent < until; ++sent) {
        std::int64_t id = first + step * sent;
        next.execute_prepared("bench_insert", {id, payload_of(id)});
      }
      next.sync();
      return sent < count;
    };
    steps.run([&] { return connection.execute(std::move(source)); }, "the insert pipeline");
    auto result = connection.take_result();
    if (!result || result->results.size() != static_cast<std::size_t>(count))
      bench::fail("ours: the pipeline gave %zu results for %d inserts",
                  result ? result->results.size() : 0, count);
    for (auto& each : result->results)
      if (each.status != pg::statement_status::completed || each.rows_affected() != 1)
        bench::fail("ours: an insert did not insert one row (%s)", each.command_tag.c_str());
  };
  load(-1, warm_up, -1);
  libpq_exec(admin, "DELETE FROM bench_insert");
  bench::cpu_meter meter;
  meter.start();
  auto start = bench_clock::now();
  load(1, rows, 1);
  auto end = bench_clock::now();
  measured outcome{rows / bench::seconds_between(start, end), meter.stop()};
  steps.run([&] { return connection.close(); }, "close");
  check_and_empty(admin, "bench_insert", rows, "ours");
  return outcome;
}

/// libpq's pipeline mode as its documentation has it (PostgreSQL
/// documentation, 34.5 "Pipeline Mode"): non-blocking, PQsendQueryPrepared
/// per row and PQpipelineSync every insert_sync_every, reading results
/// whenever the socket has them and waiting in poll only when libpq cannot
/// flush or everything is sent.
void libpq_insert_rows(PGconn* connection, std::int64_t first, int count, std::int64_t step) {
  const int syncs = (count + insert_sync_every - 1) / insert_sync_every;
  const int formats[2] = {1, 0};
  int sent = 0;
  int inserted = 0;
  int synced = 0;
  bool blocked = false; // libpq holds output the socket did not take
  std::string text;
  auto read_results = [&] {
    if (PQconsumeInput(connection) != 1)
      bench::fail("libpq: PQconsumeInput failed: %s", PQerrorMessage(connection));
    bool after_null = false;
    while (PQisBusy(connection) == 0) {
      PGresult* result = PQgetResult(connection);
      if (result == nullptr) {
        // The end of one statement's results; two in a row: nothing more queued.
        if (after_null)
          break;
        after_null = true;
        continue;
      }
      after_null = false;
      auto status = PQresultStatus(result);
      if (status == PGRES_COMMAND_OK && std::strcmp(PQcmdTuples(result), "1") == 0)
        ++inserted;
      else if (status == PGRES_PIPELINE_SYNC)
        ++synced;
      else
        bench::fail("libpq: a pipelined insert failed: %s", PQresultErrorMessage(result));
      PQclear(result);
    }
  };
  while (synced < syncs) {
    if (sent < count && !blocked) {
      // One segment, then whatever answers have come.
      int until = std::min(count, sent + insert_sync_every);
      for (; sent < until; ++sent) {
        std::int64_t id = first + step * sent;
        std::uint64_t wire = htobe64(static_cast<std::uint64_t>(id));
        text = payload_of(id);
        const char* values[2] = {reinterpret_cast<const char*>(&wire), text.c_str()};
        const int lengths[2] = {8, static_cast<int>(text.size())};
        if (PQsendQueryPrepared(connection, "bench_insert", 2, values, lengths, formats, 1) != 1)
          bench::fail("libpq: PQsendQueryPrepared failed: %s", PQerrorMessage(connection));
      }
      if (PQpipelineSync(connection) != 1)
        bench::fail("libpq: PQpipelineSync failed: %s", PQerrorMessage(connection));
      int flushed = PQflush(connection);
      if (flushed < 0)
        bench::fail("libpq: PQflush failed: %s", PQerrorMessage(connection));
      blocked = flushed == 1;
      read_results();
      continue;
    }
    pollfd watched{PQsocket(connection), static_cast<short>(POLLIN | (blocked ? POLLOUT : 0)), 0};
    if (::poll(&watched, 1, 60000) <= 0)
      bench::fail("libpq: the pipeline made no progress for 60 s");
    if ((watched.revents & POLLOUT) != 0) {
      int flushed = PQflush(connection);
      if (flushed < 0)
        bench::fail("libpq: PQflush failed: %s", PQerrorMessage(connection));
      blocked = flushed == 1;
    }
    if ((watched.revents & (POLLIN | POLLHUP | POLLERR)) != 0)
      read_results();
  }
  if (inserted != count)
    bench::fail("libpq: %d of %d pipelined inserts inserted a row", inserted, count);
}

measured libpq_insert(const pg_process& server, const std::vector<pid_t>& our_threads,
                      PGconn* admin, unsigned cpu, int rows, int warm_up) {
  measured outcome;
  on_pinned_thread(cpu, [&] {
    PGconn* connection = libpq_connect(server);
    pin_backend_away_from(PQbackendPID(connection), cpu);
    const Oid types[2] = {20, 25};
    PGresult* prepared = PQprepare(connection, "bench_insert", insert_sql, 2, types);
    if (PQresultStatus(prepared) != PGRES_COMMAND_OK)
      bench::fail("libpq: PQprepare failed: %s", PQerrorMessage(connection));
    PQclear(prepared);
    if (PQsetnonblocking(connection, 1) != 0 || PQenterPipelineMode(connection) != 1)
      bench::fail("libpq: cannot enter non-blocking pipeline mode: %s",
                  PQerrorMessage(connection));
    libpq_insert_rows(connection, -1, warm_up, -1);
    libpq_exec(admin, "DELETE FROM bench_insert");
    bench::cpu_meter meter{our_threads};
    meter.start();
    auto start = bench_clock::now();
    libpq_insert_rows(connection, 1, rows, 1);
    auto end = bench_clock::now();
    outcome = {rows / bench::seconds_between(start, end), meter.stop()};
    if (PQexitPipelineMode(connection) != 1)
      bench::fail("libpq: PQexitPipelineMode failed: %s", PQerrorMessage(connection));
    PQfinish(connection);
  });
  check_and_empty(admin, "bench_insert", rows, "libpq");
  return outcome;
}

// -- pg_copy_in_100mb ----------------------------------------------------------------

/// The COPY data of one run, made before the runs: text-format rows
/// "id<TAB>payload<NL>" in pieces of about 64 KiB, ids 1..rows, at least
/// `bytes` in all. Both sides send these very pieces.
struct copy_data {
  std::vector<std::string> pieces;
  std::int64_t rows = 0;
  std::size_t bytes = 0;
};

copy_data make_copy_data(std::size_t bytes) {
  copy_data data;
  std::string piece;
  while (data.bytes < bytes) {
    ++data.rows;
    piece += std::to_string(data.rows);
    piece += '\t';
    piece += payload_of(data.rows);
    piece += " padding to a typical row of a bulk load, about a hundred bytes\n";
    if (piece.size() >= 64 * 1024) {
      data.bytes += piece.size();
      data.pieces.push_back(std::move(piece));
      piece.clear();
    }
  }
  return data;
}

/// The connection runs on I/O worker `worker`, pinned to cpus[worker].
measured ours_copy(runtime::engine& engine, const pg_process& server, PGconn* admin,
                   const copy_data& data, const std::vector<unsigned>& cpus, std::size_t worker) {
  netio::context context{engine, {netio::io_mode::async}};
  pg::connection connection{context, server.options(), on_worker(worker)};
  async_steps steps{connection};
  steps.run([&] { return connection.connect(); }, "connect");
  check_placement(engine, connection.io_thread(), cpus, cpus[worker], "COPY connection");
  pin_backend_away_from(connection.backend_key().process_id, cpus[worker]);
  // Warm-up: one piece, deleted again.
  bool given = false;
  auto warm_up_source = [&](pg::connection&) -> std::optional<std::string> {
    if (given)
      return std::nullopt;
    given = true;
    return data.pieces.front();
  };
  steps.run([&] { return connection.copy_in("COPY bench_copy FROM STDIN", warm_up_source); },
            "the warm-up COPY");
  (void)connection.take_result();
  libpq_exec(admin, "TRUNCATE bench_copy");
  std::size_t next = 0;
  bench::cpu_meter meter;
  meter.start();
  auto start = bench_clock::now();
  // The source runs on the I/O worker, asked again whenever less than
  // copy_in_window bytes wait to be written.
  auto source = [&](pg::connection&) -> std::optional<std::string> {
    if (next == data.pieces.size())
      return std::nullopt;
    return data.pieces[next++];
  };
  steps.run([&] { return connection.copy_in("COPY bench_copy FROM STDIN", source); },
            "COPY FROM STDIN");
  auto end = bench_clock::now();
  measured outcome{static_cast<double>(data.bytes) / 1e6 / bench::seconds_between(start, end),
                   meter.stop()};
  auto result = connection.take_result();
  if (!result || result->results.empty() ||
      result->results.back().rows_affected() != static_cast<std::uint64_t>(data.rows))
    bench::fail("ours: COPY did not report %lld rows", static_cast<long long>(data.rows));
  steps.run([&] { return connection.close(); }, "close");
  check_and_empty(admin, "bench_copy", data.rows, "ours");
  return outcome;
}

/// libpq in its default (blocking) mode, as its documentation shows COPY
/// FROM STDIN: PQexec of the COPY, PQputCopyData per piece, PQputCopyEnd,
/// then PQgetResult.
void libpq_copy_pieces(PGconn* connection, const std::vector<std::string>& pieces,
                       std::size_t count, std::int64_t rows) {
  PGresult* started = PQexec(connection, "COPY bench_copy FROM STDIN");
  if (PQresultStatus(started) != PGRES_COPY_IN)
    bench::fail("libpq: COPY did not start: %s", PQerrorMessage(connection));
  PQclear(started);
  for (std::size_t index = 0; index < count; ++index)
    if (PQputCopyData(connection, pieces[index].data(), static_cast<int>(pieces[index].size())) !=
        1)
      bench::fail("libpq: PQputCopyData failed: %s", PQerrorMessage(connection));
  if (PQputCopyEnd(connection, nullptr) != 1)
    bench::fail("libpq: PQputCopyEnd failed: %s", PQerrorMessage(connection));
  PGresult* result = PQgetResult(connection);
  if (PQresultStatus(result) != PGRES_COMMAND_OK ||
      std::atoll(PQcmdTuples(result)) != static_cast<long long>(rows))
    bench::fail("libpq: COPY failed: %s", PQerrorMessage(connection));
  PQclear(result);
  while ((result = PQgetResult(connection)) != nullptr)
    PQclear(result);
}

/// One side of pg_copy_in_100mb on a thread pinned to `cpu`. `open(measure)`
/// connects there (its backend pinned away) and calls `measure(copy)`,
/// where `copy(count, rows)` sends pieces [0, count) and checks `rows`:
/// a one-piece warm-up, emptied again, then the measured COPY of every
/// piece, the same steps on every side.
template <class Open>
measured pinned_copy(const std::vector<pid_t>& our_threads, PGconn* admin, unsigned cpu,
                     const copy_data& data, const char* side, Open&& open) {
  measured outcome;
  const auto& first = data.pieces.front();
  const std::int64_t first_piece_rows = std::count(first.begin(), first.end(), '\n');
  on_pinned_thread(cpu, [&] {
    open([&](auto&& copy) {
      copy(std::size_t{1}, first_piece_rows);
      libpq_exec(admin, "TRUNCATE bench_copy");
      bench::cpu_meter meter{our_threads};
      meter.start();
      auto start = bench_clock::now();
      copy(data.pieces.size(), data.rows);
      auto end = bench_clock::now();
      outcome = {static_cast<double>(data.bytes) / 1e6 / bench::seconds_between(start, end),
                 meter.stop()};
    });
  });
  check_and_empty(admin, "bench_copy", data.rows, side);
  return outcome;
}

measured libpq_copy(const pg_process& server, const std::vector<pid_t>& our_threads,
                    PGconn* admin, unsigned cpu, const copy_data& data) {
  return pinned_copy(our_threads, admin, cpu, data, "libpq", [&](auto&& measure) {
    PGconn* connection = libpq_connect(server);
    pin_backend_away_from(PQbackendPID(connection), cpu);
    measure([&](std::size_t count, std::int64_t rows) {
      libpq_copy_pieces(connection, data.pieces, count, rows);
    });
    PQfinish(connection);
  });
}

// -- pg_fetch_1m_rows ----------------------------------------------------------------
//
// Each side runs in a child process of its own (this executable again, with
// --pg-fetch-child), so that each starts from a fresh heap and its peak
// resident memory is its own: the peak (VmHWM, reset through
// /proc/self/clear_refs after the warm-up) minus the resident memory just
// before the measured fetch.

constexpr std::uint32_t fetch_chunk_rows = 10000;
constexpr const char* fetch_child_flag = "--pg-fetch-child";
/// pg_fetch_1m_rows_spin: how long our idle I/O workers poll before they
/// sleep (io_pool_options::spin), as pingpong_cross_scheduler_spin's 50 µs.
constexpr runtime::duration fetch_spin = std::chrono::microseconds(50);

std::string fetch_sql(std::int64_t rows) {
  return "SELECT id, payload FROM bench_fetch WHERE id <= " + std::to_string(rows);
}

/// A field of /proc/self/status in bytes ("VmRSS", "VmHWM").
std::int64_t status_bytes(const char* field) {
  std::FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr)
    bench::fail("cannot read /proc/self/status");
  char line[256];
  long long kib = -1;
  auto length = std::strlen(field);
  while (std::fgets(line, sizeof line, status) != nullptr)
    if (std::strncmp(line, field, length) == 0 && line[length] == ':') {
      kib = std::atoll(line + length + 1);
      break;
    }
  std::fclose(status);
  if (kib < 0)
    bench::fail("no %s in /proc/self/status", field);
  return kib * 1024;
}

/// The resident memory now, with the peak reset to it (Linux: writing 5 to
/// /proc/self/clear_refs resets VmHWM).
std::int64_t reset_peak_memory() {
  int fd = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::write(fd, "5", 1) != 1)
    bench::fail("cannot reset the peak RSS through /proc/self/clear_refs: %s",
                std::strerror(errno));
  ::close(fd);
  return status_bytes("VmRSS");
}

/// How far the peak resident memory rose above `baseline`, in MiB; RSS
/// counts whole pages, so a rise below one page reports as one page.
double peak_growth_mib(std::int64_t baseline) {
  auto page = static_cast<std::int64_t>(::sysconf(_SC_PAGESIZE));
  return static_cast<double>(std::max(status_bytes("VmHWM") - baseline, page)) /
         (1024.0 * 1024.0);
}

/// What a fetch child reports: rows/s, CPU seconds, peak memory growth,
/// the CPU of the thread that did the work, and (ours) the most rows ever
/// buffered.
struct fetch_run {
  double value = 0;
  double cpu_s = 0;
  double peak_mib = 0;
  unsigned cpu = 0;
  std::size_t peak_buffered_rows = 0;
};

void print_fetch_run(const fetch_run& run) {
  std::printf("%.6f %.6f %.6f %u %zu\n", run.value, run.cpu_s, run.peak_mib, run.cpu,
              run.peak_buffered_rows);
  std::fflush(stdout);
}

/// What both sides compute from every row: the sum of the ids and of the
/// payloads' lengths (so every value is read).
struct fetch_totals {
  std::int64_t rows = 0;
  std::int64_t id_sum = 0;
  std::int64_t text_bytes = 0;
};

void check_totals(const fetch_totals& totals, std::int64_t rows, const char* side) {
  if (totals.rows != rows || totals.id_sum != rows * (rows + 1) / 2)
    bench::fail("%s: fetched %lld rows (id sum %lld), not %lld", side,
                static_cast<long long>(totals.rows), static_cast<long long>(totals.id_sum),
                static_cast<long long>(rows));
}

/// What every fetch child measures the same way: `fetch(sql)` of the
/// warm-up rows, checked, then of `rows` with the CPU seconds, the peak
/// memory's rise and the rate of that span into `outcome`, checked too.
/// `totals` is what the side's fetch adds every row to.
template <class Fetch>
void measure_fetch(fetch_run& outcome, fetch_totals& totals, std::int64_t rows,
                   std::int64_t warm_up, const char* side, Fetch fetch) {
  fetch(fetch_sql(warm_up));
  check_totals(totals, warm_up, side);
  totals = {};
  auto baseline = reset_peak_memory();
  bench::cpu_meter meter;
  meter.start();
  auto start = bench_clock::now();
  fetch(fetch_sql(rows));
  auto end = bench_clock::now();
  outcome.cpu_s = meter.stop();
  outcome.peak_mib = peak_growth_mib(baseline);
  outcome.value = static_cast<double>(rows) / bench::seconds_between(start, end);
  check_totals(totals, rows, side);
}

/// Ours: an async-mode connection on the I/O worker pinned to `cpu`; on_rows
/// runs there, where the worker also reads and decodes, as libpq's one
/// thread does.
fetch_run ours_fetch_child(std::uint16_t port, unsigned cpu, std::int64_t rows,
                           std::int64_t warm_up, runtime::duration spin) {
  auto allowed = bench::allowed_cpus();
  std::vector<unsigned> cpus(allowed.begin(),
                             allowed.begin() + static_cast<std::ptrdiff_t>(
                                                 std::min(allowed.size(), io_workers)));
  runtime::engine engine;
  netio::io_pool_options pool;
  pool.workers = io_workers;
  pool.spin = spin;
  for (unsigned cpu : cpus)
    pool.cpus.add(cpu);
  netio::start_io_workers(engine, pool);
  auto pinned = std::find(cpus.begin(), cpus.end(), cpu);
  if (pinned == cpus.end())
    bench::fail("ours: no I/O worker is pinned to CPU %u", cpu);
  auto worker = static_cast<std::size_t>(pinned - cpus.begin());
  fetch_run outcome;
  {
    netio::context context{engine, {netio::io_mode::async}};
    pg::connection connection{context, options_for(port), on_worker(worker)};
    async_steps steps{connection};
    steps.run([&] { return connection.connect(); }, "connect");
    check_placement(engine, connection.io_thread(), cpus, cpu, "fetch connection");
    pin_backend_away_from(connection.backend_key().process_id, cpu);
    outcome.cpu = cpu;
    // Touched by on_rows only (the I/O worker); read after the completion.
    fetch_totals totals;
    pg::fetch_options fetch;
    fetch.rows_per_chunk = fetch_chunk_rows;
    fetch.on_rows = [&totals](pg::connection&, const pg::result& chunk) {
      for (std::size_t row = 0; row < chunk.row_count(); ++row) {
        totals.id_sum += chunk.int64(row, 0);
        totals.text_bytes += static_cast<std::int64_t>(chunk.text(row, 1).size());
      }
      totals.rows += static_cast<std::int64_t>(chunk.row_count());
    };
    bool warmed_up = false;
    measure_fetch(outcome, totals, rows, warm_up, "ours", [&](const std::string& sql) {
      steps.run([&] { return connection.execute(sql, {}, fetch); },
                warmed_up ? "the fetch" : "warm-up");
      warmed_up = true;
    });
    (void)connection.take_result();
    outcome.peak_buffered_rows = connection.streaming().peak_buffered_rows;
    steps.run([&] { return connection.close(); }, "close");
  }
  return outcome;
}

/// libpq's single-row mode (PostgreSQL documentation, 34.6 "Retrieving
/// Query Results Row-by-Row"): PQsendQueryParams with binary results (the
/// same bytes on the wire as ours), PQsetSingleRowMode, a PGresult per row.
void libpq_fetch_rows(PGconn* connection, const std::string& sql, fetch_totals& totals) {
  if (PQsendQueryParams(connection, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 1) != 1)
    bench::fail("libpq: PQsendQueryParams failed: %s", PQerrorMessage(connection));
  if (PQsetSingleRowMode(connection) != 1)
    bench::fail("libpq: PQsetSingleRowMode failed");
  while (PGresult* result = PQgetResult(connection)) {
    auto status = PQresultStatus(result);
    if (status == PGRES_SINGLE_TUPLE) {
      std::uint64_t wire = 0;
      std::memcpy(&wire, PQgetvalue(result, 0, 0), sizeof wire);
      totals.id_sum += static_cast<std::int64_t>(be64toh(wire));
      totals.text_bytes += PQgetlength(result, 0, 1);
      ++totals.rows;
    } else if (status != PGRES_TUPLES_OK) {
      bench::fail("libpq: the fetch failed: %s", PQresultErrorMessage(result));
    }
    PQclear(result);
  }
}

fetch_run libpq_fetch_child(std::uint16_t port, unsigned cpu, std::int64_t rows,
                            std::int64_t warm_up) {
  bench::pin_this_thread(cpu);
  fetch_run outcome;
  outcome.cpu = cpu;
  PGconn* connection = libpq_connect(conninfo_for(port));
  pin_backend_away_from(PQbackendPID(connection), cpu);
  fetch_totals totals;
  measure_fetch(outcome, totals, rows, warm_up, "libpq",
                [&](const std::string& sql) { libpq_fetch_rows(connection, sql, totals); });
  PQfinish(connection);
  return outcome;
}

/// The raw protocol reader, the `limit` of the pg records: protocol 3.0 over
/// a plain socket (PostgreSQL documentation, 55.2 "Message Flow"), the
/// replies read in 64 KiB pieces (our read size) and walked message by
/// message, only what every side checks taken from them (the id and text
/// length of each fetched row, the "1" of `SELECT 1`, a COPY's tag, a
/// notification's payload): no client does less per message. It also writes
/// a COPY (one CopyData per piece) and listens for notifications. Blocking,
/// it sleeps in recv whenever the socket is empty, as a client that parks
/// does; spinning (`MSG_DONTWAIT` in a loop) it never sleeps, which makes it
/// the floor of a sequential round trip (for a fetch it is no ceiling:
/// docs/pg.md, "The fetch's ceiling").
class raw_pg_reader {
public:
  raw_pg_reader(std::uint16_t port, bool spin) : spin_(spin) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      bench::fail("raw reader: cannot connect to 127.0.0.1:%u: %s", port, std::strerror(errno));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // StartupMessage, protocol 3.0: user and database, then the empty name.
    std::string startup;
    put_int32(startup, 196608);
    for (const char* part : {"user", "trust_user", "database", "postgres"})
      startup.append(part, std::strlen(part) + 1);
    startup.push_back('\0');
    std::string message;
    put_int32(message, static_cast<std::int32_t>(startup.size() + 4));
    send_all(message + startup);
    read_until_ready(nullptr);
  }
  ~raw_pg_reader() {
    send_all(std::string{'X', 0, 0, 0, 4}); // Terminate
    ::close(fd_);
  }
  raw_pg_reader(const raw_pg_reader&) = delete;
  raw_pg_reader& operator=(const raw_pg_reader&) = delete;

  /// Parse, Bind (every result column binary), Describe, Execute, Sync, as
  /// PQsendQueryParams sends them; then the rows until ReadyForQuery.
  void fetch(const std::string& sql, fetch_totals& totals) {
    std::string out;
    std::string body;
    body.push_back('\0'); // the unnamed statement
    body.append(sql.c_str(), sql.size() + 1);
    put_int16(body, 0); // no parameter types
    frame(out, 'P', body);
    body.clear();
    body.append(2, '\0'); // the unnamed portal and statement
    put_int16(body, 0);   // no parameter formats
    put_int16(body, 0);   // no parameters
    put_int16(body, 1);   // one result format for every column:
    put_int16(body, 1);   // binary
    frame(out, 'B', body);
    frame(out, 'D', std::string{'P', '\0'});
    body.assign(1, '\0');
    put_int32(body, 0); // every row
    frame(out, 'E', body);
    frame(out, 'S', {});
    send_all(out);
    read_until_ready(&totals);
  }
  /// The descriptor, for an epoll loop (`raw_async`).
  [[nodiscard]] int fd() const noexcept { return fd_; }
  /// The server backend's process id (from BackendKeyData).
  [[nodiscard]] std::int32_t backend_pid() const noexcept { return backend_pid_; }
  /// Sends `SELECT 1` as a simple Query, as PQsendQuery does.
  void send_select_one() {
    static const std::string query = query_message("SELECT 1");
    send_all(query);
  }
  /// One `SELECT 1` round trip, blocking (or spinning) until its answer.
  void select_one() {
    send_select_one();
    read_until_ready(nullptr);
  }
  /// After the socket turned readable: reads what is there without
  /// blocking and walks it; true once the query's ReadyForQuery came. Its
  /// one DataRow must hold the text "1".
  [[nodiscard]] bool ready_after_read() {
    if (read_more(true) < 0)
      return false;
    return walk(nullptr);
  }
  /// A simple Query, then its reply until ReadyForQuery.
  void simple_query(const std::string& sql) {
    send_query(sql);
    read_until_ready(nullptr);
  }
  /// COPY FROM STDIN of pieces[0, count), as PQputCopyData sends them: the
  /// Query; after CopyInResponse one CopyData per piece, its 5-byte header
  /// and the piece in one sendmsg (as ours writes them); CopyDone; then the
  /// reply until ReadyForQuery, whose CommandComplete must say `rows`.
  void copy_in(const std::string& sql, const std::vector<std::string>& pieces, std::size_t count,
               std::int64_t rows) {
    send_query(sql);
    read_until(nullptr, 'G');
    for (std::size_t index = 0; index < count; ++index) {
      std::string header{'d'};
      put_int32(header, static_cast<std::int32_t>(pieces[index].size() + 4));
      send_two(header, pieces[index]);
    }
    send_all(std::string{'c', 0, 0, 0, 4}); // CopyDone
    tag_.clear();
    read_until_ready(nullptr);
    if (tag_ != "COPY " + std::to_string(rows))
      bench::fail("raw reader: COPY ended with \"%s\", not COPY %lld", tag_.c_str(),
                  static_cast<long long>(rows));
  }
  /// Blocks in recv until a NotificationResponse comes; its payload.
  [[nodiscard]] std::string next_notification() {
    read_until(nullptr, 'A');
    return payload_;
  }

private:
  static void put_int32(std::string& out, std::int32_t value) {
    auto wire = htobe32(static_cast<std::uint32_t>(value));
    out.append(reinterpret_cast<const char*>(&wire), sizeof wire);
  }
  static void put_int16(std::string& out, std::int16_t value) {
    auto wire = htobe16(static_cast<std::uint16_t>(value));
    out.append(reinterpret_cast<const char*>(&wire), sizeof wire);
  }
  static void frame(std::string& out, char type, const std::string& body) {
    out.push_back(type);
    put_int32(out, static_cast<std::int32_t>(body.size() + 4));
    out += body;
  }
  static std::uint32_t read_uint32(const unsigned char* at) {
    std::uint32_t wire = 0;
    std::memcpy(&wire, at, sizeof wire);
    return be32toh(wire);
  }
  /// A simple Query message for `sql`.
  static std::string query_message(const std::string& sql) {
    std::string out;
    frame(out, 'Q', std::string{sql.c_str(), sql.size() + 1});
    return out;
  }
  void send_query(const std::string& sql) { send_all(query_message(sql)); }
  /// `first` then `second` with as few sendmsg calls as the socket allows.
  void send_two(const std::string& first, const std::string& second) {
    std::size_t sent = 0;
    const std::size_t total = first.size() + second.size();
    while (sent < total) {
      iovec parts[2];
      int used = 0;
      if (sent < first.size())
        parts[used++] = {const_cast<char*>(first.data()) + sent, first.size() - sent};
      auto into_second = sent > first.size() ? sent - first.size() : 0;
      parts[used++] = {const_cast<char*>(second.data()) + into_second,
                       second.size() - into_second};
      msghdr message{};
      message.msg_iov = parts;
      message.msg_iovlen = static_cast<std::size_t>(used);
      auto wrote = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
      if (wrote <= 0)
        bench::fail("raw reader: sendmsg failed: %s", std::strerror(errno));
      sent += static_cast<std::size_t>(wrote);
    }
  }
  void send_all(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      auto wrote = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (wrote <= 0)
        bench::fail("raw reader: send failed: %s", std::strerror(errno));
      sent += static_cast<std::size_t>(wrote);
    }
  }
  /// Reads messages until ReadyForQuery, adding every DataRow to `totals`
  /// (when given); an ErrorResponse fails the benchmark with its text.
  void read_until_ready(fetch_totals* totals) { read_until(totals, 'Z'); }
  /// The same until a message of type `until` (consumed).
  void read_until(fetch_totals* totals, char until) {
    while (!walk(totals, until)) {
      auto got = read_more(spin_);
      if (got < 0)
        continue; // spinning: nothing there yet
    }
  }

  /// Walks the whole messages buffered; true once a message of type `until`
  /// (ReadyForQuery unless said) was consumed. Keeps the last
  /// CommandComplete's tag and the last notification's payload.
  bool walk(fetch_totals* totals, char until = 'Z') {
    while (end_ - begin_ >= 5) {
      const unsigned char* at = buffer_.data() + begin_;
      std::size_t length = read_uint32(at + 1);
      if (length < 4)
        bench::fail("raw reader: a message of length %zu", length);
      if (end_ - begin_ < length + 1) {
        if (length + 1 > buffer_.size())
          buffer_.resize(length + 1);
        break;
      }
      char type = static_cast<char>(at[0]);
      begin_ += length + 1;
      if (type == 'D') {
        // Int16 column count, then (Int32 length, bytes) per column.
        if (totals != nullptr) {
          std::uint64_t id = 0;
          std::memcpy(&id, at + 11, sizeof id);
          totals->id_sum += static_cast<std::int64_t>(be64toh(id));
          totals->text_bytes += static_cast<std::int32_t>(read_uint32(at + 19));
          ++totals->rows;
        } else if (length != 11 || read_uint32(at + 7) != 1 || at[11] != '1') {
          bench::fail("raw reader: SELECT 1 gave another row");
        }
      } else if (type == 'E') {
        bench::fail("raw reader: the server reported an error: %.*s",
                    static_cast<int>(length - 4), reinterpret_cast<const char*>(at + 5));
      } else if (type == 'K' && length >= 8) {
        backend_pid_ = static_cast<std::int32_t>(read_uint32(at + 5));
      } else if (type == 'C') {
        // The tag, a C string.
        tag_.assign(reinterpret_cast<const char*>(at + 5), length > 5 ? length - 5 : 0);
      } else if (type == 'A' && length >= 10) {
        // Int32 sender, the channel and the payload (C strings).
        auto* text = reinterpret_cast<const char*>(at + 9);
        auto* last = reinterpret_cast<const char*>(at + 1 + length);
        auto* channel_end = static_cast<const char*>(std::memchr(text, '\0', last - text));
        if (channel_end == nullptr)
          bench::fail("raw reader: a notification without its channel's end");
        auto* payload_end =
          static_cast<const char*>(std::memchr(channel_end + 1, '\0', last - channel_end - 1));
        if (payload_end == nullptr)
          bench::fail("raw reader: a notification without its payload's end");
        payload_.assign(channel_end + 1, payload_end);
      }
      if (type == until)
        return true;
    }
    return false;
  }
  /// Keeps the partial message at the front and reads behind it: the bytes
  /// read, or -1 when `dont_wait` and there was nothing.
  long read_more(bool dont_wait) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    auto want = std::min(read_bytes, buffer_.size() - end_);
    auto got = ::recv(fd_, buffer_.data() + end_, want, dont_wait ? MSG_DONTWAIT : 0);
    if (got < 0 && dont_wait && (errno == EAGAIN || errno == EWOULDBLOCK))
      return -1;
    if (got <= 0)
      bench::fail("raw reader: receiving failed: %s",
                  got == 0 ? "the server closed the connection" : std::strerror(errno));
    end_ += static_cast<std::size_t>(got);
    return got;
  }

  static constexpr std::size_t read_bytes = 64 * 1024;
  bool spin_ = false;
  int fd_ = -1;
  std::int32_t backend_pid_ = 0;
  std::string tag_;     // of the last CommandComplete
  std::string payload_; // of the last NotificationResponse
  std::size_t begin_ = 0; // the unread bytes of buffer_: [begin_, end_)
  std::size_t end_ = 0;
  std::vector<unsigned char> buffer_ = std::vector<unsigned char>(2 * read_bytes);
};

/// pg_select1_seq's limit: the same round trips over one raw protocol
/// reader on the calling thread that spins on a non-blocking recv for each
/// answer, so neither its CPU nor a wake-up on its side is in the round
/// trip: what is left is the server's and the loopback's part.
measured raw_seq(const pg_process& server, const std::vector<pid_t>& our_threads,
                 int round_trips, int warm_up) {
  raw_pg_reader reader{server.port(), true};
  for (int index = 0; index < warm_up; ++index)
    reader.select_one();
  bench::cpu_meter meter{our_threads};
  meter.start();
  auto start = bench_clock::now();
  for (int index = 0; index < round_trips; ++index)
    reader.select_one();
  auto end = bench_clock::now();
  return {round_trips / bench::seconds_between(start, end), meter.stop()};
}

/// pg_select1_async_100conn's limit: the same 100 connections as raw
/// protocol readers, split between the same pinned threads as libpq's
/// loops, each thread an epoll loop that sends a connection's next
/// `SELECT 1` (a simple Query, as PQsendQuery) when the previous one's
/// ReadyForQuery came, checking its one row. The least a client can do per
/// query: what is left is the server's work and the loopback's.
measured raw_async(const pg_process& server, const std::vector<pid_t>& our_threads,
                   const std::vector<unsigned>& cpus, int per_connection, int warm_up) {
  struct loop {
    std::vector<std::unique_ptr<raw_pg_reader>> connections;
    std::vector<int> remaining;
    int epoll = -1;
  };
  std::vector<loop> loops(io_workers);
  for (int index = 0; index < async_connections; ++index) {
    auto& each = loops[static_cast<std::size_t>(index) % io_workers];
    each.connections.push_back(std::make_unique<raw_pg_reader>(server.port(), false));
    each.remaining.push_back(0);
  }
  for (auto& each : loops) {
    std::vector<int> sockets;
    for (auto& connection : each.connections)
      sockets.push_back(connection->fd());
    each.epoll = epoll_watching(sockets, "raw reader");
  }
  auto run = [&](std::size_t which, int queries) {
    auto& each = loops[which];
    auto& connections = each.connections;
    run_round_trips(
      each.epoll, each.remaining, queries, "raw reader",
      [&](std::size_t index) { connections[index]->send_select_one(); },
      [&](std::size_t index, std::uint32_t) { return connections[index]->ready_after_read(); });
  };
  auto outcome = run_pinned_loops(io_workers, our_threads, cpus, async_connections,
                                  per_connection, warm_up, run);
  for (auto& each : loops)
    ::close(each.epoll);
  return outcome; // each reader says Terminate and closes as it goes
}

/// pg_copy_in_100mb's limit: the same COPY pieces from one raw protocol
/// reader on a thread pinned as libpq's, its backend pinned away alike. No
/// client sends them with less work: what is left is the server's parsing
/// and the loopback's.
measured raw_copy(const pg_process& server, const std::vector<pid_t>& our_threads,
                  PGconn* admin, unsigned cpu, const copy_data& data) {
  return pinned_copy(our_threads, admin, cpu, data, "raw reader", [&](auto&& measure) {
    raw_pg_reader writer{server.port(), false};
    pin_backend_away_from(writer.backend_pid(), cpu);
    measure([&](std::size_t count, std::int64_t rows) {
      writer.copy_in("COPY bench_copy FROM STDIN", data.pieces, count, rows);
    });
  });
}

/// pg_notify_latency's limit: a raw protocol reader that has sent LISTEN
/// and then blocks in recv on a thread pinned as libpq's, taking each
/// NotificationResponse as it arrives. The least a listener can do: what
/// is left is the server's delivery and this thread's wake-up.
latency_run raw_notify(const pg_process& server, const std::vector<pid_t>& our_threads,
                       unsigned cpu, PGconn* notifier, int count, int warm_up) {
  raw_pg_reader listener{server.port(), false};
  listener.simple_query("LISTEN bench_latency");
  latency_log log;
  // The receiver ends on the payload "stop", sent after the runs.
  std::thread receiver{[&] {
    bench::pin_this_thread(cpu);
    for (;;) {
      auto payload = listener.next_notification();
      if (payload == "stop")
        return;
      log.add(payload);
    }
  }};
  latency_run outcome;
  outcome.cpu_s = measure_notifications(notifier, log, count, warm_up, "raw reader",
                                        bench::cpu_meter{our_threads});
  libpq_exec(notifier, "NOTIFY bench_latency, 'stop'");
  receiver.join();
  take_percentiles(log, count, "raw reader", outcome);
  return outcome;
}

fetch_run raw_fetch_child(std::uint16_t port, unsigned cpu, std::int64_t rows,
                          std::int64_t warm_up, bool spin) {
  bench::pin_this_thread(cpu);
  fetch_run outcome;
  outcome.cpu = cpu;
  raw_pg_reader reader{port, spin};
  pin_backend_away_from(reader.backend_pid(), cpu);
  fetch_totals totals;
  measure_fetch(outcome, totals, rows, warm_up, "raw reader",
                [&](const std::string& sql) { reader.fetch(sql, totals); });
  return outcome;
}

/// The child's main: `--pg-fetch-child ours|ours-spin|libpq|raw|raw-spin <port> <cpu> <rows>
/// <warm-up rows>` (raw-spin, the raw reader spinning on recv, is not in the
/// report: a by-hand probe, see docs/pg.md, "The fetch's ceiling").
int fetch_child_main(int argc, char** argv) {
  if (argc != 7)
    bench::fail("usage: %s %s ours|ours-spin|libpq|raw|raw-spin <port> <cpu> <rows> "
                "<warm-up rows>",
                argv[0], fetch_child_flag);
  char* no_arguments[] = {argv[0], nullptr};
  (void)bench::parse_arguments(1, no_arguments); // the timer slack of every benchmark
  std::signal(SIGPIPE, SIG_IGN);
  std::string_view side{argv[2]};
  auto port = static_cast<std::uint16_t>(std::atoi(argv[3]));
  auto cpu = static_cast<unsigned>(std::atoi(argv[4]));
  std::int64_t rows = std::atoll(argv[5]);
  std::int64_t warm_up = std::atoll(argv[6]);
  if (side == "ours")
    print_fetch_run(ours_fetch_child(port, cpu, rows, warm_up, runtime::duration::zero()));
  else if (side == "ours-spin")
    print_fetch_run(ours_fetch_child(port, cpu, rows, warm_up, fetch_spin));
  else if (side == "libpq")
    print_fetch_run(libpq_fetch_child(port, cpu, rows, warm_up));
  else if (side == "raw" || side == "raw-spin")
    print_fetch_run(raw_fetch_child(port, cpu, rows, warm_up, side == "raw-spin"));
  else
    bench::fail("%s: side must be ours, ours-spin, libpq, raw or raw-spin, not %s",
                fetch_child_flag, argv[2]);
  return 0;
}

/// Runs one side's fetch in a child process and reads its report.
fetch_run run_fetch_child(const std::string& self, const char* side, std::uint16_t port,
                          unsigned cpu, std::int64_t rows, std::int64_t warm_up) {
  int status = 0;
  auto out = run_command("'" + self + "' " + fetch_child_flag + " " + side + " " +
                           std::to_string(port) + " " + std::to_string(cpu) + " " +
                           std::to_string(rows) + " " + std::to_string(warm_up),
                         status);
  fetch_run run;
  if (status != 0 || std::sscanf(out.c_str(), "%lf %lf %lf %u %zu", &run.value, &run.cpu_s,
                                 &run.peak_mib, &run.cpu, &run.peak_buffered_rows) != 5)
    bench::fail("pg: the %s fetch child failed (status %d): %s", side, status, out.c_str());
  return run;
}

/// This executable's path, for the fetch children.
std::string own_executable() {
  std::error_code error;
  auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error)
    bench::fail("cannot read /proc/self/exe: %s", error.message().c_str());
  return path.string();
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], fetch_child_flag) == 0)
    return fetch_child_main(argc, argv);
  // --only <prefix>: run (and report) only the records whose name starts so
  // (pg_insert, pg_fetch, ...), for profiling one of them.
  std::string only;
  std::vector<char*> common{argv[0]};
  for (int index = 1; index < argc; ++index) {
    if (std::strcmp(argv[index], "--only") == 0 && index + 1 < argc)
      only = argv[++index];
    else
      common.push_back(argv[index]);
  }
  auto settings = bench::parse_arguments(static_cast<int>(common.size()), common.data());
  auto wanted = [&](std::string_view name) { return name.starts_with(only); };
  if (!wanted("pg_select1_seq") && !wanted("pg_select1_async_100conn") &&
      !wanted("pg_notify_latency_p50") && !wanted("pg_notify_latency_p99") &&
      !wanted("pg_insert_pipelined_100k") && !wanted("pg_fetch_1m_rows") &&
      !wanted("pg_copy_in_100mb"))
    bench::fail("pg: --only %s matches no record", only.c_str());
  std::signal(SIGPIPE, SIG_IGN);
  const int seq_round_trips = settings.smoke ? 200 : settings.quick ? 1000 : 20000;
  const int per_connection = settings.smoke ? 5 : settings.quick ? 20 : 200;
  const int notifications = settings.smoke ? 50 : settings.quick ? 200 : 2000;
  const int warm_up_seq = settings.smoke ? 20 : settings.quick ? 200 : 500;
  const int warm_up_async = settings.smoke ? 1 : 10;
  const int warm_up_notify = settings.smoke ? 5 : 50;
  const int insert_rows = settings.smoke ? 3000 : settings.quick ? 25000 : 100000;
  const int warm_up_insert = settings.smoke ? 1000 : 2000;
  const std::int64_t fetch_rows = settings.smoke ? 30000 : settings.quick ? 100000 : 1000000;
  const std::int64_t warm_up_fetch = 1000; // small: the peak memory is the big fetch's
  const std::size_t copy_bytes = settings.smoke ? 1000000 : settings.quick ? 10000000 : 100000000;

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
  // The tables of the bulk benchmarks (no index: the client's side of the
  // work is what differs), and the rows to fetch.
  libpq_exec(notifier, "CREATE TABLE bench_insert (id int8, payload text)");
  libpq_exec(notifier, "CREATE TABLE bench_copy (id int8, payload text)");
  libpq_exec(notifier, ("CREATE TABLE bench_fetch AS SELECT i::int8 AS id, "
                        "'actorloop fetched row ' || i AS payload FROM generate_series(1, " +
                        std::to_string(fetch_rows) + ") AS i")
                         .c_str());
  libpq_exec(notifier, "VACUUM ANALYZE bench_fetch");
  auto copy_rows = wanted("pg_copy_in_100mb") ? make_copy_data(copy_bytes) : copy_data{};
  auto self = own_executable();

  bench::side seq_ours, seq_peer, seq_raw, async_ours, async_peer, async_raw, p50_ours, p50_peer,
    p99_ours, p99_peer, p50_raw, p99_raw, insert_ours, insert_peer, fetch_ours, fetch_ours_spin,
    fetch_peer, fetch_raw, peak_ours, peak_peer, copy_ours, copy_peer, copy_raw;
  std::size_t peak_buffered_rows = 0;
  for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
    // Where the one-connection runs go: both sides of a repetition on the
    // same CPU (ours on the I/O worker pinned there, libpq's thread pinned
    // there), alternating the CPU from one repetition to the next.
    const std::size_t worker = static_cast<std::size_t>(repetition) % cpus.size();
    const unsigned cpu = cpus[worker];
    if (wanted("pg_select1_seq"))
      bench::in_turn(repetition, {[&] {
                                    auto mine = ours_seq(engine, server, seq_round_trips,
                                                         warm_up_seq);
                                    seq_ours.add(mine.value, mine.cpu_s);
                                  },
                                  [&] {
                                    auto theirs = libpq_seq(server, our_threads, seq_round_trips,
                                                            warm_up_seq);
                                    seq_peer.add(theirs.value, theirs.cpu_s);
                                  },
                                  [&] {
                                    auto raw = raw_seq(server, our_threads, seq_round_trips,
                                                       warm_up_seq);
                                    seq_raw.add(raw.value, raw.cpu_s);
                                  }});

    if (wanted("pg_select1_async_100conn"))
      bench::in_turn(repetition, {[&] {
                                    auto mine =
                                      ours_async(engine, server, per_connection, warm_up_async);
                                    async_ours.add(mine.value, mine.cpu_s);
                                  },
                                  [&] {
                                    auto theirs = libpq_async(server, our_threads, cpus,
                                                              per_connection, warm_up_async);
                                    async_peer.add(theirs.value, theirs.cpu_s);
                                  },
                                  [&] {
                                    auto raw = raw_async(server, our_threads, cpus,
                                                         per_connection, warm_up_async);
                                    async_raw.add(raw.value, raw.cpu_s);
                                  }});

    if (wanted("pg_notify_latency_p50") || wanted("pg_notify_latency_p99")) {
      std::thread::id listener_thread;
      bench::in_turn(repetition, {[&] {
                                    auto mine = ours_notify(engine, server, notifier,
                                                            notifications, warm_up_notify,
                                                            worker, listener_thread);
                                    p50_ours.add(mine.p50, mine.cpu_s);
                                    p99_ours.add(mine.p99, mine.cpu_s);
                                  },
                                  [&] {
                                    auto theirs = libpq_notify(server, our_threads, cpu, notifier,
                                                               notifications, warm_up_notify);
                                    p50_peer.add(theirs.p50, theirs.cpu_s);
                                    p99_peer.add(theirs.p99, theirs.cpu_s);
                                  },
                                  [&] {
                                    auto raw = raw_notify(server, our_threads, cpu, notifier,
                                                          notifications, warm_up_notify);
                                    p50_raw.add(raw.p50, raw.cpu_s);
                                    p99_raw.add(raw.p99, raw.cpu_s);
                                  }});
      check_placement(engine, listener_thread, cpus, cpu, "listener");
    }

    // The bulk ones: libpq's one thread on the CPU of the I/O worker that runs ours.
    if (wanted("pg_insert_pipelined_100k"))
      bench::in_turn(repetition, {[&] {
                                    auto mine = ours_insert(engine, server, notifier, insert_rows,
                                                            warm_up_insert, cpus, worker);
                                    insert_ours.add(mine.value, mine.cpu_s);
                                  },
                                  [&] {
                                    auto theirs = libpq_insert(server, our_threads, notifier, cpu,
                                                               insert_rows, warm_up_insert);
                                    insert_peer.add(theirs.value, theirs.cpu_s);
                                  }});

    if (wanted("pg_fetch_1m_rows"))
      bench::in_turn(repetition, {[&] {
                                    auto fetched = run_fetch_child(self, "ours", server.port(),
                                                                   cpu, fetch_rows, warm_up_fetch);
                                    fetch_ours.add(fetched.value, fetched.cpu_s);
                                    peak_ours.add(fetched.peak_mib, fetched.cpu_s);
                                    peak_buffered_rows =
                                      std::max(peak_buffered_rows, fetched.peak_buffered_rows);
                                  },
                                  [&] {
                                    auto theirs = run_fetch_child(self, "libpq", server.port(),
                                                                  cpu, fetch_rows, warm_up_fetch);
                                    fetch_peer.add(theirs.value, theirs.cpu_s);
                                    peak_peer.add(theirs.peak_mib, theirs.cpu_s);
                                  },
                                  [&] {
                                    auto spun = run_fetch_child(self, "ours-spin", server.port(),
                                                                cpu, fetch_rows, warm_up_fetch);
                                    fetch_ours_spin.add(spun.value, spun.cpu_s);
                                  },
                                  [&] {
                                    auto raw = run_fetch_child(self, "raw", server.port(), cpu,
                                                               fetch_rows, warm_up_fetch);
                                    fetch_raw.add(raw.value, raw.cpu_s);
                                  }});

    if (wanted("pg_copy_in_100mb"))
      bench::in_turn(repetition, {[&] {
                                    auto mine =
                                      ours_copy(engine, server, notifier, copy_rows, cpus, worker);
                                    copy_ours.add(mine.value, mine.cpu_s);
                                  },
                                  [&] {
                                    auto theirs =
                                      libpq_copy(server, our_threads, notifier, cpu, copy_rows);
                                    copy_peer.add(theirs.value, theirs.cpu_s);
                                  },
                                  [&] {
                                    auto raw =
                                      raw_copy(server, our_threads, notifier, cpu, copy_rows);
                                    copy_raw.add(raw.value, raw.cpu_s);
                                  }});
  }
  PQfinish(notifier);
  bench::comment("pg: PostgreSQL %s from scripts/pg-server on 127.0.0.1:%u (TCP, trust, no TLS); "
                 "ours on %zu I/O workers pinned to CPUs %u-%u, libpq's loop threads pinned the "
                 "same way; cpu_s is this client process's CPU over the span",
                 "15", server.port(), io_workers, cpus.front(), cpus.back());
  bench::comment("pg_select1_seq: %d round trips per run after %d warm-up; "
                 "pg_select1_async_100conn: %d connections x %d round trips; notify: %d "
                 "notifications, one at a time, the same libpq notifier for every side (ours, "
                 "libpq, and a raw protocol reader blocking in recv as the limit)",
                 seq_round_trips, warm_up_seq, async_connections, per_connection, notifications);
  bench::comment("pg_insert_pipelined_100k: %d prepared inserts (int8 binary, text) in one "
                 "pipeline, a Sync every %d, on both sides; ours async mode fed a segment at "
                 "a time (the I/O worker encodes, sends and reads), libpq non-blocking "
                 "pipeline mode on one thread pinned to that worker's CPU",
                 insert_rows, insert_sync_every);
  bench::comment("pg_fetch_1m_rows: %lld rows (int8, text) in binary, ours async mode with "
                 "on_rows in chunks of %u (at most %zu rows buffered), libpq single-row mode, "
                 "and a raw protocol reader blocking in recv (limit); _spin: ours with "
                 "io_pool_options::spin = 50us; each side in a child process of its own; "
                 "_peak_mib: peak RSS rise during the fetch",
                 static_cast<long long>(fetch_rows), fetch_chunk_rows, peak_buffered_rows);
  bench::comment("pg_copy_in_100mb: COPY FROM STDIN of %.1f MB (%lld text rows, %zu pieces "
                 "of ~64 KiB made before the runs); ours async mode copy_in, libpq "
                 "PQputCopyData/PQputCopyEnd in blocking mode, and a raw protocol writer "
                 "(limit)",
                 static_cast<double>(copy_rows.bytes) / 1e6,
                 static_cast<long long>(copy_rows.rows), copy_rows.pieces.size());
  const auto higher = bench::better::higher;
  const auto lower = bench::better::lower;
  const auto alternative = bench::peer_kind::alternative;
  const auto limit = bench::peer_kind::limit;
  if (wanted("pg_select1_seq"))
    bench::report("pg_select1_seq", "queries/s", higher, seq_ours, "libpq PQexec", alternative,
                  seq_peer);
  if (wanted("pg_select1_seq"))
    bench::report("pg_select1_seq", "queries/s", higher, seq_ours,
                  "raw protocol reader, spinning recv", limit, seq_raw);
  if (wanted("pg_select1_async_100conn"))
    bench::report("pg_select1_async_100conn", "queries/s", higher, async_ours,
                  "libpq non-blocking, epoll loop per thread", alternative, async_peer);
  if (wanted("pg_select1_async_100conn"))
    bench::report("pg_select1_async_100conn", "queries/s", higher, async_ours,
                  "raw protocol readers, epoll loop per thread", limit, async_raw);
  if (wanted("pg_notify_latency_p50") || wanted("pg_notify_latency_p99")) {
    bench::report("pg_notify_latency_p50", "us", lower, p50_ours,
                  "libpq PQnotifies on socket readiness", alternative, p50_peer);
    bench::report("pg_notify_latency_p99", "us", lower, p99_ours,
                  "libpq PQnotifies on socket readiness", alternative, p99_peer);
    bench::report("pg_notify_latency_p50", "us", lower, p50_ours,
                  "raw protocol reader, blocking recv", limit, p50_raw);
    bench::report("pg_notify_latency_p99", "us", lower, p99_ours,
                  "raw protocol reader, blocking recv", limit, p99_raw);
  }
  if (wanted("pg_insert_pipelined_100k"))
    bench::report("pg_insert_pipelined_100k", "rows/s", higher, insert_ours,
                  "libpq pipeline mode", alternative, insert_peer);
  if (wanted("pg_fetch_1m_rows")) {
    bench::report("pg_fetch_1m_rows", "rows/s", higher, fetch_ours, "libpq single-row mode",
                  alternative, fetch_peer);
    bench::report("pg_fetch_1m_rows", "rows/s", higher, fetch_ours,
                  "raw protocol reader, blocking recv", limit, fetch_raw);
    bench::report("pg_fetch_1m_rows_spin", "rows/s", higher, fetch_ours_spin,
                  "libpq single-row mode", alternative, fetch_peer);
    bench::report("pg_fetch_1m_rows_spin", "rows/s", higher, fetch_ours_spin,
                  "raw protocol reader, blocking recv", limit, fetch_raw);
    bench::report("pg_fetch_1m_rows_peak_mib", "MiB", lower, peak_ours, "libpq single-row mode",
                  alternative, peak_peer);
  }
  if (wanted("pg_copy_in_100mb"))
    bench::report("pg_copy_in_100mb", "MB/s", higher, copy_ours, "libpq PQputCopyData",
                  alternative, copy_peer);
  if (wanted("pg_copy_in_100mb"))
    bench::report("pg_copy_in_100mb", "MB/s", higher, copy_ours,
                  "raw protocol writer, blocking sendmsg", limit, copy_raw);
  return 0;
}
