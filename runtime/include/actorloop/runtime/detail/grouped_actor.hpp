#pragma once
/// @file
/// Library-internal: the CAF actor base class that actorloop's coordinator
/// routes to one scheduler's workers. Includes CAF headers. Not a stable API.

#include <actorloop/runtime/detail/sanitizer.hpp>

#include <caf/actor_control_block.hpp>
#include <caf/event_based_actor.hpp>

#include <mutex>

namespace actorloop::runtime::detail {

class scheduler_group;

/// An event-based CAF actor bound to one scheduler. Every resume of it runs on
/// a worker of that scheduler, whichever thread sent it a message.
class grouped_actor : public caf::event_based_actor {
public:
  grouped_actor(caf::actor_config& config, scheduler_group& group)
    : caf::event_based_actor(config), group_(&group) {}

  /// CAF calls this on the thread that drops the last reference, right
  /// before the actor's destructor: the last handler may have run on another
  /// worker, ordered only by CAF's reference count, so everything of the
  /// actor (a subclass's members included) is torn down after this.
  void on_destroy() override {
    happens_after(ctrl());
    caf::event_based_actor::on_destroy();
  }

  [[nodiscard]] scheduler_group& group() const noexcept { return *group_; }

  /// Every grouped actor's name; `final`, so no subclass can change it, and
  /// `from` tells a grouped actor by the pointer (grouped_actor.cpp).
  const char* name() const final;

  /// The grouped actor behind a job CAF schedules, or null (CAF's own
  /// actors, brokers, function objects). Called for every job scheduled: a
  /// `dynamic_cast` from `caf::resumable` walks the whole class graph (about
  /// 130 instructions), where this is two virtual calls.
  [[nodiscard]] static grouped_actor* from(caf::resumable* job) noexcept;

  // -- ThreadSanitizer support ----------------------------------------------
  //
  // Debian's libcaf_core is not instrumented, so TSan cannot see the atomics
  // that hand a message from its sender to the receiver's worker inside it.
  // In TSan builds only, a per-actor mutex makes that hand-off visible: the
  // receiver holds it while CAF's own code runs (fetching and matching
  // messages) and releases it while one of our handlers runs; senders hold it
  // while they build and enqueue a message. In other builds all of this
  // compiles to nothing.

  caf::resumable::resume_result resume(caf::execution_unit* unit, size_t budget) override {
#if defined(ACTORLOOP_THREAD_SANITIZER)
    std::unique_lock guard{mailbox_mutex_};
    happens_after(ctrl());
    auto result = caf::event_based_actor::resume(unit, budget);
    happens_before(ctrl());
    return result;
#else
    return caf::event_based_actor::resume(unit, budget);
#endif
  }

  /// Runs a message handler (see above).
  template <class F>
  decltype(auto) handle(F&& handler) {
#if defined(ACTORLOOP_THREAD_SANITIZER)
    mailbox_mutex_.unlock();
    struct relock_on_exit {
      std::mutex& mutex;
      ~relock_on_exit() { mutex.lock(); }
    } relock{mailbox_mutex_};
#endif
    return handler();
  }

  /// Enqueues into an applet's mailbox from any thread: `enqueue()` builds
  /// the message and calls CAF's enqueue.
  template <class F>
  static void send_to(caf::actor_control_block* target, F&& enqueue) {
#if defined(ACTORLOOP_THREAD_SANITIZER)
    auto* receiver = static_cast<grouped_actor*>(target->get());
    std::lock_guard guard{receiver->mailbox_mutex_};
    enqueue();
#else
    (void)target;
    enqueue();
#endif
  }

private:
  scheduler_group* group_;
#if defined(ACTORLOOP_THREAD_SANITIZER)
  std::mutex mailbox_mutex_;
#endif
};

} // namespace actorloop::runtime::detail
