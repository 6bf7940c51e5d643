#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/timer.hpp>
#include <actorloop/runtime/waitable.hpp>

#include <actorloop/runtime/detail/access.hpp>

#include "thread_context.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>

namespace actorloop::runtime {

const char* to_string(waitable_kind kind) noexcept {
  switch (kind) {
    case waitable_kind::auto_event: return "auto_event";
    case waitable_kind::manual_event: return "manual_event";
    case waitable_kind::timer: return "timer";
    case waitable_kind::wait_queue: return "wait_queue";
    case waitable_kind::applet_exit: return "applet_exit";
    case waitable_kind::socket: return "socket";
    case waitable_kind::file_operation: return "file_operation";
  }
  return "unknown";
}

namespace detail {

namespace {

std::atomic<std::uint64_t> next_waitable_id{1};

// Ids are handed to threads in blocks, so that making a waitable (one per
// file operation) takes no atomic read-modify-write. Unique, never 0; not
// ordered across threads.
constexpr std::uint64_t id_block = 1024;

struct id_range {
  std::uint64_t next;
  std::uint64_t end;
};

thread_local id_range thread_ids{};

std::uint64_t new_waitable_id() noexcept {
  auto& ids = thread_ids;
  if (ids.next == ids.end) {
    ids.next = next_waitable_id.fetch_add(id_block, std::memory_order_relaxed);
    ids.end = ids.next + id_block;
  }
  return ids.next++;
}

std::string describe(const waitable_state& state) {
  std::string text = to_string(state.kind());
  text += " '";
  text += state.name();
  text += "' (id ";
  text += std::to_string(state.id());
  text += ')';
  return text;
}

/// A thread blocked in `waitable::wait`.
class blocking_waiter final : public waiter {
public:
  void on_ready() noexcept override {
    {
      std::lock_guard guard{mutex_};
      signalled_ = true;
    }
    wakeup_.notify_one();
  }
  void on_deadline(time_point) noexcept override { on_ready(); }

