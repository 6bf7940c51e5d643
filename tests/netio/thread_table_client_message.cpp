// Source: Open Client Client-Library/C Reference Manual (version 15.0),
// Table 2-27 "Callback types and the thread they are invoked from".
// Table 2-27, row "Client message": in sync and deferred mode the
// client-message callback runs on the thread that provoked the error (the
// caller for a bad call; the poller for a lost connection found by poll);
// in async mode on the I/O worker when the worker discovers the error (the
// server went away) and on the caller when the call itself is wrong.
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("client message: provoking thread, or the I/O worker for what it discovers") {
  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    server_fixture fixture;
    netio::context context{fixture.engine, {mode}};
    netio::connection connection{context};
    thread_log log;
    connection.set_client_message([&](netio::connection*, const netio::client_message& message) {
      log.record(message.code == netio::errc::invalid_argument ? "bad call" : "lost");
      return netio::callback_result::succeed;
    });
    // A bad call: the caller provokes it, in every mode.
    CHECK(connection.execute(netio::request{}) == netio::retcode::fail);
    REQUIRE(log.count("bad call") == 1);
    CHECK(log.threads_of("bad call").at(0) == std::this_thread::get_id());

    connect_or_fail(connection, fixture.address());
    actorloop_test::latch_counter completions;
    connection.set_completion([&](netio::connection&, netio::function_id, netio::retcode) {
      completions.increment();
      return netio::retcode::succeed;
    });
    // The server goes away mid-request (no drain): the I/O worker finds out.
    // The stopper waits (yielding, no sleep) until the request is in flight.
    std::thread stopper{[&] {
      auto give_up = std::chrono::steady_clock::now() + 20s;
      while (fixture.server->statistics().requests_in_flight == 0 &&
             std::chrono::steady_clock::now() < give_up)
        std::this_thread::yield();
      fixture.server->stop(0ms);
    }};
    auto code = connection.execute({"SLEEP", "60000"});
    std::thread::id expected = std::this_thread::get_id();
    if (mode == netio::io_mode::sync) {
      CHECK(code == netio::retcode::canceled); // the draining server cancels it
    } else if (mode == netio::io_mode::deferred) {
      REQUIRE(code == netio::retcode::pending);
      auto done = connection.poll(20s);
      CHECK(done.code == netio::retcode::succeed);
      // The worker marks the connection dead when the close arrives; the
      // report of it waits for the next poll, which runs it here.
      auto give_up = std::chrono::steady_clock::now() + 20s;
      while (!connection.dead() && std::chrono::steady_clock::now() < give_up)
        std::this_thread::yield();
      CHECK(log.count("lost") == 0);
      CHECK(connection.poll(0ms).code == netio::retcode::quiet);
    } else {
      REQUIRE(code == netio::retcode::pending);
      expected = connection.io_thread();
    }
    stopper.join();
    if (mode == netio::io_mode::async) {
      REQUIRE(log.wait_for("lost", 1));
    } else if (mode == netio::io_mode::sync) {
      // The loss is seen by the next call that reads the connection.
      CHECK(connection.execute({"ECHO"}) == netio::retcode::fail);
    }
    REQUIRE(log.count("lost") == 1);
    CHECK(log.threads_of("lost").at(0) == expected);
    CHECK(connection.dead());
  }
}
