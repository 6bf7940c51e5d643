// spawn_applet takes the scheduler handle that create_scheduler returns, as
// well as a name: the applet runs on that scheduler's threads. An empty
// handle, a handle of another engine, and a removed scheduler are refused
// with clear errors.
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("an applet spawned with a scheduler handle runs on that scheduler's threads") {
  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};
  actorloop_test::thread_id_set threads;
  actorloop_test::latch_counter preselects;
  actorloop_test::latch_counter postselects;

  actors::applet_callbacks callbacks;
  callbacks.name = "by-handle";
  callbacks.preselect = [&](actors::applet_context& context) {
    threads.insert();
    context.wait_on(doorbell);
    preselects.increment();
  };
  callbacks.postselect = [&](actors::applet_context& context,
                             const runtime::waitable&) -> runtime::waitable {
    threads.insert();
    CHECK(context.scheduler() == loop);
    postselects.increment();
    return {};
  };
  auto handle = actors::spawn_applet(engine, loop, callbacks);
  CHECK(handle.scheduler_name() == "loop");
  REQUIRE(preselects.wait_for_at_least(1, 5s));
  doorbell.set();
  REQUIRE(postselects.wait_for_at_least(1, 5s));
  CHECK(all_within(threads, loop.thread_ids()));
  CHECK(loop.applet_count() == 1);
  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(loop.applet_count() == 0);
}

TEST_CASE("an empty handle, another engine's scheduler and a removed scheduler are refused") {
  runtime::engine engine{small_engine_options()};
  runtime::engine other{small_engine_options()};
  auto foreign = make_scheduler(other, "elsewhere", 1);
  auto doomed = make_scheduler(engine, "doomed", 1);
  engine.remove_scheduler("doomed");

  std::atomic<int> callbacks_run{0};
  actors::applet_callbacks callbacks;
  callbacks.name = "refused";
  callbacks.preselect = [&](actors::applet_context&) { ++callbacks_run; };

  auto spawn_on = [&](const runtime::scheduler& where) {
    return error_code_of([&] { (void)actors::spawn_applet(engine, where, callbacks); });
  };
  CHECK(spawn_on(runtime::scheduler{}) == runtime::errc::invalid_argument);
  CHECK(spawn_on(foreign) == runtime::errc::invalid_argument);
  CHECK(spawn_on(doomed) == runtime::errc::scheduler_stopped);
  CHECK(error_code_of([&] {
          (void)actors::spawn_applet(engine, engine.get_scheduler("default"),
                                     std::unique_ptr<actors::applet>{});
        }) == runtime::errc::invalid_argument);
  CHECK(actors::list_applets(engine).empty());
  CHECK(callbacks_run.load() == 0);
}
