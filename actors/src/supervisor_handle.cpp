// supervisor_handle: requests from any thread, queued for the supervisor's
// thread; spawn_supervisor and supervisor_child.
#include <actorloop/actors/supervisor.hpp>

#include "supervisor_shared.hpp"

namespace actorloop::actors {

using runtime::errc;
using runtime::error;

namespace {

detail::supervisor_shared& shared_of(const std::shared_ptr<detail::supervisor_shared>& shared) {
  if (!shared)
    throw error(errc::invalid_argument, "operation on an empty supervisor handle");
  return *shared;
}

/// Queues `request` for the supervisor's thread and wakes it, or answers it
/// at once with `supervisor_ended` once the supervisor began to stop.
std::future<child_result> submit(detail::supervisor_shared& shared,
                                 detail::supervisor_request request, const char* call) {
  auto result = request.answer.get_future();
  {
    std::lock_guard guard{shared.mutex};
    if (!shared.accepting) {
      request.answer.set_value(detail::refusal(
        supervisor_errc::supervisor_ended,
        "supervisor '" + shared.stats.name + "': " + call + " after it began to stop"));
      return result;
    }
    shared.requests.push_back(std::move(request));
  }
  shared.wake.set();
  return result;
}

} // namespace

std::future<child_result> supervisor_handle::start_child(std::optional<child_spec> spec) {
  auto& shared = shared_of(shared_);
  detail::supervisor_request request;
  request.what = detail::supervisor_request::kind::start;
  request.spec = std::move(spec);
  return submit(shared, std::move(request), "start_child");
}

std::future<child_result> supervisor_handle::stop_child(const applet_handle& current) {
  auto& shared = shared_of(shared_);
  detail::supervisor_request request;
  request.what = detail::supervisor_request::kind::stop;
  request.target = current.applet_id();
  return submit(shared, std::move(request), "stop_child");
}

void supervisor_handle::shutdown() {
  shared_of(shared_).request_shutdown();
}

supervisor_stats supervisor_handle::stats() const {
  auto& shared = shared_of(shared_);
  std::lock_guard guard{shared.mutex};
  auto result = shared.stats;
  result.children.reserve(shared.children.size());
  for (auto& [key, child] : shared.children)
    result.children.push_back(child);
  return result;
}

supervisor_handle spawn_supervisor(runtime::engine& engine, std::string_view scheduler,
                                   supervisor_spec spec) {
  auto name = spec.name;
  auto body = std::make_unique<supervisor_applet>(std::move(spec));
  auto shared = body->shared();
  auto handle = spawn_applet(engine, scheduler, std::move(body), std::move(name));
  return supervisor_handle{std::move(handle), std::move(shared)};
}

child_spec supervisor_child(supervisor_spec spec, std::string scheduler) {
  // Validate now, so a malformed nested spec is reported where it is written
  // rather than as a start failure inside the tree.
  (void)supervisor_applet{spec};
  child_spec child;
  child.name = spec.name;
  child.scheduler = std::move(scheduler);
  child.restart = restart_type::permanent;
  // OTP's `infinity` for supervisor children: it stops its own children first.
  child.shutdown = std::chrono::hours(1);
  child.make = [spec = std::move(spec)] { return std::make_unique<supervisor_applet>(spec); };
  return child;
}

} // namespace actorloop::actors