  /// Sleeps until signalled or `until` (if given). Clears the signal.
  void sleep(const time_point* until) {
    std::unique_lock guard{mutex_};
    if (until)
      wakeup_.wait_until(guard, *until, [&] { return signalled_; });
    else
      wakeup_.wait(guard, [&] { return signalled_; });
    signalled_ = false;
  }

private:
  std::mutex mutex_;
  std::condition_variable wakeup_;
  bool signalled_ = false;
};

} // namespace

void waiter::on_deadline(time_point) noexcept {
  // Most waiters learn about time from elsewhere.
}

waitable_state::waitable_state(waitable_kind kind, std::string name)
  : id_(new_waitable_id()), kind_(kind),
    name_(std::move(name)) {}

waitable_state::~waitable_state() = default;

std::error_code waitable_state::attach(waiter& who) {
  std::lock_guard guard{mutex_};
  if (closed_)
    return errc::closed;
  if (std::find(waiters_.begin(), waiters_.end(), &who) != waiters_.end())
    return errc::already_waiting;
  waiters_.push_back(&who);
  if (ready_locked())
    who.on_ready();
  else if (auto next = deadline_locked())
    who.on_deadline(*next);
  return {};
}

void waitable_state::detach(waiter& who) noexcept {
  std::lock_guard guard{mutex_};
  auto position = std::find(waiters_.begin(), waiters_.end(), &who);
  if (position == waiters_.end())
    return;
  auto index = static_cast<std::size_t>(position - waiters_.begin());
  waiters_.erase(position);
  // Keep the rotation where it was: the next waiter in turn stays next.
  if (index < next_to_wake_)
    --next_to_wake_;
  // A departing waiter may have been the one chosen for a wake-one wake that
  // it never consumed: hand the wake to the next waiter in turn.
  bool was_chosen = chosen_ == &who;
  if (was_chosen)
    chosen_ = nullptr;
  if (was_chosen && !closed_ && !waiters_.empty() && ready_locked())
    wake_one_locked(next_to_wake_);
}

bool waitable_state::ready() const {
  if (latched_.load(std::memory_order_acquire))
    return !closed_.load(std::memory_order_acquire);
  std::lock_guard guard{mutex_};
  return !closed_ && ready_locked();
}

bool waitable_state::ready_for(const waiter* who) const {
  // Latched states wake everyone, so nothing is ever reserved for one waiter.
  if (latched_.load(std::memory_order_acquire))
    return !closed_.load(std::memory_order_acquire);
  std::lock_guard guard{mutex_};
  return !closed_ && ready_locked() && (chosen_ == nullptr || chosen_ == who);
}

bool waitable_state::try_consume(const waiter* who) {
  // Ready until closed, and consuming changes nothing: no lock (this was one
  // of the lock pairs of every file operation an applet dispatches).
  if (latched_.load(std::memory_order_acquire))
    return !closed_.load(std::memory_order_acquire);
  std::lock_guard guard{mutex_};
  if (closed_ || !ready_locked())
    return false;
  if (chosen_ != nullptr && chosen_ != who)
    return false; // Reserved for the waiter whose turn it is.
  // Before consuming: a periodic timer's consume may signal the next tick.
  chosen_ = nullptr;
  consume_locked();
  return true;
}

std::optional<time_point> waitable_state::deadline() const {
  std::lock_guard guard{mutex_};
  if (closed_)
    return std::nullopt;
  return deadline_locked();
}

void waitable_state::close() {
  std::lock_guard guard{mutex_};
  if (closed_.load(std::memory_order_relaxed))
    return;
  closed_.store(true, std::memory_order_release);
  chosen_ = nullptr;
  // Everyone re-checks, finds it closed and drops it.
  for (auto* who : waiters_)
    who->on_ready();
}

bool waitable_state::is_closed() const {
  return closed_.load(std::memory_order_acquire);
}

std::size_t waitable_state::waiter_count() const {
  std::lock_guard guard{mutex_};
  return waiters_.size();
}

void waitable_state::signal_locked() noexcept {
  if (closed_ || waiters_.empty())
    return;
  if (wakes_one_locked()) {
    wake_one_locked(next_to_wake_);
    return;
  }
  for (auto* who : waiters_)
    who->on_ready();
}

void waitable_state::wake_one_locked(std::size_t start) noexcept {
  auto index = start % waiters_.size();
  next_to_wake_ = index + 1;
  chosen_ = waiters_[index];
  waiters_[index]->on_ready();
}

void waitable_state::deadline_changed_locked() noexcept {
  if (closed_)
    return;
  if (ready_locked()) {
    signal_locked();
    return;
  }
  if (auto next = deadline_locked())
    for (auto* who : waiters_)
      who->on_deadline(*next);
}

bool waitable_state::block_until(const time_point* limit) {
  refuse_blocking_on_scheduler("waitable::wait");
  blocking_waiter self;
  if (auto failure = attach(self)) {
    if (failure == errc::closed)
      throw error(errc::closed, "wait on closed " + describe(*this));
    throw error(failure, "wait on " + describe(*this));
  }
  struct detach_on_exit {
    waitable_state& state;
    blocking_waiter& self;
    ~detach_on_exit() { state.detach(self); }
  } guard{*this, self};
  for (;;) {
    if (try_consume(&self))
      return true;
    if (is_closed())
      throw error(errc::closed, "wait on " + describe(*this) + " ended: it was closed");
    auto next = deadline();
    const time_point* until = limit;
    if (next && (!until || *next < *until))
      until = &*next;
    if (limit && clock::now() >= *limit)
      return false;
    self.sleep(until);
  }
}

void refuse_blocking_on_scheduler(const char* operation) {
  if (on_scheduler_thread())
    throw error(errc::would_block_scheduler,
                std::string{operation} +
                  " would block a scheduler thread and stall its applets; register the "
                  "waitable with add_wait in preselect instead");
}

bool on_scheduler_thread() noexcept {
  return current_worker_group() != nullptr;
}

// -- events -------------------------------------------------------------------

namespace {

class event_state final : public waitable_state {
public:
  event_state(reset_mode mode, std::string name)
    : waitable_state(mode == reset_mode::automatic ? waitable_kind::auto_event
                                                   : waitable_kind::manual_event,
                     std::move(name)),
      automatic_(mode == reset_mode::automatic) {}

  void set() {
    // Wake the waiting applet's worker after the mutex is released: woken
    // under it, the worker's first step (taking this mutex to consume the
    // event) would sleep on it a second time.
    deferred_wakes after_unlock;
    std::lock_guard guard{mutex_};
    if (signalled_)
      return; // Already set: an event is not a counter.
    signalled_ = true;
    signal_locked();
  }

