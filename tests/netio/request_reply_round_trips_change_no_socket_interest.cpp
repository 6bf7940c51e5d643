// A request and its reply cost no readiness-interest change on either end:
// output is written straight through while the socket takes it, and
// EPOLLOUT is registered only when a write comes up short. (Turning
// EPOLLOUT on and off per message cost two epoll_ctl calls per message on
// each end, the largest syscall share of a message round trip.) The
// completion callback sends the next request, as an async client does, so
// the client's sends happen inside its read round too.
// ctest-timeout: 60
#include "netio_test_support.hpp"

#include <atomic>

using namespace netio_test;

namespace {

std::uint64_t interest_changes(runtime::engine& engine) {
  std::uint64_t total = 0;
  for (auto& worker : netio::io_worker_statistics(engine))
    total += worker.interest_changes;
  return total;
}

constexpr int round_trips = 500;

} // namespace

TEST_CASE("request/reply round trips change no socket's readiness interest") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::async}};
  netio::connection_options sync_options;
  sync_options.mode = netio::io_mode::sync;
  netio::connection connection{context, sync_options};
  REQUIRE(connection.connect(fixture.address()) == netio::retcode::succeed);
  // A first request settles whatever the login left (both ends are idle
  // and reading afterwards).
  REQUIRE(connection.execute({"ECHO", "warm-up"}) == netio::retcode::succeed);
  REQUIRE(connection.take_result());
  REQUIRE_FALSE(connection.set_mode(netio::io_mode::async));

  std::atomic<int> completed{0};
  std::atomic<int> failed{0};
  std::mutex mutex;
  std::condition_variable done;
  connection.set_completion([&](netio::connection& self, netio::function_id, netio::retcode status) {
    if (status != netio::retcode::succeed || !self.take_result())
      failed.fetch_add(1);
    if (completed.fetch_add(1) + 1 < round_trips)
      return self.execute({"ECHO", "0123456789012345678901234567890123456789"}).code;
    std::lock_guard guard{mutex};
    done.notify_all();
    return netio::retcode::succeed;
  });

  auto before = interest_changes(fixture.engine);
  REQUIRE(connection.execute({"ECHO", "0123456789012345678901234567890123456789"}) ==
          netio::retcode::pending);
  {
    std::unique_lock guard{mutex};
    REQUIRE(done.wait_for(guard, std::chrono::seconds(30),
                          [&] { return completed.load() == round_trips; }));
  }
  auto after = interest_changes(fixture.engine);
  connection.set_completion(nullptr);

  CHECK(completed.load() == round_trips);
  CHECK(failed.load() == 0);
  // Before write-through this was four per round trip (two per message).
  CHECK(after - before == 0);
  REQUIRE_FALSE(connection.set_mode(netio::io_mode::sync));
  REQUIRE(connection.close() == netio::retcode::succeed);
}
