// An embedder's own commands: handlers registered per name answer at once,
// later from another thread through a kept reply handle, or fail with a
// clear error (their own code, or 1003 naming a thrown exception); an
// unknown command gets 1001; login and close are observed with the
// client's name; a reply kept past its session's close is canceled (its
// on_cancel runs once, further calls return false); the server reaches one
// session from outside; registering a name twice is refused.
// ctest-timeout: 60
#include "server_test_support.hpp"

#include <actorloop/netio/error.hpp>

using namespace netio_test;
using server_test::raw_client;
using server_test::read_outcome;

namespace {

/// The frames of request `id` up to and including its completion.
std::vector<netio::message> answer_to(raw_client& client, std::uint64_t id) {
  std::vector<netio::message> result;
  for (;;) {
    netio::message next;
    REQUIRE(client.read_message(next) == read_outcome::message);
    if (next.request_id != id)
      continue;
    result.push_back(next);
    if (std::holds_alternative<netio::completion>(next.body))
      return result;
  }
}

const netio::completion& completion_of(const std::vector<netio::message>& frames) {
  return std::get<netio::completion>(frames.back().body);
}

struct observed {
  std::mutex mutex;
  std::vector<std::string> logins;
  std::vector<std::string> closes;
  std::uint64_t last_session = 0;
  netio::reply held;
  actorloop_test::latch_counter held_set;
  actorloop_test::latch_counter canceled;
  actorloop_test::latch_counter closed;
};

} // namespace

TEST_CASE("handlers answer at once, later, from another thread, or fail clearly") {
  observed seen;
  std::vector<std::thread> helpers;
  std::mutex helpers_mutex;
  netio::server_handlers handlers;
  handlers.on("ADD", [](const std::vector<std::string>& arguments, netio::reply answer) {
    if (arguments.size() != 3)
      return (void)answer.fail(4001, "ADD needs two numbers");
    answer.row({std::to_string(std::stol(arguments[1]) + std::stol(arguments[2]))});
    answer.succeed("added");
  });
  handlers.on("LATER", [&](const std::vector<std::string>& arguments, netio::reply answer) {
    auto count = std::stoul(arguments.at(1));
    std::lock_guard guard{helpers_mutex};
    // The reply travels to a plain thread, which finishes it.
    helpers.emplace_back([answer, count] {
      for (std::size_t index = 0; index < count; ++index)
        CHECK(answer.row({"late " + std::to_string(index)}));
      CHECK(answer.succeed("done later"));
      CHECK_FALSE(answer.succeed("twice")); // the first finish wins
      CHECK_FALSE(answer.row({"after the end"}));
    });
  });
  handlers.on("THROW", [](const std::vector<std::string>&, netio::reply) {
    throw std::runtime_error("boom");
  });
  handlers.on("HOLD", [&](const std::vector<std::string>&, netio::reply answer) {
    answer.on_cancel([&] { seen.canceled.increment(); });
    std::lock_guard guard{seen.mutex};
    seen.held = answer;
    seen.held_set.increment();
  });
  handlers.on_login([&](const netio::session_info& who) {
    std::lock_guard guard{seen.mutex};
    seen.logins.push_back(who.client_name);
    seen.last_session = who.id;
  });
  handlers.on_close([&](const netio::session_info& who, std::error_code, const std::string&) {
    {
      std::lock_guard guard{seen.mutex};
      seen.closes.push_back(who.client_name);
    }
    seen.closed.increment();
  });
  CHECK_THROWS_AS(handlers.on("ADD", [](const std::vector<std::string>&, netio::reply) {}), netio::error);
  CHECK_THROWS_AS(handlers.on("", [](const std::vector<std::string>&, netio::reply) {}), netio::error);

  netio::server_options options;
  options.handlers = handlers;
  server_fixture fixture{options};
  {
    raw_client client{fixture.address()};
    client.login();
    std::uint64_t session_id = 0;
    {
      std::lock_guard guard{seen.mutex};
      REQUIRE(seen.logins == std::vector<std::string>{"raw"});
      session_id = seen.last_session;
    }

    client.request(1, {"ADD", "2", "40"});
    auto added = answer_to(client, 1);
    REQUIRE(added.size() == 2);
    CHECK(std::get<netio::result_row>(added[0].body).columns == std::vector<std::string>{"42"});
    CHECK(completion_of(added).text == "added");

    client.request(2, {"LATER", "3"});
    auto later = answer_to(client, 2);
    CHECK(later.size() == 4);
    CHECK(completion_of(later).status == netio::completion_status::succeeded);
    CHECK(completion_of(later).text == "done later");

    client.request(3, {"ADD"});
    auto refused = answer_to(client, 3);
    REQUIRE(refused.size() == 2);
    CHECK(std::get<netio::server_message>(refused[0].body).code == 4001);
    CHECK(completion_of(refused).status == netio::completion_status::failed);

    client.request(4, {"THROW"});
    auto thrown = answer_to(client, 4);
    CHECK(std::get<netio::server_message>(thrown[0].body).code == netio::server_codes::handler_failed);
    CHECK(completion_of(thrown).text.find("boom") != std::string::npos);

    client.request(5, {"NOPE"});
    auto unknown = answer_to(client, 5);
    CHECK(std::get<netio::server_message>(unknown[0].body).code == netio::server_codes::unknown_command);
    CHECK(completion_of(unknown).text.find("NOPE") != std::string::npos);

    // The server reaches this session from outside.
    CHECK(fixture.server->notify_session(session_id, "direct", "hello you"));
    CHECK_FALSE(fixture.server->notify_session(session_id + 1000, "direct", "nobody"));
    netio::message pushed;
    REQUIRE(client.read_message(pushed) == read_outcome::message);
    REQUIRE(std::holds_alternative<netio::notification>(pushed.body));
    CHECK(std::get<netio::notification>(pushed.body).payload == "hello you");

    client.request(6, {"HOLD"});
    REQUIRE(seen.held_set.wait_for_at_least(1, 20s));
    CHECK_FALSE(seen.held.finished());
  } // the client goes away while HOLD is unanswered
  REQUIRE(seen.canceled.wait_for_at_least(1, 20s));
  REQUIRE(seen.closed.wait_for_at_least(1, 20s));
  {
    std::lock_guard guard{seen.mutex};
    CHECK(seen.held.finished());
    CHECK_FALSE(seen.held.row({"too late"}));
    CHECK_FALSE(seen.held.succeed());
    CHECK(seen.closes == std::vector<std::string>{"raw"});
  }
  CHECK(seen.canceled.value() == 1);
  for (auto& each : helpers)
    each.join();
  REQUIRE(fixture.server->wait_for_statistics([&](const netio::server_statistics& now) { return now.sessions_open == 0; }, 20s));
  auto stats = fixture.server->statistics();
  CHECK(stats.requests == 6);
  CHECK(stats.completions == 5); // HOLD's session was gone before it could complete
  CHECK(stats.requests_in_flight == 0);
}
