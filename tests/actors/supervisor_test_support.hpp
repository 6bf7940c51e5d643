// Helpers shared by the supervisor tests. Header only (the test build makes
// one executable per .cpp and ignores headers).
//
// A "worker" child waits on its own auto-reset trigger event; the test sets
// the trigger to make the current instance end (throw, or kill itself
// normally). The trigger belongs to the child's name, so a restarted instance
// waits on the same trigger, and one `set` ends exactly one instance.
#pragma once

#include "applet_test_support.hpp"

#include <actorloop/actors/supervisor.hpp>

#include <doctest/doctest.h>

#include <map>
#include <stdexcept>

// Readable failures for the logs compared below.
namespace doctest {
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& entries) {
    std::string text = "{";
    for (auto& entry : entries)
      text += (text.size() > 1 ? ", \"" : "\"") + entry + "\"";
    text += "}";
    return String(text.c_str());
  }
};
} // namespace doctest

namespace supervisor_test {

using namespace applet_test;

enum class ending { throws, normal };

class worker_controls {
public:
  struct control {
    runtime::event trigger{runtime::reset_mode::automatic, "trigger"};
    std::atomic<ending> how{ending::throws};
  };

  control& of(const std::string& name) {
    std::lock_guard guard{mutex_};
    auto& entry = controls_[name];
    if (!entry)
      entry = std::make_shared<control>();
    return *entry;
  }

  // Makes the current instance of `name` end, in the given way.
  void end(const std::string& name, ending how) {
    auto& target = of(name);
    target.how = how;
    target.trigger.set();
  }

private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<control>> controls_;
};

// A child spec whose instances log "destroy <name>" into `log`.
inline actors::child_spec worker(const std::string& name, worker_controls& controls, event_log& log,
                                 const std::string& scheduler = "work",
                                 actors::restart_type restart = actors::restart_type::permanent) {
  actors::child_spec spec;
  spec.name = name;
  spec.scheduler = scheduler;
  spec.restart = restart;
  auto* control = &controls.of(name);
  spec.callbacks = [name, control, &log] {
    actors::applet_callbacks callbacks;
    callbacks.preselect = [control](actors::applet_context& context) {
      if (!context.waiting_on(control->trigger))
        context.add_wait(control->trigger);
    };
    callbacks.postselect = [name, control](actors::applet_context& context,
                                           const runtime::waitable&) -> runtime::waitable {
      if (control->how.load() == ending::throws)
        throw std::runtime_error(name + " crashed");
      context.kill();
      return {};
    };
    callbacks.destroy = [name, &log](actors::applet_context&) { log.add("destroy " + name); };
    return callbacks;
  };
  return spec;
}

// Logs the supervisor's events as "start x", "stop x", "stopped x",
// "ended x", "overran x", "restart_limit", "shutting_down".
inline std::function<void(const actors::supervisor_event&)> event_logger(event_log& log,
                                                                         std::string prefix = {}) {
  return [&log, prefix](const actors::supervisor_event& event) {
    using kind = actors::supervisor_event::kind;
    switch (event.what) {
      case kind::child_started: log.add(prefix + "start " + event.child); break;
      case kind::child_ended: log.add(prefix + "ended " + event.child); break;
      case kind::child_stopping: log.add(prefix + "stop " + event.child); break;
      case kind::child_stopped: log.add(prefix + "stopped " + event.child); break;
      case kind::child_overran: log.add(prefix + "overran " + event.child); break;
      case kind::restart_limit: log.add(prefix + "restart_limit"); break;
      case kind::shutting_down: log.add(prefix + "shutting_down"); break;
    }
  };
}

inline const actors::child_stats* find_child(const actors::supervisor_stats& stats,
                                             const std::string& name) {
  for (auto& child : stats.children)
    if (child.name == name)
      return &child;
  return nullptr;
}

// The log entries from position `from` on.
inline std::vector<std::string> tail(const event_log& log, std::size_t from) {
  auto entries = log.entries();
  return {entries.begin() + static_cast<std::ptrdiff_t>(std::min(from, entries.size())),
          entries.end()};
}

} // namespace supervisor_test
