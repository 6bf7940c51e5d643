// Closing a waitable while an applet waits on it unregisters
// it: no later dispatch refers to it, even if it was ready when closed; and
// adding a closed waitable fails with errc::closed.
// Model: Open Files of_core documentation (ofc_handle_destroy of a handle in a
// wait set).
#include "applet_test_support.hpp"

#include <actorloop/runtime/wait_queue.hpp>
#include <actorloop/runtime/detail/access.hpp>

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("a waitable closed while registered is not dispatched afterwards") {
  runtime::event doomed{runtime::reset_mode::manual, "doomed"};
  runtime::event probe{runtime::reset_mode::automatic, "probe"};
  event_log log;
  actorloop_test::latch_counter preselected;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "listener";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (preselected.value() == 0) {
      context.add_wait(doomed);
      context.add_wait(probe);
    }
    preselected.increment();
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    log.add(fired.name());
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(preselected.wait_for_at_least(1, 5s));

  doomed.close();
  doomed.set(); // a set after close makes nothing ready
  CHECK(doomed.closed());
  CHECK_FALSE(doomed.ready());
  probe.set();
  REQUIRE(log.wait_for_size(1, 5s));
  probe.set();
  REQUIRE(log.wait_for_size(2, 5s));

  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(log.entries() == std::vector<std::string>{"probe", "probe"});
  CHECK(runtime::detail::access::state(doomed)->waiter_count() == 0);
}

TEST_CASE("a waitable set and closed by a sibling on the same thread is never dispatched") {
  runtime::event doomed{runtime::reset_mode::manual, "doomed"};
  runtime::wait_queue<int> doomed_queue{runtime::wait_queue<int>::unbounded, "doomed-queue"};
  runtime::event probe{runtime::reset_mode::automatic, "probe"};
  runtime::event trigger{runtime::reset_mode::automatic, "trigger"};
  event_log log;
  actorloop_test::latch_counter preselected;
  actorloop_test::latch_counter closer_done;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks listener_callbacks;
  listener_callbacks.name = "listener";
  listener_callbacks.preselect = [&](actors::applet_context& context) {
    if (preselected.value() == 0) {
      context.add_wait(doomed);
      context.add_wait(doomed_queue);
      context.add_wait(probe);
    }
    preselected.increment();
  };
  listener_callbacks.postselect = [&](actors::applet_context&,
                                      const runtime::waitable& fired) -> runtime::waitable {
    log.add(fired.name());
    return {};
  };
  auto listener = actors::spawn_applet(engine, "loop", listener_callbacks);
  REQUIRE(preselected.wait_for_at_least(1, 5s));

  actors::applet_callbacks closer_callbacks;
  closer_callbacks.name = "closer";
  closer_callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(trigger))
      context.add_wait(trigger);
  };
  closer_callbacks.postselect = [&](actors::applet_context&,
                                    const runtime::waitable&) -> runtime::waitable {
    // Ready, and a wake is on its way to the listener; then closed.
    doomed.set();
    CHECK(doomed_queue.try_push(1) == std::error_code{});
    doomed.close();
    doomed_queue.close();
    closer_done.increment();
    return {};
  };
  auto closer = actors::spawn_applet(engine, "loop", closer_callbacks);
  trigger.set();
  REQUIRE(closer_done.wait_for_at_least(1, 5s));
  probe.set();
  REQUIRE(log.wait_for_size(1, 5s));

  listener.kill();
  closer.kill();
  REQUIRE(listener.wait_for(5s));
  REQUIRE(closer.wait_for(5s));
  CHECK(log.entries() == std::vector<std::string>{"probe"});
  CHECK(doomed_queue.try_push(2) == runtime::errc::closed);
}

TEST_CASE("add_wait of a closed waitable throws errc::closed") {
  runtime::event closed_event{runtime::reset_mode::automatic, "closed-event"};
  closed_event.close();
  std::error_code refusal;
  actorloop_test::latch_counter attempts;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "late";
  callbacks.preselect = [&](actors::applet_context& context) {
    refusal = error_code_of([&] { context.add_wait(closed_event); });
    attempts.increment();
    context.kill();
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(handle.wait_for(5s));
  REQUIRE(attempts.value() == 1);
  CHECK(refusal == runtime::errc::closed);
  CHECK(handle.exit_reason().is_normal());
}
