#include <actorloop/actors/registry.hpp>

#include "applet_record.hpp"

#include <map>
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

void applet_registry::add(const std::shared_ptr<applet_record>& record) {
  std::lock_guard guard{mutex};
  applets.emplace_hint(applets.end(), record->id(), record);
}

void applet_registry::remove(std::uint64_t id) noexcept {
  std::lock_guard guard{mutex};
  applets.erase(id);
}

} // namespace detail

std::vector<applet_info> list_applets(runtime::engine& engine) {
  auto& registry = detail::registry_of(engine);
  std::vector<applet_info> result;
  std::lock_guard guard{registry.mutex};
  for (auto& [id, weak] : registry.applets) {
    auto record = weak.lock();
    if (!record)
      continue;
    applet_info info;
    info.id = id;
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
