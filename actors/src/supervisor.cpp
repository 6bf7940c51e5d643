// The supervisor applet: starts its children, waits on their handles and
// timers, and applies the strategy, the restart types, the intensity and the
// back-off. Everything in `core` runs on the supervisor's scheduler thread.
//
// Stops are sequential, as in OTP: one `operation` at a time kills one child,
// waits for its handle or its shutdown limit, then goes on with the next. A
// child that ends by itself while an operation runs is recorded at once and
// its restart decision waits until the operation is over.
#include <actorloop/actors/supervisor.hpp>

#include "applet_record.hpp"
#include "callbacks_applet.hpp"
#include "supervisor_shared.hpp"

#include <actorloop/runtime/detail/access.hpp>
#include <actorloop/runtime/timer.hpp>

#include <algorithm>
#include <deque>
#include <list>
#include <sstream>
#include <unordered_map>

namespace actorloop::actors {

using runtime::errc;
using runtime::error;

namespace {

void validate_child(const child_spec& child, const std::string& where) {
  if (child.name.empty())
    throw error(errc::invalid_argument, where + ": a child spec has an empty name");
  if (static_cast<bool>(child.make) == static_cast<bool>(child.callbacks))
    throw error(errc::invalid_argument, where + ": child '" + child.name +
                                          "' needs exactly one of make and callbacks");
  if (!child.node.empty())
    throw error(errc::invalid_argument,
                where + ": child '" + child.name + "' names node '" + child.node +
                  "', but remote children need the nodes module, which is not built yet");
  if (child.shutdown < runtime::duration::zero())
    throw error(errc::invalid_argument,
                where + ": child '" + child.name + "' has a negative shutdown limit");
  if (child.scheduler.empty())
    throw error(errc::invalid_argument,
                where + ": child '" + child.name + "' names no scheduler");
}

void validate(const supervisor_spec& spec) {
  auto where = "supervisor '" + spec.name + "'";
  if (spec.name.empty())
    throw error(errc::invalid_argument, "supervisor spec with an empty name");
  if (spec.intensity.period <= runtime::duration::zero())
    throw error(errc::invalid_argument, where + ": intensity period must be positive");
  if (spec.backoff.initial < runtime::duration::zero() ||
      (spec.backoff.initial > runtime::duration::zero() && spec.backoff.max < spec.backoff.initial))
    throw error(errc::invalid_argument,
                where + ": back-off needs 0 <= initial <= max (max is the cap)");
  if (spec.strategy == restart_strategy::simple_one_for_one) {
    if (!spec.children.empty())
      throw error(errc::invalid_argument,
                  where + ": simple_one_for_one takes no static children, only a child_template");
    if (!spec.child_template)
      throw error(errc::invalid_argument, where + ": simple_one_for_one needs a child_template");
  }
  if (spec.child_template)
    validate_child(*spec.child_template, where);
  for (std::size_t index = 0; index < spec.children.size(); ++index) {
    validate_child(spec.children[index], where);
    for (std::size_t earlier = 0; earlier < index; ++earlier)
      if (spec.children[earlier].name == spec.children[index].name)
        throw error(errc::invalid_argument,
                    where + ": two children are named '" + spec.children[index].name + "'");
  }
}

std::string milliseconds_text(runtime::duration span) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(span).count()) +
         " ms";
}

} // namespace

struct supervisor_applet::core {
  struct slot {
    std::uint64_t key = 0;
    child_spec spec;
    child_status status = child_status::down;
    applet_handle handle;
    std::shared_ptr<detail::supervisor_shared> nested; // when the child is a supervisor
    std::optional<runtime::timer> limit;               // shutdown limit while stopping
    std::optional<runtime::timer> delay;               // back-off before a restart
    std::deque<runtime::time_point> recent_restarts;   // within the period, for the back-off
    std::size_t starts = 0;
    std::size_t ended = 0;
    exit_reason last_reason;
    std::uint64_t applet_id = 0; // of the latest instance, for stop_child
    bool stop_for_good = false;  // stop_child: remove once down
    std::vector<std::promise<child_result>> stop_waiters;
  };
  using slot_list = std::list<slot>;
  using slot_ref = slot_list::iterator;

  enum class role { child, limit, delay };
  struct wait_target {
    slot_ref where;
    role what;
  };

