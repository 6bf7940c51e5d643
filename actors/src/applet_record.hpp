#pragma once
// The state behind an applet handle: the destruction latch (a waitable that is
// ready once the applet is gone), the exit reason, and the registry's counters.

#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/detail/group_access.hpp>

#include <caf/actor_control_block.hpp>
#include <caf/atom.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include <atomic>
#include <future>
#include <map>
#include <mutex>

namespace actorloop::actors::detail {

class applet_registry;

class applet_record final : public runtime::detail::waitable_state,
                            public runtime::detail::group_member {
public:
  applet_record(std::string name, runtime::scheduler home, runtime::engine& owner);
  ~applet_record() override;

  /// Binds the CAF actor once spawned; sends a kill that arrived earlier.
  void bind(caf::actor_control_block* actor);
  /// Requests destruction with `reason` (the first request wins).
  void request_kill(exit_reason reason) noexcept;
  /// Marks the applet destroyed and wakes every waiter.
  void finish(exit_reason reason);
  [[nodiscard]] exit_reason reason() const;
  /// The reason a pending kill asked for.
  [[nodiscard]] exit_reason requested_reason() const;

  /// Asks the applet for its dump; the future is fulfilled on its thread.
  std::future<std::string> request_dump();
  /// Fulfils every pending dump request (with `text` for all of them).
  void answer_dumps(const std::string& text);

  void request_shutdown() noexcept override;
  void request_preselect() noexcept override;

  const runtime::scheduler home;
  runtime::engine& owner;
  /// Set once at spawn; saves a lookup in the engine per applet.
  applet_registry* registry = nullptr;
  std::atomic<applet_state> state{applet_state::starting};
  std::atomic<bool> kill_requested{false};
  std::atomic<std::size_t> waits{0};
  std::atomic<std::uint64_t> events_dispatched{0};
  std::atomic<std::uint64_t> chained_dropped{0};

protected:
  bool ready_locked() const override { return destroyed_; }

private:
  void send_locked(caf::atom_value kind) noexcept;

  bool destroyed_ = false;
  exit_reason reason_;
  exit_reason requested_reason_;
  // A strong reference: CAF destroys an actor nobody references, and an
  // applet lives until it is killed. Dropped in finish().
  caf::strong_actor_ptr actor_;
  std::map<std::uint64_t, std::promise<std::string>> dumps_;
  std::uint64_t next_dump_ = 1;
};

/// The engine's applet registry (an engine extension).
class applet_registry final : public runtime::detail::engine_extension {
public:
  void add(const std::shared_ptr<applet_record>& record);
  void remove(std::uint64_t id) noexcept;

  std::mutex mutex;
  std::map<std::uint64_t, std::weak_ptr<applet_record>> applets; // ids grow: creation order
};

/// Finds (or creates) the registry of an engine.
applet_registry& registry_of(runtime::engine& owner);

} // namespace actorloop::actors::detail
