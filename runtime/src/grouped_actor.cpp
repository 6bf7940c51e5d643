#include <actorloop/runtime/detail/grouped_actor.hpp>

namespace actorloop::runtime::detail {

namespace {

// One object in one library: its address identifies a grouped actor.
constexpr char grouped_actor_name[] = "actorloop.grouped_actor";

} // namespace

const char* grouped_actor::name() const {
  return grouped_actor_name;
}

grouped_actor* grouped_actor::from(caf::resumable* job) noexcept {
  // CAF itself takes a job of this subtype for a scheduled_actor
  // (abstract_coordinator::cleanup_and_release).
  if (job->subtype() != caf::resumable::scheduled_actor)
    return nullptr;
  auto* actor = static_cast<caf::scheduled_actor*>(job);
  return actor->name() == grouped_actor_name ? static_cast<grouped_actor*>(actor) : nullptr;
}

} // namespace actorloop::runtime::detail
