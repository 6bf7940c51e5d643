// The supervision error category and the printable names of its enums.
#include <actorloop/actors/supervisor.hpp>

#include <string>

namespace actorloop::actors {

namespace {

class supervisor_error_category final : public std::error_category {
public:
  const char* name() const noexcept override { return "actorloop.supervisor"; }

  std::string message(int value) const override {
    switch (static_cast<supervisor_errc>(value)) {
      case supervisor_errc::restart_limit: return "restart intensity exceeded";
      case supervisor_errc::shutdown_overrun: return "destroy overran the shutdown limit";
      case supervisor_errc::start_failed: return "child could not be started";
      case supervisor_errc::supervisor_ended: return "supervisor has ended";
      case supervisor_errc::no_such_child: return "no such child";
    }
    return "unknown actorloop.supervisor error " + std::to_string(value);
  }
};

} // namespace

const std::error_category& supervisor_category() noexcept {
  static const supervisor_error_category instance;
  return instance;
}

std::error_code make_error_code(supervisor_errc value) noexcept {
  return {static_cast<int>(value), supervisor_category()};
}

const char* to_string(restart_strategy strategy) noexcept {
  switch (strategy) {
    case restart_strategy::one_for_one: return "one_for_one";
    case restart_strategy::one_for_all: return "one_for_all";
    case restart_strategy::rest_for_one: return "rest_for_one";
    case restart_strategy::simple_one_for_one: return "simple_one_for_one";
  }
  return "unknown";
}

const char* to_string(restart_type type) noexcept {
  switch (type) {
    case restart_type::permanent: return "permanent";
    case restart_type::transient: return "transient";
    case restart_type::temporary: return "temporary";
  }
  return "unknown";
}

const char* to_string(child_status status) noexcept {
  switch (status) {
    case child_status::running: return "running";
    case child_status::stopping: return "stopping";
    case child_status::restart_pending: return "restart_pending";
    case child_status::down: return "down";
  }
  return "unknown";
}

const char* to_string(supervisor_event::kind kind) noexcept {
  switch (kind) {
    case supervisor_event::kind::child_started: return "child_started";
    case supervisor_event::kind::child_ended: return "child_ended";
    case supervisor_event::kind::child_stopping: return "child_stopping";
    case supervisor_event::kind::child_stopped: return "child_stopped";
    case supervisor_event::kind::child_overran: return "child_overran";
    case supervisor_event::kind::restart_limit: return "restart_limit";
    case supervisor_event::kind::shutting_down: return "shutting_down";
  }
  return "unknown";
}

} // namespace actorloop::actors
