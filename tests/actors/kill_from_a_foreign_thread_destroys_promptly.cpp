// Kill from a thread that is not the applet's scheduler
// wakes it, so destroy runs promptly even if the applet waits on nothing (the
// original could take up to 4 s). Kill is idempotent and works at any stage.
// Model: Open Files of_core documentation (ofc_app_kill); actorloop
// deliberately improves on the original here.
#include "applet_test_support.hpp"

#include <actorloop/runtime/timer.hpp>

#include <doctest/doctest.h>

using namespace applet_test;

namespace {

struct lifecycle_counts {
  std::atomic<int> preselects{0};
  std::atomic<int> postselects{0};
  std::atomic<int> destroys{0};
  actorloop_test::latch_counter preselected;
  actorloop_test::thread_id_set destroy_threads;
};

actors::applet_callbacks counting(lifecycle_counts& seen,
                                  std::vector<runtime::waitable> waits = {}) {
  actors::applet_callbacks callbacks;
  callbacks.name = "target";
  callbacks.preselect = [&seen, waits](actors::applet_context& context) {
    ++seen.preselects;
    for (auto& each : waits)
      if (!context.waiting_on(each))
        context.add_wait(each);
    seen.preselected.increment();
  };
  callbacks.postselect = [&seen](actors::applet_context&,
                                 const runtime::waitable&) -> runtime::waitable {
    ++seen.postselects;
    return {};
  };
  callbacks.destroy = [&seen](actors::applet_context&) {
    seen.destroy_threads.insert();
    ++seen.destroys;
  };
  return callbacks;
}

} // namespace

TEST_CASE("killing an applet that waits on nothing destroys it within a second") {
  lifecycle_counts seen;
  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);
  auto handle = actors::spawn_applet(engine, "loop", counting(seen));
  REQUIRE(seen.preselected.wait_for_at_least(1, 5s));

  handle.kill();
  REQUIRE(handle.wait_for(1s));
  CHECK(seen.destroys.load() == 1);
  CHECK(seen.postselects.load() == 0);
  CHECK(seen.preselects.load() == 1);
  CHECK(all_within(seen.destroy_threads, loop.thread_ids()));
  CHECK(handle.exit_reason().is_normal());
}

TEST_CASE("a kill from a plain thread reaches an applet waiting on a far timer within a second") {
  lifecycle_counts seen;
  runtime::event never_set{runtime::reset_mode::manual, "never-set"};
  runtime::timer far_away{"far-away"};
  far_away.set(1h);

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);
  auto handle = actors::spawn_applet(engine, "loop", counting(seen, {never_set, far_away}));
  REQUIRE(seen.preselected.wait_for_at_least(1, 5s));

  std::thread killer{[handle]() mutable { handle.kill(); }};
  killer.join();
  REQUIRE(handle.wait_for(1s));
  CHECK(seen.destroys.load() == 1);
  CHECK_FALSE(seen.destroy_threads.contains(std::this_thread::get_id()));
  CHECK(all_within(seen.destroy_threads, loop.thread_ids()));
}

TEST_CASE("a kill before the applet started means no preselect at all, and destroy once") {
  lifecycle_counts seen;
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  // Hold the scheduler so the new applet cannot start before the kill.
  scheduler_hold hold{engine, "loop"};
  REQUIRE(hold.hold());
  auto handle = actors::spawn_applet(engine, "loop", counting(seen));
  handle.kill();
  hold.release();
  REQUIRE(handle.wait_for(1s));
  CHECK(hold.released_in_time());
  CHECK(seen.preselects.load() == 0);
  CHECK(seen.postselects.load() == 0);
  CHECK(seen.destroys.load() == 1);
  CHECK(handle.exit_reason().is_normal());
}

TEST_CASE("kill is idempotent and harmless after the applet is gone") {
  lifecycle_counts seen;
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);
  auto handle = actors::spawn_applet(engine, "loop", counting(seen));
  REQUIRE(seen.preselected.wait_for_at_least(1, 5s));

  handle.kill();
  handle.kill();
  REQUIRE(handle.wait_for(1s));
  handle.kill();
  std::thread late_killer{[handle]() mutable { handle.kill(); }};
  late_killer.join();
  CHECK(seen.destroys.load() == 1);
  CHECK(handle.state() == actors::applet_state::destroyed);
  CHECK(handle.exit_reason().is_normal());
}
