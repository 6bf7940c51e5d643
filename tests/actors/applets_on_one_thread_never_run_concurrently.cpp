// An applet's callbacks never overlap, and applets on a
// one-thread scheduler never run at the same time, however many threads feed
// them events; applets on different schedulers may run in parallel.
// Model: Open Files of_core documentation (the scheduler loop: one thread per
// scheduler).
#include "applet_test_support.hpp"

#include <actorloop/runtime/wait_queue.hpp>

#include <doctest/doctest.h>

#include <array>

using namespace applet_test;

namespace {

// Applets that each drain their own queue one item per postselect while
// plain threads push; every callback is inside the gauges.
void hammer(std::size_t scheduler_threads, concurrency_gauge& whole_scheduler,
            std::array<concurrency_gauge, 3>& per_applet) {
  constexpr std::size_t applet_count = 3;
  constexpr int items_per_applet = 2000;
  std::array<runtime::wait_queue<int>, applet_count> queues;
  std::array<int, applet_count> last_item{-1, -1, -1}; // per applet, its thread only
  std::array<std::atomic<bool>, applet_count> in_order{true, true, true};
  actorloop_test::latch_counter consumed;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "shared", scheduler_threads);

  std::vector<actors::applet_handle> handles;
  for (std::size_t index = 0; index < applet_count; ++index) {
    actors::applet_callbacks callbacks;
    callbacks.name = "drainer-" + std::to_string(index);
    callbacks.preselect = [&, index](actors::applet_context& context) {
      whole_scheduler.enter();
      per_applet[index].enter();
      if (!context.waiting_on(queues[index]))
        context.add_wait(queues[index]);
      per_applet[index].leave();
      whole_scheduler.leave();
    };
    callbacks.postselect = [&, index](actors::applet_context&,
                                      const runtime::waitable&) -> runtime::waitable {
      whole_scheduler.enter();
      per_applet[index].enter();
      if (auto item = queues[index].try_pop()) {
        if (*item != last_item[index] + 1)
          in_order[index] = false;
        last_item[index] = *item;
        consumed.increment();
      }
      per_applet[index].leave();
      whole_scheduler.leave();
      return {};
    };
    handles.push_back(actors::spawn_applet(engine, "shared", callbacks));
  }

  std::vector<std::thread> producers;
  for (std::size_t index = 0; index < applet_count; ++index)
    producers.emplace_back([&queues, index] {
      for (int item = 0; item < items_per_applet; ++item)
        queues[index].push(item);
    });
  for (auto& producer : producers)
    producer.join();
  REQUIRE(consumed.wait_for_at_least(applet_count * items_per_applet, 20s));

  for (auto& handle : handles)
    handle.kill();
  for (auto& handle : handles)
    REQUIRE(handle.wait_for(5s));
  CHECK(consumed.value() == applet_count * items_per_applet);
  for (std::size_t index = 0; index < applet_count; ++index) {
    CAPTURE(index);
    CHECK(in_order[index].load());
    CHECK(last_item[index] == items_per_applet - 1);
  }
}

} // namespace

TEST_CASE("applets on a one-thread scheduler never run at the same time over 6000 events") {
  concurrency_gauge whole_scheduler;
  std::array<concurrency_gauge, 3> per_applet;
  hammer(1, whole_scheduler, per_applet);
  CHECK(whole_scheduler.peak() == 1);
  for (auto& gauge : per_applet)
    CHECK(gauge.peak() == 1);
}

TEST_CASE("on a two-thread scheduler one applet's callbacks still never overlap") {
  concurrency_gauge whole_scheduler;
  std::array<concurrency_gauge, 3> per_applet;
  hammer(2, whole_scheduler, per_applet);
  CHECK(whole_scheduler.peak() >= 1);
  CHECK(whole_scheduler.peak() <= 2);
  for (auto& gauge : per_applet)
    CHECK(gauge.peak() == 1);
}

TEST_CASE("applets on different schedulers run in parallel") {
  // Each applet waits inside its postselect until the other is inside its own;
  // that can only succeed if both run at the same time.
  gate first_inside;
  gate second_inside;
  std::atomic<bool> first_met{false};
  std::atomic<bool> second_met{false};
  concurrency_gauge both;
  runtime::event go{runtime::reset_mode::manual, "go"};
  actorloop_test::latch_counter preselected;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "left", 1);
  make_scheduler(engine, "right", 1);

  auto make = [&](std::string name, gate& mine, gate& theirs, std::atomic<bool>& met) {
    actors::applet_callbacks callbacks;
    callbacks.name = std::move(name);
    callbacks.preselect = [&](actors::applet_context& context) {
      if (!context.waiting_on(go)) {
        context.add_wait(go);
        preselected.increment();
      }
    };
    callbacks.postselect = [&](actors::applet_context& context,
                               const runtime::waitable&) -> runtime::waitable {
      both.enter();
      mine.open();
      met = theirs.wait_for(5s);
      both.leave();
      context.kill();
      return {};
    };
    return callbacks;
  };
  auto left = actors::spawn_applet(engine, "left", make("left", first_inside, second_inside, first_met));
  auto right =
    actors::spawn_applet(engine, "right", make("right", second_inside, first_inside, second_met));
  REQUIRE(preselected.wait_for_at_least(2, 5s));
  go.set();
  REQUIRE(left.wait_for(10s));
  REQUIRE(right.wait_for(10s));
  CHECK(first_met.load());
  CHECK(second_met.load());
  CHECK(both.peak() == 2);
}
