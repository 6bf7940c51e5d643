#include "worker.hpp"

#include "coordinator.hpp"
#include "futex.hpp"
#include "scheduler_group.hpp"
#include "thread_context.hpp"

#include <actorloop/runtime/detail/grouped_actor.hpp>

#include <caf/actor_system.hpp>
#include <caf/detail/set_thread_name.hpp>
#include <caf/intrusive_ptr.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace actorloop::runtime::detail {

namespace {

/// Below this distance to the next timer, an idle worker spins instead of
/// parking (see worker::run).
constexpr duration timer_spin_threshold = std::chrono::microseconds(50);
/// A worker that parks while the timer keeper is awake (spinning, or busy
/// with the job its firing made ready) wakes this long after the nearest
/// deadline at the latest, in case the keeper is held up (see
/// scheduler_group::timer_keeper_).
constexpr duration timer_backup_grace = std::chrono::microseconds(100);

/// A busy I/O scheduler checks its sockets after this many jobs.
constexpr unsigned jobs_between_polls = 16;
// With more jobs queued, file operations started by a job wait for up to this
// many jobs (or for the queue to drain, or the park) to be submitted
// together: an applet handling one completion per job would otherwise make
// one io_uring_enter per operation.
constexpr unsigned jobs_between_file_submits = 16;
/// A worker takes jobs from its own queue first, but after this many in a
/// row it takes one from the shared queue if that has any, so a stream of
/// spawns cannot hold up applets woken by messages.
constexpr unsigned own_queue_burst = 8;

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
  if (auto* actor = grouped_actor::from(job)) {
    auto* control = actor->ctrl();
    happens_before(control);
    caf::intrusive_ptr_release(control);
    return;
  }
#endif
  intrusive_ptr_release(job);
}

} // namespace

caf::execution_unit* spawn_placement(scheduler_group& group) noexcept {
  // A one-worker group keeps its single FIFO (the Open Files run-loop order).
  if (current_worker_group() != &group || group.options().threads < 2)
    return nullptr;
  // Every thread whose group is set is that group's worker (worker::run).
  return &static_cast<worker*>(current_execution_unit())->placement();
}

worker::worker(scheduler_group& group, std::size_t index)
  : caf::execution_unit(&group.owner().system()), group_(group), index_(index),
    placement_(*this) {}

worker::local_placement::local_placement(worker& owner)
  : caf::execution_unit(&owner.group_.owner().system()), owner_(owner) {}

void worker::local_placement::exec_later(caf::resumable* job) {
  // Only the owner's thread launches through this unit (spawn_placement
  // hands it out there); anything else takes the ordinary route.
  if (current_execution_unit() == &owner_)
    owner_.group_.push_local(job, owner_);
  else
    owner_.group_.owner().route(job, nullptr);
}

void worker::push_local(caf::resumable* job) {
  std::lock_guard guard{local_mutex_};
  local_.push_back(job);
  local_size_.store(local_.size(), std::memory_order_seq_cst);
}

caf::resumable* worker::pop_local() {
  if (local_size_.load(std::memory_order_relaxed) == 0)
    return nullptr; // only this thread adds, so an empty view is the truth
  std::lock_guard guard{local_mutex_};
  if (local_.empty())
    return nullptr;
  auto* job = local_.front();
  local_.pop_front();
  local_size_.store(local_.size(), std::memory_order_relaxed);
  return job;
}

