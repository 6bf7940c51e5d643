#pragma once
/// @file
/// A thread-safe FIFO of any movable type that is ready while non-empty.
///
/// Readiness is level-triggered: an applet that takes one item of N is
/// dispatched again until the queue is empty. Emptying the queue (by `try_pop`,
/// `pop` or `clear`) clears readiness. FIFO order is preserved for every
/// producer/consumer pair.
///
/// Capacity: unbounded by default. A bounded queue refuses `try_push` with
/// `errc::queue_full` (the value is not consumed, so nothing is lost) and
/// blocks `push` until there is room. `push` on a full queue from a scheduler
/// thread throws `errc::would_block_scheduler` instead of stalling the scheduler.
///
/// Thread safety: distinct objects: safe. Shared objects: safe; any number of
/// producers and consumers, on any threads (applet callbacks included; only
/// `push` on a full queue and the blocking `pop`/`pop_for` refuse scheduler
/// threads).
///
/// Waiting for room without blocking: `when_room(callback)` registers a
/// one-shot callback that runs once the full queue gets room or is closed,
/// so a producer that must not block (an actor, a network handler) parks its
/// item itself and retries `try_push` from the callback.
///
/// Cost: an unbounded queue hands items to its consumers in batches: a
/// `try_pop` that finds the consumer side empty takes everything queued in
/// one step, and the next `try_pop` calls do not touch the producers' lock.
/// Draining item by item is therefore about as cheap as `take_all`.

#include <actorloop/runtime/waitable.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace actorloop::runtime {

namespace detail {

/// The state of a wait_queue<T>. Producers append to `items_` under the
/// waitable's mutex. An unbounded queue also has a consumer-side batch,
/// `taken_`, under its own mutex: a consumer that finds it empty moves all
/// of `items_` into it in one acquisition of the producers' mutex and then
/// pops from it without touching that mutex, so producers and consumers
/// contend once per batch instead of once per item (what a hand-written
/// queue drained by swapping does). `taken_` always holds items older than
/// every item in `items_`, so FIFO order is kept. Lock order: `taken_mutex_`
/// before `mutex_`. Bounded queues keep one deque, so that room for a
/// blocked `push` is counted exactly.
template <class T>
class wait_queue_state final : public waitable_state {
public:
  wait_queue_state(std::size_t capacity, std::string name)
    : waitable_state(waitable_kind::wait_queue, std::move(name)), capacity_(capacity) {}

  std::error_code try_push(T& value) {
    std::lock_guard guard{mutex_};
    if (closed_)
      return errc::closed;
    if (items_.size() >= capacity_)
      return errc::queue_full;
    push_locked(value);
    return {};
  }

  /// Registers `callback` unless there is room or the queue is closed now
  /// (then returns false and the caller retries at once).
  bool when_room(std::function<void()>& callback) {
    std::lock_guard guard{mutex_};
    if (closed_ || items_.size() < capacity_)
      return false;
    room_waiters_.push_back(std::move(callback));
    return true;
  }

  void push_blocking(T& value) {
    std::unique_lock guard{mutex_};
    if (items_.size() >= capacity_ && !closed_) {
      guard.unlock();
      refuse_blocking_on_scheduler("wait_queue::push on a full queue");
      guard.lock();
      not_full_.wait(guard, [&] { return items_.size() < capacity_ || closed_; });
    }
    if (closed_)
      throw error(errc::closed, "wait_queue '" + name() + "': push on a closed queue");
    push_locked(value);
  }

  std::optional<T> try_pop() {
    if (!batched()) {
      std::vector<std::function<void()>> room;
      std::optional<T> result;
      {
        std::lock_guard guard{mutex_};
        if (items_.empty())
          return std::nullopt;
        result.emplace(std::move(items_.front()));
        items_.pop_front();
        if (items_.size() + 1 == capacity_) {
          not_full_.notify_one();
          room.swap(room_waiters_);
        }
      }
      run(room);
      return result;
    }
    std::lock_guard taken_guard{taken_mutex_};
    if (taken_.empty()) {
      std::lock_guard guard{mutex_};
      if (items_.empty())
        return std::nullopt;
      taken_.swap(items_);
      taken_count_.store(taken_.size(), std::memory_order_relaxed);
    }
    std::optional<T> result{std::move(taken_.front())};
    taken_.pop_front();
    // Relaxed is enough: readiness is only read under mutex_, and a consumer
    // that took the last item re-checks under mutex_ before it sleeps.
    taken_count_.store(taken_.size(), std::memory_order_relaxed);
    return result;
  }

  std::deque<T> take_all() {
    std::deque<T> result;
    std::vector<std::function<void()>> room;
    {
      std::unique_lock<std::mutex> taken_guard;
      if (batched()) {
        taken_guard = std::unique_lock{taken_mutex_};
        result.swap(taken_);
        taken_count_.store(0, std::memory_order_relaxed);
      }
      std::lock_guard guard{mutex_};
      if (result.empty()) {
        result.swap(items_);
      } else {
        for (auto& item : items_)
          result.push_back(std::move(item));
        items_.clear();
      }
      if (!result.empty()) {
        not_full_.notify_all();
        room.swap(room_waiters_);
      }
    }
    run(room);
    return result;
  }

  void clear() {
    std::vector<std::function<void()>> room;
    {
      std::unique_lock<std::mutex> taken_guard;
      if (batched()) {
        taken_guard = std::unique_lock{taken_mutex_};
        taken_.clear();
        taken_count_.store(0, std::memory_order_relaxed);
      }
      std::lock_guard guard{mutex_};
      items_.clear();
      not_full_.notify_all();
      room.swap(room_waiters_);
    }
    run(room);
  }

