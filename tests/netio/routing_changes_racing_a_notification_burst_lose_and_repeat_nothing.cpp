// An async connection's routing (operations pending, callbacks installed)
// changed from another thread while notifications stream in. The I/O
// worker routes each notification and each request's row and completion
// from a snapshot of that state, published whenever it changes, instead of
// taking the context's lock: a change racing a burst must neither lose
// nor repeat a delivery. Every notification reaches exactly one callback,
// in wire order; every request's result carries its own row and
// completion text, and its completion callback runs exactly once.
// ctest-timeout: 180
#include "netio_test_support.hpp"

#include <atomic>

using namespace netio_test;

namespace {

constexpr std::size_t burst = 600;
constexpr std::size_t requests = 150;

/// Payloads as the notification callbacks saw them, in delivery order,
/// with the number of the callback that ran for each.
struct deliveries {
  std::mutex mutex;
  std::vector<std::size_t> payloads;
  std::vector<std::size_t> callbacks;
  actorloop_test::latch_counter total;

  void record(std::size_t payload, std::size_t callback = 0) {
    {
      std::lock_guard guard{mutex};
      payloads.push_back(payload);
      callbacks.push_back(callback);
    }
    total.increment();
  }
};

/// Notification callback number `number`.
netio::notification_callback numbered(deliveries& into, std::size_t number) {
  return [&into, number](netio::connection&, const netio::notification& note) {
    into.record(std::stoul(note.payload), number);
  };
}

netio::connection_options subscriber_options() {
  netio::connection_options options;
  options.async_notifications = true;
  return options;
}

netio::connection_options sync_options() {
  netio::connection_options options;
  options.mode = netio::io_mode::sync;
  return options;
}

/// Subscribes `listener` to channel "burst" (async mode: waits for the completion).
void subscribe(netio::connection& listener) {
  actorloop_test::latch_counter done;
  listener.set_completion([&](netio::connection&, netio::function_id, netio::retcode status) {
    CHECK(status == netio::retcode::succeed);
    done.increment();
    return netio::retcode::succeed;
  });
  REQUIRE(listener.execute({"SUBSCRIBE", "burst"}) == netio::retcode::pending);
  REQUIRE(done.wait_for_at_least(1, 20s));
  listener.set_completion(nullptr);
  REQUIRE(listener.take_result()); // so that each request's result below is the only one
}

/// A server, an async listener subscribed to "burst" with asynchronous
/// notifications, and a sync publisher, both connected.
struct burst_fixture {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::async}};
  netio::connection listener{context, subscriber_options()};
  netio::connection publisher{context, sync_options()};

  burst_fixture() {
    connect_or_fail(listener, fixture.address());
    subscribe(listener);
    REQUIRE(publisher.connect(fixture.address()) == netio::retcode::succeed);
  }
};

} // namespace

