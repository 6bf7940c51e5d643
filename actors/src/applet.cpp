#include <actorloop/actors/applet.hpp>

#include "applet_record.hpp"
#include "callbacks_applet.hpp"
#include "messages.hpp"

#include <actorloop/runtime/detail/access.hpp>
#include <actorloop/runtime/detail/grouped_actor.hpp>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>
#include <caf/message.hpp>

#include <deque>
#include <unordered_map>

namespace actorloop::actors {

const char* to_string(applet_state state) noexcept {
  switch (state) {
    case applet_state::starting: return "starting";
    case applet_state::running: return "running";
    case applet_state::destroying: return "destroying";
    case applet_state::destroyed: return "destroyed";
  }
  return "unknown";
}

void applet::init(applet_context&) {
  // Nothing by default: the first preselect may initialise instead.
}

void applet::destroy(applet_context&) {
  // Nothing by default.
}

std::string applet::dump(const applet_context& context) const {
  return "applet '" + context.name() + "'";
}

namespace {

using runtime::errc;
using runtime::error;

std::string describe(const waitable& what) {
  return std::string{runtime::to_string(what.kind())} + " '" + what.name() + "' (id " +
         std::to_string(what.id()) + ")";
}

} // namespace

// -- the applet core: everything that runs on the applet's thread -------------

/// One registered waitable of one applet. Its `on_ready` runs on whatever
/// thread made the waitable ready and turns that into a mailbox message.
struct registration final : runtime::detail::waiter,
                            runtime::detail::deadline_target,
                            std::enable_shared_from_this<registration> {
  registration(waitable what, caf::strong_actor_ptr actor, runtime::detail::scheduler_group& group)
    : what(std::move(what)), actor(std::move(actor)), group(group) {}

  void on_ready() noexcept override { notify(); }
  void on_deadline(runtime::time_point deadline) noexcept override {
    runtime::detail::schedule_deadline(group, deadline, weak_from_this());
  }
  void on_deadline_reached() noexcept override { notify(); }

  void notify() noexcept {
    // One message in flight per registration is enough: the applet re-tests
    // readiness when it handles it.
    if (message_pending.exchange(true, std::memory_order_acq_rel))
      return;
    runtime::detail::grouped_actor::send_to(actor.get(), [&] {
      actor->enqueue(nullptr, caf::make_message_id(),
                     caf::make_message(detail::ready_atom::value, what.id()),
                     runtime::detail::current_execution_unit());
    });
  }

  const waitable what;
  const caf::strong_actor_ptr actor;
  runtime::detail::scheduler_group& group;
  std::atomic<bool> message_pending{false};
  // Touched only on the applet's thread:
  bool stale = false;      // cleared by clear_wait, not re-added yet
  bool locally_queued = false;
};

struct applet_context::core {
  core(std::unique_ptr<applet> body, std::shared_ptr<detail::applet_record> record)
    : body(std::move(body)), record(std::move(record)) {}

  std::unique_ptr<applet> body;
  std::shared_ptr<detail::applet_record> record;
  runtime::detail::grouped_actor* self = nullptr;

  std::unordered_map<std::uint64_t, std::shared_ptr<registration>> registrations;
  std::deque<std::shared_ptr<registration>> ready; // FIFO of possibly ready registrations
  bool cleared = false;
  bool continue_pending = false;
  bool destroy_started = false;
  bool self_killed = false;
  bool in_gate = false; // this turn holds the record's callback gate

  // -- the callback gate ------------------------------------------------------
  //
  // Each turn (a message handled) holds the gate while it may run callbacks,
  // so applet_handle::kill from another thread can wait until the turn ends:
  // once kill() returns, no callback runs or starts (lifetime rule 3).

  /// Enters the gate for this turn; false (and destroys) once killed.
  bool open_gate() {
    if (in_gate)
      return true;
    if (!record->enter_callback()) {
      stop_if_killed();
      return false;
    }
    in_gate = true;
    return true;
  }

  void close_gate() noexcept {
    if (!in_gate)
      return;
    in_gate = false;
    record->leave_callback();
  }

  /// Runs one turn inside the gate.
  template <class F>
  void turn(F&& body_of_turn) {
    if (destroy_started || !open_gate())
      return;
    struct close_on_exit {
      core& owner;
      ~close_on_exit() { owner.close_gate(); }
    } closer{*this};
    body_of_turn();
  }

  // -- callbacks, each contained ------------------------------------------------