  void reset() {
    std::lock_guard guard{mutex_};
    signalled_ = false;
  }

protected:
  bool ready_locked() const override { return signalled_; }
  void consume_locked() override {
    if (automatic_)
      signalled_ = false;
  }
  bool wakes_one_locked() const override { return automatic_; }

private:
  const bool automatic_;
  bool signalled_ = false;
};

// -- timers -------------------------------------------------------------------

class timer_state final : public waitable_state {
public:
  explicit timer_state(std::string name) : waitable_state(waitable_kind::timer, std::move(name)) {}

  void arm(time_point deadline, duration period) {
    std::lock_guard guard{mutex_};
    deadline_ = deadline;
    period_ = period;
    deadline_changed_locked();
  }

  void cancel() {
    std::lock_guard guard{mutex_};
    deadline_.reset();
    period_ = duration::zero();
  }

  duration period() const {
    std::lock_guard guard{mutex_};
    return period_;
  }

protected:
  bool ready_locked() const override { return deadline_ && clock::now() >= *deadline_; }

  void consume_locked() override {
    if (period_ <= duration::zero())
      return; // One-shot: stays expired (level-triggered) until set again.
    auto now = clock::now();
    // Skip ticks that were missed entirely, keeping the phase.
    auto missed = (now - *deadline_) / period_;
    *deadline_ += period_ * (missed + 1);
    deadline_changed_locked();
  }

  bool wakes_one_locked() const override { return period_ > duration::zero(); }

  std::optional<time_point> deadline_locked() const override { return deadline_; }

private:
  // Never set counts as expired, as in Open Files.
  std::optional<time_point> deadline_{time_point::min()};
  duration period_{0};
};

} // namespace

} // namespace detail

// -- waitable -----------------------------------------------------------------

detail::waitable_state& waitable::checked_state() const {
  if (!state_)
    throw error(errc::invalid_argument, "operation on an empty waitable handle");
  return *state_;
}

waitable_kind waitable::kind() const {
  return checked_state().kind();
}

const std::string& waitable::name() const {
  static const std::string none;
  return state_ ? state_->name() : none;
}

bool waitable::ready() const {
  return checked_state().ready();
}

bool waitable::try_wait() {
  return checked_state().try_consume();
}

void waitable::wait() {
  checked_state().block_until(nullptr);
}

bool waitable::wait_for(duration timeout) {
  return wait_until(clock::now() + timeout);
}

bool waitable::wait_until(time_point deadline) {
  return checked_state().block_until(&deadline);
}

void waitable::close() {
  checked_state().close();
}

bool waitable::closed() const {
  return checked_state().is_closed();
}

// -- event --------------------------------------------------------------------

event::event(reset_mode mode, std::string name)
  : waitable(std::make_shared<detail::event_state>(mode, std::move(name))), mode_(mode) {}

void event::set() {
  static_cast<detail::event_state&>(checked_state()).set();
}

void event::reset() {
  static_cast<detail::event_state&>(checked_state()).reset();
}

// -- timer --------------------------------------------------------------------

namespace {

detail::timer_state& timer_of(const waitable& handle) {
  return static_cast<detail::timer_state&>(*detail::access::state(handle));
}

} // namespace

timer::timer(std::string name)
  : waitable(std::make_shared<detail::timer_state>(std::move(name))) {}

void timer::set(duration delay) {
  set_at(clock::now() + std::max(delay, duration::zero()));
}

void timer::set_at(time_point deadline) {
  timer_of(*this).arm(deadline, duration::zero());
}

void timer::set_periodic(duration period) {
  set_periodic(period, clock::now() + period);
}

void timer::set_periodic(duration period, time_point first) {
  if (period <= duration::zero())
    throw error(errc::invalid_argument,
                "timer '" + name() + "': a periodic timer needs a positive period");
  timer_of(*this).arm(first, period);
}

void timer::cancel() {
  timer_of(*this).cancel();
}

std::optional<time_point> timer::deadline() const {
  return checked_state().deadline();
}

duration timer::remaining() const {
  auto next = deadline();
  if (!next)
    return duration::max();
  auto now = clock::now();
  return *next <= now ? duration::zero() : *next - now;
}

duration timer::period() const {
  return timer_of(*this).period();
}

} // namespace actorloop::runtime
