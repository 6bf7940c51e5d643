// A dump callback that throws is contained like every other callback: the
// caller of applet_handle::dump gets a text naming the failure, also for an
// exception not derived from std::exception, and the applet carries on.
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("dump answers with the failure when the dump callback throws anything") {
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};
  actorloop_test::latch_counter preselects;
  actorloop_test::latch_counter postselects;
  std::atomic<int> destroys{0};
  int throw_kind = 0; // read on the applet's thread only while the caller waits

  actors::applet_callbacks callbacks;
  callbacks.name = "thrower";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(doorbell))
      context.add_wait(doorbell);
    preselects.increment();
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable&) -> runtime::waitable {
    postselects.increment();
    return {};
  };
  callbacks.dump = [&](const actors::applet_context&) -> std::string {
    if (throw_kind == 0)
      throw 42;
    throw std::runtime_error("no dump today");
  };
  callbacks.destroy = [&](actors::applet_context&) { ++destroys; };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(preselects.wait_for_at_least(1, 5s));

  auto text = handle.dump(5s);
  CHECK(text == "dump threw: an exception not derived from std::exception");
  throw_kind = 1;
  CHECK(handle.dump(5s) == "dump threw: no dump today");

  // The applet still works.
  CHECK(handle.alive());
  doorbell.set();
  REQUIRE(postselects.wait_for_at_least(1, 5s));
  CHECK(destroys.load() == 0);
  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(destroys.load() == 1);
  CHECK(handle.exit_reason().is_normal());
}
