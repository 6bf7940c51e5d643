// Backpressure: every buffer is bounded. A client that does not collect its
// results stops reading the socket once it holds max_buffered_bytes; the
// server's output for that session then backs up, the server warns the
// client (server message 3001, once per episode) and stops producing rows
// until the client drains; nothing is lost: once the client takes its
// results, all rows arrive, in order.
// Model: libpq's input handling (libpq sources, fe-protocol3.c), which
// leaves result data unparsed while a completed result waits for
// PQgetResult but still processes notices and notifications.
// ctest-timeout: 90
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("a slow reader slows the writer; memory stays bounded; every row arrives") {
  netio::server_options options;
  options.max_output_bytes = 256 * 1024;
  options.output_warning_bytes = 64 * 1024;
  server_fixture fixture{options};
  netio::context context{fixture.engine, {netio::io_mode::deferred}};
  netio::connection_options limits;
  limits.max_buffered_bytes = 128 * 1024;
  netio::connection connection{context, limits};
  connect_or_fail(connection, fixture.address());
  std::vector<netio::server_message> warnings;
  connection.set_server_message([&](netio::connection&, const netio::server_message& message) {
    warnings.push_back(message);
  });
  constexpr int rows = 200'000; // ~5 MB of rows: far more than every buffer together
  REQUIRE(connection.execute({"ROWS", std::to_string(rows)}) == netio::retcode::pending);
  // Nobody polls: the pipeline fills up and stops. The server's own
  // statistics prove it: the request is still in flight, and its session
  // was warned, while the client buffered only its limit.
  auto give_up = std::chrono::steady_clock::now() + 30s;
  while (fixture.server->statistics().warnings_sent == 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::yield();
  // At least one warning: until the client's buffer is full it still drains
  // the server now and then, and each new backing-up episode warns again
  // (the exact count is checked against what the client received below).
  REQUIRE(fixture.server->statistics().warnings_sent >= 1);
  CHECK(fixture.server->statistics().requests_in_flight == 1);
  // Now consume: poll drains the queue, reading resumes, everything arrives.
  auto done = connection.poll(60s);
  REQUIRE(done.code == netio::retcode::succeed);
  CHECK(done.status == netio::retcode::succeed);
  auto result = connection.take_result();
  REQUIRE(result);
  REQUIRE(result->rows.size() == rows);
  for (int index = 0; index < rows; index += 9999)
    CHECK(result->rows[index].columns.at(0) == "row " + std::to_string(index));
  // One warning per backing-up episode (the first while nobody polled, then
  // one each time the client fell behind again): as many as the server sent.
  REQUIRE(warnings.size() == fixture.server->statistics().warnings_sent);
  for (auto& each : warnings) {
    CHECK(each.level == netio::severity::warning);
    CHECK(each.code == netio::server_codes::output_backing_up);
  }
}
