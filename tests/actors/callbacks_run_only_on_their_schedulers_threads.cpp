// Every callback of an applet on scheduler S runs on one of S's
// worker threads, never on the thread that created, fed or killed it; and N
// schedulers are N independent loops.
// Model: Open Files of_core documentation (ofc_sched_create: one loop thread
// per scheduler).
#include "applet_test_support.hpp"

#include <actorloop/runtime/wait_queue.hpp>

#include <doctest/doctest.h>

#include <array>

using namespace applet_test;

namespace {

// What the applets of one scheduler saw.
struct scheduler_observations {
  actorloop_test::thread_id_set callback_threads;
  actorloop_test::latch_counter postselects;
  actorloop_test::latch_counter destroys;
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};
};

actors::applet_callbacks recording_callbacks(scheduler_observations& seen, std::string name) {
  actors::applet_callbacks callbacks;
  callbacks.name = std::move(name);
  callbacks.init = [&seen](actors::applet_context&) { seen.callback_threads.insert(); };
  callbacks.preselect = [&seen](actors::applet_context& context) {
    seen.callback_threads.insert();
    if (!context.waiting_on(seen.doorbell))
      context.add_wait(seen.doorbell);
  };
  callbacks.postselect = [&seen](actors::applet_context&,
                                 const runtime::waitable&) -> runtime::waitable {
    seen.callback_threads.insert();
    seen.postselects.increment();
    return {};
  };
  callbacks.destroy = [&seen](actors::applet_context&) {
    seen.callback_threads.insert();
    seen.destroys.increment();
  };
  callbacks.dump = [&seen](const actors::applet_context& context) {
    seen.callback_threads.insert();
    return context.name();
  };
  return callbacks;
}

} // namespace

TEST_CASE("every callback of an applet runs on one of its own scheduler's threads") {
  constexpr std::size_t scheduler_count = 3;
  constexpr std::size_t rounds = 5;
  std::array<scheduler_observations, scheduler_count> seen;

  runtime::engine engine{small_engine_options()};
  std::vector<runtime::scheduler> loops{make_scheduler(engine, "loop-0", 1),
                                        make_scheduler(engine, "loop-1", 1),
                                        make_scheduler(engine, "loop-2", 2)};

  std::vector<actors::applet_handle> handles;
  for (std::size_t index = 0; index < scheduler_count; ++index)
    handles.push_back(actors::spawn_applet(engine, loops[index].name(),
                                           recording_callbacks(seen[index], "recorder")));

  // The events come from the test thread and from a plain thread.
  for (std::size_t round = 0; round < rounds; ++round) {
    for (auto& observations : seen) {
      if (round % 2 == 0) {
        observations.doorbell.set();
      } else {
        std::thread setter{[&observations] { observations.doorbell.set(); }};
        setter.join();
      }
      REQUIRE(observations.postselects.wait_for_at_least(round + 1, 5s));
    }
  }
  for (std::size_t index = 0; index < scheduler_count; ++index)
    CHECK(handles[index].dump() == "recorder");

  std::vector<std::vector<std::thread::id>> thread_ids;
  for (auto& loop : loops)
    thread_ids.push_back(loop.thread_ids());
  for (auto& handle : handles)
    handle.kill();
  for (auto& handle : handles)
    REQUIRE(handle.wait_for(5s));

  for (std::size_t index = 0; index < scheduler_count; ++index) {
    CAPTURE(index);
    CHECK(seen[index].postselects.value() == rounds);
    CHECK(seen[index].destroys.value() == 1);
    CHECK(seen[index].callback_threads.size() >= 1);
    CHECK(all_within(seen[index].callback_threads, thread_ids[index]));
    CHECK_FALSE(seen[index].callback_threads.contains(std::this_thread::get_id()));
    // The schedulers' threads are disjoint.
    for (std::size_t other = 0; other < scheduler_count; ++other)
      if (other != index)
        for (auto id : thread_ids[index])
          CHECK_FALSE(is_one_of(id, thread_ids[other]));
  }
}

TEST_CASE("a scheduler whose thread is held does not stall another scheduler") {
  scheduler_observations seen;
  runtime::engine engine{small_engine_options()};
  auto busy = make_scheduler(engine, "busy", 1);
  auto free_loop = make_scheduler(engine, "free", 1);

  scheduler_hold hold{engine, "busy"};
  REQUIRE(hold.hold());
  auto handle = actors::spawn_applet(engine, "free", recording_callbacks(seen, "independent"));
  for (std::size_t round = 0; round < 3; ++round) {
    seen.doorbell.set();
    REQUIRE(seen.postselects.wait_for_at_least(round + 1, 5s));
  }
  hold.release();
  CHECK(hold.released_in_time());

  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(seen.postselects.value() == 3);
  CHECK(all_within(seen.callback_threads, free_loop.thread_ids()));
  for (auto id : busy.thread_ids())
    CHECK_FALSE(seen.callback_threads.contains(id));
}
