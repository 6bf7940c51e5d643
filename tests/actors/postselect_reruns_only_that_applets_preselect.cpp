// After applet A's postselect only A's preselect runs again; the
// preselect of another applet B on the same scheduler is not re-invoked.
// Model: Open Files of_core documentation (the scheduler loop, default build).
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

namespace {

struct counters {
  actorloop_test::latch_counter preselects;
  actorloop_test::latch_counter postselects;
  runtime::event doorbell{runtime::reset_mode::automatic};
};

actors::applet_callbacks counting(counters& mine, std::string name) {
  actors::applet_callbacks callbacks;
  callbacks.name = std::move(name);
  callbacks.preselect = [&mine](actors::applet_context& context) {
    if (!context.waiting_on(mine.doorbell))
      context.add_wait(mine.doorbell);
    mine.preselects.increment();
  };
  callbacks.postselect = [&mine](actors::applet_context&,
                                 const runtime::waitable&) -> runtime::waitable {
    mine.postselects.increment();
    return {};
  };
  return callbacks;
}

} // namespace

TEST_CASE("after applet A's postselect only A's preselect re-runs, B's count is unchanged") {
  counters first;
  counters second;

  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);
  auto a = actors::spawn_applet(engine, "loop", counting(first, "a"));
  auto b = actors::spawn_applet(engine, "loop", counting(second, "b"));
  REQUIRE(first.preselects.wait_for_at_least(1, 5s));
  REQUIRE(second.preselects.wait_for_at_least(1, 5s));

  for (std::size_t round = 1; round <= 3; ++round) {
    first.doorbell.set();
    REQUIRE(first.preselects.wait_for_at_least(1 + round, 5s));
  }
  CHECK(first.postselects.value() == 3);
  CHECK(first.preselects.value() == 4);
  CHECK(second.preselects.value() == 1);

  // B is alive and re-arms after its own postselect.
  second.doorbell.set();
  REQUIRE(second.preselects.wait_for_at_least(2, 5s));

  a.kill();
  b.kill();
  REQUIRE(a.wait_for(5s));
  REQUIRE(b.wait_for(5s));
  CHECK(first.preselects.value() == 4);
  CHECK(second.preselects.value() == 2);
  CHECK(second.postselects.value() == 1);
}
