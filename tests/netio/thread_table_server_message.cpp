// Source: Open Client Client-Library/C Reference Manual (version 15.0),
// Table 2-27 "Callback types and the thread they are invoked from".
// Table 2-27, row "Server message": sync and deferred mode call the
// server-message callback from the thread processing results (the caller;
// the poller), async mode from the connection's I/O worker.
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("server message: caller (sync), poll caller (deferred), I/O worker (async)") {
  server_fixture fixture;
  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    netio::context context{fixture.engine, {mode}};
    netio::connection connection{context};
    connect_or_fail(connection, fixture.address());
    thread_log log;
    connection.set_server_message([&](netio::connection&, const netio::server_message& message) {
      CHECK(message.level == netio::severity::error);
      CHECK(message.code == netio::server_codes::unknown_command);
      CHECK(message.text.find("BOGUS") != std::string::npos);
      log.record("server message");
    });
    actorloop_test::latch_counter done;
    connection.set_completion([&](netio::connection&, netio::function_id, netio::retcode) {
      done.increment();
      return netio::retcode::succeed;
    });
    auto code = connection.execute({"BOGUS"});
    std::thread::id expected = std::this_thread::get_id();
    if (mode == netio::io_mode::sync) {
      CHECK(code == netio::retcode::fail);
    } else if (mode == netio::io_mode::deferred) {
      std::thread poller{[&] { CHECK(connection.poll(20s).status == netio::retcode::fail); }};
      expected = poller.get_id();
      poller.join();
    } else {
      REQUIRE(done.wait_for_at_least(1, 20s));
      expected = connection.io_thread();
    }
    REQUIRE(log.count("server message") == 1);
    CHECK(log.threads_of("server message").at(0) == expected);
  }
}
