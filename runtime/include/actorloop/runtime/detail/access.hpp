#pragma once
/// @file
/// Library-internal: the one access point through which actorloop's own
/// modules (actors, netio) reach what the public types keep private: an
/// engine's internals, a scheduler handle's worker group, a waitable's shared
/// state. Not a stable API; user code has no reason to include it.

#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/scheduler.hpp>
#include <actorloop/runtime/waitable.hpp>

#include <memory>

namespace actorloop::runtime::detail {

class scheduler_group;

struct access {
  /// The engine's private state (runtime module only).
  [[nodiscard]] static engine::impl& internals(const engine& owner) noexcept {
    return *owner.impl_;
  }
  /// The worker group behind a scheduler handle. Throws `invalid_argument`
  /// for an empty handle.
  [[nodiscard]] static scheduler_group& group(const scheduler& handle) {
    return handle.checked_group();
  }
  /// The shared state behind a waitable handle (null for an empty handle).
  [[nodiscard]] static const std::shared_ptr<waitable_state>&
  state(const waitable& handle) noexcept {
    return handle.state_;
  }
};

/// The engine a worker group belongs to.
[[nodiscard]] engine& owner_of(scheduler_group& group) noexcept;

} // namespace actorloop::runtime::detail
