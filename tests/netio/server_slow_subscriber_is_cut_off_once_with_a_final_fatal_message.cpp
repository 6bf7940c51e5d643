// A subscriber whose output queue fills is cut off exactly once: the fatal
// server message 3002 is the last frame it ever gets (no notification and
// no second 3002 after it), the counter rises by one for the session, every
// PUBLISH reports truthfully how many subscribers got its notification
// queued, and a subscriber that never reads at all is disconnected once the
// closing flush time runs out.
// ctest-timeout: 90
#include "server_test_support.hpp"

using namespace netio_test;
using server_test::raw_client;
using server_test::read_outcome;

namespace {

/// Publishes 256 KiB notifications on `channel` until one reaches nobody;
/// returns the sum of the "delivered N" counts.
std::size_t publish_until_nobody_gets_it(netio::connection& publisher, const std::string& channel) {
  const std::string payload(256 * 1024, 'n');
  std::size_t delivered = 0;
  for (int round = 0; round < 200; ++round) {
    REQUIRE(publisher.execute({"PUBLISH", channel, payload}) == netio::retcode::succeed);
    auto result = publisher.take_result();
    REQUIRE(result);
    auto text = result->outcome.text;
    REQUIRE(text.rfind("delivered ", 0) == 0);
    auto count = std::stoul(text.substr(10));
    if (count == 0)
      return delivered;
    delivered += count;
  }
  FAIL("the slow subscriber was never cut off");
  return delivered;
}

} // namespace

TEST_CASE("a slow subscriber gets its notifications, then one fatal 3002 as the last frame") {
  server_fixture fixture;
  netio::context context{fixture.engine};
  netio::connection publisher{context};
  REQUIRE(publisher.connect(fixture.address()) == netio::retcode::succeed);

  raw_client subscriber{fixture.address(), 4096};
  subscriber.login();
  subscriber.request(1, {"SUBSCRIBE", "slow"});
  netio::message answer;
  REQUIRE(subscriber.read_message(answer) == read_outcome::message);
  REQUIRE(std::holds_alternative<netio::completion>(answer.body));

  // The subscriber reads nothing while the publisher fills its queue.
  auto delivered = publish_until_nobody_gets_it(publisher, "slow");
  CHECK(delivered > 0);
  // Two more after the cut-off: neither may reach the subscriber.
  REQUIRE(publisher.execute({"PUBLISH", "slow", "late"}) == netio::retcode::succeed);
  CHECK(publisher.take_result()->outcome.text == "delivered 0");

  auto frames = subscriber.read_until_closed();
  std::size_t notifications = 0;
  std::size_t cut_offs = 0;
  for (auto& each : frames) {
    if (std::holds_alternative<netio::notification>(each.body)) {
      CHECK(cut_offs == 0); // nothing after the fatal message
      ++notifications;
    }
    if (auto* said = std::get_if<netio::server_message>(&each.body))
      if (said->code == netio::server_codes::subscriber_too_slow) {
        CHECK(said->level == netio::severity::fatal);
        ++cut_offs;
      }
  }
  CHECK(notifications == delivered);
  CHECK(cut_offs == 1);
  REQUIRE_FALSE(frames.empty());
  auto* last = std::get_if<netio::server_message>(&frames.back().body);
  REQUIRE(last);
  CHECK(last->code == netio::server_codes::subscriber_too_slow);
  // The figures move right after the frames leave: wait for them.
  CHECK(fixture.server->wait_for_statistics(
    [](const netio::server_statistics& now) { return now.slow_subscribers_disconnected == 1; }, 20s));
  auto stats = fixture.server->statistics();
  CHECK(stats.slow_subscribers_disconnected == 1);
  CHECK(stats.notifications_delivered == delivered);
}

TEST_CASE("a subscriber that never reads is disconnected when the closing flush time runs out") {
  netio::server_options options;
  options.closing_flush_timeout = std::chrono::milliseconds(300);
  server_fixture fixture{options};
  netio::context context{fixture.engine};
  netio::connection publisher{context};
  REQUIRE(publisher.connect(fixture.address()) == netio::retcode::succeed);
  raw_client subscriber{fixture.address(), 4096};
  subscriber.login();
  subscriber.request(1, {"SUBSCRIBE", "never-read"});
  REQUIRE(fixture.server->wait_for_statistics([&](const netio::server_statistics& now) { return now.completions == 1; }, 20s));
  (void)publish_until_nobody_gets_it(publisher, "never-read");
  // Only the publisher's session remains.
  CHECK(fixture.server->wait_for_statistics([&](const netio::server_statistics& now) { return now.sessions_open == 1; }, 20s));
  CHECK(fixture.server->statistics().slow_subscribers_disconnected == 1);
}
