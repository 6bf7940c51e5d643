// Client-Library's CS_ASYNC_NOTIFS: a
// notification that arrives while a connection is idle is delivered only if
// asynchronous notifications are on; otherwise it waits until the
// application next reads from the connection (its next operation), and is
// then delivered before that operation's completion. Poll does not wait for
// notifications alone, but delivers those present.
// ctest-timeout: 90
#include "netio_test_support.hpp"

using namespace netio_test;

namespace {

/// Publishes one notification on `channel` from a separate sync connection.
void publish(netio::context& context, const netio::endpoint& where, const std::string& channel,
             const std::string& payload) {
  netio::connection_options options;
  options.mode = netio::io_mode::sync;
  netio::connection publisher{context, options};
  REQUIRE(publisher.connect(where) == netio::retcode::succeed);
  REQUIRE(publisher.execute({"PUBLISH", channel, payload}) == netio::retcode::succeed);
  auto delivered = publisher.take_result();
  REQUIRE(delivered);
  CHECK(delivered->outcome.text == "delivered 1");
  REQUIRE(publisher.close() == netio::retcode::succeed);
}

} // namespace

TEST_CASE("async mode, notifications off: held until the next operation, then before its completion") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::async}};
  netio::connection listener{context};
  thread_log log;
  listener.set_notification([&](netio::connection&, const netio::notification& note) {
    CHECK(note.channel == "news");
    log.record("notification");
  });
  connect_or_fail(listener, fixture.address());
  listener.set_completion([&](netio::connection&, netio::function_id function, netio::retcode) {
    log.record(std::string{"completion "} + std::string{netio::to_string(function)});
    return netio::retcode::succeed;
  });
  REQUIRE(listener.execute({"SUBSCRIBE", "news"}) == netio::retcode::pending);
  REQUIRE(log.wait_for("completion execute", 1));
  publish(context, fixture.address(), "news", "first");
  // The notification has reached the client, but the connection is idle.
  // A round trip on another connection proves the server sent it already;
  // an ECHO on this connection then brings it out first.
  CHECK(log.count("notification") == 0);
  REQUIRE(listener.execute({"ECHO", "poke"}) == netio::retcode::pending);
  REQUIRE(log.wait_for("completion execute", 2));
  auto order = log.order();
  REQUIRE(order.size() == 3);
  CHECK(order[1] == "notification");
  CHECK(order[2] == "completion execute");
  CHECK(log.threads_of("notification").at(0) == listener.io_thread());
}

TEST_CASE("async mode, notifications on: delivered at once on the I/O worker while idle") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::async}};
  netio::connection_options options;
  options.async_notifications = true;
  netio::connection listener{context, options};
  thread_log log;
  listener.set_notification([&](netio::connection&, const netio::notification&) {
    log.record("notification");
  });
  connect_or_fail(listener, fixture.address());
  actorloop_test::latch_counter subscribed;
  listener.set_completion([&](netio::connection&, netio::function_id, netio::retcode) {
    subscribed.increment();
    return netio::retcode::succeed;
  });
  REQUIRE(listener.execute({"SUBSCRIBE", "news"}) == netio::retcode::pending);
  REQUIRE(subscribed.wait_for_at_least(1, 20s));
  publish(context, fixture.address(), "news", "first");
  REQUIRE(log.wait_for("notification", 1));
  CHECK(log.threads_of("notification").at(0) == listener.io_thread());
}

TEST_CASE("deferred mode: poll delivers idle notifications only with notifications on") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::deferred}};
  for (bool asynchronous : {false, true}) {
    CAPTURE(asynchronous);
    netio::connection_options options;
    options.async_notifications = asynchronous;
    netio::connection listener{context, options};
    thread_log log;
    listener.set_notification([&](netio::connection&, const netio::notification&) {
      log.record("notification");
    });
    connect_or_fail(listener, fixture.address());
    REQUIRE(listener.execute({"SUBSCRIBE", "news"}) == netio::retcode::pending);
    REQUIRE(listener.poll(20s).code == netio::retcode::succeed);
    publish(context, fixture.address(), "news", "idle");
    if (asynchronous) {
      // Wait until it is queued for poll, then poll: delivered, and poll
      // does not wait for more (nothing pending: quiet).
      REQUIRE(listener.notification_event().wait_for(20s));
      CHECK(listener.poll(20s).code == netio::retcode::quiet);
      CHECK(log.count("notification") == 1);
      CHECK(log.threads_of("notification").at(0) == std::this_thread::get_id());
    } else {
      CHECK(listener.poll(0ms).code == netio::retcode::quiet);
      CHECK(log.count("notification") == 0);
      // The next operation reads from the connection: delivered inside poll.
      REQUIRE(listener.execute({"ECHO", "poke"}) == netio::retcode::pending);
      REQUIRE(listener.poll(20s).code == netio::retcode::succeed);
      CHECK(log.count("notification") == 1);
    }
  }
}

TEST_CASE("sync mode: notifications on run on the I/O worker; off, on the caller's next call") {
  server_fixture fixture;
  netio::context context{fixture.engine};
  for (bool asynchronous : {false, true}) {
    CAPTURE(asynchronous);
    netio::connection_options options;
    options.async_notifications = asynchronous;
    netio::connection listener{context, options};
    thread_log log;
    listener.set_notification([&](netio::connection&, const netio::notification&) {
      log.record("notification");
    });
    REQUIRE(listener.connect(fixture.address()) == netio::retcode::succeed);
    REQUIRE(listener.execute({"SUBSCRIBE", "news"}) == netio::retcode::succeed);
    publish(context, fixture.address(), "news", "idle");
    if (asynchronous) {
      REQUIRE(log.wait_for("notification", 1));
      CHECK(log.threads_of("notification").at(0) == listener.io_thread());
    } else {
      CHECK(log.count("notification") == 0);
      REQUIRE(listener.execute({"ECHO", "poke"}) == netio::retcode::succeed);
      REQUIRE(log.count("notification") == 1);
      CHECK(log.threads_of("notification").at(0) == std::this_thread::get_id());
    }
  }
}