  void close_queue() {
    std::vector<std::function<void()>> room;
    {
      std::lock_guard guard{mutex_};
      closed_ = true;
      not_full_.notify_all();
      room.swap(room_waiters_);
    }
    close();
    run(room);
  }

  std::size_t size() const {
    std::unique_lock<std::mutex> taken_guard;
    if (batched())
      taken_guard = std::unique_lock{taken_mutex_};
    std::lock_guard guard{mutex_};
    return items_.size() + taken_.size();
  }

  std::size_t capacity() const noexcept { return capacity_; }

protected:
  bool ready_locked() const override {
    return !items_.empty() || taken_count_.load(std::memory_order_relaxed) != 0;
  }

private:
  [[nodiscard]] bool batched() const noexcept {
    return capacity_ == std::numeric_limits<std::size_t>::max();
  }

  // Room callbacks run after the locks are released: they may push again.
  static void run(std::vector<std::function<void()>>& callbacks) {
    for (auto& callback : callbacks)
      callback();
  }

  void push_locked(T& value) {
    items_.push_back(std::move(value));
    // Became non-empty: wake. Items still in the consumers' batch mean the
    // queue was ready already (a consumer emptying that batch meanwhile
    // re-checks under mutex_ and finds this item).
    if (items_.size() == 1 && taken_count_.load(std::memory_order_relaxed) == 0)
      signal_locked();
  }

  const std::size_t capacity_;
  std::deque<T> items_;
  std::condition_variable not_full_;
  // One-shot callbacks of producers waiting for room without blocking.
  std::vector<std::function<void()>> room_waiters_;
  bool closed_ = false;
  // Consumer side of an unbounded queue (see the class comment).
  mutable std::mutex taken_mutex_;
  std::deque<T> taken_;
  std::atomic<std::size_t> taken_count_{0};
};

} // namespace detail

template <class T>
class wait_queue : public waitable {
  static_assert(std::is_move_constructible_v<T>, "wait_queue<T> needs a movable T");

public:
  static constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

  /// Creates an empty queue holding at most `capacity` items (at least 1).
  explicit wait_queue(std::size_t capacity = unbounded, std::string name = {})
    : waitable(make_state(capacity, std::move(name))) {}

  /// Appends `value` unless the queue is full or closed. On failure `value`
  /// is left untouched, so the caller still owns it.
  [[nodiscard]] std::error_code try_push(T&& value) { return typed().try_push(value); }
  [[nodiscard]] std::error_code try_push(const T& value) {
    T copy{value};
    return typed().try_push(copy);
  }
  /// Appends `value`, blocking while the queue is full. Throws `closed` on a
  /// closed queue and `would_block_scheduler` if it would block a scheduler.
  void push(T value) { typed().push_blocking(value); }

  /// Waiting for room without blocking. If the queue is full and open,
  /// registers `callback` and returns true: it then runs exactly once, when
  /// a consumer makes room (`try_pop`, `take_all`, `clear`) or the queue is
  /// closed, on that consumer's (or closer's) thread, after the queue's
  /// locks are released, so it may call `try_push` (which can still find
  /// the queue full if another producer came first: register again). If
  /// there is room already or the queue is closed, returns false without
  /// registering (the caller retries `try_push` at once). An unbounded queue
  /// is never full, so it always returns false. Any thread, scheduler
  /// threads included. A registered callback cannot be withdrawn; it holds
  /// what it captures until it has run (or the queue is destroyed), so it
  /// should capture weak references. Keep it short: it runs inside the
  /// consumer's call.
  [[nodiscard]] bool when_room(std::function<void()> callback) {
    return typed().when_room(callback);
  }

  /// Takes the head item, if any. Never blocks.
  [[nodiscard]] std::optional<T> try_pop() { return typed().try_pop(); }
  /// Blocks until an item arrives and takes it.
  [[nodiscard]] T pop() {
    for (;;) {
      if (auto item = typed().try_pop())
        return std::move(*item);
      wait();
    }
  }
  /// As `pop`, giving up after `timeout`.
  [[nodiscard]] std::optional<T> pop_for(duration timeout) {
    auto limit = clock::now() + timeout;
    for (;;) {
      if (auto item = typed().try_pop())
        return item;
      if (!wait_until(limit))
        return typed().try_pop();
    }
  }

  /// Takes every item queued now, oldest first, in one call (one acquisition
  /// of the queue's locks, however many items). Readiness clears
  /// unless a producer pushes again; blocked `push` calls get room. Never
  /// blocks. Any thread, like `try_pop`; with several consumers, each item
  /// goes to exactly one of them. An applet may call it in its postselect
  /// for the queue: the level-triggered re-check then finds the queue empty
  /// and the applet is not dispatched again for these items.
  [[nodiscard]] std::deque<T> take_all() { return typed().take_all(); }
  /// Drops every item; readiness clears (the original left its event set).
  void clear() { typed().clear(); }
  /// Closes the queue: pushes fail with `closed`, waiters drop it.
  void close() { typed().close_queue(); }

  [[nodiscard]] std::size_t size() const { return typed().size(); }
  [[nodiscard]] bool empty() const { return size() == 0; }
  [[nodiscard]] std::size_t capacity() const { return typed().capacity(); }

private:
  static std::shared_ptr<detail::waitable_state> make_state(std::size_t capacity,
                                                            std::string name) {
    if (capacity == 0)
      throw error(errc::invalid_argument, "wait_queue '" + name + "': capacity must be at least 1");
    return std::make_shared<detail::wait_queue_state<T>>(capacity, std::move(name));
  }
  detail::wait_queue_state<T>& typed() const {
    return static_cast<detail::wait_queue_state<T>&>(*state_);
  }
};

} // namespace actorloop::runtime
