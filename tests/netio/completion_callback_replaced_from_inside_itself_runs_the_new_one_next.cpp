// An async connection's completion callback that starts the next request
// and installs its successor from inside itself (or is replaced from
// another thread between requests): the I/O worker keeps its own copy of
// the installed callback, refreshed only when the installed callbacks
// changed, so each completion must run the callback installed when it is
// delivered, never a stale copy, and the running one must survive its own
// replacement. Each completion is counted exactly once.
// ctest-timeout: 90
#include "netio_test_support.hpp"

using namespace netio_test;

namespace {

constexpr std::size_t chain_length = 300;

struct completions {
  std::mutex mutex;
  std::vector<std::size_t> callbacks; // the callback number, per completion
  actorloop_test::latch_counter total;
};

/// Completion callback `number`: records itself; with `chain`, installs
/// callback number + 1 and starts the next request until `chain_length`
/// ran. Its captures live on the heap (so ASan sees one destroyed while it
/// runs).
netio::completion_callback numbered(completions& into, std::size_t number, bool chain) {
  auto padding = std::make_shared<std::string>(64, 'x');
  return [&into, number, chain, padding](netio::connection& where, netio::function_id function,
                                         netio::retcode status) {
    CHECK(function == netio::function_id::execute);
    CHECK(status == netio::retcode::succeed);
    CHECK(where.take_result());
    if (chain && number + 1 < chain_length) {
      where.set_completion(numbered(into, number + 1, true));
      CHECK(where.execute({"ECHO", std::to_string(number + 1)}) == netio::retcode::pending);
    }
    CHECK(padding->size() == 64);
    {
      std::lock_guard guard{into.mutex};
      into.callbacks.push_back(number);
    }
    into.total.increment();
    return netio::retcode::succeed;
  };
}

} // namespace

TEST_CASE("a completion callback replaced from inside itself: the next completion runs the new "
          "one") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::async}};
  netio::connection client{context};
  connect_or_fail(client, fixture.address());
  completions seen;
  client.set_completion(numbered(seen, 0, true));
  REQUIRE(client.execute({"ECHO", "0"}) == netio::retcode::pending);
  REQUIRE(seen.total.wait_for_at_least(chain_length, 20s));
  // The last one started nothing: no completion can follow.
  CHECK_FALSE(client.pending());
  CHECK(seen.total.value() == chain_length);
  std::lock_guard guard{seen.mutex};
  REQUIRE(seen.callbacks.size() == chain_length);
  for (std::size_t i = 0; i < chain_length; ++i)
    CHECK(seen.callbacks[i] == i);
}

TEST_CASE("a completion callback replaced from another thread between requests: the new one "
          "runs") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::async}};
  netio::connection client{context};
  connect_or_fail(client, fixture.address());
  completions seen;
  for (std::size_t i = 0; i < 50; ++i) {
    // Installed from this thread; the request's completion must run it.
    client.set_completion(numbered(seen, 1000 + i, false));
    REQUIRE(client.execute({"ECHO", std::to_string(i)}) == netio::retcode::pending);
    REQUIRE(seen.total.wait_for_at_least(i + 1, 20s));
    CHECK(seen.total.value() == i + 1);
  }
  std::lock_guard guard{seen.mutex};
  REQUIRE(seen.callbacks.size() == 50);
  for (std::size_t i = 0; i < 50; ++i)
    CHECK(seen.callbacks[i] == 1000 + i); // never the previous request's
}
