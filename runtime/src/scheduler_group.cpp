#include "scheduler_group.hpp"

#include "engine_config.hpp"
#include "thread_context.hpp"

#include <actorloop/runtime/detail/grouped_actor.hpp>

#include <caf/actor_system_config.hpp>
#include <caf/detail/set_thread_name.hpp>
#include <caf/intrusive_ptr.hpp>

#include <cerrno>
#include <linux/futex.h>
#include <algorithm>
#include <cstring>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace actorloop::runtime::detail {

// -- per-thread context -------------------------------------------------------

namespace {

/// Below this distance to the next timer, an idle worker spins instead of
/// parking (see worker::run).
constexpr duration timer_spin_threshold = std::chrono::microseconds(50);

/// A busy I/O scheduler checks its sockets after this many jobs.
constexpr unsigned jobs_between_polls = 16;

thread_local scheduler_group* this_thread_group = nullptr;
thread_local caf::execution_unit* this_thread_unit = nullptr;

std::int64_t now_nanoseconds() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch())
    .count();
}

/// Sleeps while `word` still holds `seen`, until woken or `deadline`
/// (monotonic clock). Returns on any wake; the caller re-checks.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t seen,
                const time_point* deadline) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  timespec absolute{};
  if (deadline) {
    auto since_epoch = deadline->time_since_epoch();
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    absolute.tv_sec = static_cast<time_t>(seconds.count());
    absolute.tv_nsec = static_cast<long>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - seconds).count());
  }
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, the clock
  // steady_clock uses on Linux.
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word),
          FUTEX_WAIT_BITSET_PRIVATE, seen, deadline ? &absolute : nullptr, nullptr,
          FUTEX_BITSET_MATCH_ANY);
}

void futex_wake(std::atomic<std::uint32_t>& word) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr,
          nullptr, 0);
}

std::error_code system_error_code(int value) {
  if (value == EPERM || value == EACCES)
    return errc::permission_denied;
  if (value == EINVAL)
    return errc::invalid_argument;
  return errc::system_failure;
}

/// Drops the worker's reference to a job.
void release(caf::resumable* job) noexcept {
#if defined(ACTORLOOP_THREAD_SANITIZER)
  // Another thread may drop the last reference right after ours. TSan cannot
  // see that hand-off (an atomic inside libcaf_core), so state it, and avoid
  // the virtual call (a vptr read) after it.
  if (auto* actor = dynamic_cast<grouped_actor*>(job)) {
    auto* control = actor->ctrl();
    happens_before(control);
    caf::intrusive_ptr_release(control);
    return;
  }
#endif
  intrusive_ptr_release(job);
}

} // namespace

scheduler_group* current_worker_group() noexcept {
  return this_thread_group;
}

caf::execution_unit* current_execution_unit() noexcept {
  return this_thread_unit;
}

void set_current_worker(scheduler_group* group, caf::execution_unit* unit) noexcept {
  this_thread_group = group;
  this_thread_unit = unit;
}

// -- worker -------------------------------------------------------------------

worker::worker(scheduler_group& group, std::size_t index)
  : caf::execution_unit(&group.owner().system()), group_(group), index_(index) {}

worker::~worker() {
  if (thread_.joinable())
    thread_.join();
}

void worker::exec_later(caf::resumable* job) {
  group_.owner().route(job, this);
}

void worker::start(std::promise<std::error_code>& ready, std::string& failure_text) {
  thread_ = std::thread{[this, &ready, &failure_text] { run(ready, failure_text); }};
  thread_id_ = thread_.get_id();
}

void worker::join() {
  if (thread_.joinable())
    thread_.join();
}

std::int64_t worker::idle_nanoseconds(std::int64_t now) const noexcept {
  auto idle = idle_nanoseconds_.load(std::memory_order_relaxed);
  auto since = idle_since_.load(std::memory_order_relaxed);
  return since != 0 && now > since ? idle + (now - since) : idle;
}

