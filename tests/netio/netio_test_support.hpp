// Shared pieces of the netio tests: an engine with a message server on a
// free loopback port, thread recorders, and blocking helpers that never
// sleep (they wait on condition variables or poll with a deadline).
#pragma once

#include <actorloop/netio/connection.hpp>
#include <actorloop/netio/io_pool.hpp>
#include <actorloop/netio/server.hpp>
#include <actorloop/runtime/engine.hpp>

#include <actorloop_test/support.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace netio_test {

namespace netio = actorloop::netio;
namespace runtime = actorloop::runtime;
using namespace std::chrono_literals;

/// An engine plus a message server listening on 127.0.0.1 (free port).
struct server_fixture {
  explicit server_fixture(netio::server_options options = {}, std::size_t io_workers = 2) {
    netio::io_pool_options pool;
    pool.workers = io_workers;
    netio::start_io_workers(engine, pool);
    server.emplace(engine, std::move(options));
  }
  ~server_fixture() {
    if (server)
      server->stop(std::chrono::seconds(5));
  }

  [[nodiscard]] netio::endpoint address() const { return server->local_endpoint(); }

  runtime::engine engine;
  std::optional<netio::message_server> server;
};

/// Records the thread each named event ran on.
class thread_log {
public:
  void record(const std::string& what) {
    std::lock_guard guard{mutex_};
    entries_.push_back({what, std::this_thread::get_id()});
    changed_.notify_all();
  }
  [[nodiscard]] std::vector<std::thread::id> threads_of(const std::string& what) const {
    std::lock_guard guard{mutex_};
    std::vector<std::thread::id> result;
    for (auto& each : entries_)
      if (each.first == what)
        result.push_back(each.second);
    return result;
  }
  [[nodiscard]] std::size_t count(const std::string& what) const { return threads_of(what).size(); }
  [[nodiscard]] std::vector<std::string> order() const {
    std::lock_guard guard{mutex_};
    std::vector<std::string> result;
    for (auto& each : entries_)
      result.push_back(each.first);
    return result;
  }
  /// Waits until `what` was recorded `times` times (or the limit passed).
  bool wait_for(const std::string& what, std::size_t times,
                std::chrono::milliseconds limit = 20s) {
    std::unique_lock guard{mutex_};
    return changed_.wait_for(guard, limit, [&] {
      std::size_t seen = 0;
      for (auto& each : entries_)
        if (each.first == what)
          ++seen;
      return seen >= times;
    });
  }

private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::pair<std::string, std::thread::id>> entries_;
};

/// Connects in whatever mode `target` has, waiting for the completion
/// (sync: the call; deferred: poll; async: a latch in a temporary completion
/// callback), and checks that it worked.
inline void connect_or_fail(netio::connection& target, const netio::endpoint& where,
                            netio::connect_options options = {}) {
  if (target.mode() == netio::io_mode::async) {
    auto previous = target.installed().completion;
    actorloop_test::latch_counter done;
    netio::retcode status = netio::retcode::fail;
    target.set_completion([&](netio::connection&, netio::function_id function, netio::retcode result) {
      if (function == netio::function_id::connect) {
        status = result;
        done.increment();
      }
      return netio::retcode::succeed;
    });
    REQUIRE(target.connect(where, std::move(options)) == netio::retcode::pending);
    REQUIRE(done.wait_for_at_least(1, 20s));
    target.set_completion(previous);
    REQUIRE(status == netio::retcode::succeed);
    return;
  }
  auto code = target.connect(where, std::move(options));
  if (target.mode() == netio::io_mode::deferred) {
    REQUIRE(code == netio::retcode::pending);
    auto polled = target.poll(20s);
    REQUIRE(polled.code == netio::retcode::succeed);
    REQUIRE(polled.function == netio::function_id::connect);
    REQUIRE(polled.status == netio::retcode::succeed);
    return;
  }
  REQUIRE(code == netio::retcode::succeed);
}

} // namespace netio_test
