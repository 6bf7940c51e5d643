// execute_streaming against a real PostgreSQL 15, in sync, deferred and
// async mode: a simple query of two statements streams 200,000 rows and
// then 1 row to on_rows, at most 1,000 rows a chunk, each chunk with its
// statement's description, in order, on the thread the mode prescribes.
// The server sends a simple query's rows without waiting, so the bound
// is the reader's: in deferred mode nothing is delivered before `poll`,
// and the connection still never holds more than two chunks (it stops
// reading instead). The results keep their tags and no rows; an error in
// the second statement delivers the first one's rows, fails the operation
// and leaves the connection usable; bad arguments are refused.
// ctest-timeout: 300
#include "pg_mode_support.hpp"

using namespace pg_mode_test;

TEST_CASE("a simple query's rows stream in chunks with at most two chunks held in every mode") {
  throwaway_server server;
  engine_fixture fixture;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr std::int64_t total = 50'000; // the sanitizers slow every row; the bound is the same
#else
  constexpr std::int64_t total = 200'000;
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
    std::size_t chunks = 0, largest = 0, wrong_thread = 0, out_of_order = 0, answers = 0;
    auto expected_thread = run.callback_thread();
    auto on_rows = [&](pg::connection&, const pg::result& rows) {
      ++chunks;
      largest = std::max(largest, rows.row_count());
      if (std::this_thread::get_id() != expected_thread)
        ++wrong_thread;
      if (rows.description.fields.size() == 1) { // the second statement
        answers += rows.row_count();
        return;
      }
      for (std::size_t row = 0; row < rows.row_count(); ++row) {
        if (rows.int64(row, "n") != next || rows.text(row, "label") != "row " + std::to_string(next))
          ++out_of_order;
        ++next;
      }
    };
    auto streamed = run.result_of(connection.execute_streaming(
      "SELECT n::int8, 'row ' || n AS label FROM generate_series(1, " + std::to_string(total) +
        ") AS n; SELECT 42 AS answer",
      chunk, on_rows));
    CHECK(next == total + 1);
    CHECK(answers == 1);
    CHECK(chunks == total / chunk + 1);
    CHECK(largest == chunk);
    CHECK(wrong_thread == 0);
    CHECK(out_of_order == 0);
    REQUIRE(streamed.results.size() == 2);
    for (auto& each : streamed.results) {
      CHECK(each.described);
      CHECK(each.row_count() == 0);
      CHECK(each.command() == "SELECT");
    }
    CHECK(streamed.results[0].rows_affected() == std::optional<std::uint64_t>{total});
    CHECK(streamed.results[1].rows_affected() == std::optional<std::uint64_t>{1});
    auto counters = connection.streaming();
    CHECK(counters.rows_streamed == static_cast<std::uint64_t>(total + 1));
    CHECK(counters.buffered_rows == 0);
    CHECK(counters.peak_buffered_rows >= chunk);
    CHECK(counters.peak_buffered_rows <= 2 * chunk);

    // An error in the second statement: the first one's rows, then the failure.
    std::size_t rows_seen = 0;
    auto status = run.finish(connection.execute_streaming(
      "SELECT generate_series(1, 2500) AS n; SELECT 1 / 0", chunk,
      [&](pg::connection&, const pg::result& rows) { rows_seen += rows.row_count(); }));
    CHECK(status == netio::retcode::fail);
    CHECK(rows_seen == 2500);
    auto failed = connection.take_result();
    REQUIRE(failed);
    REQUIRE(failed->error);
    CHECK(failed->error->sqlstate == "22012");
    CHECK(run.result_of(connection.execute("SELECT 1 AS one")).results[0].int64(0, "one") == 1);

    // Bad arguments: refused, nothing sent, the connection goes on.
    auto problems_before = run.problems().size();
    CHECK(connection.execute_streaming("SELECT 1", 0, on_rows).code == netio::retcode::fail);
    CHECK(connection.execute_streaming("SELECT 1", chunk, {}).code == netio::retcode::fail);
    CHECK(connection.execute_streaming(std::string{"SELECT 1\0", 9}, chunk, on_rows).code ==
          netio::retcode::fail);
    auto problems = run.problems();
    REQUIRE(problems.size() == problems_before + 3);
    CHECK(problems[problems_before].text.find("rows_per_chunk") != std::string::npos);
    CHECK(problems[problems_before + 2].text.find("NUL") != std::string::npos);
    CHECK(run.result_of(connection.execute("SELECT 2 AS two")).results[0].int64(0, "two") == 2);
    REQUIRE(run.finish(connection.close()) == netio::retcode::succeed);
  }
}