std::error_code worker::configure_thread(std::string& failure_text) {
  auto& options = group_.options();
  auto where = "scheduler '" + options.name + "' worker " + std::to_string(index_) + ": ";
  // Timer slack (50 us by default) would delay every timed park; our timers
  // promise better than that.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  caf::detail::set_thread_name(("al." + options.name).substr(0, 15).c_str());
  if (!options.cpus.empty()) {
    cpu_set_t mask;
    CPU_ZERO(&mask);
    for (auto cpu : options.cpus.cpus())
      CPU_SET(cpu, &mask);
    if (auto failed = pthread_setaffinity_np(pthread_self(), sizeof(mask), &mask); failed != 0) {
      failure_text = where + "pinning to CPUs " + options.cpus.to_string() +
                     " failed: " + std::strerror(failed);
      return failed == EINVAL ? std::error_code{errc::invalid_cpu_set} : system_error_code(failed);
    }
  }
  if (options.priority) {
    using policy = thread_priority::policy;
    auto& priority = *options.priority;
    sched_param parameters{};
    int native_policy = SCHED_OTHER;
    switch (priority.kind) {
      case policy::normal: native_policy = SCHED_OTHER; break;
      case policy::batch: native_policy = SCHED_BATCH; break;
      case policy::idle: native_policy = SCHED_IDLE; break;
      case policy::fifo: native_policy = SCHED_FIFO; break;
      case policy::round_robin: native_policy = SCHED_RR; break;
    }
    if (native_policy == SCHED_FIFO || native_policy == SCHED_RR)
      parameters.sched_priority = priority.value;
    if (auto failed = pthread_setschedparam(pthread_self(), native_policy, &parameters);
        failed != 0) {
      failure_text = where + "setting thread priority " + priority.to_string() +
                     " failed: " + std::strerror(failed) +
                     (failed == EPERM ? " (needs CAP_SYS_NICE or RLIMIT_RTPRIO)" : "");
      return system_error_code(failed);
    }
    if (native_policy == SCHED_OTHER || native_policy == SCHED_BATCH) {
      auto thread_id = static_cast<id_t>(syscall(SYS_gettid));
      if (setpriority(PRIO_PROCESS, thread_id, priority.value) != 0) {
        auto failed = errno;
        failure_text = where + "setting thread priority " + priority.to_string() +
                       " failed: " + std::strerror(failed) +
                       (failed == EACCES || failed == EPERM
                          ? " (a nice value below the current one needs CAP_SYS_NICE)"
                          : "");
        return system_error_code(failed);
      }
    }
  }
  return {};
}

