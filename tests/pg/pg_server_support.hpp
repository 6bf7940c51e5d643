#pragma once
// The pg connection tests' pieces: the throwaway server scripts/pg-server
// starts (a test that cannot start it fails), options for its users, and
// an engine with I/O workers.

#include <actorloop/netio/connection.hpp>
#include <actorloop/netio/io_pool.hpp>
#include <actorloop/pg/connection.hpp>
#include <actorloop/runtime/engine.hpp>

#include "pg_throwaway_server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <sys/wait.h>

namespace pg_server_test {

namespace pg = actorloop::pg;
namespace netio = actorloop::netio;
namespace runtime = actorloop::runtime;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// The throwaway server, with options for its users.
class throwaway_server : public pg_throwaway::server {
public:
  /// Options for `user` over TCP (or the Unix socket), database postgres, no TLS.
  [[nodiscard]] pg::connection_options options(const std::string& user,
                                               std::optional<std::string> password,
                                               bool unix_socket = false) const {
    pg::connection_options result;
    result.hosts.push_back(pg::host_spec{unix_socket ? socket_dir() : "127.0.0.1", port(), {}});
    result.user = user;
    result.dbname = "postgres";
    result.password = std::move(password);
    result.sslmode = pg::ssl_mode::disable;
    return result;
  }
};

/// An engine with two I/O workers.
struct engine_fixture {
  engine_fixture() {
    netio::io_pool_options pool;
    pool.workers = 2;
    netio::start_io_workers(engine, pool);
  }
  runtime::engine engine;
};

/// Counts events from any thread; waits for a count without sleeping.
class counter {
public:
  void add() {
    std::lock_guard guard{mutex_};
    ++count_;
    changed_.notify_all();
  }
  [[nodiscard]] bool wait_for(int wanted, std::chrono::seconds limit = 20s) {
    std::unique_lock guard{mutex_};
    return changed_.wait_for(guard, limit, [&] { return count_ >= wanted; });
  }
  [[nodiscard]] int value() const {
    std::lock_guard guard{mutex_};
    return count_;
  }

private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int count_ = 0;
};

/// Connects `connection` in sync mode; fails the test, naming the client
/// message, when it does not connect.
inline void require_connected(pg::connection& connection) {
  auto status = connection.connect();
  REQUIRE_MESSAGE(status == netio::retcode::succeed,
                  "connect failed: " << connection.last_error().text);
}

/// The start most connection tests share: the throwaway server, an engine
/// with I/O workers, a sync-mode context and a `trust_user` connection over
/// TCP on it. Not connected yet, so that a test can install its callbacks
/// first; `connect()` then connects it (or fails the test). Members are
/// declared in the order they must outlive each other.
struct trust_session {
  throwaway_server server;
  engine_fixture fixture;
  netio::context context{fixture.engine};
  pg::connection connection{context, server.options("trust_user", std::nullopt)};

  void connect() { require_connected(connection); }
};

/// Waits (by asking the server through `observer`, never sleeping) until
/// the backend `pid` runs a statement that matches the SQL LIKE pattern
/// `query_like` (e.g. "SELECT pg_sleep%"). False after 20 s or if a query
/// of the observer fails.
inline bool wait_until_active(pg::connection& observer, std::int32_t pid,
                              const std::string& query_like = "SELECT pg_sleep%") {
  auto give_up = std::chrono::steady_clock::now() + 20s;
  auto sql = "SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(pid) +
             " AND state = 'active' AND query LIKE '" + query_like + "'";
  while (std::chrono::steady_clock::now() < give_up) {
    if (observer.execute(sql) != netio::retcode::succeed)
      return false;
    auto answer = observer.take_result();
    if (answer && answer->results.size() == 1 && answer->results[0].int64(0, 0) == 1)
      return true;
  }
  return false;
}

/// Readiness events and mailbox commands of every I/O worker of `engine`
/// (the worker path of a query costs at least one of each).
inline std::uint64_t worker_activity(runtime::engine& engine) {
  std::uint64_t total = 0;
  for (auto& each : netio::io_worker_statistics(engine))
    total += each.readiness_events + each.commands;
  return total;
}

} // namespace pg_server_test
