#include <actorloop/runtime/error.hpp>

namespace actorloop::runtime {

namespace {

class runtime_error_category final : public std::error_category {
public:
  const char* name() const noexcept override { return "actorloop.runtime"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_argument: return "invalid argument";
      case errc::invalid_cpu_set: return "invalid CPU set";
      case errc::permission_denied: return "permission denied";
      case errc::scheduler_exists: return "a scheduler with that name exists";
      case errc::no_such_scheduler: return "no such scheduler";
      case errc::scheduler_stopped: return "scheduler stopped";
      case errc::already_waiting: return "already waiting on this waitable";
      case errc::not_waiting: return "not waiting on this waitable";
      case errc::queue_full: return "wait queue full";
      case errc::closed: return "waitable closed";
      case errc::timed_out: return "timed out";
      case errc::would_block_scheduler: return "would block a scheduler thread";
      case errc::callback_threw: return "applet callback threw";
      case errc::scheduler_shutdown: return "scheduler shut down";
      case errc::wrong_thread: return "called from the wrong thread";
      case errc::system_failure: return "system call failed";
      case errc::bad_configuration: return "bad configuration";
    }
    return "unknown actorloop.runtime error " + std::to_string(value);
  }
};

} // namespace

const std::error_category& runtime_category() noexcept {
  static const runtime_error_category instance;
  return instance;
}

std::error_code make_error_code(errc value) noexcept {
  return {static_cast<int>(value), runtime_category()};
}

error::error(errc code, const std::string& message)
  : std::system_error(make_error_code(code), message) {}

error::error(std::error_code code, const std::string& message)
  : std::system_error(code, message) {}

} // namespace actorloop::runtime
