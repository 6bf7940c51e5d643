// A channel's subscribers change while it is in use: sessions unsubscribe
// (first, last, middle, twice, from a channel they never joined), close, and
// subscribe again. After each change a PUBLISH reaches exactly the sessions
// subscribed at that moment, once each: the publisher's "delivered N" says how
// many were queued, and every subscriber counts what it received (delivered
// before its next operation's completion, since asynchronous notifications are
// off), so a removal that dropped or kept the wrong session shows up by name.
// ctest-timeout: 120
#include "netio_test_support.hpp"

#include <array>
#include <set>

using namespace netio_test;

namespace {

constexpr std::size_t subscriber_count = 24;

struct subscriber {
  subscriber(netio::context& context, const netio::endpoint& where)
      : connection{context, [] {
                     netio::connection_options options;
                     options.mode = netio::io_mode::sync;
                     return options;
                   }()} {
    REQUIRE(connection.connect(where) == netio::retcode::succeed);
    connection.set_notification([this](netio::connection&, const netio::notification& note) {
      CHECK(note.channel == "news");
      payloads.push_back(note.payload);
    });
  }

  void command(const std::string& verb, const std::string& channel) {
    REQUIRE(connection.execute({verb, channel}) == netio::retcode::succeed);
    auto answer = connection.take_result();
    REQUIRE(answer);
    CHECK(answer->outcome.text == verb + " " + channel);
  }

  /// One round trip: every notification queued for this session before it
  /// is delivered (on this thread) before the round trip completes.
  void drain() {
    REQUIRE(connection.execute({"ECHO", "after"}) == netio::retcode::succeed);
    auto answer = connection.take_result();
    REQUIRE(answer);
  }

  netio::connection connection;
  std::vector<std::string> payloads; // only this test's thread touches it
  bool open = true;
};

} // namespace

TEST_CASE("unsubscribe and close leave exactly the remaining subscribers of a channel") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::sync}};
  std::vector<std::unique_ptr<subscriber>> sessions;
  for (std::size_t i = 0; i < subscriber_count; ++i) {
    sessions.push_back(std::make_unique<subscriber>(context, fixture.address()));
    sessions.back()->command("SUBSCRIBE", "news");
  }
  // Subscribing twice does not count twice.
  sessions[5]->command("SUBSCRIBE", "news");
  subscriber publisher{context, fixture.address()};
  std::set<std::size_t> expected;
  for (std::size_t i = 0; i < subscriber_count; ++i)
    expected.insert(i);

  std::size_t round = 0;
  auto publish_and_check = [&] {
    auto payload = "round " + std::to_string(round++);
    REQUIRE(publisher.connection.execute({"PUBLISH", "news", payload}) == netio::retcode::succeed);
    auto answer = publisher.connection.take_result();
    REQUIRE(answer);
    CHECK(answer->outcome.text == "delivered " + std::to_string(expected.size()));
    for (std::size_t i = 0; i < sessions.size(); ++i) {
      auto& each = *sessions[i];
      if (!each.open)
        continue;
      each.drain();
      INFO("subscriber " << i << ", " << payload);
      if (expected.contains(i)) {
        REQUIRE(each.payloads.size() == 1);
        CHECK(each.payloads.front() == payload);
      } else {
        CHECK(each.payloads.empty());
      }
      each.payloads.clear();
    }
  };
  publish_and_check();

  // The first, the last and one in the middle, then the new last (the
  // order a swap-with-last removal would get wrong), and one twice.
  for (std::size_t which : std::array<std::size_t, 5>{0, subscriber_count - 1, 11, 22, 11}) {
    sessions[which]->command("UNSUBSCRIBE", "news");
    expected.erase(which);
  }
  // A channel this session never joined, and one nobody has: nothing changes.
  sessions[3]->command("UNSUBSCRIBE", "sports");
  sessions[4]->command("UNSUBSCRIBE", "nobody-here");
  publish_and_check();

  // Every other remaining subscriber leaves, in reverse order.
  for (std::size_t which = subscriber_count; which-- > 0;)
    if (expected.contains(which) && which % 2 == 1) {
      sessions[which]->command("UNSUBSCRIBE", "news");
      expected.erase(which);
    }
  publish_and_check();

  // Closing a subscribed session removes it too; unsubscribed ones come back.
  for (std::size_t which : {2, 8, 16}) {
    REQUIRE(expected.contains(which));
    REQUIRE(sessions[which]->connection.close() == netio::retcode::succeed);
    sessions[which]->open = false;
    expected.erase(which);
  }
  // The server unsubscribes a session when it closes it, before it stops
  // counting it as open: wait for that (the client's close returns first).
  std::size_t still_open = 1; // the publisher
  for (auto& each : sessions)
    still_open += each->open ? 1 : 0;
  REQUIRE(fixture.server->wait_for_statistics(
      [&](const netio::server_statistics& now) { return now.sessions_open == still_open; },
      std::chrono::seconds(20)));
  for (std::size_t which : {0, 11, 23}) {
    sessions[which]->command("SUBSCRIBE", "news");
    expected.insert(which);
  }
  publish_and_check();

  // Everyone leaves: the channel is empty, then one joins again.
  for (auto which : std::set<std::size_t>{expected})
    sessions[which]->command("UNSUBSCRIBE", "news");
  expected.clear();
  publish_and_check();
  sessions[1]->command("SUBSCRIBE", "news");
  expected.insert(1);
  publish_and_check();

  for (auto& each : sessions)
    if (each->open)
      CHECK(each->connection.close() == netio::retcode::succeed);
  CHECK(publisher.connection.close() == netio::retcode::succeed);
}
