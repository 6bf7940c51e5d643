#pragma once
/// @file
/// Library-internal: the CAF actor base class that actorloop's coordinator
/// routes to one scheduler's workers. Includes CAF headers. Not a stable API.

#include <caf/event_based_actor.hpp>

namespace actorloop::runtime::detail {

class scheduler_group;

/// An event-based CAF actor bound to one scheduler. Every resume of it runs on
/// a worker of that scheduler, whichever thread sent it a message.
class grouped_actor : public caf::event_based_actor {
public:
  grouped_actor(caf::actor_config& config, scheduler_group& group)
    : caf::event_based_actor(config), group_(&group) {}

  [[nodiscard]] scheduler_group& group() const noexcept { return *group_; }

private:
  scheduler_group* group_;
};

} // namespace actorloop::runtime::detail
