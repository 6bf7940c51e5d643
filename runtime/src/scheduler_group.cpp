#include "scheduler_group.hpp"

#include "coordinator.hpp"
#include "futex.hpp"
#include "thread_context.hpp"

#include <algorithm>

namespace actorloop::runtime::detail {

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

bool scheduler_group::push(caf::resumable* job, bool from_own_worker, bool quiet) {
  worker* sleeper = nullptr;
  {
    std::lock_guard guard{mutex_};
    if (stop_requested_ && workers_stopped_)
      return false;
    queue_.push_back(job);
    queued_.store(queue_.size(), std::memory_order_release);
    // The only worker of a group that enqueues for itself is awake already;
    // so is a worker firing timers, which takes the first job queued next
    // (the second one wakes a sibling to help).
    if (!(from_own_worker && (workers_.size() == 1 || (quiet && queue_.size() == 1))))
      sleeper = unpark_one_locked();
  }
  // Wake after unlocking, so the woken worker does not block on our mutex.
  wake(sleeper);
  return true;
}

void scheduler_group::push_local(caf::resumable* job, worker& self) {
  self.push_local(job); // seq_cst store of its size, before the loads below
  // Someone idle and nobody looking yet: wake one to steal. While it (or
  // any) searches, further spawns wake nobody; it steals half the queue.
  if (idle_workers_.load(std::memory_order_seq_cst) == 0 ||
      searching_.load(std::memory_order_seq_cst) != 0)
    return;
  wake_searcher();
}

bool scheduler_group::siblings_have_local_work(const worker& self) const noexcept {
  for (auto& each : workers_)
    if (each.get() != &self && each->local_size_.load(std::memory_order_seq_cst) != 0)
      return true;
  return false;
}

caf::resumable* scheduler_group::steal_for(worker& thief) {
  auto count = workers_.size();
  for (std::size_t step = 1; step < count; ++step) {
    auto& victim = *workers_[(thief.index_ + step) % count];
    if (victim.local_size_.load(std::memory_order_relaxed) == 0)
      continue;
    if (auto* job = victim.steal_into(thief))
      return job;
  }
  return nullptr;
}

void scheduler_group::stop_searching(worker& self, bool found_work) {
  if (!self.searching_.exchange(false, std::memory_order_seq_cst))
    return;
  auto left = searching_.fetch_sub(1, std::memory_order_seq_cst) - 1;
  // The last searcher got busy while own-queue work still waits elsewhere:
  // hand the search on, so a long callback on a spawning worker does not
  // leave its queue to itself while others sleep.
  if (!found_work || left != 0 || idle_workers_.load(std::memory_order_seq_cst) == 0 ||
      !siblings_have_local_work(self))
    return;
  wake_searcher();
}

void scheduler_group::wake_searcher() {
  worker* sleeper = nullptr;
  {
    std::lock_guard guard{mutex_};
    // Re-checked under the mutex: another thread may have woken one since.
    if (searching_.load(std::memory_order_relaxed) == 0 && (sleeper = unpark_one_locked())) {
      sleeper->searching_.store(true, std::memory_order_relaxed);
      searching_.fetch_add(1, std::memory_order_seq_cst);
    }
  }
  wake(sleeper);
}

worker* scheduler_group::unpark_one_locked() noexcept {
  if (parked_.empty())
    return nullptr;
  auto* sleeper = parked_.back();
  parked_.pop_back();
  note_parked_locked();
  sleeper->parked_ = false;
  return sleeper;
}

worker* scheduler_group::unpark_for_timers_locked() noexcept {
  if (timer_keeper_ == nullptr)
    return unpark_one_locked();
  auto* keeper = timer_keeper_;
  if (!keeper->parked_) {
    // Spinning: it re-reads the heap when its spin ends (within the spin
    // threshold). Busy with a job: wake another worker, which takes the
    // role over for the new deadline.
    return keeper_spinning_ ? nullptr : unpark_one_locked();
  }
  std::erase(parked_, keeper);
  note_parked_locked();
  keeper->parked_ = false;
  return keeper;
}

void scheduler_group::wake(worker* sleeper) noexcept {
  if (!sleeper || hold_wake(sleeper))
    return;
  wake_now(sleeper);
}

void scheduler_group::wake_now(worker* sleeper) noexcept {
  if (sleeper->parked_in_ring_.load(std::memory_order_acquire)) {
    sleeper->group_.files_.get()->wake_keeper();
    return;
  }
  if (sleeper->group_.poller_) {
    sleeper->group_.poller_->wake();
    return;
  }
  sleeper->wake_word_.fetch_add(1, std::memory_order_release);
  futex_wake(sleeper->wake_word_);
}

void scheduler_group::wake_for_files() noexcept {
  worker* sleeper = nullptr;
  {
    std::lock_guard guard{mutex_};
    sleeper = unpark_one_locked();
  }
  wake(sleeper);
}

void scheduler_group::add_deadline(time_point deadline, std::weak_ptr<deadline_target> target) {
  worker* sleeper = nullptr;
  {
    std::lock_guard guard{mutex_};
    bool earliest = timers_.empty() || deadline < timers_.top().deadline;
    timers_.push(timer_entry{deadline, std::move(target)});
    note_timers_locked();
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
  files_.shutdown(); // no worker reaps any more: drain the ring
  std::deque<caf::resumable*> leftovers;
  {
    std::lock_guard guard{mutex_};
    workers_stopped_ = true;
    leftovers.swap(queue_);
    queued_.store(0);
    while (!timers_.empty())
      timers_.pop();
    note_timers_locked();
    // Workers drain their own queues before they exit; this is a safety net.
    for (auto& each : workers_) {
      std::lock_guard local_guard{each->local_mutex_};
      leftovers.insert(leftovers.end(), each->local_.begin(), each->local_.end());
      each->local_.clear();
      each->local_size_.store(0);
    }
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
  // The workers' own queues wait too.
  for (auto& each : workers_)
    result.queue_depth += each->local_size_.load(std::memory_order_relaxed);
  auto now_ns = now_nanoseconds();
  std::int64_t idle = 0;
  for (auto& each : workers_)
    idle += each->idle_nanoseconds(now_ns);
  auto total = std::chrono::duration_cast<std::chrono::nanoseconds>(result.uptime).count() *
               static_cast<std::int64_t>(options_.threads);
  result.busy_time = std::chrono::nanoseconds(std::max<std::int64_t>(0, total - idle));
  result.applets = member_count();
  result.file_io = files_.backend();
  if (auto* ring = files_.get())
    result.file_operations_in_flight = ring->in_flight();
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

} // namespace actorloop::runtime::detail