  struct operation {
    enum class purpose { restart, shutdown, remove };
    purpose what = purpose::restart;
    std::vector<slot_ref> to_stop; // next to stop first (reverse start order)
    std::optional<slot_ref> current;
    std::vector<slot_ref> to_start; // after stopping, in start order
    std::optional<slot_ref> failed; // whose back-off delays the group restart
    exit_reason end_reason;         // shutdown
    bool delaying = false;
  };

  explicit core(supervisor_spec spec_in)
    : spec(std::move(spec_in)),
      shared(std::make_shared<detail::supervisor_shared>(spec.name, spec.strategy)) {}

  supervisor_spec spec;
  std::shared_ptr<detail::supervisor_shared> shared;
  applet_context* context = nullptr; // valid during a callback only
  slot_list slots;
  std::unordered_map<std::uint64_t, wait_target> waits;     // by waitable id
  std::unordered_map<std::uint64_t, slot_ref> by_applet;    // latest handle id of each slot
  std::uint64_t next_key = 1;
  std::uint64_t next_dynamic = 1;
  std::deque<runtime::time_point> restart_history;
  std::optional<operation> op;
  std::optional<runtime::timer> group_delay;
  std::deque<slot_ref> decisions;        // ended children awaiting a restart decision
  std::deque<slot_ref> failed_starts;    // decided in the next turn, so a crash loop yields
  bool ending = false;

  // -- statistics -------------------------------------------------------------------

  void publish(const slot& child) {
    child_stats stats;
    stats.key = child.key;
    stats.name = child.spec.name;
    stats.scheduler = child.spec.scheduler;
    stats.restart = child.spec.restart;
    stats.status = child.status;
    stats.starts = child.starts;
    stats.restarts = child.starts > 0 ? child.starts - 1 : 0;
    stats.last_reason = child.last_reason;
    stats.ended = child.ended;
    if (child.status != child_status::down && child.status != child_status::restart_pending) {
      stats.current = child.handle;
      if (child.nested)
        stats.supervisor = supervisor_handle{child.handle, child.nested};
    }
    std::lock_guard guard{shared->mutex};
    shared->children[child.key] = std::move(stats);
  }

  void emit(supervisor_event::kind what, const slot* child, exit_reason reason = {}) {
    if (!spec.on_event)
      return;
    supervisor_event event{what, child ? child->spec.name : std::string{}, std::move(reason),
                           child && child->starts > 0 ? child->starts - 1 : 0};
    spec.on_event(event);
  }

  // -- registrations ------------------------------------------------------------------

  void watch(const waitable& what, slot_ref where, role kind) {
    context->add_wait(what);
    waits[what.id()] = wait_target{where, kind};
  }

  void unwatch(const waitable& what) {
    if (!what)
      return;
    context->remove_wait(what);
    waits.erase(what.id());
  }

  // -- starting -------------------------------------------------------------------------

  slot_ref add_slot(child_spec child) {
    slot fresh;
    fresh.key = next_key++;
    fresh.spec = std::move(child);
    slots.push_back(std::move(fresh));
    auto where = std::prev(slots.end());
    publish(*where);
    return where;
  }

  /// Spawns a fresh instance; on failure returns the reason and leaves it down.
  std::optional<exit_reason> start(slot_ref child) {
    std::unique_ptr<applet> body;
    try {
      if (child->spec.make)
        body = child->spec.make();
      else
        body = std::make_unique<detail::callbacks_applet>(child->spec.callbacks());
      if (!body)
        throw std::runtime_error("the factory returned no applet");
      auto* nested = dynamic_cast<supervisor_applet*>(body.get());
      child->nested = nested ? nested->shared() : nullptr;
      child->handle = spawn_applet(context->engine(), child->spec.scheduler, std::move(body),
                                   child->spec.name);
    } catch (const std::exception& failure) {
      child->status = child_status::down;
      child->handle = applet_handle{};
      return exit_reason{make_error_code(supervisor_errc::start_failed),
                         "child '" + child->spec.name + "' could not be started: " +
                           failure.what()};
    }
    child->status = child_status::running;
    ++child->starts;
    // Only the latest instance is addressable, so the index stays one entry
    // per child however often it restarts.
    by_applet.erase(child->applet_id);
    child->applet_id = child->handle.applet_id();
    by_applet[child->applet_id] = child;
    watch(child->handle, child, role::child);
    publish(*child);
    emit(supervisor_event::kind::child_started, &*child);
    return std::nullopt;
  }

