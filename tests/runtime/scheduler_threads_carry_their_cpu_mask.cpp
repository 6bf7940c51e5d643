// Pinned schedulers: every worker thread's kernel CPU mask is exactly the
// configured cpu set; an unpinned scheduler inherits the process mask.
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/scheduler.hpp>

#include <doctest/doctest.h>

#include <sched.h>
#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace runtime = actorloop::runtime;
using namespace std::chrono_literals;

namespace {

// The kernel's CPU mask of one thread, or nothing if it cannot be read.
std::optional<runtime::cpu_set> affinity_of(int native_thread_id) {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(static_cast<pid_t>(native_thread_id), sizeof(mask), &mask) != 0)
    return std::nullopt;
  runtime::cpu_set result;
  for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &mask))
      result.add(cpu);
  return result;
}

runtime::scheduler_options pinned(std::string name, std::size_t threads, runtime::cpu_set cpus) {
  runtime::scheduler_options options;
  options.name = std::move(name);
  options.threads = threads;
  options.cpus = std::move(cpus);
  return options;
}

void check_every_worker_has_mask(const runtime::scheduler& scheduler,
                                 const runtime::cpu_set& expected) {
  auto ids = scheduler.native_thread_ids();
  REQUIRE(ids.size() == scheduler.options().threads);
  for (auto id : ids) {
    INFO("scheduler ", scheduler.name(), " worker ", id);
    auto mask = affinity_of(id);
    REQUIRE(mask.has_value());
    CHECK(mask->to_string() == expected.to_string());
  }
}

runtime::engine_options small_engine() {
  runtime::engine_options options;
  options.default_threads = 1;
  return options;
}

} // namespace

TEST_CASE("a scheduler pinned to CPU 0 runs every worker on exactly {0}") {
  auto allowed = runtime::cpu_set::allowed();
  if (!allowed.contains(0)) {
    MESSAGE("CPU 0 is not available to this process; skipped");
    return;
  }
  runtime::engine engine{small_engine()};
  auto on_zero = engine.create_scheduler(pinned("on-zero", 2, runtime::cpu_set{0}));
  CHECK(on_zero.options().cpus == runtime::cpu_set{0});
  check_every_worker_has_mask(on_zero, runtime::cpu_set{0});
}

TEST_CASE("with two CPUs, schedulers pinned to {0} and {1} each keep their own mask") {
  auto allowed = runtime::cpu_set::allowed();
  if (!allowed.contains(0) || !allowed.contains(1)) {
    MESSAGE("this machine gives the process fewer than CPUs 0 and 1; skipped");
    return;
  }
  runtime::engine engine{small_engine()};
  auto on_zero = engine.create_scheduler(pinned("on-zero", 1, runtime::cpu_set{0}));
  auto on_one = engine.create_scheduler(pinned("on-one", 2, runtime::cpu_set{1}));
  auto on_both = engine.create_scheduler(pinned("on-both", 2, runtime::cpu_set{0, 1}));
  check_every_worker_has_mask(on_zero, runtime::cpu_set{0});
  check_every_worker_has_mask(on_one, runtime::cpu_set{1});
  check_every_worker_has_mask(on_both, runtime::cpu_set{0, 1});
}

TEST_CASE("the command line pins a scheduler the same way") {
  auto allowed = runtime::cpu_set::allowed();
  auto last = allowed.cpus().back();
  std::vector<std::string> storage{"actorloop-test",
                                   "--actorloop.schedulers=io:threads=2:cpus=" +
                                     std::to_string(last),
                                   "--actorloop.default-threads=1"};
  std::vector<char*> argv;
  for (auto& each : storage)
    argv.push_back(each.data());
  argv.push_back(nullptr);
  runtime::engine engine{static_cast<int>(storage.size()), argv.data()};
  check_every_worker_has_mask(engine.get_scheduler("io"), runtime::cpu_set{last});
}

TEST_CASE("an unpinned scheduler's workers inherit the process's CPU mask") {
  auto allowed = runtime::cpu_set::allowed();
  runtime::engine engine{small_engine()};
  auto loose = engine.create_scheduler(pinned("loose", 2, runtime::cpu_set{}));
  check_every_worker_has_mask(loose, allowed);
}
