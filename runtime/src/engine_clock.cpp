#include "engine_clock.hpp"

namespace actorloop::runtime::detail {

void engine_clock::remember(caf::abstract_actor* self) {
  std::lock_guard guard{mutex_};
  with_timeouts_.insert(self);
  remembered_.store(with_timeouts_.size(), std::memory_order_release);
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
  // An actor sets its timeouts and cancels them in its own turns, which CAF
  // orders: if it set one, this load sees a count that includes it. So an
  // engine whose actors set none (applets never do) takes no lock here.
  if (remembered_.load(std::memory_order_acquire) == 0)
    return;
  {
    std::lock_guard guard{mutex_};
    auto erased = with_timeouts_.erase(self);
    remembered_.store(with_timeouts_.size(), std::memory_order_release);
    if (erased == 0)
      return; // Never set one: nothing for the clock thread to do.
  }
  thread_safe_actor_clock::cancel_timeouts(self);
}

} // namespace actorloop::runtime::detail