  /// A restart whose start failed counts as an abnormal end, decided next turn.
  void start_or_defer(slot_ref child) {
    if (auto failure = start(child)) {
      record_end(child, std::move(*failure));
      emit(supervisor_event::kind::child_ended, &*child, child->last_reason);
      failed_starts.push_back(child);
      shared->wake.set();
    }
  }

  // -- ends -------------------------------------------------------------------------------

  void record_end(slot_ref child, exit_reason reason) {
    child->status = child_status::down;
    child->last_reason = std::move(reason);
    ++child->ended;
    child->handle = applet_handle{};
    publish(*child);
  }

  void on_child_gone(slot_ref child) {
    auto gone = child->handle;
    unwatch(gone);
    auto reason = gone.exit_reason();
    if (child->status == child_status::stopping) {
      finish_stop(child, std::move(reason), supervisor_event::kind::child_stopped);
      return;
    }
    record_end(child, std::move(reason));
    emit(supervisor_event::kind::child_ended, &*child, child->last_reason);
    if (op) {
      // Due to be stopped anyway: it has spared us the kill.
      auto& queue = op->to_stop;
      auto found = std::find(queue.begin(), queue.end(), child);
      if (found != queue.end()) {
        queue.erase(found);
        advance();
        return;
      }
    }
    decisions.push_back(child);
    drain();
  }

  void remove_slot(slot_ref child) {
    {
      std::lock_guard guard{shared->mutex};
      shared->children.erase(child->key);
    }
    by_applet.erase(child->applet_id);
    // Whoever waits for the stop sees the statistics without the child.
    auto waiters = std::move(child->stop_waiters);
    auto last = child_result{child->handle, {}, {}};
    slots.erase(child);
    for (auto& waiter : waiters)
      waiter.set_value(last);
  }

  /// The restart decision for a child that ended by itself.
  void decide(slot_ref child) {
    if (child->status != child_status::down)
      return; // Restarted meanwhile by a group restart.
    if (child->stop_for_good) {
      remove_slot(child);
      return;
    }
    const auto& reason = child->last_reason;
    bool restart = child->spec.restart == restart_type::permanent ||
                   (child->spec.restart == restart_type::transient && !reason.is_normal());
    if (!restart) {
      if (child->spec.restart == restart_type::temporary)
        remove_slot(child);
      return;
    }
    if (!count_restart()) {
      begin_shutdown(exit_reason{make_error_code(supervisor_errc::restart_limit),
                                 "supervisor '" + spec.name + "': more than " +
                                   std::to_string(spec.intensity.max_restarts) +
                                   " restarts within " + milliseconds_text(spec.intensity.period) +
                                   "; last: " + reason.message()},
                     supervisor_event::kind::restart_limit);
      return;
    }
    switch (spec.strategy) {
      case restart_strategy::one_for_one:
      case restart_strategy::simple_one_for_one:
        restart_after_delay(child);
        return;
      case restart_strategy::one_for_all:
      case restart_strategy::rest_for_one:
        restart_group(child);
        return;
    }
  }

  /// True while within the intensity; records the restart.
  bool count_restart() {
    auto now = runtime::clock::now();
    restart_history.push_back(now);
    while (!restart_history.empty() && restart_history.front() <= now - spec.intensity.period)
      restart_history.pop_front();
    {
      std::lock_guard guard{shared->mutex};
      ++shared->stats.restarts;
    }
    return restart_history.size() <= spec.intensity.max_restarts;
  }

  runtime::duration backoff_for(slot_ref child) {
    if (spec.backoff.initial <= runtime::duration::zero())
      return runtime::duration::zero();
    auto now = runtime::clock::now();
    auto& recent = child->recent_restarts;
    while (!recent.empty() && recent.front() <= now - spec.intensity.period)
      recent.pop_front();
    auto delay = spec.backoff.initial;
    for (std::size_t earlier = 0; earlier < recent.size() && delay < spec.backoff.max; ++earlier)
      delay *= 2;
    recent.push_back(now);
    return std::min(delay, spec.backoff.max);
  }

