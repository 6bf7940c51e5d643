// The engine: schedulers from the command line, from engine_options and from
// code; names are unique; "default" always exists and cannot be removed;
// stop is idempotent; an idle scheduler's counters are zero.
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/error.hpp>
#include <actorloop/runtime/scheduler.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;

namespace {

struct failure_report {
  std::error_code code;
  std::string message;
};

// What a call throws as runtime::error; an empty code if it throws nothing.
failure_report failure_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const runtime::error& failure) {
    return {failure.code(), failure.what()};
  }
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Builds a mutable argv for engine(argc, argv) from strings.
class command_line {
public:
  explicit command_line(std::vector<std::string> arguments) : storage_(std::move(arguments)) {
    storage_.insert(storage_.begin(), "actorloop-test");
    for (auto& each : storage_)
      pointers_.push_back(each.data());
    pointers_.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(storage_.size()); }
  char** argv() { return pointers_.data(); }

private:
  std::vector<std::string> storage_;
  std::vector<char*> pointers_;
};

std::vector<std::string> names_of(const std::vector<runtime::scheduler>& schedulers) {
  std::vector<std::string> names;
  for (auto& each : schedulers)
    names.push_back(each.name());
  return names;
}

runtime::scheduler_options named(std::string name, std::size_t threads = 1) {
  runtime::scheduler_options options;
  options.name = std::move(name);
  options.threads = threads;
  return options;
}

runtime::engine_options small_engine() {
  runtime::engine_options options;
  options.default_threads = 1;
  return options;
}

} // namespace

TEST_CASE("engine(argc, argv) creates the schedulers named by --actorloop.schedulers") {
  command_line arguments{{"--actorloop.schedulers=io:threads=1;work:threads=2:throughput=4",
                          "--actorloop.default-threads=1"}};
  runtime::engine engine{arguments.argc(), arguments.argv()};
  CHECK_FALSE(engine.help_printed());

  CHECK(names_of(engine.schedulers()) == std::vector<std::string>{"default", "io", "work"});
  auto io = engine.get_scheduler("io");
  auto work = engine.get_scheduler("work");
  auto fallback = engine.get_scheduler("default");
  CHECK(io.name() == "io");
  CHECK(io.options().threads == 1);
  CHECK(io.thread_ids().size() == 1);
  CHECK(io.native_thread_ids().size() == 1);
  CHECK(work.options().threads == 2);
  CHECK(work.options().throughput == 4);
  CHECK(work.thread_ids().size() == 2);
  CHECK(work.native_thread_ids().size() == 2);
  CHECK(fallback.thread_ids().size() == 1);

  // Independent loops: no worker thread is shared, none is this thread.
  std::set<std::thread::id> all;
  for (auto& each : engine.schedulers())
    for (auto id : each.thread_ids()) {
      CHECK(all.insert(id).second);
      CHECK(id != std::this_thread::get_id());
    }
  CHECK(all.size() == 4);
  CHECK_FALSE(io.runs_this_thread());
}

TEST_CASE("engine(argc, argv) with a malformed scheduler spec throws bad_configuration naming it") {
  command_line arguments{{"--actorloop.schedulers=io:threads=lots"}};
  auto report = failure_of([&] { runtime::engine engine{arguments.argc(), arguments.argv()}; });
  CHECK(report.code == runtime::errc::bad_configuration);
  INFO("message: ", report.message);
  CHECK(contains(report.message, "lots"));
}

TEST_CASE("engine(argc, argv) with an unknown option throws bad_configuration") {
  command_line arguments{{"--actorloop.no-such-option=1"}};
  auto report = failure_of([&] { runtime::engine engine{arguments.argc(), arguments.argv()}; });
  CHECK(report.code == runtime::errc::bad_configuration);
  INFO("message: ", report.message);
}

TEST_CASE("engine_options.schedulers and .arguments create those schedulers at start") {
  auto options = small_engine();
  options.schedulers.push_back(named("first", 1));
  auto second = named("second", 2);
  second.cpus = runtime::cpu_set{runtime::cpu_set::allowed().cpus().front()};
  options.schedulers.push_back(second);
  options.arguments.push_back("--actorloop.schedulers=from-arguments:threads=1");
  runtime::engine engine{options};

  auto names = names_of(engine.schedulers());
  CHECK(names.front() == "default");
  CHECK(names.size() == 4);
  for (std::string name : {"first", "second", "from-arguments"})
    CHECK(std::find(names.begin(), names.end(), name) != names.end());
  CHECK(engine.get_scheduler("second").thread_ids().size() == 2);
  CHECK(engine.get_scheduler("second").options().cpus == second.cpus);
  CHECK(engine.get_scheduler("default").thread_ids().size() == 1);
}

TEST_CASE("engine_options with a duplicate scheduler name throws scheduler_exists") {
  auto options = small_engine();
  options.schedulers.push_back(named("twice"));
  options.schedulers.push_back(named("twice"));
  auto report = failure_of([&] { runtime::engine engine{options}; });
  CHECK(report.code == runtime::errc::scheduler_exists);
}

TEST_CASE("create_scheduler adds a running scheduler; schedulers() lists default first, then creation order") {
  runtime::engine engine{small_engine()};
  auto beta = engine.create_scheduler(named("beta", 2));
  auto alpha = engine.create_scheduler(named("alpha"));
  CHECK(beta.name() == "beta");
  CHECK(beta.thread_ids().size() == 2);
  CHECK_FALSE(beta.stopped());
  CHECK(names_of(engine.schedulers()) == std::vector<std::string>{"default", "beta", "alpha"});
  CHECK(engine.get_scheduler("alpha") == alpha);
  REQUIRE(engine.find_scheduler("beta").has_value());
  CHECK(*engine.find_scheduler("beta") == beta);
}

