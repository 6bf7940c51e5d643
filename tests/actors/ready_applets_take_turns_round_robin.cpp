// Applets that are continuously ready on a one-thread scheduler
// with throughput 1 take turns: their dispatches interleave one by one.
// Model: Open Files of_core documentation (the scheduler loop).
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

#include <array>

using namespace applet_test;

TEST_CASE("two applets with a manual event set each alternate on a one-thread scheduler") {
  constexpr int dispatches_each = 10;
  std::array<runtime::event, 2> levels{runtime::event{runtime::reset_mode::manual, "level-a"},
                                       runtime::event{runtime::reset_mode::manual, "level-b"}};
  std::array<std::string, 2> names{"a", "b"};
  std::array<std::atomic<int>, 2> counts{};
  event_log order;
  actorloop_test::latch_counter preselected;

  runtime::engine engine{small_engine_options()};
  runtime::scheduler_options options;
  options.name = "loop";
  options.threads = 1;
  options.throughput = 1;
  engine.create_scheduler(options);

  std::vector<actors::applet_handle> handles;
  for (std::size_t index = 0; index < 2; ++index) {
    actors::applet_callbacks callbacks;
    callbacks.name = names[index];
    callbacks.preselect = [&, index](actors::applet_context& context) {
      if (counts[index].load() == 0 && !context.waiting_on(levels[index])) {
        context.add_wait(levels[index]);
        preselected.increment();
      }
    };
    callbacks.postselect = [&, index](actors::applet_context&,
                                      const runtime::waitable&) -> runtime::waitable {
      order.add(names[index]);
      if (++counts[index] == dispatches_each)
        levels[index].reset();
      return {};
    };
    handles.push_back(actors::spawn_applet(engine, "loop", callbacks));
  }
  REQUIRE(preselected.wait_for_at_least(2, 5s));

  {
    // Both become ready while the thread is held, so they start level.
    scheduler_hold hold{engine, "loop"};
    REQUIRE(hold.hold());
    levels[0].set();
    levels[1].set();
    hold.release();
    CHECK(hold.released_in_time());
  }
  REQUIRE(order.wait_for_size(2 * dispatches_each, 5s));
  for (auto& handle : handles)
    handle.kill();
  for (auto& handle : handles)
    REQUIRE(handle.wait_for(5s));

  auto entries = order.entries();
  REQUIRE(entries.size() == 2 * dispatches_each);
  CAPTURE(entries);
  CHECK(entries[0] == "a"); // the first to become ready goes first
  for (std::size_t index = 1; index < entries.size(); ++index)
    CHECK(entries[index] != entries[index - 1]);
  CHECK(counts[0].load() == dispatches_each);
  CHECK(counts[1].load() == dispatches_each);
}
