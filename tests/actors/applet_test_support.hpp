// Helpers shared by the applet tests. Header only: the test build turns each
// tests/actors/*.cpp into one executable and ignores headers.
//
// The runtime's own blocking waits refuse to run on a scheduler thread, so the
// helpers that hold a scheduler thread on purpose (gate, scheduler_hold) use
// std primitives, always with a bound.
#pragma once

#include <actorloop/actors/applet.hpp>
#include <actorloop/actors/registry.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/error.hpp>
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/scheduler.hpp>

#include <actorloop_test/support.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;

namespace applet_test {

// An engine whose "default" scheduler has one worker: each test makes the
// schedulers it needs, and the machine is shared.
inline runtime::engine_options small_engine_options() {
  runtime::engine_options options;
  options.default_threads = 1;
  return options;
}

inline runtime::scheduler make_scheduler(runtime::engine& engine, std::string name,
                                         std::size_t threads = 1) {
  runtime::scheduler_options options;
  options.name = std::move(name);
  options.threads = threads;
  return engine.create_scheduler(options);
}

// A one-shot gate: closed until `open`, then open for good.
class gate {
public:
  void open() {
    {
      std::lock_guard guard{mutex_};
      open_ = true;
    }
    opened_.notify_all();
  }
  [[nodiscard]] bool wait_for(std::chrono::milliseconds limit) {
    std::unique_lock guard{mutex_};
    return opened_.wait_for(guard, limit, [&] { return open_; });
  }
  [[nodiscard]] bool is_open() const {
    std::lock_guard guard{mutex_};
    return open_;
  }

private:
  mutable std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
};

// A thread-safe record of what happened, in order.
class event_log {
public:
  void add(std::string entry) {
    {
      std::lock_guard guard{mutex_};
      entries_.push_back(std::move(entry));
    }
    grew_.notify_all();
  }
  [[nodiscard]] std::vector<std::string> entries() const {
    std::lock_guard guard{mutex_};
    return entries_;
  }
  [[nodiscard]] std::size_t size() const {
    std::lock_guard guard{mutex_};
    return entries_.size();
  }
  [[nodiscard]] std::size_t count(const std::string& entry) const {
    std::lock_guard guard{mutex_};
    return static_cast<std::size_t>(std::count(entries_.begin(), entries_.end(), entry));
  }
  // Waits until the log holds at least `size` entries.
  [[nodiscard]] bool wait_for_size(std::size_t size, std::chrono::milliseconds limit) {
    std::unique_lock guard{mutex_};
    return grew_.wait_for(guard, limit, [&] { return entries_.size() >= size; });
  }
  // Waits until `entry` appears.
  [[nodiscard]] bool wait_for_entry(const std::string& entry, std::chrono::milliseconds limit) {
    std::unique_lock guard{mutex_};
    return grew_.wait_for(guard, limit, [&] {
      return std::find(entries_.begin(), entries_.end(), entry) != entries_.end();
    });
  }

private:
  mutable std::mutex mutex_;
  std::condition_variable grew_;
  std::vector<std::string> entries_;
};

// Counts how many threads are inside a region at once and remembers the peak.
class concurrency_gauge {
public:
  void enter() {
    auto now = inside_.fetch_add(1) + 1;
    auto peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
  }
  void leave() { inside_.fetch_sub(1); }
  [[nodiscard]] int peak() const { return peak_.load(); }

private:
  std::atomic<int> inside_{0};
  std::atomic<int> peak_{0};
};

// The error code a call throws as runtime::error; empty if it throws nothing.
inline std::error_code error_code_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const runtime::error& failure) {
    return failure.code();
  }
  return {};
}

inline bool is_one_of(std::thread::id id, const std::vector<std::thread::id>& ids) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// True when every id in `seen` is one of `allowed`.
inline bool all_within(const actorloop_test::thread_id_set& seen,
                       const std::vector<std::thread::id>& allowed) {
  for (auto id : seen.snapshot())
    if (!is_one_of(id, allowed))
      return false;
  return true;
}

inline std::optional<actors::applet_info> find_info(runtime::engine& engine, std::uint64_t id) {
  for (auto& info : actors::list_applets(engine))
    if (info.id == id)
      return info;
  return std::nullopt;
}

// Holds a scheduler's (one) worker thread inside an applet's postselect, so a
// test can line up events that the scheduler must then handle together.
class scheduler_hold {
public:
  scheduler_hold(runtime::engine& engine, const std::string& scheduler_name)
    : shared_(std::make_shared<shared>()) {
    actors::applet_callbacks callbacks;
    callbacks.name = "holder";
    callbacks.preselect = [state = shared_](actors::applet_context& context) {
      if (!context.waiting_on(state->trigger))
        context.add_wait(state->trigger);
    };
    callbacks.postselect = [state = shared_](actors::applet_context&,
                                             const runtime::waitable&) -> runtime::waitable {
      state->entered.open();
      if (!state->released.wait_for(10s))
        state->released_in_time = false;
      return {};
    };
    handle_ = actors::spawn_applet(engine, scheduler_name, callbacks);
  }
  scheduler_hold(const scheduler_hold&) = delete;
  scheduler_hold& operator=(const scheduler_hold&) = delete;
  ~scheduler_hold() {
    release();
    handle_.kill();
    (void)handle_.wait_for(10s);
  }

  // Returns once the scheduler thread is held.
  [[nodiscard]] bool hold() {
    shared_->trigger.set();
    return shared_->entered.wait_for(10s);
  }
  void release() { shared_->released.open(); }
  // False if the hold outlasted its bound (the test forgot to release).
  [[nodiscard]] bool released_in_time() const { return shared_->released_in_time.load(); }

private:
  struct shared {
    runtime::event trigger{runtime::reset_mode::automatic, "hold-trigger"};
    gate entered;
    gate released;
    std::atomic<bool> released_in_time{true};
  };
  std::shared_ptr<shared> shared_;
  actors::applet_handle handle_;
};

// A plain thread that sets an event when asked and reports when set()
// returned, so that a callback can wait for a foreign set to be complete.
class foreign_setter {
public:
  explicit foreign_setter(runtime::event target)
    : target_(std::move(target)), thread_([this] { run(); }) {}
  foreign_setter(const foreign_setter&) = delete;
  foreign_setter& operator=(const foreign_setter&) = delete;
  ~foreign_setter() { stop(); }

  // Sets the event on the setter's thread; true once its set() returned.
  [[nodiscard]] bool set_and_wait(std::chrono::milliseconds limit) {
    std::unique_lock guard{mutex_};
    auto ticket = ++requested_;
    changed_.notify_all();
    return changed_.wait_for(guard, limit, [&] { return completed_ >= ticket; });
  }

  void stop() {
    {
      std::lock_guard guard{mutex_};
      stopping_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }

private:
  void run() {
    std::unique_lock guard{mutex_};
    for (;;) {
      changed_.wait(guard, [&] { return stopping_ || completed_ < requested_; });
      if (completed_ == requested_)
        return; // stopping, nothing left to do
      guard.unlock();
      target_.set();
      guard.lock();
      ++completed_;
      changed_.notify_all();
    }
  }

  runtime::event target_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t requested_ = 0;
  std::uint64_t completed_ = 0;
  bool stopping_ = false;
  std::thread thread_; // last: starts after the members it uses
};

} // namespace applet_test
