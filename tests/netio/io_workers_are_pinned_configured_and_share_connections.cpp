// I/O workers: their number and CPU affinity come from io_pool_options (or
// --actorloop.io); each worker is pinned to its CPU, connections are spread
// across the workers round robin, and bad configuration (spin included) is
// refused with a message naming the part that is wrong.
// ctest-timeout: 60
#include "netio_test_support.hpp"

#include <actorloop/netio/stream.hpp>

#include <sched.h>
#include <map>

using namespace netio_test;

TEST_CASE("workers are pinned and connections are spread across them") {
  auto allowed = runtime::cpu_set::allowed();
  REQUIRE_FALSE(allowed.empty());
  runtime::engine engine;
  netio::io_pool_options options;
  options.workers = 2;
  options.cpus = allowed;
  netio::start_io_workers(engine, options);
  CHECK(netio::io_worker_count(engine) == 2);
  CHECK_THROWS_AS(netio::start_io_workers(engine, options), netio::error);

  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::thread::id, int> streams_per_thread;
  std::vector<int> cpus_seen;
  int opened = 0;
  // Both ends of every connection record the worker they run on.
  auto on_open = [&](netio::stream&) {
    cpu_set_t mask;
    CPU_ZERO(&mask);
    sched_getaffinity(0, sizeof mask, &mask);
    std::lock_guard guard{mutex};
    ++streams_per_thread[std::this_thread::get_id()];
    cpus_seen.push_back(CPU_COUNT(&mask));
    ++opened;
    changed.notify_all();
  };
  netio::stream_listener listener{engine, netio::endpoint::tcp("127.0.0.1", 0), [&](netio::stream&) {
    netio::stream_callbacks callbacks;
    callbacks.on_open = on_open;
    return callbacks;
  }};
  std::vector<netio::stream> clients;
  netio::stream_callbacks client_callbacks;
  client_callbacks.on_open = on_open;
  for (int index = 0; index < 4; ++index)
    clients.push_back(netio::stream::connect(engine, listener.local_endpoint(), client_callbacks));
  std::unique_lock guard{mutex};
  REQUIRE(changed.wait_for(guard, 20s, [&] { return opened == 8; }));
  // Round robin over one counter: the 8 streams (4 clients, 4 accepted) are
  // split 4 and 4 between the two workers, whatever the interleaving.
  REQUIRE(streams_per_thread.size() == 2);
  for (auto& [thread, count] : streams_per_thread)
    CHECK(count == 4);
  for (int count : cpus_seen)
    CHECK(count == 1); // each worker runs on exactly one CPU
  guard.unlock();
  auto stats = netio::io_worker_statistics(engine);
  REQUIRE(stats.size() == 2);
  CHECK(stats[0].name == "io.0");
  CHECK(stats[1].name == "io.1");
  // Where I/O runs: the scheduler by name, and the kernel thread id.
  for (auto& each : stats) {
    CAPTURE(each.name);
    auto scheduler = engine.get_scheduler(each.scheduler);
    REQUIRE(scheduler);
    CHECK(scheduler.thread_ids() == std::vector<std::thread::id>{each.thread});
    CHECK(each.native_thread > 0);
    CHECK(scheduler.native_thread_ids() == std::vector<int>{each.native_thread});
  }
  CHECK(stats[0].native_thread != stats[1].native_thread);
  for (auto& each : clients)
    each.close();
}

TEST_CASE("bad I/O worker options are refused clearly") {
  for (auto* text : {"workers=0", "workers=lots", "cpus=999999", "speed=fast", "workers",
                     "spin=fast", "spin=-5us", "spin=5", "spin="}) {
    CAPTURE(text);
    try {
      (void)netio::io_pool_options::parse(text);
      FAIL("accepted");
    } catch (const netio::error& failure) {
      CHECK(failure.code() == netio::errc::bad_configuration);
      // The message names the part that is wrong.
      auto key = std::string_view{text}.substr(0, std::string_view{text}.find('='));
      CHECK(std::string{failure.what()}.find(key) != std::string::npos);
    } catch (const runtime::error& failure) {
      CHECK(std::string{failure.what()}.find("999999") != std::string::npos);
    }
  }
  auto parsed = netio::io_pool_options::parse("workers=3:cpus=0");
  CHECK(parsed.workers == 3);
  CHECK(parsed.cpus.cpus() == std::vector<unsigned>{0});
  // From the engine's command line.
  std::vector<std::string> arguments{"test", "--actorloop.io=workers=3"};
  std::vector<char*> argv;
  for (auto& each : arguments)
    argv.push_back(each.data());
  argv.push_back(nullptr);
  runtime::engine engine{static_cast<int>(arguments.size()), argv.data()};
  CHECK(netio::io_worker_count(engine) == 3);
}