void worker::run(std::promise<std::error_code>& ready, std::string& failure_text) {
  native_id_ = static_cast<int>(syscall(SYS_gettid));
  if (auto failed = configure_thread(failure_text)) {
    ready.set_value(failed);
    return;
  }
  ready.set_value({});
  auto& system = group_.owner().system();
  system.thread_started();
  set_current_worker(&group_, this);
  auto& group = group_;
  const auto throughput = group.options().throughput;
  const auto spin = group.options().spin;
  caf::resumable* job = nullptr;
  for (;;) {
    {
      std::unique_lock guard{group.mutex_};
      bool spun = false;
      for (;;) {
        if (!group.timers_.empty()) {
          auto now = clock::now();
          while (!group.timers_.empty() && group.timers_.top().deadline <= now &&
                 due_.size() < 4096) {
            due_.push_back(std::move(const_cast<scheduler_group::timer_entry&>(group.timers_.top()).target));
            group.timers_.pop();
          }
        }
        if (!due_.empty())
          break;
        if (!group.queue_.empty()) {
          job = group.queue_.front();
          group.queue_.pop_front();
          group.queued_.store(group.queue_.size(), std::memory_order_relaxed);
          break;
        }
        if (group.stop_requested_) {
          guard.unlock();
          set_current_worker(nullptr, nullptr);
          system.thread_terminates();
          return;
        }
        auto idle_start = now_nanoseconds();
        idle_since_.store(idle_start, std::memory_order_relaxed);
        auto next_timer = group.timers_.empty() ? time_point::max() : group.timers_.top().deadline;
        // A timer due within a few microseconds is cheaper to wait for by
        // spinning than by a timed futex sleep (a syscall pair and an hrtimer
        // each time); with dense timers the parking itself was the bottleneck.
        bool timer_imminent = next_timer != time_point::max() &&
                              next_timer - clock::now() < timer_spin_threshold &&
                              group.timer_keeper_ == nullptr;
        if ((spin > duration::zero() && !spun) || timer_imminent) {
          // Spin briefly before parking: a wake from another CPU then costs
          // a cache-line transfer instead of a futex round trip.
          spun = !timer_imminent;
          if (timer_imminent)
            group.timer_keeper_ = this;
          guard.unlock();
          auto spin_end = timer_imminent ? next_timer : clock::now() + spin;
          for (;;) {
            if (group.queued_.load(std::memory_order_relaxed) != 0)
              break;
            auto now = clock::now();
            if (now >= spin_end || now >= next_timer)
              break;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
          }
          guard.lock();
          if (group.timer_keeper_ == this)
            group.timer_keeper_ = nullptr;
        } else {
          // Park on our futex word. A waker takes us off `parked_` under the
          // mutex and bumps the word after unlocking, so reading the word
          // before unlocking closes the lost-wake window.
          parked_ = true;
          group.parked_.push_back(this);
          auto seen = wake_word_.load(std::memory_order_acquire);
          bool timed = !group.timers_.empty() && group.timer_keeper_ == nullptr;
          auto deadline = timed ? group.timers_.top().deadline : time_point::max();
          if (timed)
            group.timer_keeper_ = this;
          guard.unlock();
          if (group.poller_)
            group.poller_->wait(timed ? &deadline : nullptr);
          else
            futex_wait(wake_word_, seen, timed ? &deadline : nullptr);
          guard.lock();
          if (group.timer_keeper_ == this)
            group.timer_keeper_ = nullptr;
          if (parked_) {
            parked_ = false;
            std::erase(group.parked_, this);
          }
          spun = false;
        }
        idle_since_.store(0, std::memory_order_relaxed);
        idle_nanoseconds_.fetch_add(now_nanoseconds() - idle_start, std::memory_order_relaxed);
      }
    }
    if (!due_.empty()) {
      for (auto& entry : due_)
        if (auto target = entry.lock())
          target->on_deadline_reached();
      due_.clear();
      if (job == nullptr)
        continue;
    }
    group.turns_.fetch_add(1, std::memory_order_relaxed);
    // With a steady stream of jobs the worker never parks; look at the
    // sockets every few jobs anyway, so I/O keeps flowing.
    if (group.poller_ && ++jobs_since_poll_ >= jobs_between_polls) {
      jobs_since_poll_ = 0;
      group.poller_->poll_ready();
    }
    switch (job->resume(this, throughput)) {
      case caf::resumable::resume_later:
        // The actor keeps its reference while it waits for its next turn.
        group.owner().route(job, this);
        break;
      case caf::resumable::done:
      case caf::resumable::awaiting_message:
        release(job);
        break;
      case caf::resumable::shutdown_execution_unit:
        break;
    }
    job = nullptr;
  }
}

// -- scheduler_group ----------------------------------------------------------

scheduler_group::scheduler_group(coordinator& owner, scheduler_options options,
                                 std::shared_ptr<idle_poller> poller)
  : poller_(std::move(poller)), owner_(owner), options_(std::move(options)),
    started_(clock::now()) {
  validate(options_);
  if (poller_ && options_.threads != 1)
    throw error(errc::invalid_argument, "scheduler '" + options_.name +
                                          "': an I/O scheduler has exactly one thread, not " +
                                          std::to_string(options_.threads));
}

scheduler_group::~scheduler_group() {
  stop_workers();
}

void scheduler_group::start() {
  std::vector<std::promise<std::error_code>> ready(options_.threads);
  std::vector<std::string> failure_texts(options_.threads);
  for (std::size_t index = 0; index < options_.threads; ++index)
    workers_.push_back(std::make_unique<worker>(*this, index));
  for (std::size_t index = 0; index < options_.threads; ++index)
    workers_[index]->start(ready[index], failure_texts[index]);
  std::error_code failure;
  std::string failure_text;
  for (std::size_t index = 0; index < options_.threads; ++index) {
    auto result = ready[index].get_future().get();
    if (result && !failure) {
      failure = result;
      failure_text = failure_texts[index];
    }
  }
  if (failure) {
    stop_workers();
    throw error(failure, failure_text);
  }
}

bool scheduler_group::push(caf::resumable* job, bool from_own_worker) {
  worker* sleeper = nullptr;
  {
    std::lock_guard guard{mutex_};
    if (stop_requested_ && workers_stopped_)
      return false;
    queue_.push_back(job);
    queued_.store(queue_.size(), std::memory_order_release);
    // The only worker of a group that enqueues for itself is awake already.
    if (!(from_own_worker && workers_.size() == 1))
      sleeper = unpark_one_locked();
  }
  // Wake after unlocking, so the woken worker does not block on our mutex.
  wake(sleeper);
  return true;
}

