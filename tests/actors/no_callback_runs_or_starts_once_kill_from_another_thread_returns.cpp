// ctest-timeout: 180
// Lifetime rule 3: once applet_handle::kill() returns on a thread that is not
// running one of that applet's callbacks, no callback of the applet is running
// and none starts later (only destroy follows). So whoever killed it may free
// what its callbacks use. Checked with many kills of a busy applet (a manual
// event dispatches it on every turn) from a plain thread, at varying phases.
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

namespace {

struct busy_counts {
  std::atomic<int> started{0};  // preselects and postselects begun
  std::atomic<int> inside{0};   // callbacks running now
  std::atomic<int> destroys{0};
  actorloop_test::latch_counter dispatched;
};

// Some work in the callback, so a kill often lands while one runs.
void busy_work() {
  volatile unsigned sink = 0;
  for (unsigned step = 0; step < 2000; ++step)
    sink = sink + step;
}

actors::applet_callbacks busy_applet(const std::shared_ptr<busy_counts>& seen,
                                     const runtime::event& level) {
  actors::applet_callbacks callbacks;
  callbacks.name = "busy";
  callbacks.preselect = [seen, level](actors::applet_context& context) {
    ++seen->inside;
    ++seen->started;
    context.wait_on(level);
    busy_work();
    --seen->inside;
  };
  callbacks.postselect = [seen](actors::applet_context&,
                                const runtime::waitable&) -> runtime::waitable {
    ++seen->inside;
    ++seen->started;
    busy_work();
    --seen->inside;
    seen->dispatched.increment();
    return {};
  };
  callbacks.destroy = [seen](actors::applet_context&) { ++seen->destroys; };
  return callbacks;
}

} // namespace

TEST_CASE("after kill() returns on a plain thread, no callback of a busy applet runs or starts") {
  runtime::event level{runtime::reset_mode::manual, "always-set"};
  level.set();
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  constexpr int kills = 1000;
  int running_at_return = 0;
  int started_after_return = 0;
  for (int round = 0; round < kills; ++round) {
    auto seen = std::make_shared<busy_counts>();
    auto handle = actors::spawn_applet(engine, "loop", busy_applet(seen, level));
    REQUIRE(seen->dispatched.wait_for_at_least(static_cast<std::size_t>(1 + round % 3), 5s));
    handle.kill();
    auto inside_at_return = seen->inside.load();
    auto started_at_return = seen->started.load();
    REQUIRE(handle.wait_for(5s));
    running_at_return += inside_at_return != 0 ? 1 : 0;
    started_after_return += seen->started.load() != started_at_return ? 1 : 0;
    REQUIRE(seen->destroys.load() == 1);
  }
  CHECK(running_at_return == 0);
  CHECK(started_after_return == 0);
}

TEST_CASE("kill() from a plain thread waits for the callback that is running, then returns") {
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};
  gate entered;
  gate release;
  std::atomic<bool> postselect_finished{false};
  std::atomic<bool> released_in_time{false};
  actorloop_test::latch_counter preselects;

  actors::applet_callbacks callbacks;
  callbacks.name = "held";
  callbacks.preselect = [&](actors::applet_context& context) {
    context.wait_on(doorbell);
    preselects.increment();
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable&) -> runtime::waitable {
    entered.open();
    released_in_time = release.wait_for(10s);
    postselect_finished = true;
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(preselects.wait_for_at_least(1, 5s));
  doorbell.set();
  REQUIRE(entered.wait_for(5s));

  std::atomic<bool> kill_returned{false};
  std::atomic<bool> finished_when_kill_returned{false};
  std::thread killer{[&] {
    handle.kill();
    finished_when_kill_returned = postselect_finished.load();
    kill_returned = true;
  }};
  // The kill is visible at once (the state says so) although kill() has not returned.
  auto limit = std::chrono::steady_clock::now() + 5s;
  while (handle.state() == actors::applet_state::running && std::chrono::steady_clock::now() < limit)
    std::this_thread::yield();
  CHECK(handle.state() == actors::applet_state::destroying);
  CHECK_FALSE(kill_returned.load());
  release.open();
  killer.join();
  CHECK(released_in_time.load());
  CHECK(finished_when_kill_returned.load());
  REQUIRE(handle.wait_for(5s));
  CHECK(preselects.wait_for_at_least(1, 0s));
  CHECK(handle.exit_reason().is_normal());
}

TEST_CASE("two applets that kill each other from their callbacks at once do not deadlock") {
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "pair", 2);
  runtime::event go{runtime::reset_mode::manual, "go"};
  actors::applet_handle handles[2];
  gate handles_ready;
  actorloop_test::latch_counter preselects;
  actorloop_test::latch_counter killed_other;
  std::atomic<int> arrived{0};

  for (int index = 0; index < 2; ++index) {
    actors::applet_callbacks callbacks;
    callbacks.name = "mutual-" + std::to_string(index);
    callbacks.preselect = [&](actors::applet_context& context) {
      context.wait_on(go);
      preselects.increment();
    };
    callbacks.postselect = [&, index](actors::applet_context& context,
                                      const runtime::waitable&) -> runtime::waitable {
      if (!handles_ready.wait_for(5s))
        return {};
      // Both are inside a postselect before either kills the other.
      ++arrived;
      auto limit = std::chrono::steady_clock::now() + 5s;
      while (arrived.load() < 2 && std::chrono::steady_clock::now() < limit)
        std::this_thread::yield();
      handles[1 - index].kill();
      killed_other.increment();
      context.kill();
      return {};
    };
    handles[index] = actors::spawn_applet(engine, "pair", callbacks);
  }
  handles_ready.open();
  REQUIRE(preselects.wait_for_at_least(2, 5s));
  go.set();
  REQUIRE(killed_other.wait_for_at_least(2, 10s));
  REQUIRE(handles[0].wait_for(5s));
  REQUIRE(handles[1].wait_for(5s));
}
