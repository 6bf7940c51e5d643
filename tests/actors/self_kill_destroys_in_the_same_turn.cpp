// An applet that kills itself in postselect is destroyed in the
// same turn, right after postselect returns: no preselect follows, no other
// applet runs in between, destroy runs, and only then does the handle become
// ready. context.destroying() is true right after kill.
// Model: Open Files of_core documentation (ofc_app_kill).
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("self-kill in postselect runs destroy in the same turn, then makes the handle ready") {
  event_log log;
  runtime::event trigger{runtime::reset_mode::automatic, "trigger"};
  runtime::event busy{runtime::reset_mode::manual, "busy"};
  runtime::event spinning{runtime::reset_mode::manual, "spinning"};
  std::atomic<bool> destroying_before_kill{true};
  std::atomic<bool> destroying_after_kill{false};
  std::atomic<bool> handle_ready_during_destroy{true};
  std::atomic<actors::applet_state> state_during_destroy{actors::applet_state::starting};
  std::atomic<bool> suicide_done{false}; // only touched on the one scheduler thread
  actorloop_test::latch_counter spinner_dispatches;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  // A neighbour that is ready on every turn: if the scheduler ran anything
  // between the postselect and the destroy, it would be this.
  actors::applet_callbacks spinner_callbacks;
  spinner_callbacks.name = "spinner";
  spinner_callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(spinning))
      context.add_wait(spinning);
  };
  spinner_callbacks.postselect = [&](actors::applet_context&,
                                     const runtime::waitable&) -> runtime::waitable {
    if (suicide_done.load())
      spinning.reset();
    else
      log.add("spinner");
    spinner_dispatches.increment();
    return {};
  };
  auto spinner = actors::spawn_applet(engine, "loop", spinner_callbacks);

  actors::applet_callbacks callbacks;
  callbacks.name = "suicidal";
  callbacks.preselect = [&](actors::applet_context& context) {
    log.add("preselect");
    if (!context.waiting_on(trigger))
      context.add_wait(trigger);
    if (!context.waiting_on(busy))
      context.add_wait(busy);
  };
  callbacks.postselect = [&](actors::applet_context& context,
                             const runtime::waitable& fired) -> runtime::waitable {
    log.add("postselect " + fired.name());
    destroying_before_kill = context.destroying();
    context.kill();
    destroying_after_kill = context.destroying();
    busy.set(); // ready, but it must never be dispatched now
    return {};
  };
  callbacks.destroy = [&](actors::applet_context& context) {
    log.add("destroy");
    handle_ready_during_destroy = context.self().ready();
    state_during_destroy = context.self().state();
    suicide_done = true;
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(log.wait_for_entry("preselect", 5s));

  spinning.set();
  REQUIRE(spinner_dispatches.wait_for_at_least(1, 5s));
  trigger.set();
  REQUIRE(handle.wait_for(5s));
  log.add("handle ready");

  // Filter the spinner out, then look at what surrounds the postselect.
  auto entries = log.entries();
  std::vector<std::string> own;
  for (auto& entry : entries)
    if (entry != "spinner")
      own.push_back(entry);
  CHECK(own == std::vector<std::string>{"preselect", "postselect trigger", "destroy", "handle ready"});
  auto postselect_at = std::find(entries.begin(), entries.end(), "postselect trigger");
  REQUIRE(postselect_at != entries.end());
  REQUIRE(postselect_at + 1 != entries.end());
  CHECK(*(postselect_at + 1) == "destroy");

  CHECK_FALSE(destroying_before_kill.load());
  CHECK(destroying_after_kill.load());
  CHECK_FALSE(handle_ready_during_destroy.load());
  CHECK(state_during_destroy.load() == actors::applet_state::destroying);
  CHECK(handle.state() == actors::applet_state::destroyed);
  CHECK(handle.exit_reason().is_normal());
  CHECK(handle.exit_reason().message() == "normal exit (killed)");

  spinner.kill();
  REQUIRE(spinner.wait_for(5s));
}

TEST_CASE("self-kill in preselect destroys the applet before any postselect") {
  std::atomic<int> preselects{0};
  std::atomic<int> postselects{0};
  std::atomic<int> destroys{0};
  runtime::event ready_already{runtime::reset_mode::manual, "ready-already"};
  ready_already.set();

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "quitter";
  callbacks.preselect = [&](actors::applet_context& context) {
    ++preselects;
    context.add_wait(ready_already);
    context.kill();
  };
  callbacks.postselect = [&](actors::applet_context&, const runtime::waitable&) -> runtime::waitable {
    ++postselects;
    return {};
  };
  callbacks.destroy = [&](actors::applet_context&) { ++destroys; };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(handle.wait_for(5s));
  CHECK(preselects.load() == 1);
  CHECK(postselects.load() == 0);
  CHECK(destroys.load() == 1);
  CHECK(handle.exit_reason().is_normal());
}

TEST_CASE("self-kill in init destroys the applet before any preselect") {
  std::atomic<int> preselects{0};
  std::atomic<int> destroys{0};

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "stillborn";
  callbacks.init = [](actors::applet_context& context) { context.kill(); };
  callbacks.preselect = [&](actors::applet_context&) { ++preselects; };
  callbacks.destroy = [&](actors::applet_context&) { ++destroys; };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(handle.wait_for(5s));
  CHECK(preselects.load() == 0);
  CHECK(destroys.load() == 1);
}
