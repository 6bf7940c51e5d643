// A portal fetched in chunks against a real PostgreSQL 15, in sync,
// deferred and async mode: one million rows of (int8, text) (100,000
// under the sanitizers) reach
// fetch_options::on_rows a chunk of at most 1,000 rows at a time, in
// order, on the thread the mode prescribes, while the connection never
// holds more than two chunks (the streaming counter's peak, not memory
// use, is checked); the result itself stays without rows. A chunked fetch
// without on_rows collects every chunk into the result (the command tag
// counting the rows of every chunk), and an error in
// the middle of a stream delivers the rows before it, fails the operation
// and leaves the connection usable.
// ctest-timeout: 300
#include "pg_mode_support.hpp"

using namespace pg_mode_test;

TEST_CASE("a million rows stream in chunks with at most two chunks buffered in every mode") {
  throwaway_server server;
  engine_fixture fixture;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizers slow every row tenfold; the bound checked is the same.
  constexpr std::int64_t total = 100'000;
#else
  constexpr std::int64_t total = 1'000'000;
#endif
  constexpr std::uint32_t chunk = 1'000;
  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    netio::context context{fixture.engine, {mode}};
    pg::connection connection{context, server.options("trust_user", std::nullopt)};
    mode_runner run{connection, mode};
    REQUIRE(run.finish(connection.connect()) == netio::retcode::succeed);

    // Touched by on_rows only, which runs on one thread; read after the completion.
    std::int64_t next = 1;
    std::size_t chunks = 0, largest = 0, wrong_thread = 0, out_of_order = 0;
    auto expected_thread = run.callback_thread();
    pg::fetch_options fetch;
    fetch.rows_per_chunk = chunk;
    fetch.on_rows = [&](pg::connection&, const pg::result& rows) {
      ++chunks;
      largest = std::max(largest, rows.row_count());
      if (std::this_thread::get_id() != expected_thread)
        ++wrong_thread;
      for (std::size_t row = 0; row < rows.row_count(); ++row) {
        if (rows.int64(row, "n") != next || rows.text(row, "label") != "row " + std::to_string(next))
          ++out_of_order;
        ++next;
      }
    };
    auto streamed = run.result_of(connection.execute(
      "SELECT n, 'row ' || n AS label FROM generate_series(1, $1) AS n", {total}, fetch));
    CHECK(next == total + 1);
    CHECK(chunks == total / chunk);
    CHECK(largest == chunk);
    CHECK(wrong_thread == 0);
    CHECK(out_of_order == 0);
    REQUIRE(streamed.results.size() == 1);
    CHECK(streamed.results[0].described);
    CHECK(streamed.results[0].row_count() == 0);
    CHECK(streamed.results[0].command() == "SELECT");
    CHECK(streamed.results[0].rows_affected() == std::optional<std::uint64_t>{total});
    auto counters = connection.streaming();
    CHECK(counters.rows_streamed == static_cast<std::uint64_t>(total));
    CHECK(counters.buffered_rows == 0);
    CHECK(counters.peak_buffered_rows >= chunk);
    CHECK(counters.peak_buffered_rows <= 2 * chunk);

    // Chunks without on_rows: every row ends up in the result.
    pg::fetch_options collect;
    collect.rows_per_chunk = 7;
    auto collected = run.result_of(
      connection.execute("SELECT n FROM generate_series(1, 100) AS n", {}, collect));
    REQUIRE(collected.results.size() == 1);
    REQUIRE(collected.results[0].row_count() == 100);
    CHECK(collected.results[0].int64(99, 0) == 100);
    CHECK(collected.results[0].rows_affected() == std::optional<std::uint64_t>{100});
    // A chunked statement without rows keeps the server's count.
    (void)run.result_of(connection.execute("CREATE TEMP TABLE c AS SELECT generate_series(1, 10) AS n"));
    auto updated = run.result_of(connection.execute("UPDATE c SET n = n + $1", {1}, collect));
    CHECK(updated.results.at(0).rows_affected() == std::optional<std::uint64_t>{10});

    // An error in the middle: the rows before it arrive, then the failure.
    std::int64_t before_error = 0;
    pg::fetch_options failing;
    failing.rows_per_chunk = 100;
    failing.on_rows = [&](pg::connection&, const pg::result& rows) {
      before_error += static_cast<std::int64_t>(rows.row_count());
    };
    auto failed = run.result_of(
      connection.execute("SELECT 1 / (n - 500) FROM generate_series(1, 1000) AS n", {}, failing),
      netio::retcode::fail);
    REQUIRE(failed.error);
    CHECK(failed.error->sqlstate == "22012");
    CHECK(before_error == 499);
    CHECK(connection.streaming().buffered_rows == 0);
    auto after = run.result_of(connection.execute("SELECT 2 AS two", {}));
    CHECK(after.results.at(0).int64(0, "two") == 2);

    // on_rows needs a chunk size: refused before anything is sent.
    pg::fetch_options no_chunks;
    no_chunks.on_rows = [](pg::connection&, const pg::result&) {};
    CHECK(connection.execute("SELECT 1", {}, no_chunks) == netio::retcode::fail);
    REQUIRE(run.problems().size() == 1);

    REQUIRE(run.finish(connection.close()) == netio::retcode::succeed);
    CHECK(run.completions() == (mode == netio::io_mode::sync ? 0 : 8));
  }
}
