// An exception thrown from an applet callback is contained: that applet is
// destroyed (its destroy still runs) with errc::callback_threw and the
// exception's text in its exit reason; the scheduler and the other applets on
// it carry on.
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using namespace applet_test;

namespace {

struct neighbour {
  runtime::event ping{runtime::reset_mode::automatic, "ping"};
  actorloop_test::latch_counter pongs;
  actorloop_test::latch_counter preselected;
};

actors::applet_callbacks ponging(neighbour& self) {
  actors::applet_callbacks callbacks;
  callbacks.name = "neighbour";
  callbacks.preselect = [&self](actors::applet_context& context) {
    if (!context.waiting_on(self.ping))
      context.add_wait(self.ping);
    self.preselected.increment();
  };
  callbacks.postselect = [&self](actors::applet_context&,
                                 const runtime::waitable&) -> runtime::waitable {
    self.pongs.increment();
    return {};
  };
  return callbacks;
}

} // namespace

TEST_CASE("a throwing postselect destroys only its applet, with callback_threw and the exception's text") {
  neighbour bystander;
  runtime::event trigger{runtime::reset_mode::automatic, "trigger"};
  std::atomic<int> destroys{0};
  std::atomic<int> postselects{0};
  actorloop_test::thread_id_set destroy_threads;
  actorloop_test::latch_counter preselected;

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);

  auto bystander_handle = actors::spawn_applet(engine, "loop", ponging(bystander));
  REQUIRE(bystander.preselected.wait_for_at_least(1, 5s));
  bystander.ping.set();
  REQUIRE(bystander.pongs.wait_for_at_least(1, 5s));

  actors::applet_callbacks callbacks;
  callbacks.name = "thrower";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(trigger))
      context.add_wait(trigger);
    preselected.increment();
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable&) -> runtime::waitable {
    ++postselects;
    throw std::runtime_error("boom 42");
  };
  callbacks.destroy = [&](actors::applet_context&) {
    destroy_threads.insert();
    ++destroys;
  };
  auto thrower = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(preselected.wait_for_at_least(1, 5s));
  trigger.set();
  REQUIRE(thrower.wait_for(5s));

  auto reason = thrower.exit_reason();
  CHECK_FALSE(reason.is_normal());
  CHECK(reason.code() == runtime::errc::callback_threw);
  CAPTURE(reason.message());
  CHECK(reason.message().find("boom 42") != std::string::npos);
  CHECK(destroys.load() == 1);
  CHECK(postselects.load() == 1);
  CHECK(preselected.value() == 1); // no preselect after the throwing postselect
  CHECK(all_within(destroy_threads, loop.thread_ids()));

  // The neighbour and the scheduler carry on: another round trip.
  CHECK_FALSE(loop.stopped());
  CHECK(bystander_handle.alive());
  bystander.ping.set();
  REQUIRE(bystander.pongs.wait_for_at_least(2, 5s));
  CHECK(loop.applet_count() == 1);

  bystander_handle.kill();
  REQUIRE(bystander_handle.wait_for(5s));
  CHECK(bystander_handle.exit_reason().is_normal());
}

TEST_CASE("a throwing init or preselect destroys the applet with callback_threw, destroy still running") {
  std::atomic<int> destroys{0};
  std::atomic<int> preselects_after_init_threw{0};

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks init_thrower;
  init_thrower.name = "init-thrower";
  init_thrower.init = [](actors::applet_context&) { throw std::runtime_error("init failed: no config"); };
  init_thrower.preselect = [&](actors::applet_context&) { ++preselects_after_init_threw; };
  init_thrower.destroy = [&](actors::applet_context&) { ++destroys; };

  actors::applet_callbacks preselect_thrower;
  preselect_thrower.name = "preselect-thrower";
  preselect_thrower.preselect = [](actors::applet_context&) {
    throw std::logic_error("preselect failed: bad state");
  };
  preselect_thrower.destroy = [&](actors::applet_context&) { ++destroys; };

  auto first = actors::spawn_applet(engine, "loop", init_thrower);
  auto second = actors::spawn_applet(engine, "loop", preselect_thrower);
  REQUIRE(first.wait_for(5s));
  REQUIRE(second.wait_for(5s));

  CHECK(first.exit_reason().code() == runtime::errc::callback_threw);
  CHECK(first.exit_reason().message().find("init failed: no config") != std::string::npos);
  CHECK(second.exit_reason().code() == runtime::errc::callback_threw);
  CHECK(second.exit_reason().message().find("preselect failed: bad state") != std::string::npos);
  CHECK(preselects_after_init_threw.load() == 0);
  CHECK(destroys.load() == 2);
}

TEST_CASE("an exception that is not a std::exception, and a throwing destroy, are contained too") {
  runtime::event trigger{runtime::reset_mode::automatic, "trigger"};
  neighbour bystander;
  actorloop_test::latch_counter preselected;
  std::atomic<int> destroys{0};

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);
  auto bystander_handle = actors::spawn_applet(engine, "loop", ponging(bystander));

  actors::applet_callbacks callbacks;
  callbacks.name = "odd-thrower";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(trigger))
      context.add_wait(trigger);
    preselected.increment();
  };
  callbacks.postselect = [](actors::applet_context&, const runtime::waitable&) -> runtime::waitable {
    throw 42;
  };
  callbacks.destroy = [&](actors::applet_context&) {
    ++destroys;
    throw std::runtime_error("destroy failed as well");
  };
  auto thrower = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(preselected.wait_for_at_least(1, 5s));
  trigger.set();
  REQUIRE(thrower.wait_for(5s));

  // The first failure is the reason; the one from destroy is swallowed.
  CHECK(thrower.exit_reason().code() == runtime::errc::callback_threw);
  CHECK(thrower.exit_reason().message().find("destroy failed") == std::string::npos);
  CHECK(destroys.load() == 1);

  bystander.ping.set();
  REQUIRE(bystander.pongs.wait_for_at_least(1, 5s));
  bystander_handle.kill();
  REQUIRE(bystander_handle.wait_for(5s));
  CHECK_FALSE(loop.stopped());
}