worker* scheduler_group::unpark_one_locked() noexcept {
  if (parked_.empty())
    return nullptr;
  auto* sleeper = parked_.back();
  parked_.pop_back();
  sleeper->parked_ = false;
  return sleeper;
}

worker* scheduler_group::unpark_for_timers_locked() noexcept {
  if (timer_keeper_ == nullptr)
    return unpark_one_locked();
  auto* keeper = timer_keeper_;
  if (!keeper->parked_)
    return nullptr; // Awake already; it re-reads the heap before parking.
  std::erase(parked_, keeper);
  keeper->parked_ = false;
  return keeper;
}

void scheduler_group::wake(worker* sleeper) noexcept {
  if (!sleeper)
    return;
  if (sleeper->group_.poller_) {
    sleeper->group_.poller_->wake();
    return;
  }
  sleeper->wake_word_.fetch_add(1, std::memory_order_release);
  futex_wake(sleeper->wake_word_);
}

void scheduler_group::add_deadline(time_point deadline, std::weak_ptr<deadline_target> target) {
  worker* sleeper = nullptr;
  {
    std::lock_guard guard{mutex_};
    bool earliest = timers_.empty() || deadline < timers_.top().deadline;
    timers_.push(timer_entry{deadline, std::move(target)});
    // The timer keeper sleeps until the old earliest deadline: make it re-arm.
    if (earliest)
      sleeper = unpark_for_timers_locked();
  }
  wake(sleeper);
}

std::error_code scheduler_group::attach(group_member& member) {
  std::lock_guard guard{members_mutex_};
  if (stopping_)
    return errc::scheduler_stopped;
  member.previous_member_ = nullptr;
  member.next_member_ = members_;
  if (members_)
    members_->previous_member_ = &member;
  members_ = &member;
  member.attached_ = true;
  ++member_count_;
  return {};
}

void scheduler_group::detach(group_member& member) noexcept {
  std::lock_guard guard{members_mutex_};
  if (!member.attached_)
    return;
  if (member.previous_member_)
    member.previous_member_->next_member_ = member.next_member_;
  else
    members_ = member.next_member_;
  if (member.next_member_)
    member.next_member_->previous_member_ = member.previous_member_;
  member.previous_member_ = member.next_member_ = nullptr;
  member.attached_ = false;
  if (--member_count_ == 0)
    members_gone_.notify_all();
}

std::size_t scheduler_group::member_count() const {
  std::lock_guard guard{members_mutex_};
  return member_count_;
}

void scheduler_group::wake_members() {
  std::lock_guard guard{members_mutex_};
  for (auto* member = members_; member; member = member->next_member_)
    member->request_preselect();
}

void scheduler_group::shutdown_members() {
  std::unique_lock guard{members_mutex_};
  stopping_ = true;
  for (auto* member = members_; member; member = member->next_member_)
    member->request_shutdown();
  members_gone_.wait(guard, [&] { return member_count_ == 0; });
}

void scheduler_group::stop() {
  for (auto& each : workers_)
    if (each->thread_id() == std::this_thread::get_id())
      throw error(errc::wrong_thread,
                  "scheduler '" + options_.name + "': stop called from one of its own workers");
  shutdown_members();
  stop_workers();
}

void scheduler_group::stop_workers() {
  {
    std::lock_guard guard{mutex_};
    if (workers_stopped_)
      return;
    stop_requested_ = true;
    while (auto* sleeper = unpark_one_locked())
      wake(sleeper);
  }
  for (auto& each : workers_)
    each->join();
  std::deque<caf::resumable*> leftovers;
  {
    std::lock_guard guard{mutex_};
    workers_stopped_ = true;
    leftovers.swap(queue_);
    queued_.store(0);
    while (!timers_.empty())
      timers_.pop();
  }
  // Jobs of actors that died meanwhile; hand them to the default group or drop them.
  for (auto* job : leftovers)
    owner_.route(job, nullptr);
}

bool scheduler_group::stopped() const {
  std::lock_guard guard{mutex_};
  return workers_stopped_;
}

