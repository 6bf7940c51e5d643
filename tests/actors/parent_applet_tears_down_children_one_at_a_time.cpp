// Applets spawning applets, and a parent's teardown of its children: a
// parent spawns children (on its own and on another scheduler), then kills
// them one at a time, waiting on each child's handle before killing the
// next, and finally itself.
// Model: Open Files of_core documentation (test_dg: parent-managed child
// teardown).
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("a parent kills its children one at a time, waiting on each handle, then itself") {
  constexpr std::size_t child_count = 3;
  runtime::event teardown{runtime::reset_mode::automatic, "teardown"};
  event_log log;
  std::atomic<int> children_destroyed{0};
  std::atomic<bool> one_at_a_time{true};
  actorloop_test::latch_counter children_started;
  actorloop_test::thread_id_set child_threads_home;
  actorloop_test::thread_id_set child_threads_away;

  runtime::engine engine{small_engine_options()};
  auto home = make_scheduler(engine, "home", 1);
  auto away = make_scheduler(engine, "away", 1);

  // A child waits on an event of its own that nobody sets.
  auto make_child = [&](std::size_t index) {
    actors::applet_callbacks callbacks;
    callbacks.name = "child-" + std::to_string(index);
    auto idle = runtime::event{runtime::reset_mode::manual, "idle"};
    callbacks.preselect = [&, idle, index](actors::applet_context& context) {
      (index % 2 == 0 ? child_threads_home : child_threads_away).insert();
      if (!context.waiting_on(idle)) {
        context.add_wait(idle);
        children_started.increment();
      }
    };
    callbacks.destroy = [&, index](actors::applet_context&) {
      (index % 2 == 0 ? child_threads_home : child_threads_away).insert();
      ++children_destroyed;
      log.add("child-" + std::to_string(index) + " destroyed");
    };
    return callbacks;
  };

  // Parent state, touched on the home scheduler's thread only.
  std::vector<actors::applet_handle> children;
  std::size_t next_to_kill = 0;

  actors::applet_callbacks parent_callbacks;
  parent_callbacks.name = "parent";
  parent_callbacks.init = [&](actors::applet_context& context) {
    for (std::size_t index = 0; index < child_count; ++index)
      children.push_back(actors::spawn_applet(context.engine(), index % 2 == 0 ? "home" : "away",
                                              make_child(index)));
  };
  parent_callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(teardown))
      context.add_wait(teardown);
  };
  parent_callbacks.postselect = [&](actors::applet_context& context,
                                    const runtime::waitable& fired) -> runtime::waitable {
    if (fired != teardown) {
      // A child's handle: it is gone. Stop waiting on it and go on.
      log.add("parent saw " + children[next_to_kill].name() + " gone");
      context.remove_wait(fired);
      ++next_to_kill;
    }
    // Later children are all still alive when the next kill goes out.
    for (std::size_t later = next_to_kill; later < children.size(); ++later)
      if (!children[later].alive())
        one_at_a_time = false;
    if (next_to_kill == children.size()) {
      context.kill();
      return {};
    }
    log.add("parent kills " + children[next_to_kill].name());
    context.add_wait(children[next_to_kill]);
    children[next_to_kill].kill();
    return {};
  };
  parent_callbacks.destroy = [&](actors::applet_context&) { log.add("parent destroyed"); };

  auto parent = actors::spawn_applet(engine, "home", parent_callbacks);
  REQUIRE(children_started.wait_for_at_least(child_count, 5s));
  CHECK(home.applet_count() == 3); // parent + children 0 and 2
  CHECK(away.applet_count() == 1);

  teardown.set();
  REQUIRE(parent.wait_for(5s));

  std::vector<std::string> expected;
  for (std::size_t index = 0; index < child_count; ++index) {
    auto name = "child-" + std::to_string(index);
    expected.push_back("parent kills " + name);
    expected.push_back(name + " destroyed");
    expected.push_back("parent saw " + name + " gone");
  }
  expected.push_back("parent destroyed");
  CHECK(log.entries() == expected);
  CHECK(one_at_a_time.load());
  CHECK(children_destroyed.load() == static_cast<int>(child_count));
  for (auto& child : children) {
    CHECK(child.state() == actors::applet_state::destroyed);
    CHECK(child.exit_reason().is_normal());
  }
  CHECK(all_within(child_threads_home, home.thread_ids()));
  CHECK(all_within(child_threads_away, away.thread_ids()));
  CHECK(home.empty());
  CHECK(away.empty());
}
