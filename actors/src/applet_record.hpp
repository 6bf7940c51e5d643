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
#include <memory>
#include <mutex>

namespace actorloop::actors::detail {

class applet_registry;

class applet_record final : public runtime::detail::waitable_state,
                            public runtime::detail::group_member {
public:
  applet_record(std::string name, runtime::scheduler home, runtime::engine& owner);
  ~applet_record() override;

  /// Binds the CAF actor, before the record is published (attached to its
  /// scheduler, registered or handed out): so no lock, and no kill can have
  /// come first.
  void bind_unpublished(caf::strong_actor_ptr actor) noexcept { actor_ = std::move(actor); }
  /// Lets go of the actor again when the spawn fails before launching it.
  void unbind_unpublished() noexcept { actor_ = nullptr; }
  /// Requests destruction with `reason` (the first request wins). From then
  /// on no callback enters (see `enter_callback`).
  void request_kill(exit_reason reason) noexcept;
  /// `applet_handle::kill`: requests destruction, then waits until no callback
  /// of this applet runs, unless the caller is that callback itself or waiting
  /// would close a cycle of callbacks killing each other.
  void kill_and_wait_out_callback();

  /// The callback gate, on the applet's thread: true if the applet may run a
  /// callback now (not killed); the caller then calls `leave_callback` after
  /// it. A kill from another thread waits while a callback is inside.
  [[nodiscard]] bool enter_callback() noexcept;
  void leave_callback() noexcept;
  /// Marks the applet destroyed, answers pending dump requests with "" and
  /// wakes every waiter.
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

  /// Waits until no callback is inside the gate (see kill_and_wait_out_callback).
  void wait_out_callback();

  // The gate word: whether a callback runs, whether a kill closed the gate,
  // and whether a killer sleeps on the word waiting for the callback to end.
  static constexpr std::uint32_t callback_running = 1;
  static constexpr std::uint32_t gate_closed = 2;
  static constexpr std::uint32_t killer_waiting = 4;
  std::atomic<std::uint32_t> gate_{0};
  // The applet whose kill this applet's running callback waits for (guarded
  // by one process-wide mutex; only used to refuse a wait that would close a
  // cycle).
  applet_record* waiting_for_ = nullptr;

  bool destroyed_ = false;
  exit_reason reason_;
  exit_reason requested_reason_;
  // A strong reference: CAF destroys an actor nobody references, and an
  // applet lives until it is killed. Dropped in finish().
  caf::strong_actor_ptr actor_;
  std::map<std::uint64_t, std::promise<std::string>> dumps_;
  std::uint64_t next_dump_ = 1;

  // The registry's intrusive list (guarded by the registry's mutex): no
  // allocation per applet, creation order kept by appending.
  friend class applet_registry;
  std::weak_ptr<applet_record> self_;
  applet_record* previous_registered_ = nullptr;
  applet_record* next_registered_ = nullptr;
  bool registered_ = false;
};

/// The engine's applet registry (an engine extension): the live applets in
/// creation order, as an intrusive list through their records. Any thread.
class applet_registry final : public runtime::detail::engine_extension {
public:
  ~applet_registry() override;

  void add(const std::shared_ptr<applet_record>& record);
  /// Unlinks the record; a no-op if it is not (or no longer) listed.
  void remove(applet_record& record) noexcept;
  /// The records still alive, oldest first.
  [[nodiscard]] std::vector<std::shared_ptr<applet_record>> snapshot() const;

private:
  mutable std::mutex mutex_;
  applet_record* head_ = nullptr;
  applet_record* tail_ = nullptr;
};

/// Finds (or creates) the registry of an engine.
applet_registry& registry_of(runtime::engine& owner);

} // namespace actorloop::actors::detail
