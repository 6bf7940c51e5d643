// Client-Library: poll(0) never blocks; with nothing pending
// poll returns quiet; with something pending that does not finish in time
// it returns timed_out; a context-level poll names the connection whose
// operation completed.
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("poll: quiet, timed out, never blocking at zero, and the owning connection") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::deferred}};
  netio::connection first{context};
  netio::connection second{context};
  CHECK(first.poll(0ms).code == netio::retcode::quiet);
  CHECK(context.poll(0ms).code == netio::retcode::quiet);
  CHECK(context.poll(std::nullopt).code == netio::retcode::quiet); // nothing pending: no wait
  connect_or_fail(first, fixture.address());
  connect_or_fail(second, fixture.address());

  REQUIRE(first.execute({"SLEEP", "60000"}) == netio::retcode::pending);
  auto started = std::chrono::steady_clock::now();
  CHECK(first.poll(0ms).code == netio::retcode::timed_out);
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  CHECK(first.poll(30ms).code == netio::retcode::timed_out);

  REQUIRE(second.execute({"ECHO", "hi"}) == netio::retcode::pending);
  auto found = context.poll(20s);
  REQUIRE(found.code == netio::retcode::succeed);
  CHECK(found.completed == &second);
  CHECK(found.function == netio::function_id::execute);

  REQUIRE(first.cancel(netio::cancel_kind::attention) == netio::retcode::succeed);
  found = context.poll(20s);
  REQUIRE(found.code == netio::retcode::succeed);
  CHECK(found.completed == &first);
  CHECK(found.status == netio::retcode::canceled);
  CHECK(context.poll(0ms).code == netio::retcode::quiet);
}