  void restart_after_delay(slot_ref child) {
    auto delay = backoff_for(child);
    if (delay <= runtime::duration::zero()) {
      start_or_defer(child);
      return;
    }
    child->status = child_status::restart_pending;
    if (!child->delay)
      child->delay.emplace(child->spec.name + "-backoff");
    child->delay->set(delay);
    watch(*child->delay, child, role::delay);
    publish(*child);
  }

  void restart_group(slot_ref failed) {
    operation group;
    group.what = operation::purpose::restart;
    group.failed = failed;
    bool after = false;
    for (auto position = slots.begin(); position != slots.end(); ++position) {
      if (position == failed) {
        after = true;
        group.to_start.push_back(position);
        continue;
      }
      bool affected = spec.strategy == restart_strategy::one_for_all || after;
      if (!affected)
        continue;
      if (position->status == child_status::running ||
          position->status == child_status::restart_pending) {
        group.to_stop.push_back(position);
        group.to_start.push_back(position);
      }
    }
    std::reverse(group.to_stop.begin(), group.to_stop.end());
    op = std::move(group);
    advance();
  }

  // -- stopping -----------------------------------------------------------------------

  void stop_one(slot_ref child) {
    child->status = child_status::stopping;
    publish(*child);
    emit(supervisor_event::kind::child_stopping, &*child);
    if (!child->limit)
      child->limit.emplace(child->spec.name + "-shutdown-limit");
    child->limit->set(child->spec.shutdown);
    watch(*child->limit, child, role::limit);
    if (child->nested)
      child->nested->request_shutdown(); // it stops its own children first
    else
      child->handle.kill();
  }

  void finish_stop(slot_ref child, exit_reason reason, supervisor_event::kind how) {
    if (child->limit) {
      unwatch(*child->limit);
      child->limit->cancel();
    }
    record_end(child, std::move(reason));
    emit(how, &*child, child->last_reason);
    if (op && op->current == child) {
      op->current.reset();
      advance();
    }
  }

  void on_limit(slot_ref child) {
    unwatch(*child->limit);
    if (child->status != child_status::stopping)
      return;
    // Given up: its destroy still finishes on its own thread, but we do not
    // wait for it any longer.
    auto gone = child->handle;
    unwatch(gone);
    finish_stop(child,
                exit_reason{make_error_code(supervisor_errc::shutdown_overrun),
                            "child '" + child->spec.name + "': destroy overran its shutdown limit of " +
                              milliseconds_text(child->spec.shutdown) + "; killed outright"},
                supervisor_event::kind::child_overran);
  }

  /// Runs the current operation on until it waits or completes.
  void advance() {
    while (op && !op->current && !op->delaying) {
      if (!op->to_stop.empty()) {
        auto next = op->to_stop.front();
        op->to_stop.erase(op->to_stop.begin());
        if (next->status == child_status::running) {
          op->current = next;
          stop_one(next);
          return;
        }
        if (next->status == child_status::restart_pending) {
          unwatch(*next->delay);
          next->delay->cancel();
          next->status = child_status::down;
          publish(*next);
        }
        continue;
      }
      complete();
    }
  }

  void complete() {
    auto finished = std::move(*op);
    switch (finished.what) {
      case operation::purpose::restart: {
        auto delay = finished.failed ? backoff_for(*finished.failed) : runtime::duration::zero();
        if (delay > runtime::duration::zero()) {
          op = std::move(finished);
          op->delaying = true;
          if (!group_delay)
            group_delay.emplace(spec.name + "-group-backoff");
          group_delay->set(delay);
          context->add_wait(*group_delay);
          return;
        }
        op.reset();
        start_group(finished.to_start);
        break;
      }
      case operation::purpose::remove:
        op.reset();
        for (auto child : finished.to_start) // the one child to remove
          remove_slot(child);
        break;
      case operation::purpose::shutdown:
        op.reset();
        end(std::move(finished.end_reason));
        return;
    }
    drain();
  }

  void start_group(const std::vector<slot_ref>& group) {
    for (auto child : group) {
      if (child->status != child_status::down)
        continue;
      if (child->spec.restart == restart_type::temporary || child->stop_for_good) {
        remove_slot(child);
        continue;
      }
      start_or_defer(child);
    }
  }

