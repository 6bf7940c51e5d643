#include "thread_context.hpp"

#include "scheduler_group.hpp"

#include <array>

namespace actorloop::runtime::detail {

namespace {

thread_local scheduler_group* this_thread_group = nullptr;
thread_local caf::execution_unit* this_thread_unit = nullptr;

/// The wakes held back by this thread's deferred_wakes scopes.
struct held_wakes {
  unsigned depth = 0;
  std::size_t count = 0;
  std::array<worker*, deferred_wakes::capacity> sleepers{};
};

thread_local held_wakes this_thread_held;

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

deferred_wakes::deferred_wakes() noexcept {
  ++this_thread_held.depth;
}

deferred_wakes::~deferred_wakes() {
  auto& held = this_thread_held;
  if (--held.depth != 0)
    return;
  // Clear the list first: a wake never re-enters, but keep the state sane.
  auto count = held.count;
  held.count = 0;
  for (std::size_t index = 0; index < count; ++index)
    scheduler_group::wake_now(held.sleepers[index]);
}

bool hold_wake(worker* sleeper) noexcept {
  auto& held = this_thread_held;
  if (held.depth == 0 || held.count == held.sleepers.size())
    return false;
  held.sleepers[held.count++] = sleeper;
  return true;
}

} // namespace actorloop::runtime::detail