TEST_CASE("requests racing a burst whose callback is replaced before each notification: each "
          "notification once, in order, never to an older callback, and every request's "
          "result its own") {
  burst_fixture setup;
  auto& listener = setup.listener;
  auto& publisher = setup.publisher;

  deliveries seen;
  actorloop_test::latch_counter completed;
  listener.set_completion([&completed](netio::connection&, netio::function_id function,
                                       netio::retcode status) {
    CHECK(function == netio::function_id::execute);
    CHECK(status == netio::retcode::succeed);
    completed.increment();
    return netio::retcode::succeed;
  });

  std::size_t results_checked = 0;
  std::thread requester{[&] {
    // One request at a time on the listener: each start and end flips
    // "an operation pending" and republishes the snapshot, and each
    // execute's row and completion are routed by it too.
    // (CHECK, not REQUIRE, off the test's main thread.)
    for (std::size_t i = 0; i < requests; ++i) {
      auto payload = "r" + std::to_string(i);
      auto started = listener.execute({"ECHO", payload});
      CHECK(started == netio::retcode::pending);
      if (started != netio::retcode::pending || !completed.wait_for_at_least(i + 1, 20s))
        break;
      auto answer = listener.take_result(started.id);
      CHECK(answer);
      if (!answer)
        break;
      CHECK(answer->rows.size() == 1);
      if (answer->rows.size() == 1)
        CHECK(answer->rows[0].columns == std::vector<std::string>{payload});
      CHECK(answer->outcome.text == "ECHO");
      CHECK(!listener.take_result()); // nothing filed twice or left behind
      ++results_checked;
    }
  }};
  for (std::size_t i = 0; i < burst; ++i) {
    // Installed before notification i is sent: callback i or a later one
    // runs for it, never a stale copy of an earlier one.
    listener.set_notification(numbered(seen, i));
    REQUIRE(publisher.execute({"PUBLISH", "burst", std::to_string(i)}) ==
            netio::retcode::succeed);
    auto answer = publisher.take_result();
    REQUIRE(answer);
    CHECK(answer->outcome.text == "delivered 1");
  }
  requester.join();
  CHECK(results_checked == requests);
  CHECK(completed.value() == requests);

  // Every notification arrived; a round trip after the burst proves no
  // extra one follows.
  REQUIRE(seen.total.wait_for_at_least(burst, 20s));
  auto last = listener.execute({"ECHO", "after"});
  REQUIRE(last == netio::retcode::pending);
  REQUIRE(completed.wait_for_at_least(requests + 1, 20s));
  CHECK(seen.total.value() == burst);
  CHECK(completed.value() == requests + 1);
  std::lock_guard guard{seen.mutex};
  REQUIRE(seen.payloads.size() == burst);
  for (std::size_t i = 0; i < burst; ++i) {
    CHECK(seen.payloads[i] == i);
    CHECK(seen.callbacks[i] >= i);
  }
}

TEST_CASE("callback uninstalled and reinstalled racing a burst: each notification reaches at "
          "most one callback, and none after the uninstall that stays") {
  burst_fixture setup;
  auto& listener = setup.listener;
  auto& publisher = setup.publisher;

  deliveries seen;
  auto counting = [&seen](netio::connection&, const netio::notification& note) {
    seen.record(std::stoul(note.payload));
  };
  listener.set_notification(counting);
  std::atomic<bool> publishing{true};
  std::thread toggler{[&] {
    bool installed = true;
    while (publishing.load()) {
      installed = !installed;
      listener.set_notification(installed ? netio::notification_callback{counting}
                                          : netio::notification_callback{});
      std::this_thread::yield();
    }
    listener.set_notification(nullptr); // stays uninstalled
  }};
  for (std::size_t i = 0; i < burst; ++i) {
    REQUIRE(publisher.execute({"PUBLISH", "burst", std::to_string(i)}) ==
            netio::retcode::succeed);
    REQUIRE(publisher.take_result());
  }
  publishing = false;
  toggler.join();
  // Published after the final uninstall: must reach no callback.
  for (std::size_t i = burst; i < burst + 20; ++i) {
    REQUIRE(publisher.execute({"PUBLISH", "burst", std::to_string(i)}) ==
            netio::retcode::succeed);
    REQUIRE(publisher.take_result());
  }
  actorloop_test::latch_counter done;
  listener.set_completion([&](netio::connection&, netio::function_id, netio::retcode) {
    done.increment();
    return netio::retcode::succeed;
  });
  REQUIRE(listener.execute({"ECHO", "after"}) == netio::retcode::pending);
  REQUIRE(done.wait_for_at_least(1, 20s));
  listener.set_completion(nullptr);
  std::lock_guard guard{seen.mutex};
  CHECK(seen.payloads.size() <= burst);
  for (std::size_t i = 0; i < seen.payloads.size(); ++i) {
    CHECK(seen.payloads[i] < burst); // none after the final uninstall
    if (i > 0)
      CHECK(seen.payloads[i] > seen.payloads[i - 1]); // in order, none twice
  }
}