  void on_group_delay() {
    context->remove_wait(*group_delay);
    if (!op || !op->delaying)
      return;
    auto finished = std::move(*op);
    op.reset();
    start_group(finished.to_start);
    drain();
  }

  void begin_shutdown(exit_reason reason, supervisor_event::kind why) {
    if (ending || (op && op->what == operation::purpose::shutdown))
      return;
    auto refused = shared->close();
    fail_requests(refused, "it is stopping");
    {
      std::lock_guard guard{shared->mutex};
      shared->stats.stopping = true;
    }
    emit(why, nullptr, reason);
    operation stop_all;
    stop_all.what = operation::purpose::shutdown;
    stop_all.end_reason = std::move(reason);
    if (op) {
      stop_all.current = op->current;
      if (op->delaying) {
        context->remove_wait(*group_delay);
        group_delay->cancel();
      }
    }
    for (auto position = slots.rbegin(); position != slots.rend(); ++position) {
      auto child = std::prev(position.base());
      if (stop_all.current && *stop_all.current == child)
        continue;
      if (child->status == child_status::running ||
          child->status == child_status::restart_pending)
        stop_all.to_stop.push_back(child);
    }
    decisions.clear();
    failed_starts.clear();
    op = std::move(stop_all);
    advance();
  }

  void end(exit_reason reason) {
    ending = true;
    if (reason.is_normal()) {
      context->kill();
      return;
    }
    // The applet's own record carries the reason its waiters will see.
    auto self = context->self();
    static_cast<detail::applet_record&>(*runtime::detail::access::state(self)).request_kill(std::move(reason));
  }

  // -- requests and deferred decisions -----------------------------------------------

  void fail_requests(std::deque<detail::supervisor_request>& refused, const std::string& why) {
    for (auto& request : refused)
      request.answer.set_value(detail::refusal(supervisor_errc::supervisor_ended,
                                               "supervisor '" + spec.name + "': " + why));
    refused.clear();
  }

  void on_wake() {
    bool shutdown = false;
    {
      std::lock_guard guard{shared->mutex};
      shutdown = shared->shutdown_requested;
    }
    if (shutdown) {
      begin_shutdown(exit_reason{}, supervisor_event::kind::shutting_down);
      return;
    }
    while (!failed_starts.empty()) {
      decisions.push_back(failed_starts.front());
      failed_starts.pop_front();
    }
    drain();
  }

  /// Decisions first, then requests, one at a time while no operation runs.
  void drain() {
    while (!op && !ending) {
      if (!decisions.empty()) {
        auto child = decisions.front();
        decisions.pop_front();
        decide(child);
        continue;
      }
      std::optional<detail::supervisor_request> request;
      {
        std::lock_guard guard{shared->mutex};
        if (!shared->requests.empty()) {
          request = std::move(shared->requests.front());
          shared->requests.pop_front();
        }
      }
      if (!request)
        return;
      serve(*request);
    }
  }

  void serve(detail::supervisor_request& request) {
    if (request.what == detail::supervisor_request::kind::start) {
      try {
        auto child = request.spec ? std::move(*request.spec) : spec.child_template.value_or(child_spec{});
        if (!request.spec) {
          if (!spec.child_template)
            throw error(errc::invalid_argument, "supervisor '" + spec.name +
                                                  "': start_child without a spec needs a child_template");
          child.name += "-" + std::to_string(next_dynamic++);
        }
        validate_child(child, "supervisor '" + spec.name + "'");
        auto where = add_slot(std::move(child));
        if (auto failure = start(where)) {
          // OTP's start_child: a child that cannot start is not kept.
          remove_slot(where);
          request.answer.set_value(detail::refusal(supervisor_errc::start_failed, failure->message()));
          return;
        }
        request.answer.set_value(child_result{where->handle, {}, {}});
      } catch (const error& failure) {
        request.answer.set_value(detail::refusal(failure.code(), failure.what()));
      }
      return;
    }
    auto found = by_applet.find(request.target);
    if (found == by_applet.end()) {
      request.answer.set_value(detail::refusal(
        supervisor_errc::no_such_child, "supervisor '" + spec.name + "': stop_child: applet " +
                                          std::to_string(request.target) + " is not its child"));
      return;
    }
    auto child = found->second;
    child->stop_for_good = true;
    child->stop_waiters.push_back(std::move(request.answer));
    operation removal;
    removal.what = operation::purpose::remove;
    removal.to_stop.push_back(child);
    removal.to_start.push_back(child);
    op = std::move(removal);
    advance();
  }

