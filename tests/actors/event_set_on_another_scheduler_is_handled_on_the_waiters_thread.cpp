// Affinity across schedulers: when an applet on scheduler A sets an event
// that an applet on scheduler B waits on, B's postselect runs on B's thread,
// not on A's (plain CAF would run it on the sender's worker).
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("a ping-pong between applets on two schedulers keeps each on its own thread") {
  constexpr std::size_t rallies = 50;
  runtime::event ping{runtime::reset_mode::automatic, "ping"};
  runtime::event pong{runtime::reset_mode::automatic, "pong"};
  actorloop_test::thread_id_set left_threads;
  actorloop_test::thread_id_set right_threads;
  std::atomic<std::size_t> pings{0};
  std::atomic<std::size_t> pongs{0};
  actorloop_test::latch_counter ready;

  runtime::engine engine{small_engine_options()};
  auto left = make_scheduler(engine, "left", 1);
  auto right = make_scheduler(engine, "right", 2);

  // Left serves: on each pong it pings again, until enough rallies.
  actors::applet_callbacks left_callbacks;
  left_callbacks.name = "left";
  left_callbacks.preselect = [&](actors::applet_context& context) {
    left_threads.insert();
    if (!context.waiting_on(pong)) {
      context.add_wait(pong);
      ready.increment();
    }
  };
  left_callbacks.postselect = [&](actors::applet_context& context,
                                  const runtime::waitable&) -> runtime::waitable {
    left_threads.insert();
    if (++pongs == rallies) {
      context.kill();
      return {};
    }
    ping.set();
    return {};
  };
  actors::applet_callbacks right_callbacks;
  right_callbacks.name = "right";
  right_callbacks.preselect = [&](actors::applet_context& context) {
    right_threads.insert();
    if (!context.waiting_on(ping)) {
      context.add_wait(ping);
      ready.increment();
    }
  };
  right_callbacks.postselect = [&](actors::applet_context& context,
                                   const runtime::waitable&) -> runtime::waitable {
    right_threads.insert();
    pong.set();
    if (++pings == rallies)
      context.kill();
    return {};
  };
  auto left_handle = actors::spawn_applet(engine, "left", left_callbacks);
  auto right_handle = actors::spawn_applet(engine, "right", right_callbacks);
  REQUIRE(ready.wait_for_at_least(2, 5s));

  ping.set(); // the serve
  REQUIRE(left_handle.wait_for(10s));
  REQUIRE(right_handle.wait_for(10s));

  CHECK(pings.load() == rallies);
  CHECK(pongs.load() == rallies);
  CHECK(all_within(left_threads, left.thread_ids()));
  CHECK(all_within(right_threads, right.thread_ids()));
  for (auto id : left.thread_ids())
    CHECK_FALSE(right_threads.contains(id));
  for (auto id : right.thread_ids())
    CHECK_FALSE(left_threads.contains(id));
}

TEST_CASE("a queue filled and a handle killed from another scheduler are handled on the owner's thread") {
  runtime::event go{runtime::reset_mode::automatic, "go"};
  runtime::event inbox_bell{runtime::reset_mode::manual, "inbox-bell"};
  actorloop_test::thread_id_set owner_threads;
  actorloop_test::latch_counter owner_ready;
  actorloop_test::latch_counter owner_postselects;
  actors::applet_handle owner; // set before `go`, read by the sender after it

  runtime::engine engine{small_engine_options()};
  auto sender_loop = make_scheduler(engine, "sender", 1);
  auto owner_loop = make_scheduler(engine, "owner", 1);

  actors::applet_callbacks owner_callbacks;
  owner_callbacks.name = "owner";
  owner_callbacks.preselect = [&](actors::applet_context& context) {
    owner_threads.insert();
    if (!context.waiting_on(inbox_bell)) {
      context.add_wait(inbox_bell);
      owner_ready.increment();
    }
  };
  owner_callbacks.postselect = [&](actors::applet_context&,
                                   const runtime::waitable&) -> runtime::waitable {
    owner_threads.insert();
    inbox_bell.reset();
    owner_postselects.increment();
    return {};
  };
  owner_callbacks.destroy = [&](actors::applet_context&) { owner_threads.insert(); };
  owner = actors::spawn_applet(engine, "owner", owner_callbacks);
  REQUIRE(owner_ready.wait_for_at_least(1, 5s));

  actors::applet_callbacks sender_callbacks;
  sender_callbacks.name = "sender";
  sender_callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(go))
      context.add_wait(go);
    if (owner_postselects.value() == 1 && !context.waiting_on(owner)) {
      owner.kill(); // from the sender's thread
      context.add_wait(owner);
    }
  };
  sender_callbacks.postselect = [&](actors::applet_context& context,
                                    const runtime::waitable& fired) -> runtime::waitable {
    if (fired == go)
      inbox_bell.set();
    else
      context.kill(); // the owner is gone
    return {};
  };
  auto sender = actors::spawn_applet(engine, "sender", sender_callbacks);
  go.set();
  REQUIRE(owner_postselects.wait_for_at_least(1, 5s));
  sender_loop.wake(); // the sender's preselect now kills the owner
  REQUIRE(owner.wait_for(5s));
  REQUIRE(sender.wait_for(5s));

  CHECK(owner_postselects.value() == 1);
  CHECK(all_within(owner_threads, owner_loop.thread_ids()));
  for (auto id : sender_loop.thread_ids())
    CHECK_FALSE(owner_threads.contains(id));
}
