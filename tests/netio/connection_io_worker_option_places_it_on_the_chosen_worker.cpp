// connection_options::io_worker: a connection made with an index is served
// by that I/O worker for its whole life (its socket, and in async mode every
// callback, run on that worker's thread), whatever the round robin would have
// given it; connections made without one still go round robin; an index the
// pool does not have is refused when the connection is made, naming both
// numbers, and leaves nothing behind in the context.
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("connections placed on a chosen I/O worker run there") {
  server_fixture fixture; // two I/O workers
  auto stats = netio::io_worker_statistics(fixture.engine);
  REQUIRE(stats.size() == 2);
  netio::context context{fixture.engine, {netio::io_mode::async}};

  // Three on worker 1 in a row, then one on worker 0: the round robin alone
  // would alternate.
  const std::vector<std::size_t> placement{1, 1, 1, 0};
  std::vector<std::unique_ptr<netio::connection>> connections;
  thread_log log;
  for (std::size_t index = 0; index < placement.size(); ++index) {
    netio::connection_options options;
    options.io_worker = placement[index];
    auto connection = std::make_unique<netio::connection>(context, options);
    CHECK(connection->io_thread() == stats[placement[index]].thread);
    auto name = "completion " + std::to_string(index);
    connection->set_completion(
        [&log, name](netio::connection&, netio::function_id, netio::retcode status) {
          log.record(name + (status == netio::retcode::succeed ? " succeed" : " fail"));
          return netio::retcode::succeed;
        });
    connections.push_back(std::move(connection));
  }
  for (auto& connection : connections)
    REQUIRE(connection->connect(fixture.address()) == netio::retcode::pending);
  for (std::size_t index = 0; index < placement.size(); ++index)
    REQUIRE(log.wait_for("completion " + std::to_string(index) + " succeed", 1));
  for (auto& connection : connections)
    REQUIRE(connection->execute({"ECHO", "placed"}) == netio::retcode::pending);
  for (std::size_t index = 0; index < placement.size(); ++index) {
    auto name = "completion " + std::to_string(index) + " succeed";
    REQUIRE(log.wait_for(name, 2));
    auto threads = log.threads_of(name);
    REQUIRE(threads.size() == 2); // connect and execute, exactly
    for (auto thread : threads)
      CHECK(thread == stats[placement[index]].thread);
  }
  CHECK(log.order().size() == 2 * placement.size());
  for (auto& connection : connections) {
    auto echoed = connection->take_result();
    REQUIRE(echoed);
    CHECK(echoed->rows.size() == 1);
  }

  // Without an index: round robin over the two workers, as before.
  netio::connection first{context};
  netio::connection second{context};
  CHECK(first.io_thread() != second.io_thread());

  for (auto& connection : connections)
    CHECK(connection->close() == netio::retcode::pending);
  for (std::size_t index = 0; index < placement.size(); ++index)
    REQUIRE(log.wait_for("completion " + std::to_string(index) + " succeed", 3));
  CHECK(log.order().size() == 3 * placement.size());
}

TEST_CASE("an I/O worker the pool does not have is refused, naming both numbers") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::sync}};
  for (std::size_t wanted : {std::size_t{2}, std::size_t{1000}}) {
    CAPTURE(wanted);
    netio::connection_options options;
    options.io_worker = wanted;
    try {
      netio::connection refused{context, options};
      FAIL("a connection on I/O worker " << wanted << " was made");
    } catch (const netio::error& failure) {
      CHECK(failure.code() == netio::errc::invalid_argument);
      std::string text = failure.what();
      CHECK(text.find("connection_options::io_worker " + std::to_string(wanted)) !=
            std::string::npos);
      CHECK(text.find("2 I/O worker") != std::string::npos);
    }
  }
  // Nothing of the refused ones stayed in the context: it exits at once.
  CHECK_FALSE(static_cast<bool>(context.exit(false)));
  // And a good index works on a new context of the same engine.
  netio::connection_options options;
  options.io_worker = 0;
  netio::context again{fixture.engine, {netio::io_mode::sync}};
  netio::connection placed{again, options};
  connect_or_fail(placed, fixture.address());
  CHECK(placed.io_thread() == netio::io_worker_statistics(fixture.engine)[0].thread);
  REQUIRE(placed.execute({"ECHO", "ok"}) == netio::retcode::succeed);
  auto result = placed.take_result();
  REQUIRE(result);
  CHECK(result->rows.size() == 1);
  CHECK(placed.close() == netio::retcode::succeed);
}
