#pragma once
/// @file
/// Library-internal hooks between the runtime and the actors module. Not a
/// stable API.

#include <actorloop/runtime/clock.hpp>
#include <actorloop/runtime/scheduler.hpp>
#include <actorloop/runtime/waitable.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <system_error>

namespace caf {
class execution_unit;
} // namespace caf

namespace actorloop::runtime {
class engine;
} // namespace actorloop::runtime

namespace actorloop::runtime::detail {

/// Something that lives on a scheduler and must go when it stops (applets).
class group_member {
public:
  virtual ~group_member() = default;
  /// The scheduler stops: destroy yourself (on your scheduler thread) with
  /// `errc::scheduler_shutdown`, then call `detach_member`.
  virtual void request_shutdown() noexcept = 0;
  /// A significant event: re-run preselect promptly.
  virtual void request_preselect() noexcept = 0;

private:
  friend class scheduler_group;
  // The group's intrusive list of members: O(1) attach and detach without an
  // allocation (a hash set cost a fifth of an applet's create-destroy cycle).
  group_member* previous_member_ = nullptr;
  group_member* next_member_ = nullptr;
  bool attached_ = false;
};

/// Registers a member; fails with `scheduler_stopped` once stopping began.
[[nodiscard]] std::error_code attach_member(scheduler_group& group, group_member& member);
/// Unregisters a member (call once it is fully destroyed).
void detach_member(scheduler_group& group, group_member& member) noexcept;

/// Asks the group's workers to call `target->on_deadline_reached()` at
/// `deadline`. Entries whose target expired are skipped.
class deadline_target {
public:
  virtual ~deadline_target() = default;
  virtual void on_deadline_reached() noexcept = 0;
};
void schedule_deadline(scheduler_group& group, time_point deadline,
                       std::weak_ptr<deadline_target> target);

/// Replaces futex parking for a scheduler that also waits for I/O (the netio
/// module's epoll-based I/O workers). The scheduler's worker calls `wait` when
/// it has no job, and `poll_ready` between jobs so busy actors cannot starve
/// the sockets; any thread calls `wake`.
class idle_poller {
public:
  virtual ~idle_poller() = default;
  /// Blocks until `wake`, the deadline (if any), or ready I/O; runs the
  /// handlers of ready I/O on the calling worker before returning.
  virtual void wait(const time_point* deadline) noexcept = 0;
  /// Runs the handlers of I/O that is ready now; never blocks.
  virtual void poll_ready() noexcept = 0;
  /// Makes the current or the next `wait` return. Any thread.
  virtual void wake() noexcept = 0;
};

/// Creates and starts a one-thread scheduler whose worker parks in `poller`
/// (see `idle_poller`) instead of on its futex; the engine then owns it like
/// any scheduler. Throws like `engine::create_scheduler`, and
/// `errc::invalid_argument` if `poller` is null or `options.threads` is not 1.
[[nodiscard]] scheduler create_polled_scheduler(engine& owner, scheduler_options options,
                                                std::shared_ptr<idle_poller> poller);

/// Counts one applet event dispatch in the group's statistics.
void count_dispatch(scheduler_group& group) noexcept;
/// The scheduler's `throughput` option (at least 1): also the number of
/// ready events an applet dispatches per turn.
[[nodiscard]] std::size_t throughput_of(const scheduler_group& group) noexcept;

/// The CAF execution unit of the calling worker thread, or nullptr. Passing it
/// to `enqueue` lets the coordinator route the receiver to its own group.
[[nodiscard]] caf::execution_unit* current_execution_unit() noexcept;

/// Where to launch a new actor of `group` (the `host` of its
/// `caf::actor_config`): when the calling thread is a worker of `group` and
/// the group has more than one worker, a unit that queues the actor's first
/// turn on that worker's own queue (idle siblings may steal it; see
/// docs/runtime.md, "Placement of spawned applets"); otherwise nullptr, and
/// CAF's default puts it on the group's shared queue. Calling thread only:
/// the unit must be used at once, on this thread.
[[nodiscard]] caf::execution_unit* spawn_placement(scheduler_group& group) noexcept;

} // namespace actorloop::runtime::detail

namespace actorloop::runtime::detail {

/// Per-engine state that another module attaches to the engine (the actors
/// module's applet registry). Destroyed after every scheduler has stopped.
class engine_extension {
public:
  virtual ~engine_extension() = default;
};

/// The text of the engine's `actorloop.io` configuration key (netio parses it).
[[nodiscard]] std::string io_configuration(engine& owner);
/// The text of the engine's `actorloop.file-io` key (auto, uring, threads).
[[nodiscard]] std::string file_io_configuration(engine& owner);

/// Returns the extension stored under `key`, creating it with `make` first.
engine_extension& extension(engine& owner, const void* key,
                            std::unique_ptr<engine_extension> (*make)());

} // namespace actorloop::runtime::detail
