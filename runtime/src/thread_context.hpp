#pragma once
// Per-thread facts about the calling thread, set by scheduler workers.

namespace caf {
class execution_unit;
} // namespace caf

namespace actorloop::runtime::detail {

class scheduler_group;

/// The group whose worker runs on this thread, or nullptr.
scheduler_group* current_worker_group() noexcept;

/// The CAF execution unit of this worker thread, or nullptr.
caf::execution_unit* current_execution_unit() noexcept;

void set_current_worker(scheduler_group* group, caf::execution_unit* unit) noexcept;

} // namespace actorloop::runtime::detail
