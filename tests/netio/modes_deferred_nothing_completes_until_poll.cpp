// Client-Library: in deferred mode every call returns pending at
// once; nothing completes and no callback runs until the application polls;
// then the callbacks (server message, completion) run on the polling thread
// before poll returns, and poll reports the operation even without a
// completion callback.
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("deferred: pending at once, callbacks only inside poll, on the polling thread") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::deferred}};
  netio::connection connection{context};
  REQUIRE(connection.mode() == netio::io_mode::deferred);
  thread_log log;
  connection.set_server_message([&](netio::connection&, const netio::server_message&) {
    log.record("server message");
  });

  REQUIRE(connection.connect(fixture.address()) == netio::retcode::pending);
  auto connected = connection.poll(20s);
  REQUIRE(connected.code == netio::retcode::succeed);
  CHECK(connected.function == netio::function_id::connect);
  CHECK(connected.status == netio::retcode::succeed);

  // No completion callback installed: poll still reports.
  REQUIRE(connection.execute({"NO-SUCH-COMMAND"}) == netio::retcode::pending);
  // The server answers quickly, but nothing is delivered before we poll:
  // wait until the answer is certainly queued (the completion waitable).
  REQUIRE(connection.completion_event().wait_for(20s));
  CHECK(log.count("server message") == 0);
  auto failed = connection.poll(0ms);
  CHECK(failed.code == netio::retcode::succeed);
  CHECK(failed.function == netio::function_id::execute);
  CHECK(failed.status == netio::retcode::fail);
  REQUIRE(log.count("server message") == 1);
  CHECK(log.threads_of("server message").at(0) == std::this_thread::get_id());
  auto failed_result = connection.take_result();
  REQUIRE(failed_result);
  CHECK(failed_result->outcome.status == netio::completion_status::failed);

  // With a completion callback: it runs on the polling thread, before poll returns.
  connection.set_completion([&](netio::connection&, netio::function_id function, netio::retcode) {
    CHECK(function == netio::function_id::execute);
    log.record("completion");
    return netio::retcode::succeed;
  });
  REQUIRE(connection.execute({"ECHO", "x"}) == netio::retcode::pending);
  auto echoed = connection.poll(20s);
  CHECK(echoed.code == netio::retcode::succeed);
  REQUIRE(log.count("completion") == 1);
  CHECK(log.threads_of("completion").at(0) == std::this_thread::get_id());
  auto taken = connection.take_result();
  REQUIRE(taken);
  CHECK(taken->rows.at(0).columns.at(0) == "x");

  CHECK(connection.poll(0ms).code == netio::retcode::quiet);
}