  template <class F>
  bool guarded(const char* callback, F&& f) {
    try {
      f();
      return true;
    } catch (const std::exception& failure) {
      fail(callback, failure.what());
    } catch (...) {
      fail(callback, "an exception not derived from std::exception");
    }
    return false;
  }

  void fail(const char* callback, const std::string& text) {
    destroy(exit_reason{errc::callback_threw,
                        "applet '" + record->name() + "': " + callback + " threw: " + text});
  }

  [[nodiscard]] bool killed() const noexcept {
    return destroy_started || self_killed || record->kill_requested.load(std::memory_order_acquire);
  }

  void start() {
    turn([&] { start_in_gate(); });
  }

  void start_in_gate() {
    auto expected = applet_state::starting;
    record->state.compare_exchange_strong(expected, applet_state::running);
    applet_context context{*this};
    if (!guarded("init", [&] { body->init(context); }))
      return;
    if (stop_if_killed())
      return;
    run_preselect();
    run_turn();
  }

  void run_preselect() {
    applet_context context{*this};
    if (!guarded("preselect", [&] { body->preselect(context); }))
      return;
    commit();
    stop_if_killed();
  }

  /// Drops registrations that clear_wait removed and preselect did not re-add.
  void commit() {
    if (!cleared)
      return;
    cleared = false;
    for (auto position = registrations.begin(); position != registrations.end();) {
      if (position->second->stale) {
        runtime::detail::access::state(position->second->what)->detach(*position->second);
        position = registrations.erase(position);
      } else {
        ++position;
      }
    }
    record->waits.store(registrations.size(), std::memory_order_relaxed);
  }

  bool stop_if_killed() {
    if (!killed())
      return false;
    destroy(self_killed ? exit_reason{} : record->requested_reason());
    return true;
  }

  // -- events -------------------------------------------------------------------

  void on_ready_message(std::uint64_t id) {
    auto found = registrations.find(id);
    if (found == registrations.end())
      return; // Removed since; the message is stale.
    auto& entry = found->second;
    entry->message_pending.store(false, std::memory_order_release);
    queue_locally(entry);
    run_turn();
  }

  void queue_locally(const std::shared_ptr<registration>& entry) {
    if (entry->locally_queued)
      return;
    entry->locally_queued = true;
    ready.push_back(entry);
  }

  /// Dispatches at most one ready waitable, then yields if more are queued.
  void run_turn() {
    while (!ready.empty() && !killed()) {
      auto entry = std::move(ready.front());
      ready.pop_front();
      entry->locally_queued = false;
      auto found = registrations.find(entry->what.id());
      if (found == registrations.end() || found->second != entry)
        continue; // Unregistered while queued.
      auto& state = *runtime::detail::access::state(entry->what);
      if (!state.try_consume(entry.get())) {
        if (state.is_closed())
          remove(entry->what);
        continue; // Not ready (any more): a spurious or stale wake.
      }
      dispatch(entry->what);
      if (killed())
        break;
      // Level-triggered: still ready means another turn, after the others.
      auto again = registrations.find(entry->what.id());
      if (again != registrations.end() &&
          runtime::detail::access::state(again->second->what)->ready_for(again->second.get()))
        queue_locally(again->second);
      break;
    }
    if (stop_if_killed())
      return;
    if (!ready.empty() && !continue_pending) {
      continue_pending = true;
      self->send(self, detail::continue_atom::value, std::uint64_t{0});
    }
  }

  void dispatch(const waitable& fired) {
    applet_context context{*this};
    waitable next = fired;
    while (next) {
      auto current = std::move(next);
      count_dispatch();
      if (!guarded("postselect", [&] { next = body->postselect(context, current); }))
        return;
      commit();
      if (killed())
        break;
      if (next && registrations.find(next.id()) == registrations.end()) {
        // A chained event nobody here waits on: dropped, as in the original,
        // but counted so it is not silent.
        record->chained_dropped.fetch_add(1, std::memory_order_relaxed);
        next = waitable{};
      }
    }
    if (stop_if_killed())
      return;
    run_preselect();
  }

  void count_dispatch() {
    record->events_dispatched.fetch_add(1, std::memory_order_relaxed);
    runtime::detail::count_dispatch(self->group());
  }

  // -- registrations --------------------------------------------------------------

