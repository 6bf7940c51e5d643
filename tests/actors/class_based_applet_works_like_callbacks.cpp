// An applet written as a class derived from actorloop::actors::applet goes
// through the same life as the callbacks form: init, preselect, postselect
// (with chaining), dump and destroy, all on its scheduler's thread.
#include "applet_test_support.hpp"

#include <actorloop/runtime/wait_queue.hpp>

#include <doctest/doctest.h>

using namespace applet_test;

namespace {

// What the test reads after the applet is gone.
struct report {
  actorloop_test::latch_counter preselects;
  actorloop_test::latch_counter handled;
  std::atomic<int> inits{0};
  std::atomic<int> destroys{0};
  std::vector<int> items; // written on the scheduler thread, read after the handle
  event_log postselects;
  actorloop_test::thread_id_set threads;
};

// Sums numbers from a queue; a doorbell makes it move the queue's head in a
// chained dispatch; it leaves after `limit` items.
class summing_applet final : public actors::applet {
public:
  summing_applet(report& out, runtime::wait_queue<int> inbox, runtime::event doorbell, int limit)
    : out_(out), inbox_(std::move(inbox)), doorbell_(std::move(doorbell)), limit_(limit) {}

  void init(actors::applet_context&) override {
    out_.threads.insert();
    ++out_.inits;
  }
  void preselect(actors::applet_context& context) override {
    out_.threads.insert();
    context.clear_wait();
    context.add_wait(inbox_);
    context.add_wait(doorbell_);
    out_.preselects.increment();
  }
  runtime::waitable postselect(actors::applet_context& context,
                               const runtime::waitable& fired) override {
    out_.threads.insert();
    if (fired == doorbell_) {
      out_.postselects.add("doorbell");
      return inbox_; // chained: handle the queue at once
    }
    if (auto item = inbox_.try_pop()) {
      out_.postselects.add("inbox " + std::to_string(*item));
      sum_ += *item;
      out_.items.push_back(*item);
      out_.handled.increment();
      if (static_cast<int>(out_.items.size()) == limit_)
        context.kill();
    }
    return {};
  }
  void destroy(actors::applet_context&) override {
    out_.threads.insert();
    ++out_.destroys;
  }
  std::string dump(const actors::applet_context& context) const override {
    out_.threads.insert();
    return context.name() + ": sum=" + std::to_string(sum_);
  }

private:
  report& out_;
  runtime::wait_queue<int> inbox_;
  runtime::event doorbell_;
  int limit_;
  int sum_ = 0;
};

} // namespace

TEST_CASE("a class-based applet runs init, preselect, postselect, dump and destroy like the callbacks form") {
  report out;
  runtime::wait_queue<int> inbox{runtime::wait_queue<int>::unbounded, "inbox"};
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};

  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);
  auto handle = actors::spawn_applet(
    engine, "loop", std::make_unique<summing_applet>(out, inbox, doorbell, 4), "summer");
  REQUIRE(out.preselects.wait_for_at_least(1, 5s));
  CHECK(handle.name() == "summer");
  auto info = find_info(engine, handle.applet_id());
  REQUIRE(info.has_value());
  CHECK(info->name == "summer");
  CHECK(info->scheduler == "loop");

  REQUIRE(inbox.try_push(10) == std::error_code{});
  REQUIRE(out.handled.wait_for_at_least(1, 5s));
  REQUIRE(inbox.try_push(20) == std::error_code{});
  REQUIRE(out.handled.wait_for_at_least(2, 5s));
  REQUIRE(out.preselects.wait_for_at_least(3, 5s));
  CHECK(handle.dump() == "summer: sum=30");

  // The doorbell rings before two items arrive: its postselect chains to the
  // queue, which takes the first item in the same turn; the second follows.
  {
    scheduler_hold hold{engine, "loop"};
    REQUIRE(hold.hold());
    doorbell.set();
    REQUIRE(inbox.try_push(30) == std::error_code{});
    REQUIRE(inbox.try_push(40) == std::error_code{});
    hold.release();
  }
  REQUIRE(handle.wait_for(5s));
  CHECK(out.postselects.entries() ==
        std::vector<std::string>{"inbox 10", "inbox 20", "doorbell", "inbox 30", "inbox 40"});

  CHECK(out.inits.load() == 1);
  CHECK(out.destroys.load() == 1);
  CHECK(out.items == std::vector<int>{10, 20, 30, 40});
  CHECK(out.handled.value() == 4);
  CHECK(all_within(out.threads, loop.thread_ids()));
  CHECK(handle.exit_reason().is_normal());
  CHECK(inbox.empty());
}
