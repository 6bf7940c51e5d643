// An async-mode completion runs in place on the I/O worker (the link files
// the result and calls the completion callback there, with no event object).
// Against a real PostgreSQL 15: a completion callback chains six queries,
// each started from inside the previous one's completion (allowed: it is a
// completion callback) and each answered on the connection's I/O thread with
// its own result; the callback of the third throws after starting the
// fourth, which becomes exactly one client message naming the exception and
// leaves the chain and the connection working. A server-message callback
// that tries to start a query is refused (only completion callbacks may).
// It closes cleanly.
// ctest-timeout: 90
#include "pg_server_support.hpp"

#include <optional>
#include <stdexcept>
#include <thread>

using namespace pg_server_test;

TEST_CASE("an async completion callback chains queries in place and a throw becomes a client "
          "message") {
  throwaway_server server;
  engine_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::async}};
  pg::connection connection{context, server.options("trust_user", std::nullopt)};
  constexpr std::int64_t chain = 6;
  std::mutex mutex;
  std::vector<std::int64_t> answers;
  std::vector<std::thread::id> completion_threads;
  std::vector<netio::retcode> statuses;
  std::vector<std::string> client_messages;
  std::vector<netio::retcode> refused_starts;
  counter completed;
  counter reported;
  std::int64_t next = 1;

  connection.set_client_message([&](pg::connection*, const netio::client_message& problem) {
    {
      std::lock_guard guard{mutex};
      client_messages.push_back(problem.text);
    }
    reported.add();
    return netio::callback_result::succeed;
  });
  connection.set_server_message([&](pg::connection& where, const pg::server_message&) {
    // Not a completion callback: starting an operation here is refused.
    auto refused = where.execute("SELECT 0").code;
    std::lock_guard guard{mutex};
    refused_starts.push_back(refused);
  });
  connection.set_completion([&](pg::connection& where, netio::function_id function,
                                netio::retcode status) {
    bool chained = false;
    bool throw_now = false;
    std::optional<pg::query_result> result;
    if (function == netio::function_id::execute)
      result = where.take_result();
    {
      std::lock_guard guard{mutex};
      statuses.push_back(status);
      completion_threads.push_back(std::this_thread::get_id());
      if (function == netio::function_id::execute) {
        bool one_row = result && result->results.size() == 1 && result->results[0].row_count() == 1;
        answers.push_back(one_row ? result->results[0].int64(0, 0) : -1);
        throw_now = answers.back() == 3;
      }
      if (function != netio::function_id::close && next <= chain) {
        chained = true;
        ++next;
      }
    }
    if (chained) {
      auto started = where.execute("SELECT " + std::to_string(next - 1));
      std::lock_guard guard{mutex};
      if (started.code != netio::retcode::pending)
        statuses.push_back(started.code); // shows up as a wrong status below
    }
    completed.add();
    if (throw_now)
      throw std::runtime_error("the third answer's callback throws on purpose");
  });

  REQUIRE(connection.connect() == netio::retcode::pending);
  // The connect and the six queries, each started from the one before.
  REQUIRE(completed.wait_for(1 + chain));
  REQUIRE(reported.wait_for(1));
  // A NOTICE, whose server-message callback tries to start a query.
  REQUIRE(connection.execute("DO $$ BEGIN RAISE NOTICE 'no queries from here'; END $$") ==
          netio::retcode::pending);
  REQUIRE(completed.wait_for(2 + chain));
  REQUIRE(reported.wait_for(2));
  REQUIRE(connection.close() == netio::retcode::pending);
  REQUIRE(completed.wait_for(3 + chain));

  std::lock_guard guard{mutex};
  REQUIRE(answers.size() == static_cast<std::size_t>(chain) + 1);
  for (std::int64_t index = 0; index < chain; ++index)
    CHECK(answers[static_cast<std::size_t>(index)] == index + 1);
  CHECK(answers.back() == -1); // the DO block returns no rows
  CHECK(statuses == std::vector<netio::retcode>(3 + chain, netio::retcode::succeed));
  for (auto& thread : completion_threads)
    CHECK(thread == connection.io_thread());
  // Exactly the throw and the refused start, each once.
  REQUIRE(client_messages.size() == 2);
  CHECK(client_messages[0].find("the third answer's callback throws on purpose") !=
        std::string::npos);
  CHECK(client_messages[1].find("callback") != std::string::npos);
  CHECK(refused_starts == std::vector<netio::retcode>{netio::retcode::fail});
  CHECK_FALSE(connection.connected());
}
