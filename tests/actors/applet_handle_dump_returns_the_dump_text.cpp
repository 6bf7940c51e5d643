// applet_handle::dump runs the applet's dump callback on its scheduler thread
// and returns its text; an applet without a dump callback still describes
// itself; a destroyed applet's dump is empty.
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("dump returns the text of the applet's dump callback, computed on its scheduler thread") {
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};
  int rings = 0; // state of the applet, touched on its thread only
  actorloop_test::thread_id_set dump_threads;
  actorloop_test::latch_counter preselects;

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "bell-counter";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(doorbell))
      context.add_wait(doorbell);
    preselects.increment();
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable&) -> runtime::waitable {
    ++rings;
    return {};
  };
  callbacks.dump = [&](const actors::applet_context& context) {
    dump_threads.insert();
    return context.name() + " rings=" + std::to_string(rings);
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(preselects.wait_for_at_least(1, 5s));
  CHECK(handle.dump() == "bell-counter rings=0");

  for (std::size_t round = 1; round <= 3; ++round) {
    doorbell.set();
    REQUIRE(preselects.wait_for_at_least(round + 1, 5s));
  }
  CHECK(handle.dump() == "bell-counter rings=3");
  std::string from_thread;
  std::thread asker{[&] { from_thread = handle.dump(1s); }};
  asker.join();
  CHECK(from_thread == "bell-counter rings=3");
  CHECK(all_within(dump_threads, loop.thread_ids()));
  CHECK(dump_threads.size() == 1);

  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(handle.dump() == "");
}

TEST_CASE("an applet without a dump callback still describes itself by name") {
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);
  actorloop_test::latch_counter preselects;
  actors::applet_callbacks callbacks;
  callbacks.name = "plain-applet";
  callbacks.preselect = [&](actors::applet_context&) { preselects.increment(); };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(preselects.wait_for_at_least(1, 5s));
  CHECK(handle.dump().find("plain-applet") != std::string::npos);
  handle.kill();
  REQUIRE(handle.wait_for(5s));
}
