// A waitable made ready by another thread while its applet's turn runs goes
// into the applet's inbox (to be taken on the next doorbell). If the applet
// removes that registration before the doorbell is handled, the queued entry
// is dropped: no postselect for it. Adding the waitable again gives a new
// registration, dispatched once. Nothing waits for time: the other thread is
// joined inside the callback, so the order is fixed.
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

#include <thread>

using namespace applet_test;

TEST_CASE("a registration removed while queued in the inbox is not dispatched; re-added, it is "
          "dispatched once") {
  runtime::event trigger{runtime::reset_mode::automatic, "trigger"};
  runtime::event victim{runtime::reset_mode::automatic, "victim"};
  runtime::event after{runtime::reset_mode::automatic, "after"};
  runtime::event finish{runtime::reset_mode::automatic, "finish"};
  event_log log;
  actorloop_test::latch_counter registered;
  std::atomic<bool> removed{false};

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "remover";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (context.wait_count() == 0) {
      context.add_wait(trigger);
      context.add_wait(victim);
      context.add_wait(after);
      context.add_wait(finish);
      registered.increment();
    }
  };
  callbacks.postselect = [&](actors::applet_context& context,
                             const runtime::waitable& fired) -> runtime::waitable {
    log.add(fired.name());
    if (fired == trigger) {
      // Set from another thread during this turn: into the inbox, with a
      // doorbell message; then removed before that message is handled.
      std::thread{[&] { victim.set(); }}.join();
      removed = context.remove_wait(victim);
      // Queued behind the victim's stale entry.
      std::thread{[&] { after.set(); }}.join();
    } else if (fired == after) {
      // The victim is still set (never consumed): a new registration finds
      // it ready at once.
      context.add_wait(victim);
    } else if (fired == victim) {
      context.remove_wait(victim);
    } else if (fired == finish) {
      context.kill();
    }
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(registered.wait_for_at_least(1, 5s));

  trigger.set();
  REQUIRE(log.wait_for_entry("victim", 5s));
  finish.set();
  REQUIRE(handle.wait_for(5s));

  CHECK(removed.load());
  auto entries = log.entries();
  CAPTURE(entries);
  REQUIRE(entries.size() == 4);
  CHECK(entries[0] == "trigger");
  CHECK(entries[1] == "after"); // the stale victim entry ahead of it was dropped
  CHECK(entries[2] == "victim"); // from the new registration
  CHECK(entries[3] == "finish");
  CHECK_FALSE(victim.test());
}
