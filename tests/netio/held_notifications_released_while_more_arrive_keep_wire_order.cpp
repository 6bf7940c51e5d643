// Client-Library's CS_ASYNC_NOTIFS on an async connection: notifications
// that arrive while it is idle with asynchronous notifications off are
// held; turning them on releases the held ones to the I/O worker. Those
// that arrive meanwhile (the server keeps publishing) must come after the
// held ones: every notification reaches the callback once, in the order
// the server sent them, whether the switch lands before, during or after
// the worker's read of the next ones. Repeated over several rounds, since
// where the switch lands depends on timing.
// ctest-timeout: 180
#include "netio_test_support.hpp"

#include <thread>

using namespace netio_test;

namespace {

constexpr std::size_t rounds = 12;
constexpr std::size_t burst = 400;
constexpr std::size_t switch_after = 100; // published before the switch

/// Payloads in the order the notification callback saw them.
struct arrivals {
  std::mutex mutex;
  std::vector<std::size_t> payloads;
  actorloop_test::latch_counter total;

  void record(const netio::notification& note) {
    {
      std::lock_guard guard{mutex};
      payloads.push_back(std::stoul(note.payload));
    }
    total.increment();
  }
};

/// Runs `command` on the async `listener` and waits for its completion.
void run_async(netio::connection& listener, std::vector<std::string> command) {
  actorloop_test::latch_counter done;
  listener.set_completion([&](netio::connection&, netio::function_id, netio::retcode status) {
    CHECK(status == netio::retcode::succeed);
    done.increment();
    return netio::retcode::succeed;
  });
  REQUIRE(listener.execute(std::move(command)) == netio::retcode::pending);
  REQUIRE(done.wait_for_at_least(1, 20s));
  listener.set_completion(nullptr);
  REQUIRE(listener.take_result());
}

} // namespace

TEST_CASE("held notifications released while more arrive: each once, in the server's order") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::async}};
  netio::connection_options sync_options;
  sync_options.mode = netio::io_mode::sync;
  netio::connection publisher{context, sync_options};
  REQUIRE(publisher.connect(fixture.address()) == netio::retcode::succeed);

  for (std::size_t round = 0; round < rounds; ++round) {
    CAPTURE(round);
    auto channel = "ordered-" + std::to_string(round);
    netio::connection listener{context}; // asynchronous notifications off
    arrivals seen;
    listener.set_notification(
      [&seen](netio::connection&, const netio::notification& note) { seen.record(note); });
    connect_or_fail(listener, fixture.address());
    run_async(listener, {"SUBSCRIBE", channel});

    actorloop_test::latch_counter published;
    std::thread streamer{[&] {
      // (CHECK, not REQUIRE, off the test's main thread.)
      for (std::size_t i = 0; i < burst; ++i) {
        auto started = publisher.execute({"PUBLISH", channel, std::to_string(i)});
        CHECK(started == netio::retcode::succeed);
        auto answer = publisher.take_result();
        CHECK(answer);
        if (started != netio::retcode::succeed || !answer)
          break;
        CHECK(answer->outcome.text == "delivered 1");
        published.increment();
      }
    }};
    // Idle with notifications off: the first ones are held. Switched on
    // while the server goes on publishing.
    REQUIRE(published.wait_for_at_least(switch_after, 20s));
    listener.set_async_notifications(true);
    streamer.join();
    REQUIRE(published.value() == burst);
    REQUIRE(seen.total.wait_for_at_least(burst, 20s));
    // A round trip after the burst: nothing more follows.
    run_async(listener, {"ECHO", "after"});
    CHECK(seen.total.value() == burst);
    std::lock_guard guard{seen.mutex};
    REQUIRE(seen.payloads.size() == burst);
    std::size_t out_of_order = 0;
    std::size_t first_wrong = burst;
    for (std::size_t i = 0; i < burst; ++i)
      if (seen.payloads[i] != i) {
        ++out_of_order;
        first_wrong = std::min(first_wrong, i);
      }
    CAPTURE(first_wrong);
    CAPTURE(first_wrong < burst ? seen.payloads[first_wrong] : burst);
    REQUIRE(out_of_order == 0);
  }
}
