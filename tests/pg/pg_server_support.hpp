#pragma once
// The pg connection tests' pieces: the throwaway server scripts/pg-server
// starts (a test that cannot start it fails), options for its users, and
// an engine with I/O workers.

#include <actorloop/netio/connection.hpp>
#include <actorloop/netio/io_pool.hpp>
#include <actorloop/pg/connection.hpp>
#include <actorloop/runtime/engine.hpp>

#include <doctest/doctest.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <sys/wait.h>

namespace pg_server_test {

namespace pg = actorloop::pg;
namespace netio = actorloop::netio;
namespace runtime = actorloop::runtime;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline std::string run_command(const std::string& command, int& status) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE_MESSAGE(pipe != nullptr, "popen failed for: " << command);
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr)
    output += buffer;
  int raw = ::pclose(pipe);
  status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return output;
}

/// The throwaway server, stopped (and its directory removed) on scope exit.
class throwaway_server {
public:
  throwaway_server() {
    auto root = fs::path(ACTORLOOP_SOURCE_DIR);
    std::string pattern = (fs::temp_directory_path() / "actorloop-pg-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    script_ = (root / "scripts" / "pg-server").string();
    int status = 0;
    auto out = run_command(script_ + " start " + dir_ + " 2>&1", status);
    REQUIRE_MESSAGE(status == 0, "scripts/pg-server start failed:\n" << out);
    port_ = static_cast<std::uint16_t>(std::stoi(out));
    REQUIRE(port_ != 0);
  }
  ~throwaway_server() {
    int status = 0;
    auto out = run_command(script_ + " stop " + dir_ + " 2>&1", status);
    CHECK_MESSAGE(status == 0, "scripts/pg-server stop failed:\n" << out);
  }
  throwaway_server(const throwaway_server&) = delete;
  throwaway_server& operator=(const throwaway_server&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string socket_dir() const { return dir_ + "/socket"; }

  /// Options for `user` over TCP (or the Unix socket), database postgres, no TLS.
  [[nodiscard]] pg::connection_options options(const std::string& user,
                                               std::optional<std::string> password,
                                               bool unix_socket = false) const {
    pg::connection_options result;
    result.hosts.push_back(pg::host_spec{unix_socket ? socket_dir() : "127.0.0.1", port_, {}});
    result.user = user;
    result.dbname = "postgres";
    result.password = std::move(password);
    result.sslmode = pg::ssl_mode::disable;
    return result;
  }

private:
  std::string dir_;
  std::string script_;
  std::uint16_t port_ = 0;
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

} // namespace pg_server_test
