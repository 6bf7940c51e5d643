// Bad supervisor and child specs are refused before anything runs, with
// errc::invalid_argument and a message naming the problem; a remote child
// (the nodes hook) is refused until the nodes module exists.
#include "supervisor_test_support.hpp"

#include <doctest/doctest.h>

using namespace supervisor_test;

namespace {

std::string refusal(runtime::engine& engine, const actors::supervisor_spec& spec) {
  try {
    (void)actors::spawn_supervisor(engine, "default", spec);
  } catch (const runtime::error& failure) {
    CHECK(failure.code() == runtime::errc::invalid_argument);
    return failure.what();
  }
  return "accepted";
}

bool mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("malformed supervisor specs are refused, naming the problem") {
  event_log log;
  worker_controls controls;
  runtime::engine engine{small_engine_options()};

  auto base = [&] {
    actors::supervisor_spec spec;
    spec.name = "s";
    spec.children.push_back(worker("a", controls, log, "default"));
    return spec;
  };

  auto spec = base();
  spec.children.push_back(worker("a", controls, log, "default"));
  CHECK(mentions(refusal(engine, spec), "two children are named 'a'"));

  spec = base();
  spec.children[0].name.clear();
  CHECK(mentions(refusal(engine, spec), "empty name"));

  spec = base();
  spec.children[0].make = [] { return std::unique_ptr<actors::applet>{}; };
  CHECK(mentions(refusal(engine, spec), "exactly one of make and callbacks"));

  spec = base();
  spec.children[0].node = "elsewhere";
  CHECK(mentions(refusal(engine, spec), "nodes module, which is not built yet"));

  spec = base();
  spec.intensity.period = runtime::duration::zero();
  CHECK(mentions(refusal(engine, spec), "intensity period must be positive"));

  spec = base();
  spec.backoff = {std::chrono::milliseconds(10), std::chrono::milliseconds(5)};
  CHECK(mentions(refusal(engine, spec), "back-off"));

  spec = base();
  spec.strategy = actors::restart_strategy::simple_one_for_one;
  CHECK(mentions(refusal(engine, spec), "simple_one_for_one takes no static children"));

  spec.children.clear();
  CHECK(mentions(refusal(engine, spec), "needs a child_template"));

  // The same checks guard a nested spec where it is written.
  spec = base();
  spec.intensity.period = runtime::duration::zero();
  CHECK(error_code_of([&] { (void)actors::supervisor_child(spec); }) ==
        runtime::errc::invalid_argument);

  // Nothing was started by any of the refusals.
  CHECK(actors::list_applets(engine).empty());
  CHECK(log.size() == 0);
}
