// ctest-timeout: 180
// A restart storm: 10,000 dynamic children (simple_one_for_one) whose
// callbacks throw at once are all restarted, each exactly once, within a
// bounded time, without the applet count, the supervisor's bookkeeping or the
// process's memory growing with the number of failures.
#include "supervisor_test_support.hpp"

#include <doctest/doctest.h>

#include <cstdio>

using namespace supervisor_test;

namespace {

constexpr std::size_t child_count = 10'000;
constexpr auto storm_limit = std::chrono::seconds(120);

std::size_t resident_kib() {
  std::FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr)
    return 0;
  char line[256];
  std::size_t kib = 0;
  while (std::fgets(line, sizeof line, status) != nullptr)
    if (std::sscanf(line, "VmRSS: %zu kB", &kib) == 1)
      break;
  std::fclose(status);
  return kib;
}

} // namespace

TEST_CASE("a storm of 10,000 dynamic children whose callbacks throw is bounded in time and memory") {
  runtime::engine engine{small_engine_options()};
  make_scheduler(engine, "sup");
  make_scheduler(engine, "work");

  runtime::event storm{runtime::reset_mode::manual, "storm"};
  std::atomic<int> epoch{0};
  std::atomic<std::size_t> thrown{0};
  std::atomic<std::size_t> destroyed{0};
  actorloop_test::latch_counter started;
  actorloop_test::latch_counter armed; // first instances waiting for the storm

  actors::child_spec worker_template;
  worker_template.name = "w";
  worker_template.scheduler = "work";
  worker_template.callbacks = [&] {
    // Fresh state per instance: an instance born before the storm throws when
    // it comes; its replacement, born after, does not.
    auto born = std::make_shared<int>(0);
    actors::applet_callbacks callbacks;
    callbacks.init = [&, born](actors::applet_context&) { *born = epoch.load(); };
    callbacks.preselect = [&, born](actors::applet_context& context) {
      if (*born == 0 && !context.waiting_on(storm)) {
        context.add_wait(storm);
        armed.increment();
      }
    };
    callbacks.postselect = [&](actors::applet_context& context,
                               const runtime::waitable&) -> runtime::waitable {
      ++thrown;
      throw std::runtime_error(context.name() + " fails in the storm");
    };
    callbacks.destroy = [&](actors::applet_context&) { ++destroyed; };
    return callbacks;
  };

  actors::supervisor_spec spec;
  spec.name = "pool";
  spec.strategy = actors::restart_strategy::simple_one_for_one;
  spec.child_template = worker_template;
  spec.intensity = {child_count, std::chrono::minutes(5)};
  spec.on_event = [&](const actors::supervisor_event& event) {
    if (event.what == actors::supervisor_event::kind::child_started)
      started.increment();
  };
  auto pool = actors::spawn_supervisor(engine, "sup", spec);

  std::vector<std::future<actors::child_result>> requests;
  requests.reserve(child_count);
  for (std::size_t index = 0; index < child_count; ++index)
    requests.push_back(pool.start_child());
  for (auto& request : requests)
    REQUIRE(request.get().child);
  REQUIRE(started.wait_for_at_least(child_count, 30s));
  REQUIRE(armed.wait_for_at_least(child_count, 30s));
  CHECK(engine.get_scheduler("work").applet_count() == child_count);
  auto before_kib = resident_kib();

  auto storm_start = runtime::clock::now();
  epoch = 1;
  storm.set();
  bool restarted_all = started.wait_for_at_least(2 * child_count, storm_limit);
  INFO("started " << started.value() << ", thrown " << thrown.load() << ", destroyed "
                  << destroyed.load() << ", supervisor restarts " << pool.stats().restarts);
  REQUIRE(restarted_all);
  auto storm_time = runtime::clock::now() - storm_start;
  auto after_kib = resident_kib();
  MESSAGE("storm: " << std::chrono::duration_cast<std::chrono::milliseconds>(storm_time).count()
                    << " ms for " << child_count << " restarts; RSS " << before_kib << " kB -> "
                    << after_kib << " kB");

  // Time: well within the bound even under sanitizers on a shared machine.
  CHECK(storm_time < std::chrono::seconds(60));
  // Memory: the replacements take the places of the failed ones.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr std::size_t growth_limit_kib = 512 * 1024; // quarantine and shadow memory
#else
  constexpr std::size_t growth_limit_kib = 64 * 1024;
#endif
  CHECK(after_kib < before_kib + growth_limit_kib);
  CHECK(thrown.load() == child_count);
  CHECK(armed.value() == child_count);
  CHECK(destroyed.load() == child_count);
  CHECK(engine.get_scheduler("work").applet_count() == child_count);

  auto stats = pool.stats();
  CHECK(stats.restarts == child_count);
  REQUIRE(stats.children.size() == child_count);
  std::size_t restarted_once = 0;
  for (auto& child : stats.children)
    if (child.restarts == 1 && child.status == actors::child_status::running &&
        child.last_reason.code() == runtime::errc::callback_threw)
      ++restarted_once;
  CHECK(restarted_once == child_count);
  CHECK(stats.children.front().name == "w-1");
  CHECK(stats.children.back().name == "w-10000");

  pool.shutdown();
  REQUIRE(pool.wait_for(120s));
  CHECK(pool.exit_reason().is_normal());
  CHECK(destroyed.load() == 2 * child_count);
  CHECK(engine.get_scheduler("work").empty());
}
