// The registry lists the live applets of an engine in creation order, with
// their scheduler, state, registrations and dispatch counts, and drops them
// once destroyed; describe() gives the same as text.
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("list_applets and describe show live applets with their scheduler and state, then drop them") {
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};
  runtime::event never_set{runtime::reset_mode::manual, "never-set"};
  actorloop_test::latch_counter preselects;
  actorloop_test::latch_counter postselects;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "io", 1);
  make_scheduler(engine, "work", 1);
  CHECK(actors::list_applets(engine).empty());

  actors::applet_callbacks reader_callbacks;
  reader_callbacks.name = "reader";
  reader_callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(doorbell))
      context.add_wait(doorbell);
    if (!context.waiting_on(never_set))
      context.add_wait(never_set);
    preselects.increment();
  };
  reader_callbacks.postselect = [&](actors::applet_context&,
                                    const runtime::waitable&) -> runtime::waitable {
    postselects.increment();
    return {};
  };
  actors::applet_callbacks idler_callbacks;
  idler_callbacks.name = "idler";
  idler_callbacks.preselect = [&](actors::applet_context&) { preselects.increment(); };

  auto reader = actors::spawn_applet(engine, "io", reader_callbacks);
  auto idler = actors::spawn_applet(engine, "work", idler_callbacks);
  REQUIRE(preselects.wait_for_at_least(2, 5s));
  for (std::size_t round = 1; round <= 3; ++round) {
    doorbell.set();
    REQUIRE(preselects.wait_for_at_least(2 + round, 5s));
  }

  auto listed = actors::list_applets(engine);
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].id == reader.applet_id());
  CHECK(listed[0].name == "reader");
  CHECK(listed[0].scheduler == "io");
  CHECK(listed[0].state == actors::applet_state::running);
  CHECK(listed[0].waits == 2);
  CHECK(listed[0].events_dispatched == 3);
  CHECK(listed[0].chained_dropped == 0);
  CHECK(listed[1].id == idler.applet_id());
  CHECK(listed[1].name == "idler");
  CHECK(listed[1].scheduler == "work");
  CHECK(listed[1].state == actors::applet_state::running);
  CHECK(listed[1].waits == 0);
  CHECK(listed[1].events_dispatched == 0);
  CHECK(reader.scheduler_name() == "io");
  CHECK(reader.name() == "reader");

  auto text = actors::describe(engine);
  CAPTURE(text);
  CHECK(text.find("io") != std::string::npos);
  CHECK(text.find("work") != std::string::npos);
  CHECK(text.find("reader") != std::string::npos);
  CHECK(text.find("idler") != std::string::npos);
  CHECK(text.find("running") != std::string::npos);

  reader.kill();
  REQUIRE(reader.wait_for(5s));
  listed = actors::list_applets(engine);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].name == "idler");
  CHECK(actors::describe(engine).find("reader") == std::string::npos);

  idler.kill();
  REQUIRE(idler.wait_for(5s));
  CHECK(actors::list_applets(engine).empty());
}

TEST_CASE("list_applets shows an applet whose start is held back as starting") {
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);
  scheduler_hold hold{engine, "loop"};
  REQUIRE(hold.hold());

  actors::applet_callbacks callbacks;
  callbacks.name = "newborn";
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  auto info = find_info(engine, handle.applet_id());
  REQUIRE(info.has_value());
  CHECK(info->state == actors::applet_state::starting);
  CHECK(handle.state() == actors::applet_state::starting);
  CHECK(info->name == "newborn");
  hold.release();

  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK_FALSE(find_info(engine, handle.applet_id()).has_value());
}
