// spawn_applet refuses a scheduler that does not exist (no_such_scheduler),
// one that is stopped (scheduler_stopped) and a null applet (invalid_argument),
// and leaves nothing behind.
#include "applet_test_support.hpp"

#include <doctest/doctest.h>

using namespace applet_test;

namespace {

actors::applet_callbacks harmless() {
  actors::applet_callbacks callbacks;
  callbacks.name = "harmless";
  return callbacks;
}

} // namespace

TEST_CASE("spawn on a scheduler that does not exist throws no_such_scheduler") {
  runtime::engine engine{small_engine_options()};
  CHECK(error_code_of([&] { (void)actors::spawn_applet(engine, "nowhere", harmless()); }) ==
        runtime::errc::no_such_scheduler);
  CHECK(actors::list_applets(engine).empty());
}

TEST_CASE("spawn on a stopped scheduler throws scheduler_stopped") {
  runtime::engine engine{small_engine_options()};
  auto loop = make_scheduler(engine, "loop", 1);
  loop.stop();
  CHECK(error_code_of([&] { (void)actors::spawn_applet(engine, "loop", harmless()); }) ==
        runtime::errc::scheduler_stopped);
  CHECK(loop.empty());
  CHECK(actors::list_applets(engine).empty());
}

TEST_CASE("spawn on a removed scheduler throws no_such_scheduler") {
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);
  engine.remove_scheduler("loop");
  CHECK(error_code_of([&] { (void)actors::spawn_applet(engine, "loop", harmless()); }) ==
        runtime::errc::no_such_scheduler);
}

TEST_CASE("spawn of a null class applet throws invalid_argument") {
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "loop", 1);
  CHECK(error_code_of([&] {
          (void)actors::spawn_applet(engine, "loop", std::unique_ptr<actors::applet>{}, "null");
        }) == runtime::errc::invalid_argument);
  CHECK(actors::list_applets(engine).empty());
}
