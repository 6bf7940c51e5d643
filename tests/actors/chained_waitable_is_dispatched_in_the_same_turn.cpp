// A waitable returned by postselect that the same applet waits on
// is dispatched to it at once, in the same turn, without being tested or
// consumed (so even if it is not ready). One that this applet does not wait on
// is dropped and counted in applet_info::chained_dropped; it is never run on
// another applet's behalf.
// Model: Open Files of_core documentation (handle chaining from postselect;
// test_waitq).
#include "applet_test_support.hpp"

#include <actorloop/runtime/wait_queue.hpp>

#include <doctest/doctest.h>

using namespace applet_test;

TEST_CASE("a chained waitable the applet waits on is dispatched at once, even if it is not ready") {
  runtime::event trigger{runtime::reset_mode::automatic, "trigger"};
  runtime::event never_set{runtime::reset_mode::automatic, "never-set"};
  event_log log;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "chainer";
  callbacks.preselect = [&](actors::applet_context& context) {
    log.add("preselect");
    if (!context.waiting_on(trigger))
      context.add_wait(trigger);
    if (!context.waiting_on(never_set))
      context.add_wait(never_set);
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    log.add("postselect " + fired.name());
    if (fired == trigger)
      return never_set;
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(log.wait_for_size(1, 5s));

  trigger.set();
  REQUIRE(log.wait_for_size(4, 5s));
  // One more round trip, so anything stray would show up before we compare.
  trigger.set();
  REQUIRE(log.wait_for_size(7, 5s));

  auto info = find_info(engine, handle.applet_id());
  REQUIRE(info.has_value());
  CHECK(info->events_dispatched == 4);
  CHECK(info->chained_dropped == 0);

  handle.kill();
  REQUIRE(handle.wait_for(5s));
  // No preselect between the postselect and its chained one: the same turn.
  CHECK(log.entries() == std::vector<std::string>{"preselect", "postselect trigger",
                                                  "postselect never-set", "preselect",
                                                  "postselect trigger", "postselect never-set",
                                                  "preselect"});
  CHECK_FALSE(never_set.test());
}

TEST_CASE("returning a wait queue after filling it drains it in the same turn (test_waitq)") {
  runtime::event tick{runtime::reset_mode::automatic, "tick"};
  runtime::wait_queue<int> queue{runtime::wait_queue<int>::unbounded, "queue"};
  event_log log;
  int next_message = 0; // touched only on the scheduler thread

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  actors::applet_callbacks callbacks;
  callbacks.name = "waitq";
  callbacks.preselect = [&](actors::applet_context& context) {
    log.add("preselect");
    if (!context.waiting_on(tick))
      context.add_wait(tick);
    if (!context.waiting_on(queue))
      context.add_wait(queue);
  };
  callbacks.postselect = [&](actors::applet_context&,
                             const runtime::waitable& fired) -> runtime::waitable {
    if (fired == tick) {
      log.add("postselect tick");
      CHECK(queue.try_push(++next_message) == std::error_code{});
      return queue;
    }
    while (auto item = queue.try_pop())
      log.add("dequeued " + std::to_string(*item));
    return {};
  };
  auto handle = actors::spawn_applet(engine, "loop", callbacks);
  REQUIRE(log.wait_for_size(1, 5s));

  for (int round = 1; round <= 3; ++round) {
    tick.set();
    REQUIRE(log.wait_for_entry("dequeued " + std::to_string(round), 5s));
  }
  // A fourth tick as a round trip, so a stray dispatch of the drained queue would show.
  tick.set();
  REQUIRE(log.wait_for_entry("dequeued 4", 5s));
  REQUIRE(log.wait_for_size(13, 5s));
  handle.kill();
  REQUIRE(handle.wait_for(5s));

  std::vector<std::string> expected{"preselect"};
  for (int round = 1; round <= 4; ++round) {
    expected.push_back("postselect tick");
    expected.push_back("dequeued " + std::to_string(round));
    expected.push_back("preselect");
  }
  CHECK(log.entries() == expected);
  CHECK(queue.empty());
}

TEST_CASE("a chained waitable nobody here waits on is dropped, counted, and not run for another applet") {
  runtime::event trigger{runtime::reset_mode::automatic, "trigger"};
  runtime::event stranger{runtime::reset_mode::automatic, "stranger"};
  runtime::event other_applets{runtime::reset_mode::automatic, "other-applets"};
  runtime::event ping{runtime::reset_mode::automatic, "ping"};
  event_log chainer_log;
  event_log bystander_log;
  actorloop_test::latch_counter chainer_preselects;
  std::atomic<int> rounds{0};

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);

  // The bystander waits on `other_applets`, which is never set.
  actors::applet_callbacks bystander_callbacks;
  bystander_callbacks.name = "bystander";
  bystander_callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(other_applets))
      context.add_wait(other_applets);
    if (!context.waiting_on(ping))
      context.add_wait(ping);
  };
  bystander_callbacks.postselect = [&](actors::applet_context&,
                                       const runtime::waitable& fired) -> runtime::waitable {
    bystander_log.add(fired.name());
    return {};
  };
  auto bystander = actors::spawn_applet(engine, "loop", bystander_callbacks);

  actors::applet_callbacks chainer_callbacks;
  chainer_callbacks.name = "chainer";
  chainer_callbacks.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(trigger))
      context.add_wait(trigger);
    chainer_preselects.increment();
  };
  chainer_callbacks.postselect = [&](actors::applet_context&,
                                     const runtime::waitable& fired) -> runtime::waitable {
    chainer_log.add(fired.name());
    // First a waitable nobody waits on, then one only the bystander waits on.
    return rounds.fetch_add(1) == 0 ? stranger : other_applets;
  };
  auto chainer = actors::spawn_applet(engine, "loop", chainer_callbacks);
  REQUIRE(chainer_preselects.wait_for_at_least(1, 5s));

  trigger.set();
  REQUIRE(chainer_preselects.wait_for_at_least(2, 5s));
  auto after_first = find_info(engine, chainer.applet_id());
  REQUIRE(after_first.has_value());
  CHECK(after_first->chained_dropped == 1);

  trigger.set();
  REQUIRE(chainer_preselects.wait_for_at_least(3, 5s));
  auto after_second = find_info(engine, chainer.applet_id());
  REQUIRE(after_second.has_value());
  CHECK(after_second->chained_dropped == 2);
  CHECK(after_second->events_dispatched == 2);

  // Round trip through the bystander: it only ever saw its own ping.
  ping.set();
  REQUIRE(bystander_log.wait_for_size(1, 5s));
  auto bystander_info = find_info(engine, bystander.applet_id());
  REQUIRE(bystander_info.has_value());
  CHECK(bystander_info->chained_dropped == 0);
  CHECK(bystander_info->events_dispatched == 1);

  chainer.kill();
  bystander.kill();
  REQUIRE(chainer.wait_for(5s));
  REQUIRE(bystander.wait_for(5s));
  CHECK(chainer_log.entries() == std::vector<std::string>{"trigger", "trigger"});
  CHECK(bystander_log.entries() == std::vector<std::string>{"ping"});
  CHECK_FALSE(stranger.test());
  CHECK_FALSE(other_applets.test());
}
