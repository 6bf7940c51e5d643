// On a scheduler with several workers, an applet spawned from a callback
// running on one of that scheduler's workers is queued on that worker's own
// queue, which the worker serves before the scheduler's shared queue: with
// its sibling busy (nobody to steal), the child runs on the spawning worker,
// ahead of an applet woken (through the shared queue) just before the spawn.
// (Before, the child went to the shared queue behind the woken applet.)
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace applet_test;

namespace {

// Which thread ran each named step.
class thread_record {
public:
  void note(const std::string& step) {
    std::lock_guard guard{mutex_};
    threads_[step] = std::this_thread::get_id();
  }
  [[nodiscard]] std::thread::id of(const std::string& step) const {
    std::lock_guard guard{mutex_};
    auto found = threads_.find(step);
    return found == threads_.end() ? std::thread::id{} : found->second;
  }

private:
  mutable std::mutex mutex_;
  std::map<std::string, std::thread::id> threads_;
};

} // namespace

TEST_CASE("a child spawned by an applet runs on the spawning worker before the shared queue") {
  runtime::engine engine{small_engine_options()};
  auto pair = make_scheduler(engine, "pair", 2);

  event_log order;
  thread_record threads;
  gate held;
  gate release;
  actorloop_test::latch_counter woken_waits;
  runtime::event nudge{runtime::reset_mode::automatic, "nudge"};

  // Holds one of the two workers, so the other is the only one running
  // applets and nobody can steal from it.
  actors::applet_callbacks blocker;
  blocker.name = "blocker";
  blocker.init = [&](actors::applet_context& context) {
    threads.note("blocker");
    held.open();
    (void)release.wait_for(20s); // std primitive, bounded: see applet_test_support.hpp
    context.kill();
  };
  auto blocker_handle = actors::spawn_applet(engine, pair, blocker);
  REQUIRE(held.wait_for(10s));

  // Waits on `nudge`; set by the parent, it is woken through the shared queue.
  actors::applet_callbacks woken;
  woken.name = "woken";
  woken.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(nudge)) {
      context.add_wait(nudge);
      woken_waits.increment();
    }
  };
  woken.postselect = [&](actors::applet_context& context,
                         const runtime::waitable&) -> runtime::waitable {
    threads.note("woken");
    order.add("woken");
    context.kill();
    return {};
  };
  auto woken_handle = actors::spawn_applet(engine, pair, woken);
  REQUIRE(woken_waits.wait_for_at_least(1, 10s));

  actors::applet_handle child_handle;
  actors::applet_callbacks parent;
  parent.name = "parent";
  parent.init = [&](actors::applet_context& context) {
    threads.note("parent");
    order.add("parent");
    nudge.set(); // "woken" goes to the shared queue first...
    actors::applet_callbacks child;
    child.name = "child";
    child.init = [&](actors::applet_context& child_context) {
      threads.note("child");
      order.add("child");
      child_context.kill();
    };
    // ...then the child, to this worker's own queue.
    child_handle = actors::spawn_applet(context.engine(), context.scheduler(), child);
    context.kill();
  };
  auto parent_handle = actors::spawn_applet(engine, pair, parent);

  REQUIRE(order.wait_for_size(3, 10s));
  release.open();
  for (auto* handle : {&blocker_handle, &woken_handle, &parent_handle, &child_handle})
    REQUIRE(handle->wait_for(10s));

  auto entries = order.entries();
  CAPTURE(entries);
  CHECK(entries == std::vector<std::string>{"parent", "child", "woken"});
  CHECK(threads.of("child") == threads.of("parent"));
  CHECK(threads.of("woken") == threads.of("parent"));
  CHECK(threads.of("blocker") != threads.of("parent"));
  for (auto* handle : {&blocker_handle, &woken_handle, &parent_handle, &child_handle})
    CHECK(handle->exit_reason().is_normal());
  CHECK(pair.applet_count() == 0);
}
