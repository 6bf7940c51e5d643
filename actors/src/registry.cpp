#include <actorloop/actors/registry.hpp>

#include "applet_record.hpp"

#include <mutex>
#include <sstream>

namespace actorloop::actors {

namespace detail {

namespace {

int registry_key;

} // namespace

applet_registry& registry_of(runtime::engine& owner) {
  return static_cast<applet_registry&>(runtime::detail::extension(
    owner, &registry_key, []() -> std::unique_ptr<runtime::detail::engine_extension> {
      return std::make_unique<applet_registry>();
    }));
}

applet_registry::~applet_registry() {
  // Every applet has been destroyed (the schedulers stopped first); a record
  // still listed is one whose spawn failed half-way and that a handle keeps:
  // it must not reach back into this registry later.
  std::lock_guard guard{mutex_};
  for (auto* record = head_; record;) {
    auto* next = record->next_registered_;
    record->registered_ = false;
    record->registry = nullptr;
    record->previous_registered_ = record->next_registered_ = nullptr;
    record = next;
  }
  head_ = tail_ = nullptr;
}

void applet_registry::add(const std::shared_ptr<applet_record>& record) {
  std::lock_guard guard{mutex_};
  record->self_ = record;
  record->registered_ = true;
  record->previous_registered_ = tail_;
  record->next_registered_ = nullptr;
  (tail_ ? tail_->next_registered_ : head_) = record.get();
  tail_ = record.get();
}

void applet_registry::remove(applet_record& record) noexcept {
  std::lock_guard guard{mutex_};
  if (!record.registered_)
    return;
  record.registered_ = false;
  record.registry = nullptr; // the record's destructor has nothing to do then
  (record.previous_registered_ ? record.previous_registered_->next_registered_ : head_) =
    record.next_registered_;
  (record.next_registered_ ? record.next_registered_->previous_registered_ : tail_) =
    record.previous_registered_;
  record.previous_registered_ = record.next_registered_ = nullptr;
}

std::vector<std::shared_ptr<applet_record>> applet_registry::snapshot() const {
  std::vector<std::shared_ptr<applet_record>> result;
  std::lock_guard guard{mutex_};
  // A record whose last reference went is skipped; its destructor unlinks it
  // (under this mutex) before its memory goes.
  for (auto* record = head_; record; record = record->next_registered_)
    if (auto alive = record->self_.lock())
      result.push_back(std::move(alive));
  return result;
}

} // namespace detail

std::vector<applet_info> list_applets(runtime::engine& engine) {
  std::vector<applet_info> result;
  for (auto& record : detail::registry_of(engine).snapshot()) {
    applet_info info;
    info.id = record->id();
    info.name = record->name();
    info.scheduler = record->home.name();
    info.state = record->state.load();
    info.waits = record->waits.load();
    info.events_dispatched = record->events_dispatched.load();
    info.chained_dropped = record->chained_dropped.load();
    result.push_back(std::move(info));
  }
  return result;
}

std::string describe(runtime::engine& engine) {
  std::ostringstream out;
  for (auto& each : engine.schedulers()) {
    auto stats = each.stats();
    auto micros = [](runtime::duration value) {
      return std::chrono::duration_cast<std::chrono::microseconds>(value).count();
    };
    out << "scheduler " << stats.name << ": threads=" << stats.threads
        << " cpus=" << (each.options().cpus.empty() ? "any" : each.options().cpus.to_string())
        << " applets=" << stats.applets << " events_dispatched=" << stats.events_dispatched
        << " turns=" << stats.turns << " queue_depth=" << stats.queue_depth
        << " timers_pending=" << stats.timers_pending << " busy_us=" << micros(stats.busy_time)
        << " uptime_us=" << micros(stats.uptime) << '\n';
  }
  for (auto& info : list_applets(engine))
    out << "applet " << info.id << " '" << info.name << "' on " << info.scheduler << ": "
        << to_string(info.state) << " waits=" << info.waits
        << " events_dispatched=" << info.events_dispatched
        << " chained_dropped=" << info.chained_dropped << '\n';
  return out.str();
}

} // namespace actorloop::actors
