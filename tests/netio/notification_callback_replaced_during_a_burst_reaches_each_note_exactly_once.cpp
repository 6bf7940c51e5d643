// An async connection's notification callback replaced while notifications
// stream in (Client-Library: a callback is installed with ct_callback at any
// time; the I/O worker runs the one installed when the notification is
// delivered). The worker keeps its own copy of the installed callback and
// refreshes it only when the installed callbacks changed: a replacement,
// from inside the callback or from another thread, must take effect for the
// next notification, the running callback must survive its own
// replacement, and every notification reaches exactly one callback, in
// wire order.
// ctest-timeout: 120
#include "netio_test_support.hpp"

#include <atomic>

using namespace netio_test;

namespace {

constexpr std::size_t burst = 400;

/// What the callbacks saw: for each notification (in delivery order), its
/// payload and the number of the callback that ran for it.
struct deliveries {
  std::mutex mutex;
  std::vector<std::pair<std::size_t, std::size_t>> seen; // payload, callback
  actorloop_test::latch_counter total;

  void record(std::size_t payload, std::size_t callback) {
    {
      std::lock_guard guard{mutex};
      seen.emplace_back(payload, callback);
    }
    total.increment();
  }
};

/// A notification callback numbered `number`; it captures enough to live on
/// the heap (a copy of the std::function allocates), so a callback destroyed
/// while it runs shows up under ASan. With `chain`, it installs callback
/// number + 1 from inside itself, then goes on using its own captures.
netio::notification_callback numbered(deliveries& into, std::size_t number, bool chain) {
  auto padding = std::make_shared<std::string>(64, 'x');
  return [&into, number, chain, padding](netio::connection& where,
                                         const netio::notification& note) {
    if (chain)
      where.set_notification(numbered(into, number + 1, true));
    CHECK(padding->size() == 64);
    into.record(std::stoul(note.payload), number);
  };
}

struct subscribed_pair {
  explicit subscribed_pair(server_fixture& fixture)
    : context{fixture.engine, {netio::io_mode::async}},
      listener{context, [] {
                 netio::connection_options options;
                 options.async_notifications = true;
                 return options;
               }()},
      publisher{context, [] {
                  netio::connection_options options;
                  options.mode = netio::io_mode::sync;
                  return options;
                }()} {
    connect_or_fail(listener, fixture.address());
    actorloop_test::latch_counter done;
    listener.set_completion([&](netio::connection&, netio::function_id, netio::retcode status) {
      CHECK(status == netio::retcode::succeed);
      done.increment();
      return netio::retcode::succeed;
    });
    REQUIRE(listener.execute({"SUBSCRIBE", "burst"}) == netio::retcode::pending);
    REQUIRE(done.wait_for_at_least(1, 20s));
    listener.set_completion(nullptr);
    REQUIRE(publisher.connect(fixture.address()) == netio::retcode::succeed);
  }

  void publish(std::size_t payload) {
    REQUIRE(publisher.execute({"PUBLISH", "burst", std::to_string(payload)}) ==
            netio::retcode::succeed);
    auto answer = publisher.take_result();
    REQUIRE(answer);
    CHECK(answer->outcome.text == "delivered 1");
  }

  /// Waits for `count` deliveries, then proves there are no more: a round
  /// trip on the listener comes after every notification sent before it.
  void drain(deliveries& seen, std::size_t count) {
    REQUIRE(seen.total.wait_for_at_least(count, 20s));
    actorloop_test::latch_counter done;
    listener.set_completion([&](netio::connection&, netio::function_id, netio::retcode) {
      done.increment();
      return netio::retcode::succeed;
    });
    REQUIRE(listener.execute({"ECHO", "after"}) == netio::retcode::pending);
    REQUIRE(done.wait_for_at_least(1, 20s));
    listener.set_completion(nullptr);
    CHECK(seen.total.value() == count);
  }

  netio::context context;
  netio::connection listener;
  netio::connection publisher;
};

/// The payloads arrived once each, in the order published.
void check_wire_order(deliveries& seen) {
  std::lock_guard guard{seen.mutex};
  REQUIRE(seen.seen.size() == burst);
  for (std::size_t i = 0; i < burst; ++i)
    CHECK(seen.seen[i].first == i);
}

} // namespace

TEST_CASE("replaced from inside itself: each notification runs the callback its predecessor "
          "installed") {
  server_fixture fixture;
  subscribed_pair pair{fixture};
  deliveries seen;
  pair.listener.set_notification(numbered(seen, 0, true));
  for (std::size_t i = 0; i < burst; ++i)
    pair.publish(i);
  pair.drain(seen, burst);
  check_wire_order(seen);
  std::lock_guard guard{seen.mutex};
  for (std::size_t i = 0; i < burst; ++i)
    CHECK(seen.seen[i].second == i); // never a stale copy of an earlier one
}

TEST_CASE("replaced from another thread: a notification published after a replacement never "
          "reaches an older callback") {
  server_fixture fixture;
  subscribed_pair pair{fixture};
  deliveries seen;
  for (std::size_t i = 0; i < burst; ++i) {
    // Installed before notification i is sent: i or a later one runs for it.
    pair.listener.set_notification(numbered(seen, i, false));
    pair.publish(i);
  }
  pair.drain(seen, burst);
  check_wire_order(seen);
  std::lock_guard guard{seen.mutex};
  for (std::size_t i = 0; i < burst; ++i)
    CHECK(seen.seen[i].second >= i);
}

TEST_CASE("replaced from inside and from another thread at once: counted exactly") {
  server_fixture fixture;
  subscribed_pair pair{fixture};
  deliveries seen;
  pair.listener.set_notification(numbered(seen, 0, true));
  std::atomic<bool> publishing{true};
  std::thread replacer{[&] {
    // Keeps replacing the callback (and uninstalling it never) until the
    // burst is out; its callbacks chain on from a high number.
    std::size_t next = 1'000'000;
    while (publishing.load()) {
      pair.listener.set_notification(numbered(seen, next, true));
      next += 1'000'000;
      std::this_thread::yield();
    }
  }};
  for (std::size_t i = 0; i < burst; ++i)
    pair.publish(i);
  publishing = false;
  replacer.join();
  pair.drain(seen, burst);
  check_wire_order(seen);
}
