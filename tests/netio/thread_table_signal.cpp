// Source: Open Client Client-Library/C Reference Manual (version 15.0),
// Table 2-27 "Callback types and the thread they are invoked from".
// Table 2-27, row "Signal": a signal callback is installed on the context;
// the signal reaches the runtime through a signalfd and the callback runs
// as ordinary code on an I/O worker thread, never in a signal handler (it
// may take locks and allocate). Uninstalling stops delivery to it.
// ctest-timeout: 30
#include "netio_test_support.hpp"

#include <csignal>
#include <pthread.h>

using namespace netio_test;

TEST_CASE("signal: runs on an I/O worker, not in a handler") {
  // Blocked before the engine starts its threads, so no thread takes the
  // default action.
  netio::block_signals({SIGUSR2});
  runtime::engine engine;
  netio::context context{engine};
  thread_log log;
  std::mutex lock_taken_in_callback;
  context.set_signal(SIGUSR2, [&](int number) {
    CHECK(number == SIGUSR2);
    std::lock_guard guard{lock_taken_in_callback}; // not async-signal-safe: fine here
    log.record("signal");
  });
  CHECK(context.signal(SIGUSR2));
  REQUIRE(::kill(::getpid(), SIGUSR2) == 0);
  REQUIRE(log.wait_for("signal", 1));
  REQUIRE(::kill(::getpid(), SIGUSR2) == 0);
  REQUIRE(log.wait_for("signal", 2));
  auto threads = log.threads_of("signal");
  CHECK(threads.at(0) != std::this_thread::get_id());
  CHECK(netio::on_io_worker(engine) == false); // the test thread is not one
  auto stats = netio::io_worker_statistics(engine);
  bool on_worker = false;
  for (auto& each : stats)
    on_worker = on_worker || each.thread == threads.at(0);
  CHECK(on_worker);
  context.set_signal(SIGUSR2, nullptr);
  CHECK_FALSE(context.signal(SIGUSR2));
  // Still blocked in this thread: a new one stays pending, nobody dies.
  netio::block_signals({SIGUSR2});
}
