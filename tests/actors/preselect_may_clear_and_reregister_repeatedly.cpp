// Inside preselect an applet may clear and re-add its waits any
// number of times (the Open Files test apps' do/while state loop); only the
// final set counts, and re-adding a waitable after clear_wait is not a
// double registration.
// Model: Open Files of_core documentation (the test apps' preselect state
// loop).
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("after several clear_wait/add_wait rounds in one preselect only the final set is waited on") {
  runtime::event a{runtime::reset_mode::automatic, "a"};
  runtime::event b{runtime::reset_mode::automatic, "b"};
  runtime::event c{runtime::reset_mode::automatic, "c"};
  event_log fired_names;
  actorloop_test::latch_counter preselects;
  std::atomic<bool> final_set_as_expected{true};

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "fickle";
  callbacks.preselect = [&](actors::applet_context& context) {
    context.clear_wait();
    context.add_wait(a);
    context.add_wait(b);
    context.clear_wait();
    context.add_wait(b);
    context.add_wait(c);
    context.clear_wait();
    context.add_wait(c);
    if (context.wait_count() != 1 || context.waiting_on(a) || context.waiting_on(b) ||
        !context.waiting_on(c))
      final_set_as_expected = false;
    preselects.increment();
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    fired_names.add(fired.name());
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(preselects.wait_for_at_least(1, 5s));

  a.set();
  b.set();
  c.set();
  REQUIRE(fired_names.wait_for_size(1, 5s));
  REQUIRE(preselects.wait_for_at_least(2, 5s));
  c.set();
  REQUIRE(fired_names.wait_for_size(2, 5s));
  REQUIRE(preselects.wait_for_at_least(3, 5s));
  // The latch fires inside preselect; a dump is handled after that turn has
  // ended, so the registry then shows the committed set.
  (void)handle.dump();

  auto info = find_info(engine, handle.applet_id());
  REQUIRE(info.has_value());
  CHECK(info->waits == 1);

  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(fired_names.entries() == std::vector<std::string>{"c", "c"});
  CHECK(final_set_as_expected.load());
  CHECK(preselects.value() == 3);
  // Nobody consumed the ones that were dropped from the set.
  CHECK(a.test());
  CHECK(b.test());
  CHECK(handle.exit_reason().is_normal());
}

TEST_CASE("a state machine that changes state inside preselect re-registers for the new state") {
  enum class phase { idle, running, done };
  runtime::event work{runtime::reset_mode::automatic, "work"};
  runtime::event idle_only{runtime::reset_mode::manual, "idle-only"};
  idle_only.set(); // would fire at once if it stayed registered
  phase state = phase::idle; // touched only on the scheduler thread
  std::atomic<int> work_done{0};
  std::atomic<int> idle_dispatches{0};
  actorloop_test::latch_counter preselects;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "state-machine";
  callbacks.preselect = [&](actors::applet_context& context) {
    phase entry;
    do {
      entry = state;
      context.clear_wait();
      switch (state) {
        case phase::idle:
          context.add_wait(idle_only);
          state = phase::running; // resources made: run again for the new state
          break;
        case phase::running:
          context.add_wait(work);
          break;
        case phase::done:
          context.kill();
          break;
      }
    } while (state != entry);
    preselects.increment();
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    if (fired == idle_only)
      ++idle_dispatches;
    if (fired == work && ++work_done == 3)
      state = phase::done;
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  for (int round = 1; round <= 3; ++round) {
    REQUIRE(preselects.wait_for_at_least(static_cast<std::size_t>(round), 5s));
    work.set();
  }
  REQUIRE(handle.wait_for(5s));
  CHECK(work_done.load() == 3);
  CHECK(idle_dispatches.load() == 0);
  CHECK(preselects.value() == 4);
  CHECK(idle_only.test());
}
