// A session reuses the state behind a reply once nothing else holds it, and
// runs a request straight from the channel's decoded message when nothing
// is queued ahead of it. Neither shows: replies a handler keeps past their
// request (on the worker or on another thread) keep their own request id
// and stay finished while later requests are answered; every request, sent
// one at a time or pipelined in one write, gets its own rows and
// completion in order, with the arguments it was sent.
// ctest-timeout: 60
#include "server_test_support.hpp"

#include <set>
#include <thread>

using namespace netio_test;
using server_test::raw_client;
using server_test::read_outcome;

namespace {

struct kept_replies {
  std::mutex mutex;
  std::vector<std::pair<std::uint64_t, netio::reply>> replies; ///< (request id seen, reply)
};

/// Reads request `id`'s row and completion; the row echoes the arguments.
void expect_answer(raw_client& client, std::uint64_t id, const std::vector<std::string>& arguments) {
  netio::message row;
  REQUIRE(client.read_message(row) == read_outcome::message);
  CHECK(row.request_id == id);
  REQUIRE(std::holds_alternative<netio::result_row>(row.body));
  CHECK(std::get<netio::result_row>(row.body).columns == arguments);
  netio::message done;
  REQUIRE(client.read_message(done) == read_outcome::message);
  CHECK(done.request_id == id);
  REQUIRE(std::holds_alternative<netio::completion>(done.body));
  CHECK(std::get<netio::completion>(done.body).status == netio::completion_status::succeeded);
}

std::vector<std::string> arguments_of(std::uint64_t id) {
  // KEEP every third request, KEEP_ELSEWHERE every fifth, else DROP; the
  // second argument's length varies so reused strings grow and shrink.
  std::string name = id % 3 == 0 ? "KEEP" : id % 5 == 0 ? "KEEP_ELSEWHERE" : "DROP";
  return {name, std::string(static_cast<std::size_t>(5 + (id * 17) % 60), static_cast<char>('a' + id % 26))};
}

} // namespace

TEST_CASE("kept replies keep their own request while later requests are answered") {
  kept_replies kept;
  std::vector<std::thread> keepers;
  std::mutex keepers_mutex;
  netio::server_handlers handlers;
  handlers.on("DROP", [](const std::vector<std::string>& arguments, netio::reply answer) {
    answer.row(arguments);
    answer.succeed();
  });
  handlers.on("KEEP", [&](const std::vector<std::string>& arguments, netio::reply answer) {
    // Kept before it is answered: once the completion is sent the client
    // may finish and the test count the kept replies.
    {
      std::lock_guard guard{kept.mutex};
      kept.replies.emplace_back(answer.request_id(), answer);
    }
    answer.row(arguments);
    answer.succeed();
  });
  handlers.on("KEEP_ELSEWHERE", [&](const std::vector<std::string>& arguments, netio::reply answer) {
    // Finished and then kept by another thread, which lets go of its copy
    // only after recording it.
    std::lock_guard guard{keepers_mutex};
    keepers.emplace_back([&kept, arguments, answer] {
      CHECK(answer.row(arguments));
      CHECK(answer.succeed());
      std::lock_guard guard{kept.mutex};
      kept.replies.emplace_back(answer.request_id(), answer);
    });
  });

  netio::server_options options;
  options.handlers = handlers;
  server_fixture fixture{options};
  constexpr std::uint64_t one_at_a_time = 60;
  constexpr std::uint64_t pipelined = 60;
  {
    raw_client client{fixture.address()};
    client.login();
    for (std::uint64_t id = 1; id <= one_at_a_time; ++id) {
      client.request(id, arguments_of(id));
      expect_answer(client, id, arguments_of(id));
    }
    for (std::uint64_t id = one_at_a_time + 1; id <= one_at_a_time + pipelined; ++id)
      client.request(id, arguments_of(id));
    for (std::uint64_t id = one_at_a_time + 1; id <= one_at_a_time + pipelined; ++id)
      expect_answer(client, id, arguments_of(id));
  }
  {
    std::lock_guard guard{keepers_mutex};
    for (auto& each : keepers)
      each.join();
  }
  std::size_t expected_kept = 0;
  for (std::uint64_t id = 1; id <= one_at_a_time + pipelined; ++id)
    if (id % 3 == 0 || id % 5 == 0)
      ++expected_kept;
  std::unique_lock guard{kept.mutex};
  CHECK(kept.replies.size() == expected_kept);
  std::set<std::uint64_t> ids;
  for (auto& [id, answer] : kept.replies) {
    CAPTURE(id);
    CHECK(answer.request_id() == id);
    CHECK(answer.finished());
    CHECK_FALSE(answer.row({"after the end"}));
    CHECK_FALSE(answer.succeed());
    ids.insert(id);
  }
  CHECK(ids.size() == expected_kept); // each request had a reply of its own
  guard.unlock();
  REQUIRE(fixture.server->wait_for_statistics(
    [](const netio::server_statistics& now) { return now.sessions_open == 0; }, 20s));
  auto stats = fixture.server->statistics();
  CHECK(stats.requests == one_at_a_time + pipelined);
  CHECK(stats.completions == one_at_a_time + pipelined);
  CHECK(stats.requests_in_flight == 0);
}
