// Adding a waitable the applet already waits on throws
// runtime::error(errc::already_waiting) instead of crashing. Uncaught in
// preselect it destroys the applet with errc::callback_threw, naming the
// problem; caught, the applet carries on with its one registration.
// Model: Open Files of_core documentation (ofc_sched_add_wait,
// ofc_waitset_add); the original crashes here, actorloop refuses with an error.
#include "applet_test_support.hpp"
#include <actorloop/runtime/detail/access.hpp>

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("an uncaught double add_wait in preselect destroys the applet with callback_threw") {
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};
  std::atomic<int> destroys{0};
  std::atomic<int> postselects{0};

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "double-adder";
  callbacks.preselect = [&](actors::applet_context& context) {
    context.add_wait(doorbell);
    context.add_wait(doorbell);
  };
  callbacks.postselect = [&](actors::applet_context&, const runtime::waitable&) -> runtime::waitable {
    ++postselects;
    return {};
  };
  callbacks.destroy = [&](actors::applet_context&) { ++destroys; };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(handle.wait_for(5s));

  auto reason = handle.exit_reason();
  CHECK_FALSE(reason.is_normal());
  CHECK(reason.code() == runtime::errc::callback_threw);
  auto already_waiting_text = runtime::make_error_code(runtime::errc::already_waiting).message();
  CAPTURE(reason.message());
  CHECK(reason.message().find(already_waiting_text) != std::string::npos);
  CHECK(reason.message().find("doorbell") != std::string::npos);
  CHECK(destroys.load() == 1);
  CHECK(postselects.load() == 0);
  // The failed applet let go of its registration.
  CHECK(runtime::detail::access::state(doorbell)->waiter_count() == 0);
  CHECK_FALSE(loop.stopped());
}

TEST_CASE("a double add_wait caught inside preselect leaves the applet running with one registration") {
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};
  std::error_code refusal;
  std::string refusal_text;
  std::atomic<std::size_t> waits_after_refusal{0};
  actorloop_test::latch_counter preselects;
  actorloop_test::latch_counter postselects;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "careful";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (preselects.value() == 0) {
      context.add_wait(doorbell);
      try {
        context.add_wait(doorbell);
      } catch (const runtime::error& failure) {
        refusal = failure.code();
        refusal_text = failure.what();
      }
      waits_after_refusal = context.wait_count();
    }
    preselects.increment();
  };
  callbacks.postselect = [&](actors::applet_context&, const runtime::waitable&) -> runtime::waitable {
    postselects.increment();
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(preselects.wait_for_at_least(1, 5s));

  for (std::size_t round = 1; round <= 3; ++round) {
    doorbell.set();
    REQUIRE(preselects.wait_for_at_least(round + 1, 5s));
  }
  CHECK(handle.alive());
  handle.kill();
  REQUIRE(handle.wait_for(5s));

  CHECK(refusal == runtime::errc::already_waiting);
  CHECK(refusal_text.find("doorbell") != std::string::npos);
  CHECK(waits_after_refusal.load() == 1);
  CHECK(postselects.value() == 3);
  CHECK(handle.exit_reason().is_normal());
}

TEST_CASE("remove_wait then add_wait of the same waitable is allowed") {
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};
  std::atomic<bool> removed{false};
  std::atomic<bool> removed_again{true};
  actorloop_test::latch_counter postselects;
  actorloop_test::latch_counter preselects;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "re-adder";
  callbacks.preselect = [&](actors::applet_context& context) {
    if (preselects.value() == 0) {
      context.add_wait(doorbell);
      removed = context.remove_wait(doorbell);
      removed_again = context.remove_wait(doorbell);
      context.add_wait(doorbell);
    }
    preselects.increment();
  };
  callbacks.postselect = [&](actors::applet_context&, const runtime::waitable&) -> runtime::waitable {
    postselects.increment();
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(preselects.wait_for_at_least(1, 5s));
  doorbell.set();
  REQUIRE(postselects.wait_for_at_least(1, 5s));
  handle.kill();
  REQUIRE(handle.wait_for(5s));
  CHECK(removed.load());
  CHECK_FALSE(removed_again.load());
  CHECK(postselects.value() == 1);
}