scheduler_stats scheduler_group::stats() const {
  scheduler_stats result;
  result.name = options_.name;
  result.threads = options_.threads;
  result.events_dispatched = events_dispatched_.load(std::memory_order_relaxed);
  result.turns = turns_.load(std::memory_order_relaxed);
  auto now = clock::now();
  result.uptime = now - started_;
  {
    std::lock_guard guard{mutex_};
    result.queue_depth = queue_.size();
    result.timers_pending = timers_.size();
  }
  auto now_ns = now_nanoseconds();
  std::int64_t idle = 0;
  for (auto& each : workers_)
    idle += each->idle_nanoseconds(now_ns);
  auto total = std::chrono::duration_cast<std::chrono::nanoseconds>(result.uptime).count() *
               static_cast<std::int64_t>(options_.threads);
  result.busy_time = std::chrono::nanoseconds(std::max<std::int64_t>(0, total - idle));
  result.applets = member_count();
  return result;
}

std::vector<std::thread::id> scheduler_group::thread_ids() const {
  std::vector<std::thread::id> result;
  for (auto& each : workers_)
    result.push_back(each->thread_id());
  return result;
}

std::vector<int> scheduler_group::native_thread_ids() const {
  std::vector<int> result;
  for (auto& each : workers_)
    result.push_back(each->native_id());
  return result;
}

// -- engine_clock -------------------------------------------------------------

void engine_clock::remember(caf::abstract_actor* self) {
  std::lock_guard guard{mutex_};
  with_timeouts_.insert(self);
}

void engine_clock::set_ordinary_timeout(time_point t, caf::abstract_actor* self,
                                        caf::atom_value type, uint64_t id) {
  remember(self);
  thread_safe_actor_clock::set_ordinary_timeout(t, self, type, id);
}

void engine_clock::set_request_timeout(time_point t, caf::abstract_actor* self,
                                       caf::message_id id) {
  remember(self);
  thread_safe_actor_clock::set_request_timeout(t, self, id);
}

void engine_clock::set_multi_timeout(time_point t, caf::abstract_actor* self,
                                     caf::atom_value type, uint64_t id) {
  remember(self);
  thread_safe_actor_clock::set_multi_timeout(t, self, type, id);
}

void engine_clock::cancel_timeouts(caf::abstract_actor* self) {
  {
    std::lock_guard guard{mutex_};
    if (with_timeouts_.erase(self) == 0)
      return; // Never set one: nothing for the clock thread to do.
  }
  thread_safe_actor_clock::cancel_timeouts(self);
}

// -- coordinator --------------------------------------------------------------

coordinator::coordinator(caf::actor_system& system) : abstract_coordinator(system) {}

coordinator::~coordinator() = default;

caf::actor_system::module* coordinator::make(caf::actor_system& system, caf::detail::type_list<>) {
  return new coordinator(system);
}

void coordinator::start() {
  // CAF's own default (at least 4 workers) oversubscribes small machines;
  // one worker per CPU unless configured.
  std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
  if (auto* config = dynamic_cast<const engine_config*>(&system().config());
      config && config->default_threads > 0)
    threads = config->default_threads;
  scheduler_options options;
  options.name = "default";
  options.threads = std::max<std::size_t>(threads, 1);
  options.throughput = std::max<std::size_t>(max_throughput(), 1);
  default_group_ = std::make_shared<scheduler_group>(*this, options);
  default_group_->start();
  clock_thread_ = std::thread{[this] {
    caf::detail::set_thread_name("caf.clock");
    system().thread_started();
    clock_.run_dispatch_loop();
    system().thread_terminates();
  }};
  abstract_coordinator::start();
}

void coordinator::stop() {
  stop_actors();
  default_group_->stop_workers();
  clock_.cancel_dispatch_loop();
  if (clock_thread_.joinable())
    clock_thread_.join();
}

void coordinator::enqueue(caf::resumable* job) {
  route(job, nullptr);
}

void coordinator::retire(std::shared_ptr<scheduler_group> group) {
  std::lock_guard guard{retired_mutex_};
  retired_.push_back(std::move(group));
}

void coordinator::route(caf::resumable* job, worker* from) {
  scheduler_group* target = default_group_.get();
  if (auto* grouped = dynamic_cast<grouped_actor*>(job))
    target = &grouped->group();
  if (target->push(job, from != nullptr && &from->group() == target))
    return;
  // The target group has stopped: its actors are dead, so the job only needs
  // to be released; the default group does that, or we do it here at the end.
  if (target != default_group_.get() && default_group_->push(job, false))
    return;
  abstract_coordinator::cleanup_and_release(job);
}

} // namespace actorloop::runtime::detail
