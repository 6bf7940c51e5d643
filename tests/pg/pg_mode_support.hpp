#pragma once
// Runs pg operations the same way in sync, deferred and async mode: counts
// completions exactly and checks that each comes on the thread the mode
// prescribes (none in sync mode, the poll caller in deferred mode, the I/O
// worker in async mode).

#include "pg_server_support.hpp"

#include <actorloop/pg/error.hpp>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

namespace pg_mode_test {

using namespace pg_server_test;

class mode_runner {
public:
  mode_runner(pg::connection& connection, netio::io_mode mode)
    : connection_(connection), mode_(mode) {
    connection.set_completion([this](pg::connection&, netio::function_id, netio::retcode status) {
      {
        std::lock_guard guard{mutex_};
        statuses_.push_back(status);
        threads_.push_back(std::this_thread::get_id());
      }
      count_.add();
    });
    connection.set_client_message([this](pg::connection*, const netio::client_message& problem) {
      std::lock_guard guard{mutex_};
      problems_.push_back(problem);
      return netio::callback_result::succeed;
    });
  }

  /// Waits for `started` and returns its status, checking the thread.
  netio::retcode finish(netio::started_operation started) {
    if (mode_ == netio::io_mode::sync) {
      std::lock_guard guard{mutex_};
      CHECK(statuses_.empty()); // sync mode calls no completion callback
      return started.code;
    }
    if (started.code != netio::retcode::pending)
      return started.code;
    ++expected_;
    if (mode_ == netio::io_mode::deferred) {
      auto polled = connection_.poll(60s);
      REQUIRE(polled.code == netio::retcode::succeed);
      std::lock_guard guard{mutex_};
      REQUIRE(static_cast<int>(threads_.size()) == expected_);
      CHECK(threads_.back() == std::this_thread::get_id());
      return polled.status;
    }
    REQUIRE(count_.wait_for(expected_, 60s));
    std::lock_guard guard{mutex_};
    REQUIRE(static_cast<int>(threads_.size()) == expected_);
    CHECK(threads_.back() == connection_.io_thread());
    return statuses_.back();
  }

  /// Runs `started` and takes its result, requiring `wanted` as status.
  pg::query_result result_of(netio::started_operation started,
                             netio::retcode wanted = netio::retcode::succeed) {
    auto status = finish(started);
    REQUIRE(status == wanted);
    auto taken = connection_.take_result(started.id);
    if (!taken)
      taken = connection_.take_result();
    REQUIRE(taken);
    return std::move(*taken);
  }

  /// The thread the mode runs server-message (and on_rows) callbacks on.
  [[nodiscard]] std::thread::id callback_thread() const {
    return mode_ == netio::io_mode::async ? connection_.io_thread() : std::this_thread::get_id();
  }

  [[nodiscard]] std::vector<netio::client_message> problems() const {
    std::lock_guard guard{mutex_};
    return problems_;
  }
  [[nodiscard]] int completions() const { return count_.value(); }

private:
  pg::connection& connection_;
  netio::io_mode mode_;
  mutable std::mutex mutex_;
  std::vector<netio::retcode> statuses_;
  std::vector<std::thread::id> threads_;
  std::vector<netio::client_message> problems_;
  counter count_;
  int expected_ = 0;
};

/// Counts the ErrorResponses that reach `connection`'s server-message
/// callback (which it installs); read on any thread.
class server_error_counter {
public:
  explicit server_error_counter(pg::connection& connection) {
    connection.set_server_message([this](pg::connection&, const pg::server_message& message) {
      if (message.is_error)
        ++count_;
    });
  }
  [[nodiscard]] int value() const { return count_.load(); }

private:
  std::atomic<int> count_{0};
};

/// Runs `body(connection, run, server_errors, mode)` once per I/O mode
/// (sync, deferred, async) on a fresh connection made with `options` and
/// connected, with its runner and its server-error counter.
template <class Body>
void in_every_mode(const pg::connection_options& options, Body&& body) {
  engine_fixture fixture;
  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    netio::context context{fixture.engine, {mode}};
    pg::connection connection{context, options};
    mode_runner run{connection, mode};
    server_error_counter server_errors{connection};
    REQUIRE(run.finish(connection.connect()) == netio::retcode::succeed);
    body(connection, run, server_errors, mode);
  }
}

/// The pg::errc of the pg::error `body` throws (fails when none).
inline pg::errc code_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const pg::error& thrown) {
    return static_cast<pg::errc>(thrown.code().value());
  }
  FAIL("no pg::error thrown");
  return pg::errc::invalid_argument;
}

} // namespace pg_mode_test
