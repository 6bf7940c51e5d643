#include "coordinator.hpp"

#include "engine_config.hpp"

#include <actorloop/runtime/detail/grouped_actor.hpp>

#include <caf/actor_system_config.hpp>
#include <caf/detail/set_thread_name.hpp>

#include <algorithm>

namespace actorloop::runtime::detail {

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
  if (auto* grouped = grouped_actor::from(job))
    target = &grouped->group();
  const bool own = from != nullptr && &from->group() == target;
  if (target->push(job, own, own && from->quiet_pushes_.load(std::memory_order_relaxed)))
    return;
  // The target group has stopped: its actors are dead, so the job only needs
  // to be released; the default group does that, or we do it here at the end.
  if (target != default_group_.get() && default_group_->push(job, false))
    return;
  abstract_coordinator::cleanup_and_release(job);
}

} // namespace actorloop::runtime::detail
