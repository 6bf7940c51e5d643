#include <actorloop/runtime/wait_set.hpp>

#include <actorloop/runtime/detail/access.hpp>

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <vector>

namespace actorloop::runtime {

struct wait_set::impl {
  /// One member: registered on its waitable so a change rings our doorbell.
  struct member final : detail::waiter {
    member(impl& owner, waitable what, std::uintptr_t cookie)
      : owner(owner), what(std::move(what)), cookie(cookie) {}
    void on_ready() noexcept override { owner.ring(); }
    void on_deadline(time_point) noexcept override { owner.ring(); }
    impl& owner;
    waitable what;
    std::uintptr_t cookie;
  };

  void ring() noexcept {
    {
      std::lock_guard guard{doorbell_mutex};
      ++rings;
    }
    doorbell.notify_all();
  }

  // Lock order: members_mutex, then a waitable's mutex, then doorbell_mutex.
  mutable std::mutex members_mutex;
  std::vector<std::unique_ptr<member>> members; // insertion order

  std::mutex doorbell_mutex;
  std::condition_variable doorbell;
  std::uint64_t rings = 0;
  std::uint64_t wakes = 0;
};

wait_set::wait_set() : impl_(std::make_shared<impl>()) {}

wait_set::~wait_set() {
  clear();
}

void wait_set::add(const waitable& what, std::uintptr_t cookie) {
  if (!what)
    throw error(errc::invalid_argument, "wait_set::add: empty waitable");
  std::lock_guard guard{impl_->members_mutex};
  auto& members = impl_->members;
  if (std::any_of(members.begin(), members.end(),
                  [&](const auto& entry) { return entry->what == what; }))
    throw error(errc::already_waiting, "wait_set::add: " + std::string{to_string(what.kind())} +
                                         " '" + what.name() + "' (id " +
                                         std::to_string(what.id()) + ") is already a member");
  auto entry = std::make_unique<impl::member>(*impl_, what, cookie);
  if (auto failure = detail::access::state(what)->attach(*entry))
    throw error(failure, "wait_set::add: cannot add '" + what.name() + "'");
  members.push_back(std::move(entry));
}

bool wait_set::remove(const waitable& what) {
  std::lock_guard guard{impl_->members_mutex};
  auto& members = impl_->members;
  auto position = std::find_if(members.begin(), members.end(),
                               [&](const auto& entry) { return entry->what == what; });
  if (position == members.end())
    return false;
  detail::access::state((*position)->what)->detach(**position);
  members.erase(position);
  return true;
}

void wait_set::clear() {
  std::lock_guard guard{impl_->members_mutex};
  for (auto& entry : impl_->members)
    detail::access::state(entry->what)->detach(*entry);
  impl_->members.clear();
}

std::size_t wait_set::size() const {
  std::lock_guard guard{impl_->members_mutex};
  // Closed members leave at the next wait; they no longer count.
  return static_cast<std::size_t>(
    std::count_if(impl_->members.begin(), impl_->members.end(),
                  [](const auto& entry) { return !detail::access::state(entry->what)->is_closed(); }));
}

wait_result wait_set::wait() {
  return wait_impl(nullptr, true);
}

wait_result wait_set::wait_for(duration timeout) {
  auto limit = clock::now() + timeout;
  return wait_impl(&limit, true);
}

wait_result wait_set::wait_until(time_point deadline) {
  return wait_impl(&deadline, true);
}

wait_result wait_set::try_wait() {
  return wait_impl(nullptr, false);
}

void wait_set::wake() {
  {
    std::lock_guard guard{impl_->doorbell_mutex};
    ++impl_->wakes;
    ++impl_->rings;
  }
  impl_->doorbell.notify_all();
}

wait_result wait_set::wait_impl(const time_point* limit, bool may_block) {
  if (may_block)
    detail::refuse_blocking_on_scheduler("wait_set::wait");
  auto& state = *impl_;
  for (;;) {
    std::uint64_t rings_seen = 0;
    {
      std::lock_guard guard{state.doorbell_mutex};
      if (state.wakes > 0) {
        --state.wakes;
        return {wait_status::woken, {}, 0};
      }
      rings_seen = state.rings;
    }
    // Scan in insertion order; the first ready member wins (as in Open Files).
    std::optional<time_point> nearest;
    {
      std::lock_guard guard{state.members_mutex};
      auto& members = state.members;
      for (auto position = members.begin(); position != members.end();) {
        auto& entry = *position;
        auto& member_state = *detail::access::state(entry->what);
        if (member_state.try_consume(entry.get()))
          return {wait_status::fired, entry->what, entry->cookie};
        if (member_state.is_closed()) {
          // A closed waitable leaves the set, as a destroyed handle did.
          member_state.detach(*entry);
          position = members.erase(position);
          continue;
        }
        if (auto next = member_state.deadline(); next && (!nearest || *next < *nearest))
          nearest = next;
        ++position;
      }
    }
    if (!may_block || (limit && clock::now() >= *limit))
      return {wait_status::timed_out, {}, 0};
    const time_point* until = limit;
    if (nearest && (!until || *nearest < *until))
      until = &*nearest;
    std::unique_lock guard{state.doorbell_mutex};
    auto rang = [&] { return state.rings != rings_seen; };
    if (until)
      state.doorbell.wait_until(guard, *until, rang);
    else
      state.doorbell.wait(guard, rang);
  }
}

} // namespace actorloop::runtime