  // -- dispatch ------------------------------------------------------------------------

  void on_fired(const waitable& fired) {
    if (fired == shared->wake) {
      on_wake();
      return;
    }
    if (group_delay && fired == *group_delay) {
      on_group_delay();
      return;
    }
    auto found = waits.find(fired.id());
    if (found == waits.end()) {
      context->remove_wait(fired); // Not ours any more.
      return;
    }
    auto target = found->second;
    switch (target.what) {
      case role::child:
        on_child_gone(target.where);
        return;
      case role::limit:
        on_limit(target.where);
        return;
      case role::delay:
        unwatch(*target.where->delay);
        if (target.where->status == child_status::restart_pending)
          start_or_defer(target.where);
        return;
    }
  }

  void abrupt_end() {
    // No more turns: tell every live child to go, last started first.
    for (auto position = slots.rbegin(); position != slots.rend(); ++position) {
      if (position->handle && position->handle.alive()) {
        position->status = child_status::stopping;
        if (position->nested)
          position->nested->request_shutdown();
        position->handle.kill();
        publish(*position);
      }
      for (auto& waiter : position->stop_waiters)
        waiter.set_value(detail::refusal(supervisor_errc::supervisor_ended,
                                         "supervisor '" + spec.name + "' ended first"));
      position->stop_waiters.clear();
    }
    auto refused = shared->close();
    fail_requests(refused, "it has ended");
    std::lock_guard guard{shared->mutex};
    shared->stats.stopping = true;
  }

  std::string describe() const {
    std::ostringstream text;
    std::lock_guard guard{shared->mutex};
    text << "supervisor '" << spec.name << "' " << to_string(spec.strategy) << ", "
         << shared->stats.restarts << " restart(s), " << shared->children.size() << " child(ren)"
         << (shared->stats.stopping ? ", stopping" : "");
    for (auto& [key, child] : shared->children) {
      text << "\n  " << child.name << " [" << to_string(child.restart) << ", "
           << to_string(child.status) << ", on '" << child.scheduler << "'] restarts="
           << child.restarts;
      if (child.ended > 0)
        text << " last end: " << child.last_reason.message();
    }
    return text.str();
  }
};


// -- the applet ---------------------------------------------------------------------

supervisor_applet::supervisor_applet(supervisor_spec spec) {
  validate(spec);
  core_ = std::make_unique<core>(std::move(spec));
}

supervisor_applet::~supervisor_applet() = default;

const std::shared_ptr<detail::supervisor_shared>& supervisor_applet::shared() const noexcept {
  return core_->shared;
}

namespace {
/// Points the core at the running callback's context for its duration.
class context_scope {
public:
  context_scope(applet_context*& slot, applet_context& context) : slot_(slot) { slot_ = &context; }
  ~context_scope() { slot_ = nullptr; }
  context_scope(const context_scope&) = delete;
  context_scope& operator=(const context_scope&) = delete;

private:
  applet_context*& slot_;
};
} // namespace

void supervisor_applet::init(applet_context& context) {
  context_scope scope{core_->context, context};
  context.add_wait(core_->shared->wake);
  // Static children in order; one that cannot start is decided next turn.
  std::vector<core::slot_ref> order;
  for (auto& child : core_->spec.children)
    order.push_back(core_->add_slot(child));
  for (auto child : order)
    core_->start_or_defer(child);
}

void supervisor_applet::preselect(applet_context&) {
  // Registrations persist: children, limits and delays are added and removed
  // as they come and go.
}

waitable supervisor_applet::postselect(applet_context& context, const waitable& fired) {
  context_scope scope{core_->context, context};
  if (!core_->ending)
    core_->on_fired(fired);
  return {};
}

void supervisor_applet::destroy(applet_context& context) {
  context_scope scope{core_->context, context};
  core_->abrupt_end();
}

std::string supervisor_applet::dump(const applet_context&) const {
  return core_->describe();
}

} // namespace actorloop::actors
