#include "thread_context.hpp"

namespace actorloop::runtime::detail {

namespace {

thread_local scheduler_group* this_thread_group = nullptr;
thread_local caf::execution_unit* this_thread_unit = nullptr;

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

} // namespace actorloop::runtime::detail
