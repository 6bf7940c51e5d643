// An applet's doorbell is a mailbox element preallocated inside the applet's
// actor. When the applet is destroyed with that element still in its
// mailbox, CAF's cleanup drains it (the element is marked free, not freed)
// before the actor's memory goes: nothing leaks, nothing is freed twice or
// touched after the actor is gone (the AddressSanitizer build checks this),
// and the applet and its engine close. Each case puts the doorbell in the
// mailbox from a plain thread at a point where the applet cannot consume it
// before it is destroyed.
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("an applet that kills itself in init after a foreign ring is drained and closes") {
  runtime::event rung{runtime::reset_mode::automatic, "rung"};
  actorloop_test::latch_counter destroys;
  std::atomic<std::size_t> postselects{0};
  std::atomic<std::size_t> unfinished_foreign_sets{0};
  foreign_setter setter{rung};

  std::optional<runtime::engine> engine{std::in_place, small_engine_options()};
  make_scheduler(*engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "rung-then-killed-in-init";
  callbacks.init = [&](actors::applet_context& context) {
    context.add_wait(rung);
    // The first turn is the spawn's, not a message: the ring's doorbell
    // stays in the mailbox behind it, and the kill ends the applet in it.
    if (!setter.set_and_wait(10s))
      ++unfinished_foreign_sets;
    context.kill();
  };
  callbacks.postselect = [&](actors::applet_context&, const runtime::waitable&) -> runtime::waitable {
    ++postselects;
    return {};
  };
  callbacks.destroy = [&](actors::applet_context&) { destroys.increment(); };
  auto handle = actors::spawn_applet(*engine, "loop", callbacks);
  REQUIRE(handle.wait_for(5s));
  setter.stop();
  engine.reset();

  CHECK(destroys.value() == 1);
  CHECK(postselects.load() == 0);
  CHECK(unfinished_foreign_sets.load() == 0);
  CHECK(handle.exit_reason().is_normal());
}

TEST_CASE("an applet that kills itself in a turn that is not the doorbell's after a foreign ring is drained and closes") {
  runtime::event first{runtime::reset_mode::automatic, "first"};
  runtime::event second{runtime::reset_mode::automatic, "second"};
  runtime::event third{runtime::reset_mode::automatic, "third"};
  actorloop_test::latch_counter ready;
  actorloop_test::latch_counter destroys;
  std::atomic<std::size_t> firsts{0};
  std::atomic<std::size_t> seconds{0};
  std::atomic<std::size_t> thirds{0};
  std::atomic<std::size_t> unfinished_foreign_sets{0};
  foreign_setter second_setter{second};
  foreign_setter third_setter{third};

  std::optional<runtime::engine> engine{std::in_place, small_engine_options()};
  make_scheduler(*engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "rung-then-killed-in-a-fallback-turn";
  callbacks.init = [&](actors::applet_context& context) {
    context.add_wait(first);
    context.add_wait(second);
    context.add_wait(third);
    ready.increment();
  };
  callbacks.postselect = [&](actors::applet_context& context,
                             const runtime::waitable& fired) -> runtime::waitable {
    if (fired == first) {
      // The doorbell's own turn: this ring finds it taken, and the next
      // turn comes from an allocated message instead.
      ++firsts;
      if (!second_setter.set_and_wait(10s))
        ++unfinished_foreign_sets;
    } else if (fired == second) {
      // The allocated message's turn: the doorbell is free again, this ring
      // puts it in the mailbox, and the kill ends the applet in this turn.
      ++seconds;
      if (!third_setter.set_and_wait(10s))
        ++unfinished_foreign_sets;
      context.kill();
    } else {
      ++thirds;
    }
    return {};
  };
  callbacks.destroy = [&](actors::applet_context&) { destroys.increment(); };
  auto handle = actors::spawn_applet(*engine, "loop", callbacks);
  REQUIRE(ready.wait_for_at_least(1, 5s));
  first.set();
  REQUIRE(handle.wait_for(5s));
  second_setter.stop();
  third_setter.stop();
  engine.reset();

  CHECK(firsts.load() == 1);
  CHECK(seconds.load() == 1);
  CHECK(thirds.load() == 0);
  CHECK(destroys.value() == 1);
  CHECK(unfinished_foreign_sets.load() == 0);
  CHECK(handle.exit_reason().is_normal());
}

TEST_CASE("an applet killed from another thread with a doorbell queued behind the kill is drained and closes") {
  runtime::event rung{runtime::reset_mode::automatic, "rung"};
  actorloop_test::latch_counter ready;
  actorloop_test::latch_counter destroys;
  std::atomic<std::size_t> postselects{0};

  std::optional<runtime::engine> engine{std::in_place, small_engine_options()};
  make_scheduler(*engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "killed-with-a-doorbell-queued";
  callbacks.init = [&](actors::applet_context& context) {
    context.add_wait(rung);
    ready.increment();
  };
  callbacks.postselect = [&](actors::applet_context&, const runtime::waitable&) -> runtime::waitable {
    ++postselects;
    return {};
  };
  callbacks.destroy = [&](actors::applet_context&) { destroys.increment(); };
  auto handle = actors::spawn_applet(*engine, "loop", callbacks);
  REQUIRE(ready.wait_for_at_least(1, 5s));
  {
    // With the scheduler's one thread held, the kill's message and then the
    // ring's doorbell queue up; the kill's turn destroys the applet, and the
    // doorbell is still in the mailbox when CAF closes it.
    scheduler_hold hold{*engine, "loop"};
    REQUIRE(hold.hold());
    handle.kill(); // no callback of the applet runs: returns at once
    rung.set();
    hold.release();
    CHECK(hold.released_in_time());
  }
  REQUIRE(handle.wait_for(5s));
  engine.reset();

  CHECK(destroys.value() == 1);
  CHECK(postselects.load() == 0);
  CHECK(handle.exit_reason().is_normal());
}
