#pragma once
// The CAF actor clock of an engine.

#include <caf/detail/thread_safe_actor_clock.hpp>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <unordered_set>

namespace actorloop::runtime::detail {

/// CAF's clock, minus a cost every actor paid: CAF cancels an actor's
/// timeouts when it terminates, which wakes the clock thread even for actors
/// that never set one (every applet). This clock remembers which actors set a
/// timeout and skips the cancel for the others, without a lock while none
/// is remembered.
class engine_clock final : public caf::detail::thread_safe_actor_clock {
public:
  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            uint64_t id) override;
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override;
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         uint64_t id) override;
  void cancel_timeouts(caf::abstract_actor* self) override;

private:
  void remember(caf::abstract_actor* self);
  std::mutex mutex_;
  std::unordered_set<caf::abstract_actor*> with_timeouts_;
  // with_timeouts_.size(), written under mutex_, read without it.
  std::atomic<std::size_t> remembered_{0};
};

} // namespace actorloop::runtime::detail
