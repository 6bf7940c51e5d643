// Client-Library: in sync mode every call blocks until the server has
// answered and returns the final code (never pending); the callbacks a call
// provokes (server message here) run on the calling thread before it
// returns; the status equals what the operation achieved.
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("sync: calls block, return the final code, and call back on the calling thread") {
  server_fixture fixture;
  netio::context context{fixture.engine};
  netio::connection connection{context};
  REQUIRE(connection.mode() == netio::io_mode::sync);
  thread_log log;
  connection.set_server_message([&](netio::connection&, const netio::server_message& message) {
    CHECK(message.code == netio::server_codes::unknown_command);
    log.record("server message");
  });
  connection.set_completion([&](netio::connection&, netio::function_id, netio::retcode) {
    log.record("completion");
    return netio::retcode::succeed;
  });

  CHECK(connection.connect(fixture.address()) == netio::retcode::succeed);
  CHECK(connection.connected());
  CHECK(connection.execute({"ECHO", "a", "b"}) == netio::retcode::succeed);
  auto echoed = connection.take_result();
  REQUIRE(echoed);
  REQUIRE(echoed->rows.size() == 1);
  CHECK(echoed->rows[0].columns == std::vector<std::string>{"a", "b"});
  CHECK(echoed->outcome.status == netio::completion_status::succeeded);

  CHECK(connection.execute({"ROWS", "100"}) == netio::retcode::succeed);
  auto rows = connection.take_result();
  REQUIRE(rows);
  CHECK(rows->rows.size() == 100);
  CHECK(rows->rows[99].columns.at(0) == "row 99");

  // The status is what a synchronous caller would see.
  CHECK(connection.execute({"NO-SUCH-COMMAND"}) == netio::retcode::fail);
  CHECK(log.count("server message") == 1);
  CHECK(log.threads_of("server message").at(0) == std::this_thread::get_id());
  // Sync mode never calls the completion callback: the return value is the completion.
  CHECK(log.count("completion") == 0);

  CHECK(connection.close() == netio::retcode::succeed);
  CHECK_FALSE(connection.connected());
}