TEST_CASE("create_scheduler with a name in use throws scheduler_exists naming it") {
  runtime::engine engine{small_engine()};
  (void)engine.create_scheduler(named("io"));
  auto report = failure_of([&] { (void)engine.create_scheduler(named("io", 2)); });
  CHECK(report.code == runtime::errc::scheduler_exists);
  CHECK(contains(report.message, "io"));
  CHECK(engine.get_scheduler("io").options().threads == 1); // the first one is untouched

  CHECK(failure_of([&] { (void)engine.create_scheduler(named("default")); }).code ==
        runtime::errc::scheduler_exists);
  CHECK(engine.schedulers().size() == 2);
}

TEST_CASE("get_scheduler of an unknown name throws no_such_scheduler naming it") {
  runtime::engine engine{small_engine()};
  auto report = failure_of([&] { (void)engine.get_scheduler("nowhere"); });
  CHECK(report.code == runtime::errc::no_such_scheduler);
  CHECK(contains(report.message, "nowhere"));
  CHECK_FALSE(engine.find_scheduler("nowhere").has_value());
  CHECK(engine.find_scheduler("default").has_value());
}

TEST_CASE("create_scheduler refuses invalid options with invalid_argument and leaves nothing behind") {
  runtime::engine engine{small_engine()};
  auto no_threads = named("empty", 0);
  CHECK(failure_of([&] { (void)engine.create_scheduler(no_threads); }).code ==
        runtime::errc::invalid_argument);
  CHECK(failure_of([&] { (void)engine.create_scheduler(named("bad name!")); }).code ==
        runtime::errc::invalid_argument);
  CHECK(failure_of([&] { (void)engine.create_scheduler(named("")); }).code ==
        runtime::errc::invalid_argument);
  CHECK(engine.schedulers().size() == 1);
  CHECK_FALSE(engine.find_scheduler("empty").has_value());
}

TEST_CASE("a cpu set naming CPU 4095 throws invalid_cpu_set and leaves nothing behind") {
  runtime::engine engine{small_engine()};
  auto options = named("far-away");
  options.cpus = runtime::cpu_set{4095};
  auto report = failure_of([&] { (void)engine.create_scheduler(options); });
  CHECK(report.code == runtime::errc::invalid_cpu_set);
  INFO("message: ", report.message);
  CHECK(contains(report.message, "4095"));
  CHECK_FALSE(engine.find_scheduler("far-away").has_value());
  CHECK(engine.schedulers().size() == 1);

  // The name is free: the failed attempt left no scheduler registered.
  options.cpus = runtime::cpu_set{runtime::cpu_set::allowed().cpus().front()};
  auto created = engine.create_scheduler(options);
  CHECK(created.thread_ids().size() == 1);
}

TEST_CASE("scheduler.stop() is idempotent") {
  runtime::engine engine{small_engine()};
  auto io = engine.create_scheduler(named("io", 2));
  CHECK_FALSE(io.stopped());
  io.stop();
  CHECK(io.stopped());
  CHECK(failure_of([&] { io.stop(); }).code == std::error_code{});
  CHECK(io.stopped());
}

TEST_CASE("remove_scheduler(\"default\") throws invalid_argument and default stays") {
  runtime::engine engine{small_engine()};
  CHECK(failure_of([&] { engine.remove_scheduler("default"); }).code ==
        runtime::errc::invalid_argument);
  REQUIRE(engine.find_scheduler("default").has_value());
  CHECK_FALSE(engine.get_scheduler("default").stopped());
}

TEST_CASE("remove_scheduler stops and forgets a scheduler, and its name can be used again") {
  runtime::engine engine{small_engine()};
  auto io = engine.create_scheduler(named("io"));
  engine.remove_scheduler("io");
  CHECK(io.stopped());
  CHECK_FALSE(engine.find_scheduler("io").has_value());
  CHECK(engine.schedulers().size() == 1);
  CHECK(failure_of([&] { engine.remove_scheduler("io"); }).code ==
        runtime::errc::no_such_scheduler);

  auto again = engine.create_scheduler(named("io", 2));
  CHECK_FALSE(again.stopped());
  CHECK(again.thread_ids().size() == 2);
}

TEST_CASE("stats() of an idle scheduler show no events dispatched and no applets") {
  runtime::engine engine{small_engine()};
  auto idle = engine.create_scheduler(named("idle", 2));
  idle.wake(); // a significant event with no applets dispatches nothing
  auto stats = idle.stats();
  CHECK(stats.name == "idle");
  CHECK(stats.threads == 2);
  CHECK(stats.events_dispatched == 0);
  CHECK(stats.applets == 0);
  CHECK(stats.queue_depth == 0);
  CHECK(stats.timers_pending == 0);
  CHECK(stats.uptime > runtime::duration::zero());
  CHECK(idle.applet_count() == 0);
  CHECK(idle.empty());

  auto fallback = engine.get_scheduler("default").stats();
  CHECK(fallback.name == "default");
  CHECK(fallback.events_dispatched == 0);
  CHECK(fallback.applets == 0);
}

TEST_CASE("destroying the engine stops its schedulers; a handle kept longer reports stopped") {
  runtime::scheduler kept;
  {
    runtime::engine engine{small_engine()};
    kept = engine.create_scheduler(named("kept", 2));
    CHECK_FALSE(kept.stopped());
  }
  CHECK(kept.stopped());
  CHECK(kept.name() == "kept");
}
