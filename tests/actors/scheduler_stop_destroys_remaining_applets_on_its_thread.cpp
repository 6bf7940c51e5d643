// scheduler::stop blocks until every remaining applet's destroy
// callback has run on the scheduler's own thread and its handle is ready; the
// applets' exit reason is errc::scheduler_shutdown. Destroying the engine does
// the same for every scheduler.
// Model: Open Files of_core documentation (ofc_sched_quit).
#include "applet_test_support.hpp"

#include <actorloop/runtime/timer.hpp>

#include <doctest/doctest.h>

using namespace applet_test;

namespace {

struct teardown_observations {
  actorloop_test::latch_counter preselects;
  actorloop_test::latch_counter destroys;
  actorloop_test::thread_id_set destroy_threads;
  std::atomic<int> handle_ready_during_destroy{0};
};

actors::applet_callbacks waits_forever(teardown_observations& seen, const runtime::event& never_set) {
  actors::applet_callbacks callbacks;
  callbacks.name = "resident";
  callbacks.preselect = [&seen, never_set](actors::applet_context& context) {
    if (!context.waiting_on(never_set))
      context.add_wait(never_set);
    seen.preselects.increment();
  };
  callbacks.destroy = [&seen](actors::applet_context& context) {
    if (context.self().ready())
      ++seen.handle_ready_during_destroy;
    seen.destroy_threads.insert();
    seen.destroys.increment();
  };
  return callbacks;
}

void check_shut_down(const actors::applet_handle& handle) {
  CHECK(handle.ready());
  CHECK(handle.state() == actors::applet_state::destroyed);
  CHECK_FALSE(handle.alive());
  auto reason = handle.exit_reason();
  CHECK_FALSE(reason.is_normal());
  CHECK(reason.code() == runtime::errc::scheduler_shutdown);
  CHECK_FALSE(reason.message().empty());
}

} // namespace

TEST_CASE("stop returns after every applet was destroyed on the scheduler's thread") {
  constexpr std::size_t applet_count = 3;
  teardown_observations seen;
  runtime::event never_set{runtime::reset_mode::manual, "never-set"};

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);
  auto loop_threads = loop.thread_ids();

  std::vector<actors::applet_handle> handles;
  for (std::size_t index = 0; index < applet_count; ++index)
    handles.push_back(actors::spawn_applet(engine, "loop", waits_forever(seen, never_set)));
  REQUIRE(seen.preselects.wait_for_at_least(applet_count, 5s));

  loop.stop();

  // No waiting here: stop itself blocked until all of this was true.
  CHECK(seen.destroys.value() == applet_count);
  CHECK(seen.destroy_threads.size() == 1);
  CHECK(all_within(seen.destroy_threads, loop_threads));
  CHECK(seen.handle_ready_during_destroy.load() == 0);
  for (auto& handle : handles)
    check_shut_down(handle);
  CHECK(loop.stopped());
  CHECK(loop.empty());
  CHECK(loop.applet_count() == 0);
  CHECK(actors::list_applets(engine).empty());

  // Idempotent.
  loop.stop();
  CHECK(seen.destroys.value() == applet_count);
}

TEST_CASE("stop destroys an applet that is busy with a level-triggered event") {
  teardown_observations seen;
  actorloop_test::latch_counter postselects;
  runtime::event always_set{runtime::reset_mode::manual, "always-set"};
  always_set.set();

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);
  auto loop_threads = loop.thread_ids();

  actors::applet_callbacks callbacks = waits_forever(seen, always_set);
  callbacks.postselect = [&](actors::applet_context&, const runtime::waitable&) -> runtime::waitable {
    postselects.increment();
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(postselects.wait_for_at_least(10, 5s));

  loop.stop();
  CHECK(seen.destroys.value() == 1);
  CHECK(all_within(seen.destroy_threads, loop_threads));
  check_shut_down(handle);
  CHECK(loop.empty());
}

TEST_CASE("stop called from one of the scheduler's own threads throws wrong_thread") {
  actorloop_test::latch_counter attempts;
  std::error_code refusal;
  std::atomic<bool> still_running_after_refusal{false};

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);
  actors::applet_callbacks callbacks;
  callbacks.name = "self-stopper";
  callbacks.init = [&](actors::applet_context& context) {
    refusal = error_code_of([&] { context.scheduler().stop(); });
    still_running_after_refusal = !context.scheduler().stopped();
    context.kill();
    attempts.increment();
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(handle.wait_for(5s));
  REQUIRE(attempts.value() == 1);
  CHECK(refusal == runtime::errc::wrong_thread);
  CHECK(still_running_after_refusal.load());
  CHECK(handle.exit_reason().is_normal());
  CHECK_FALSE(loop.stopped());
}

TEST_CASE("destroying the engine destroys the applets of every scheduler on their own threads") {
  teardown_observations on_default;
  teardown_observations on_first;
  teardown_observations on_second;
  runtime::event never_set{runtime::reset_mode::manual, "never-set"};
  std::vector<std::thread::id> default_threads;
  std::vector<std::thread::id> first_threads;
  std::vector<std::thread::id> second_threads;
  std::vector<actors::applet_handle> handles;
  {
    runtime::engine engine{small_engine_options()};
    auto first = make_scheduler(engine, "first", 1);
    auto second = make_scheduler(engine, "second", 2);
    default_threads = engine.get_scheduler("default").thread_ids();
    first_threads = first.thread_ids();
    second_threads = second.thread_ids();

    handles.push_back(actors::spawn_applet(engine, "default", waits_forever(on_default, never_set)));
    handles.push_back(actors::spawn_applet(engine, "first", waits_forever(on_first, never_set)));
    handles.push_back(actors::spawn_applet(engine, "second", waits_forever(on_second, never_set)));
    handles.push_back(actors::spawn_applet(engine, "second", waits_forever(on_second, never_set)));
    REQUIRE(on_default.preselects.wait_for_at_least(1, 5s));
    REQUIRE(on_first.preselects.wait_for_at_least(1, 5s));
    REQUIRE(on_second.preselects.wait_for_at_least(2, 5s));
  } // the engine goes here

  CHECK(on_default.destroys.value() == 1);
  CHECK(on_first.destroys.value() == 1);
  CHECK(on_second.destroys.value() == 2);
  CHECK(all_within(on_default.destroy_threads, default_threads));
  CHECK(all_within(on_first.destroy_threads, first_threads));
  CHECK(all_within(on_second.destroy_threads, second_threads));
  for (auto& handle : handles)
    check_shut_down(handle);
}