caf::resumable* worker::steal_into(worker& thief) {
  // Never two own-queue locks at once (two workers may steal from each
  // other): take the older half out, then add it to the thief's queue.
  std::vector<caf::resumable*>& taken = thief.stolen_;
  taken.clear();
  {
    std::lock_guard guard{local_mutex_};
    if (local_.empty())
      return nullptr;
    auto count = (local_.size() + 1) / 2;
    auto end = local_.begin() + static_cast<std::ptrdiff_t>(count);
    taken.assign(local_.begin(), end);
    local_.erase(local_.begin(), end);
    local_size_.store(local_.size(), std::memory_order_relaxed);
  }
  if (taken.size() > 1) {
    std::lock_guard guard{thief.local_mutex_};
    thief.local_.insert(thief.local_.end(), taken.begin() + 1, taken.end());
    thief.local_size_.store(thief.local_.size(), std::memory_order_seq_cst);
  }
  return taken.front();
}

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
  // This worker fired due timers and has not taken a job or gone idle since:
  // as the keeper it keeps the timer role while it runs that first job.
  bool just_fired = false;
  for (;;) {
    // Fast path: this worker's own queue (applets spawned here) without the
    // group mutex, unless a timer is due or the shared queue has waited for
    // `own_queue_burst` own jobs in a row.
    if (local_size_.load(std::memory_order_relaxed) != 0 && !group.timer_due() &&
        (local_streak_ < own_queue_burst || group.queued_.load(std::memory_order_relaxed) == 0)) {
      job = pop_local();
      if (job != nullptr) {
        ++local_streak_;
        just_fired = false; // a keeper keeps the role here (no lock); its backups cover it
      }
    }
    if (job == nullptr) {
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
          group.note_timers_locked();
        }
        if (!due_.empty())
          break;
        // Own queue first (see above), then the shared queue, then the own
        // queue after a burst, then a sibling's own queue.
        if (local_streak_ < own_queue_burst || group.queue_.empty()) {
          if ((job = pop_local()) != nullptr) {
            ++local_streak_;
            break;
          }
        }
        if (!group.queue_.empty()) {
          job = group.queue_.front();
          group.queue_.pop_front();
          group.queued_.store(group.queue_.size(), std::memory_order_relaxed);
          local_streak_ = 0;
          break;
        }
        if ((job = pop_local()) != nullptr || (job = group.steal_for(*this)) != nullptr) {
          local_streak_ = 0;
          break;
        }
        // Idle from here on. A keeper busy with a job (not spinning, not
        // parked) hands the timers to this worker.
        just_fired = false;
        if (auto* keeper = group.timer_keeper_; keeper != nullptr && keeper != this &&
                                                !keeper->parked_ && !group.keeper_spinning_)
          group.timer_keeper_ = nullptr;
        if (group.stop_requested_) {
          if (searching_.exchange(false, std::memory_order_seq_cst))
            group.searching_.fetch_sub(1, std::memory_order_seq_cst);
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
                              (group.timer_keeper_ == nullptr || group.timer_keeper_ == this);
        if ((spin > duration::zero() && !spun) || timer_imminent) {
          // Spin briefly before parking: a wake from another CPU then costs
          // a cache-line transfer instead of a futex round trip.
          spun = !timer_imminent;
          if (timer_imminent) {
            group.timer_keeper_ = this;
            group.keeper_spinning_ = true;
          }
          guard.unlock();
          auto spin_end = timer_imminent ? next_timer : clock::now() + spin;
          for (;;) {
            if (group.queued_.load(std::memory_order_relaxed) != 0 ||
                group.siblings_have_local_work(*this))
              break;
            auto now = clock::now();
            if (now >= spin_end || now >= next_timer)
              break;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
          }
          guard.lock();
          // The keeper keeps the role: it fires what is due now and comes back.
          if (group.timer_keeper_ == this)
            group.keeper_spinning_ = false;
        } else {
          // Parking ends a search for work: a push to a sibling's own queue
          // may wake a parked worker again only once nobody searches.
          if (searching_.exchange(false, std::memory_order_seq_cst))
            group.searching_.fetch_sub(1, std::memory_order_seq_cst);
          // Publish ourselves as idle, then look at the siblings' own queues
          // once more: a sibling pushes to its queue, then reads the idle
          // count (both seq_cst), so either it sees us parked and wakes us,
          // or we see its job here. (Own-queue jobs are never lost either
          // way, their owner runs them; this keeps idle workers helping.)
          parked_ = true;
          group.parked_.push_back(this);
          group.note_parked_locked();
          if (group.siblings_have_local_work(*this)) {
            parked_ = false;
            std::erase(group.parked_, this);
            group.note_parked_locked();
          } else {
            // Park on our futex word. A waker takes us off `parked_` under
            // the mutex and bumps the word after unlocking, so reading the
            // word before unlocking closes the lost-wake window.
            // With file operations in flight, one parked worker waits in the
            // io_uring ring instead (see file_ring.hpp).
            auto* ring = group.files_.get();
            std::uint64_t ring_seen = 0;
            bool in_ring = ring && ring->before_park(ring_seen);
            parked_in_ring_.store(in_ring, std::memory_order_release);
            auto seen = wake_word_.load(std::memory_order_acquire);
            if (group.timer_keeper_ == this && group.timers_.empty())
              group.timer_keeper_ = nullptr;
            auto* keeper = group.timer_keeper_;
            bool timed = !group.timers_.empty() && (keeper == nullptr || keeper == this);
            // The keeper is awake: park as its backup (see timer_keeper_).
            bool backup = !timed && !group.timers_.empty() && !keeper->parked_;
            auto deadline = timed    ? group.timers_.top().deadline
                            : backup ? group.timers_.top().deadline + timer_backup_grace
                                     : time_point::max();
            if (timed)
              group.timer_keeper_ = this;
            timed = timed || backup;
            guard.unlock();
            if (group.poller_)
              group.poller_->wait(timed ? &deadline : nullptr);
            else if (in_ring)
              ring->keep(timed ? &deadline : nullptr, ring_seen, parked_in_ring_);
            else
              futex_wait(wake_word_, seen, timed ? &deadline : nullptr);
            guard.lock();
            if (group.timer_keeper_ == this)
              group.timer_keeper_ = nullptr;
            if (parked_) {
              parked_ = false;
              std::erase(group.parked_, this);
              group.note_parked_locked();
            }
            // Leaving the ring with operations in flight: hand it to a sibling.
            if (in_ring && ring->in_flight() != 0) {
              if (auto* successor = group.unpark_one_locked()) {
                guard.unlock();
                scheduler_group::wake(successor);
                guard.lock();
              }
            }
          }
          spun = false;
        }
        idle_since_.store(0, std::memory_order_relaxed);
        idle_nanoseconds_.fetch_add(now_nanoseconds() - idle_start, std::memory_order_relaxed);
      }
      // A keeper keeps the timers only for the first job after its own
      // firing (most likely the applet that firing woke); taking any other
      // job it lets them go, so an idle worker watches the deadline.
      if (job != nullptr) {
        if (group.timer_keeper_ == this && !just_fired)
          group.timer_keeper_ = nullptr;
        just_fired = false;
      }
    }
    // Found work after a wake to steal: stop counting as a searcher.
    if (searching_.load(std::memory_order_relaxed))
      group.stop_searching(*this, true);
    if (!due_.empty()) {
      // The first applet these timers wake is queued without waking a
      // sibling: this worker takes it next (a futex wake and a sibling's
      // wake-up per firing cost more than the job). A second one wakes a
      // sibling to help (scheduler_group::push).
      quiet_pushes_.store(true, std::memory_order_relaxed);
      for (auto& entry : due_)
        if (auto target = entry.lock())
          target->on_deadline_reached();
      quiet_pushes_.store(false, std::memory_order_relaxed);
      due_.clear();
      just_fired = true;
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
    // Submit the file operations started so far (batched over jobs while
    // more are queued); reap finished ones.
    if (auto* ring = group.files_.get()) {
      bool more_jobs = group.queued_.load(std::memory_order_relaxed) != 0 ||
                       local_size_.load(std::memory_order_relaxed) != 0;
      bool submit = !more_jobs || ++jobs_since_file_submit_ >= jobs_between_file_submits;
      if (submit)
        jobs_since_file_submit_ = 0;
      ring->after_job(submit);
    }
  }
}

} // namespace actorloop::runtime::detail
