// An applet's doorbell (the message that tells it its inbox has ready
// registrations) is one preallocated mailbox element, and only one can be in
// flight. A ring while it is still being consumed must not be lost: the
// applet has already taken its inbox in that turn, so the new registration
// waits for the next doorbell. Here every wake of `first` (from the main
// thread) arrives on the preallocated doorbell, and inside its postselect a
// plain thread sets `second` and returns before the postselect does: that
// ring finds the doorbell taken and must still reach the applet.
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("a ring while the doorbell is being consumed still wakes the applet, every time") {
  constexpr std::size_t rounds = 100;
  runtime::event first{runtime::reset_mode::automatic, "first"};
  runtime::event second{runtime::reset_mode::automatic, "second"};
  actorloop_test::latch_counter ready;
  actorloop_test::latch_counter firsts;
  actorloop_test::latch_counter seconds;
  actorloop_test::latch_counter destroys;
  std::atomic<std::size_t> unfinished_foreign_sets{0};
  std::atomic<std::size_t> other_wakes{0};
  foreign_setter setter{second};

  std::optional<runtime::engine> engine{std::in_place, small_engine_options()};
  make_scheduler(*engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "rung-twice";
  callbacks.init = [&](actors::applet_context& context) {
    context.add_wait(first);
    context.add_wait(second);
    ready.increment();
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    if (fired == first) {
      firsts.increment();
      // This turn consumes the doorbell that `first` rang; the inbox was
      // taken before this postselect, so `second` rings again meanwhile.
      if (!setter.set_and_wait(10s))
        ++unfinished_foreign_sets;
    } else if (fired == second) {
      seconds.increment();
    } else {
      ++other_wakes;
    }
    return {};
  };
  callbacks.destroy = [&](actors::applet_context&) { destroys.increment(); };
  auto handle = actors::spawn_applet(*engine, "loop", callbacks);
  REQUIRE(ready.wait_for_at_least(1, 5s));

  for (std::size_t round = 1; round <= rounds; ++round) {
    // The applet is idle (its last turn ended in `second`'s postselect, or
    // is ending): this ring finds the doorbell free.
    first.set();
    REQUIRE(firsts.wait_for_at_least(round, 5s));
    // Lost without a second doorbell: nothing else would wake the applet.
    REQUIRE(seconds.wait_for_at_least(round, 5s));
  }

  handle.kill();
  REQUIRE(handle.wait_for(5s));
  setter.stop();
  engine.reset(); // every scheduler stops and joins

  CHECK(firsts.value() == rounds);
  CHECK(seconds.value() == rounds);
  CHECK(destroys.value() == 1);
  CHECK(unfinished_foreign_sets.load() == 0);
  CHECK(other_wakes.load() == 0);
  CHECK(handle.state() == actors::applet_state::destroyed);
}
