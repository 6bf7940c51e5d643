// scheduler::wake from any thread is a significant event: every
// applet on that scheduler re-runs its preselect promptly, and only those.
// Model: Open Files of_core documentation (ofc_sched_wake).
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

#include <array>

using namespace applet_test;

namespace {

actors::applet_callbacks counting_preselects(actorloop_test::latch_counter& preselects,
                                             actorloop_test::latch_counter& postselects,
                                             const runtime::event& never_set) {
  actors::applet_callbacks callbacks;
  callbacks.name = "idle-listener";
  callbacks.preselect = [&preselects, never_set](actors::applet_context& context) {
    preselects.increment();
    if (!context.waiting_on(never_set))
      context.add_wait(never_set);
  };
  callbacks.postselect = [&postselects](actors::applet_context&,
                                        const runtime::waitable&) -> runtime::waitable {
    postselects.increment();
    return {};
  };
  return callbacks;
}

} // namespace

TEST_CASE("wake from another thread re-runs the preselect of every applet on the scheduler promptly") {
  constexpr std::size_t applet_count = 3;
  std::array<actorloop_test::latch_counter, applet_count> preselects;
  std::array<actorloop_test::latch_counter, applet_count> postselects;
  runtime::event never_set{runtime::reset_mode::manual, "never-set"};

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);
  auto elsewhere = make_scheduler(engine, "elsewhere", 1);

  std::vector<actors::applet_handle> handles;
  for (std::size_t index = 0; index < applet_count; ++index)
    handles.push_back(actors::spawn_applet(
      engine, "loop", counting_preselects(preselects[index], postselects[index], never_set)));
  for (auto& counter : preselects)
    REQUIRE(counter.wait_for_at_least(1, 5s));

  // From a plain thread: each applet's preselect runs once more, within a second.
  std::thread waker{[&loop] { loop.wake(); }};
  waker.join();
  for (auto& counter : preselects)
    REQUIRE(counter.wait_for_at_least(2, 1s));

  // Waking another scheduler does not touch these applets: after one more
  // wake of their own scheduler each has run exactly three preselects.
  elsewhere.wake();
  loop.wake();
  for (auto& counter : preselects)
    REQUIRE(counter.wait_for_at_least(3, 1s));

  for (auto& handle : handles)
    handle.kill();
  for (auto& handle : handles)
    REQUIRE(handle.wait_for(5s));
  for (std::size_t index = 0; index < applet_count; ++index) {
    CAPTURE(index);
    CHECK(preselects[index].value() == 3);
    CHECK(postselects[index].value() == 0);
  }
}

TEST_CASE("a preselect re-run by wake may register a new waitable that then fires") {
  actorloop_test::latch_counter preselects;
  actorloop_test::latch_counter postselects;
  std::atomic<bool> want_doorbell{false};
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "late-registrar";
  callbacks.preselect = [&](actors::applet_context& context) {
    preselects.increment();
    if (want_doorbell.load() && !context.waiting_on(doorbell))
      context.add_wait(doorbell);
  };
  callbacks.postselect = [&](actors::applet_context&, const runtime::waitable& fired) -> runtime::waitable {
    CHECK(fired == doorbell);
    postselects.increment();
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(preselects.wait_for_at_least(1, 5s));

  // The doorbell is set but not registered: nothing happens until the wake
  // makes the applet look at its configuration again.
  doorbell.set();
  want_doorbell = true;
  loop.wake();
  REQUIRE(postselects.wait_for_at_least(1, 1s));

  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(postselects.value() == 1);
  CHECK_FALSE(doorbell.test());
}
