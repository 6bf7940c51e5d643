// An applet waiting on many waitables at once (past the size at which its
// registrations get a hash index) gets one postselect per set of each, and
// none for those it removed, whatever the order of sets and removals.
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace applet_test;

TEST_CASE("200 events, half removed by remove_wait and a quarter by clear_wait") {
  constexpr std::size_t count = 200;
  std::vector<runtime::event> events;
  for (std::size_t index = 0; index < count; ++index)
    events.emplace_back(runtime::reset_mode::automatic, "event " + std::to_string(index));
  runtime::event drop_odd{runtime::reset_mode::automatic, "drop odd"};
  runtime::event keep_quarter{runtime::reset_mode::automatic, "keep quarter"};
  std::map<std::uint64_t, std::size_t> index_of;
  for (std::size_t index = 0; index < count; ++index)
    index_of[events[index].id()] = index;
  std::vector<std::size_t> fired(count, 0); // scheduler thread only until the counters say so
  actorloop_test::latch_counter dispatches;
  actorloop_test::latch_counter commands;
  std::atomic<std::size_t> wait_count{0};

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "many";
  callbacks.init = [&](actors::applet_context& context) {
    for (auto& each : events)
      context.add_wait(each);
    context.add_wait(drop_odd);
    context.add_wait(keep_quarter);
    wait_count = context.wait_count();
  };
  callbacks.postselect = [&](actors::applet_context& context,
                             const runtime::waitable& fired_one) -> runtime::waitable {
    if (fired_one == drop_odd) {
      // The first time each odd event is registered; later there is nothing to remove.
      bool first = commands.value() == 0;
      for (std::size_t index = 1; index < count; index += 2)
        CHECK(context.remove_wait(events[index]) == first);
      wait_count = context.wait_count();
      commands.increment();
    } else if (fired_one == keep_quarter) {
      // Re-register only every fourth event; the other even ones go at commit.
      context.clear_wait();
      for (std::size_t index = 0; index < count; index += 4)
        context.wait_on(events[index]);
      context.wait_on(drop_odd);
      context.wait_on(keep_quarter);
      wait_count = context.wait_count();
      commands.increment();
    } else {
      auto found = index_of.find(fired_one.id());
      REQUIRE(found != index_of.end());
      ++fired[found->second];
      dispatches.increment();
    }
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);

  auto set_all_backwards = [&] {
    for (std::size_t index = count; index-- > 0;)
      events[index].set();
  };
  set_all_backwards();
  REQUIRE(dispatches.wait_for_at_least(count, 5s));

  drop_odd.set();
  REQUIRE(commands.wait_for_at_least(1, 5s));
  CHECK(wait_count.load() == count / 2 + 2);
  set_all_backwards();
  REQUIRE(dispatches.wait_for_at_least(count + count / 2, 5s));

  keep_quarter.set();
  REQUIRE(commands.wait_for_at_least(2, 5s));
  CHECK(wait_count.load() == count / 4 + 2);
  set_all_backwards();
  REQUIRE(dispatches.wait_for_at_least(count + count / 2 + count / 4, 5s));

  // Nothing else is on its way: a last command is handled after any
  // dispatch still queued.
  drop_odd.set();
  REQUIRE(commands.wait_for_at_least(3, 5s));
  handle.kill();
  REQUIRE(handle.wait_for(5s));

  CHECK(dispatches.value() == count + count / 2 + count / 4);
  for (std::size_t index = 0; index < count; ++index) {
    auto expected = index % 4 == 0 ? 3u : index % 2 == 0 ? 2u : 1u;
    CHECK_MESSAGE(fired[index] == expected, "event " << index);
  }
}
