// connection_options::max_result_bytes in async mode, where rows are filed
// straight on the I/O worker (no event object): a request whose rows would
// go over the limit is canceled, its rows dropped, and the client-message
// callback says so exactly once, on the worker (Table 2-27: the I/O worker
// for what it discovers); the request still completes once, without rows,
// and the next request on the connection gets its rows.
// ctest-timeout: 60
#include "netio_test_support.hpp"

#include <actorloop/netio/error.hpp>

using namespace netio_test;

TEST_CASE("async: results over max_result_bytes are dropped, said once, and the connection goes on") {
  server_fixture fixture;
  // Declared before the connection: they outlive every callback it runs.
  thread_log log;
  std::mutex mutex;
  std::vector<netio::client_message> messages;
  std::vector<netio::retcode> statuses;
  netio::context context{fixture.engine, {netio::io_mode::async}};
  netio::connection_options options;
  // A few dozen short rows fit; ROWS 2000 does not.
  options.max_result_bytes = 4096;
  netio::connection connection{context, options};
  connect_or_fail(connection, fixture.address());
  connection.set_client_message([&](netio::connection*, const netio::client_message& problem) {
    {
      std::lock_guard guard{mutex};
      messages.push_back(problem);
    }
    log.record("client message");
    return netio::callback_result::succeed;
  });
  connection.set_completion([&](netio::connection&, netio::function_id function, netio::retcode status) {
    if (function == netio::function_id::execute) {
      {
        std::lock_guard guard{mutex};
        statuses.push_back(status);
      }
      log.record("completion");
    } else if (function == netio::function_id::close && status == netio::retcode::succeed) {
      log.record("closed");
    }
    return netio::retcode::succeed;
  });

  auto big = connection.execute({"ROWS", "2000"});
  REQUIRE(big.code == netio::retcode::pending);
  REQUIRE(log.wait_for("completion", 1));
  {
    std::lock_guard guard{mutex};
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].code == netio::errc::buffer_full);
    CHECK(messages[0].text.find("max_result_bytes (4096)") != std::string::npos);
    CHECK(messages[0].text.find("request " + std::to_string(big.id)) == 0);
    REQUIRE(statuses.size() == 1);
    // The server may have finished before the cancel arrived.
    CHECK((statuses[0] == netio::retcode::succeed || statuses[0] == netio::retcode::canceled));
  }
  for (auto id : log.threads_of("client message"))
    CHECK(id == connection.io_thread());
  auto dropped = connection.take_result(big.id);
  REQUIRE(dropped.has_value());
  CHECK(dropped->rows.empty());
  CHECK_FALSE(connection.dead());

  // The discard ended with that request: the next one keeps its rows.
  auto next = connection.execute({"ECHO", "still", "here"});
  REQUIRE(next.code == netio::retcode::pending);
  REQUIRE(log.wait_for("completion", 2));
  auto kept = connection.take_result(next.id);
  REQUIRE(kept.has_value());
  REQUIRE(kept->rows.size() == 1);
  const std::vector<std::string> echoed{"still", "here"};
  CHECK(kept->rows[0].columns == echoed);
  {
    std::lock_guard guard{mutex};
    CHECK(messages.size() == 1);
    REQUIRE(statuses.size() == 2);
    CHECK(statuses[1] == netio::retcode::succeed);
  }

  // A clean end: the polite close completes, and nothing else was said.
  REQUIRE(connection.close().code == netio::retcode::pending);
  REQUIRE(log.wait_for("closed", 1));
  CHECK(log.count("client message") == 1);
  CHECK(log.count("completion") == 2);
  connection.set_completion(nullptr);
  connection.set_client_message(nullptr);
}