  void add(const waitable& what) {
    if (!what)
      throw error(errc::invalid_argument, "applet '" + record->name() + "': add_wait of an empty waitable");
    if (destroy_started)
      throw error(errc::invalid_argument,
                  "applet '" + record->name() + "': add_wait while being destroyed");
    auto found = registrations.find(what.id());
    if (found != registrations.end()) {
      if (found->second->stale) {
        found->second->stale = false;
        return;
      }
      throw error(errc::already_waiting, "applet '" + record->name() + "': add_wait: " +
                                           describe(what) +
                                           " is already registered (remove_wait or clear_wait first)");
    }
    auto entry = std::make_shared<registration>(what, caf::actor_cast<caf::strong_actor_ptr>(self),
                                                self->group());
    registrations.emplace(what.id(), entry);
    if (auto failure = runtime::detail::access::state(what)->attach(*entry)) {
      registrations.erase(what.id());
      throw error(failure, "applet '" + record->name() + "': add_wait: " + describe(what));
    }
    record->waits.store(registrations.size(), std::memory_order_relaxed);
  }

  bool remove(const waitable& what) {
    auto found = registrations.find(what.id());
    if (found == registrations.end() || found->second->what != what)
      return false;
    runtime::detail::access::state(found->second->what)->detach(*found->second);
    registrations.erase(found);
    record->waits.store(registrations.size(), std::memory_order_relaxed);
    return true;
  }

  void clear() {
    cleared = true;
    for (auto& [id, entry] : registrations)
      entry->stale = true;
  }

  // -- the end ----------------------------------------------------------------------

  void destroy(exit_reason reason) {
    if (destroy_started)
      return;
    destroy_started = true;
    // A killer waits for callbacks, not for destroy.
    close_gate();
    record->state.store(applet_state::destroying);
    for (auto& [id, entry] : registrations)
      runtime::detail::access::state(entry->what)->detach(*entry);
    registrations.clear();
    ready.clear();
    record->waits.store(0);
    applet_context context{*this};
    try {
      body->destroy(context);
    } catch (...) {
      // The applet is going anyway; the first reason stands.
    }
    body.reset(); // The user's object dies on the scheduler thread too.
    record->answer_dumps({});
    record->registry->remove(record->id());
    // Leave the scheduler before the handle becomes ready, so that whoever
    // wakes on the handle sees the applet gone from every count.
    runtime::detail::detach_member(self->group(), *record);
    record->finish(std::move(reason));
    self->quit();
  }

  void on_message(caf::atom_value kind, std::uint64_t argument) {
    switch (static_cast<std::uint64_t>(kind)) {
      case detail::ready_atom::uint_value():
        turn([&] { on_ready_message(argument); });
        break;
      case detail::continue_atom::uint_value():
        continue_pending = false;
        turn([&] { run_turn(); });
        break;
      case detail::kill_atom::uint_value():
        stop_if_killed();
        break;
      case detail::preselect_atom::uint_value():
        turn([&] {
          run_preselect();
          run_turn();
        });
        break;
      case detail::dump_atom::uint_value():
        // A killed applet's dump is not run: once kill() has returned, none
        // of its callbacks starts. The destroy answers pending dumps with "".
        turn([&] { answer_dump(); });
        break;
      default:
        // Only actorloop itself sends to an applet's actor.
        break;
    }
  }

  void answer_dump() {
    std::string text;
    if (body) {
      applet_context context{*this};
      try {
        text = body->dump(context);
      } catch (const std::exception& failure) {
        text = std::string{"dump threw: "} + failure.what();
      } catch (...) {
        // Contained like every other callback's exception.
        text = "dump threw: an exception not derived from std::exception";
      }
    }
    record->answer_dumps(text);
  }
};

/// The actors module's view of the applet core (private in applet_context).
struct detail::applet_access {
  using core = applet_context::core;
};

namespace {

using applet_core = detail::applet_access::core;

/// The CAF actor that carries one applet.
class applet_actor final : public runtime::detail::grouped_actor {
public:
  applet_actor(caf::actor_config& config, std::shared_ptr<applet_core> core)
    : grouped_actor(config, runtime::detail::access::group(core->record->home)), core_(std::move(core)) {
    core_->self = this;
  }

