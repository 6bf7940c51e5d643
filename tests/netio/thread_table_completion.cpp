// Source: Open Client Client-Library/C Reference Manual (version 15.0),
// Table 2-27 "Callback types and the thread they are invoked from".
// Table 2-27, row "Completion": deferred mode calls the completion callback
// from the thread that polls; async mode from the connection's I/O worker;
// sync mode does not call it (the call's return value is the completion).
// Client-Library: a completion callback may start the next operation, and
// returns that operation's code (pending).
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("completion: poll caller (deferred), I/O worker (async), not called (sync)") {
  server_fixture fixture;
  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    netio::context context{fixture.engine, {mode}};
    netio::connection connection{context};
    connect_or_fail(connection, fixture.address());
    thread_log log;
    connection.set_completion([&](netio::connection&, netio::function_id, netio::retcode) {
      log.record("completion");
      return netio::retcode::succeed;
    });
    auto code = connection.execute({"ECHO", "x"});
    if (mode == netio::io_mode::sync) {
      CHECK(code == netio::retcode::succeed);
      CHECK(log.count("completion") == 0);
      continue;
    }
    REQUIRE(code == netio::retcode::pending);
    if (mode == netio::io_mode::deferred) {
      // A second thread polls: the callback runs there.
      std::thread poller{[&] { CHECK(connection.poll(20s).code == netio::retcode::succeed); }};
      auto poller_id = poller.get_id();
      poller.join();
      REQUIRE(log.count("completion") == 1);
      CHECK(log.threads_of("completion").at(0) == poller_id);
    } else {
      REQUIRE(log.wait_for("completion", 1));
      CHECK(log.threads_of("completion").at(0) == connection.io_thread());
    }
  }
}

TEST_CASE("a completion callback starts the next operation and returns its code") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::async}};
  netio::connection connection{context};
  connect_or_fail(connection, fixture.address());
  constexpr int chain = 20;
  std::atomic<int> completed{0};
  std::vector<netio::retcode> returned;
  actorloop_test::latch_counter done;
  connection.set_completion([&](netio::connection& self, netio::function_id, netio::retcode status) {
    CHECK(status == netio::retcode::succeed);
    if (++completed == chain) {
      done.increment();
      return netio::retcode::succeed;
    }
    auto next = self.execute({"ECHO", std::to_string(completed.load())});
    returned.push_back(next);
    return next.code;
  });
  REQUIRE(connection.execute({"ECHO", "0"}) == netio::retcode::pending);
  REQUIRE(done.wait_for_at_least(1, 20s));
  CHECK(completed.load() == chain);
  CHECK(returned.size() == chain - 1);
  for (auto each : returned)
    CHECK(each == netio::retcode::pending);
}
