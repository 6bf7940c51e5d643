#pragma once
// The CAF scheduler module actorloop installs: routes every job to its group.

#include "engine_clock.hpp"
#include "scheduler_group.hpp"

#include <caf/actor_system.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace actorloop::runtime::detail {

class worker;

/// The CAF scheduler module actorloop installs. It owns the "default" group
/// and routes every job to its group.
class coordinator final : public caf::scheduler::abstract_coordinator {
public:
  explicit coordinator(caf::actor_system& system);
  ~coordinator() override;

  static caf::actor_system::module* make(caf::actor_system& system, caf::detail::type_list<>);

  void enqueue(caf::resumable* job) override;
  caf::detail::thread_safe_actor_clock& clock() noexcept override { return clock_; }

  /// Routes a job to its group; `from` is the worker that calls, if any.
  void route(caf::resumable* job, worker* from);

  [[nodiscard]] const std::shared_ptr<scheduler_group>& default_group() const noexcept {
    return default_group_;
  }
  /// Keeps stopped groups alive: actors that died on them may still point to them.
  void retire(std::shared_ptr<scheduler_group> group);

protected:
  void start() override;
  void stop() override;

private:
  engine_clock clock_;
  std::thread clock_thread_;
  std::shared_ptr<scheduler_group> default_group_;
  std::mutex retired_mutex_;
  std::vector<std::shared_ptr<scheduler_group>> retired_;
};

} // namespace actorloop::runtime::detail
