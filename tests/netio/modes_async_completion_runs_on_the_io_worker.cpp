// Client-Library: in async mode calls return pending; the
// completion callback runs on the connection's I/O worker (not the caller),
// server messages produced by a request arrive before its completion, and
// every callback of one connection runs on that one worker, in wire order.
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("async: callbacks on the I/O worker, server messages before their completion") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::async}};
  netio::connection connection{context};
  REQUIRE(connection.mode() == netio::io_mode::async);
  thread_log log;
  connection.set_server_message([&](netio::connection&, const netio::server_message&) {
    log.record("server message");
  });
  connection.set_completion([&](netio::connection&, netio::function_id function, netio::retcode status) {
    log.record(std::string{"completion "} + std::string{netio::to_string(function)} + " " +
               std::string{netio::to_string(status)});
    return netio::retcode::succeed;
  });

  REQUIRE(connection.connect(fixture.address()) == netio::retcode::pending);
  REQUIRE(log.wait_for("completion connect succeed", 1));
  REQUIRE(connection.execute({"NO-SUCH-COMMAND"}) == netio::retcode::pending);
  REQUIRE(log.wait_for("completion execute fail", 1));
  REQUIRE(connection.execute({"ROWS", "3"}) == netio::retcode::pending);
  REQUIRE(log.wait_for("completion execute succeed", 1));

  auto order = log.order();
  REQUIRE(order.size() == 4);
  CHECK(order[0] == "completion connect succeed");
  CHECK(order[1] == "server message"); // before its completion
  CHECK(order[2] == "completion execute fail");
  CHECK(order[3] == "completion execute succeed");
  // All on the one I/O worker of this connection, never the caller.
  for (auto& name : {"server message", "completion connect succeed", "completion execute fail"})
    for (auto id : log.threads_of(name)) {
      CHECK(id == connection.io_thread());
      CHECK(id != std::this_thread::get_id());
    }
  auto rows = connection.take_result(); // the failed request's (empty) result comes first
  REQUIRE(rows);
  CHECK(rows->outcome.status == netio::completion_status::failed);
  rows = connection.take_result();
  REQUIRE(rows);
  CHECK(rows->rows.size() == 3);
}
