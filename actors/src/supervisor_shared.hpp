#pragma once
// The part of a supervisor that other threads touch: queued requests
// (start_child, stop_child, shutdown), the event that wakes the supervisor for
// them, and the statistics snapshot. Everything here is under `mutex`, except
// `wake`, which is thread-safe by itself.

#include <actorloop/actors/supervisor.hpp>
#include <actorloop/runtime/error.hpp>
#include <actorloop/runtime/event.hpp>

#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <utility>

namespace actorloop::actors::detail {

struct supervisor_request {
  enum class kind { start, stop };
  kind what = kind::start;
  std::optional<child_spec> spec;        // start
  std::uint64_t target = 0;              // stop: the applet id of the child
  std::promise<child_result> answer{};
};

struct supervisor_shared {
  explicit supervisor_shared(std::string name, restart_strategy strategy)
    : wake(runtime::reset_mode::automatic, name + "-requests") {
    stats.name = std::move(name);
    stats.strategy = strategy;
  }

  /// Refuses new requests from now on; returns those not yet taken.
  std::deque<supervisor_request> close() {
    std::lock_guard guard{mutex};
    accepting = false;
    return std::exchange(requests, {});
  }

  void request_shutdown() {
    {
      std::lock_guard guard{mutex};
      shutdown_requested = true;
    }
    wake.set();
  }

  runtime::event wake;
  std::mutex mutex;
  bool accepting = true;
  bool shutdown_requested = false;
  std::deque<supervisor_request> requests;
  // Statistics, kept up to date by the supervisor's thread.
  supervisor_stats stats;              // without `children`
  std::map<std::uint64_t, child_stats> children; // by slot key = start order
};

inline child_result refusal(std::error_code code, std::string text) {
  return child_result{applet_handle{}, code, std::move(text)};
}

} // namespace actorloop::actors::detail