  caf::behavior make_behavior() override {
    handle([&] { core_->start(); });
    if (core_->destroy_started)
      return {};
    // One handler for every message kind: a single match case is cheaper to
    // build per applet and to match per message than one case per kind.
    return {
      [this](caf::atom_value kind, std::uint64_t argument) {
        handle([&] { core_->on_message(kind, argument); });
      },
    };
  }

private:
  std::shared_ptr<applet_core> core_;
};

} // namespace

// -- applet_context -----------------------------------------------------------

void applet_context::add_wait(const waitable& what) {
  core_->add(what);
}

void applet_context::wait_on(const waitable& what) {
  if (!waiting_on(what))
    core_->add(what);
}

bool applet_context::remove_wait(const waitable& what) {
  return core_->remove(what);
}

void applet_context::clear_wait() {
  core_->clear();
}

bool applet_context::waiting_on(const waitable& what) const {
  auto found = core_->registrations.find(what.id());
  return found != core_->registrations.end() && !found->second->stale;
}

std::size_t applet_context::wait_count() const {
  std::size_t count = 0;
  for (auto& [id, entry] : core_->registrations)
    count += entry->stale ? 0 : 1;
  return count;
}

void applet_context::kill() {
  core_->self_killed = true;
}

bool applet_context::destroying() const {
  return core_->killed();
}

const std::string& applet_context::name() const {
  return core_->record->name();
}

applet_handle applet_context::self() const {
  return applet_handle{core_->record};
}

runtime::scheduler applet_context::scheduler() const {
  return core_->record->home;
}

runtime::engine& applet_context::engine() const {
  return core_->record->owner;
}

// -- applet_handle --------------------------------------------------------------

namespace {

detail::applet_record& record_of(const applet_handle& handle) {
  if (!runtime::detail::access::state(handle))
    throw error(errc::invalid_argument, "operation on an empty applet handle");
  return static_cast<detail::applet_record&>(*runtime::detail::access::state(handle));
}

} // namespace

const std::string& applet_handle::scheduler_name() const {
  return record_of(*this).home.name();
}

applet_state applet_handle::state() const {
  return record_of(*this).state.load();
}

void applet_handle::kill() {
  record_of(*this).kill_and_wait_out_callback();
}

actors::exit_reason applet_handle::exit_reason() const {
  return record_of(*this).reason();
}

std::string applet_handle::dump(runtime::duration timeout) const {
  runtime::detail::refuse_blocking_on_scheduler("applet_handle::dump");
  auto answer = record_of(*this).request_dump();
  if (answer.wait_for(timeout) != std::future_status::ready)
    throw error(errc::timed_out, "applet '" + name() + "': dump did not answer in time");
  return answer.get();
}

// -- spawning -----------------------------------------------------------------------

applet_handle spawn_applet(runtime::engine& engine, const runtime::scheduler& home,
                           std::unique_ptr<applet> body, std::string name) {
  if (!body)
    throw error(errc::invalid_argument, "spawn_applet: null applet");
  if (!home)
    throw error(errc::invalid_argument, "spawn_applet: empty scheduler handle");
  auto& group = runtime::detail::access::group(home);
  // The handle must be one of this engine's schedulers, current or removed:
  // an applet lives in its engine's registry and actor system.
  if (&runtime::detail::owner_of(group) != &engine)
    throw error(errc::invalid_argument,
                "spawn_applet: scheduler '" + home.name() + "' belongs to another engine");
  if (name.empty())
    name = "applet";
  auto record = std::make_shared<detail::applet_record>(std::move(name), home, engine);
  if (auto failure = runtime::detail::attach_member(group, *record))
    throw error(failure, "spawn_applet: scheduler '" + home.name() + "' is stopping");
  record->registry = &detail::registry_of(engine);
  record->registry->add(record);
  auto core = std::make_shared<detail::applet_access::core>(std::move(body), record);
  auto actor = engine.actor_system().spawn<applet_actor>(core);
  record->bind(caf::actor_cast<caf::actor_control_block*>(actor));
  return applet_handle{record};
}

applet_handle spawn_applet(runtime::engine& engine, std::string_view scheduler_name,
                           std::unique_ptr<applet> body, std::string name) {
  if (!body)
    throw error(errc::invalid_argument, "spawn_applet: null applet");
  return spawn_applet(engine, engine.get_scheduler(scheduler_name), std::move(body),
                      std::move(name));
}

applet_handle spawn_applet(runtime::engine& engine, std::string_view scheduler_name,
                           applet_callbacks callbacks) {
  auto name = callbacks.name;
  return spawn_applet(engine, scheduler_name,
                      std::make_unique<detail::callbacks_applet>(std::move(callbacks)), std::move(name));
}

applet_handle spawn_applet(runtime::engine& engine, const runtime::scheduler& home,
                           applet_callbacks callbacks) {
  auto name = callbacks.name;
  return spawn_applet(engine, home, std::make_unique<detail::callbacks_applet>(std::move(callbacks)),
                      std::move(name));
}

} // namespace actorloop::actors
