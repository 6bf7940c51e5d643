// An applet that sets an auto-reset event it waits on from inside one of its
// own callbacks (init, postselect, preselect, dump) gets exactly one
// postselect for each set. Such a wake takes the applet's local path (no
// mailbox message); a set from a callback that dispatches nothing (dump)
// must still lead to a turn.
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("sets from init, postselect, preselect and dump each give one postselect") {
  runtime::event own{runtime::reset_mode::automatic, "own"};
  runtime::event poke{runtime::reset_mode::automatic, "poke"};
  runtime::event probe{runtime::reset_mode::automatic, "probe"};
  std::atomic<bool> set_in_next_preselect{false};
  actorloop_test::latch_counter own_fired;
  actorloop_test::latch_counter pokes_seen;
  actorloop_test::latch_counter probes_seen;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "self-setter";
  callbacks.init = [&](actors::applet_context& context) {
    context.add_wait(own);
    context.add_wait(poke);
    context.add_wait(probe);
    own.set(); // 1: from init
  };
  callbacks.preselect = [&](actors::applet_context&) {
    if (set_in_next_preselect.exchange(false))
      own.set(); // 3: from preselect
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    if (fired == own) {
      own_fired.increment();
      if (own_fired.value() == 1)
        own.set(); // 2: from postselect
    } else if (fired == poke) {
      pokes_seen.increment();
    } else if (fired == probe) {
      probes_seen.increment();
    }
    return {};
  };
  callbacks.dump = [&](const actors::applet_context&) -> std::string {
    own.set(); // 4: from dump, a turn that dispatches nothing itself
    return "dumped";
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);

  REQUIRE(own_fired.wait_for_at_least(2, 5s));
  set_in_next_preselect = true;
  poke.set(); // its dispatch re-runs preselect, which sets `own`
  REQUIRE(pokes_seen.wait_for_at_least(1, 5s));
  REQUIRE(own_fired.wait_for_at_least(3, 5s));
  CHECK(handle.dump(5s) == "dumped");
  REQUIRE(own_fired.wait_for_at_least(4, 5s));

  // No extra dispatch is still on its way: a probe set now is handled after
  // anything already queued for the applet.
  probe.set();
  REQUIRE(probes_seen.wait_for_at_least(1, 5s));
  CHECK(own_fired.value() == 4);
  CHECK(pokes_seen.value() == 1);
  CHECK_FALSE(own.ready());

  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(handle.exit_reason().is_normal());
  CHECK(own_fired.value() == 4);
}
