// A pipeline against a real PostgreSQL 15, in sync, deferred and async
// mode: statements of three Sync segments go out at once; the error in the
// first segment fails its statement, aborts the rest of the segment (their
// results say aborted, as libpq's PGRES_PIPELINE_ABORTED) and rolls the
// segment back, and the next segments run. The pipeline completes exactly
// once, failed, with the first error; the connection goes on. Then 10,000
// prepared inserts pipelined in segments of 1,000 all complete.
// ctest-timeout: 180
#include "pg_mode_support.hpp"

using namespace pg_mode_test;

TEST_CASE("a pipeline aborts the rest of a failed segment and runs the next in every mode") {
  throwaway_server server;
  in_every_mode(server.options("md5_user", "md5-secret"), [&](pg::connection& connection,
                                                              mode_runner& run,
                                                              server_error_counter& server_errors,
                                                              netio::io_mode mode) {
    (void)run.result_of(connection.execute("CREATE TEMP TABLE q(n int4)"));

    pg::pipeline batch;
    batch.execute("INSERT INTO q VALUES ($1)", {1})
      .execute("SELECT 1 / $1 AS x", {0})
      .execute("INSERT INTO q VALUES ($1)", {2})
      .execute("SELECT $1::int4 AS y", {3})
      .sync()
      .execute("INSERT INTO q VALUES ($1)", {4})
      .execute("SELECT count(*) AS n, max(n) AS m FROM q")
      .sync()
      .execute("SELECT $1::text AS t", {"last"});
    CHECK(batch.statements() == 7);
    auto ran = run.result_of(connection.execute(std::move(batch)), netio::retcode::fail);
    REQUIRE(ran.results.size() == 7);
    using status = pg::statement_status;
    CHECK(ran.results[0].status == status::completed);
    CHECK(ran.results[0].command() == "INSERT");
    CHECK(ran.results[1].status == status::failed);
    REQUIRE(ran.results[1].error);
    CHECK(ran.results[1].error->sqlstate == "22012");
    CHECK(ran.results[2].status == status::aborted);
    CHECK(ran.results[3].status == status::aborted);
    CHECK(ran.results[3].row_count() == 0);
    CHECK(ran.results[4].status == status::completed);
    CHECK(ran.results[5].status == status::completed);
    // The first segment was one implicit transaction: its INSERT rolled back.
    CHECK(ran.results[5].int64(0, "n") == 1);
    CHECK(ran.results[5].int64(0, "m") == 4);
    CHECK(ran.results[6].status == status::completed);
    CHECK(ran.results[6].text(0, "t") == "last");
    REQUIRE(ran.error);
    CHECK(ran.error->sqlstate == "22012");
    CHECK(server_errors.value() == 1);
    CHECK(connection.transaction() == pg::transaction_status::idle);

    // A pipeline without errors succeeds; an empty one is refused.
    REQUIRE(run.finish(connection.prepare("ins", "INSERT INTO q VALUES ($1)")) ==
            netio::retcode::succeed);
    (void)connection.take_result();
    pg::pipeline bulk;
    for (std::int32_t each = 0; each < 10'000; ++each) {
      bulk.execute_prepared("ins", {each});
      if (each % 1000 == 999)
        bulk.sync();
    }
    auto loaded = run.result_of(connection.execute(std::move(bulk)));
    REQUIRE(loaded.results.size() == 10'000);
    CHECK(std::all_of(loaded.results.begin(), loaded.results.end(), [](const pg::result& each) {
      return each.status == pg::statement_status::completed && each.rows_affected() == 1u;
    }));
    CHECK_FALSE(loaded.error);
    auto count = run.result_of(connection.execute("SELECT count(*) FROM q", {}));
    CHECK(count.results.at(0).int64(0, 0) == 10'001); // 4, and the bulk
    CHECK(connection.execute(pg::pipeline{}) == netio::retcode::fail);
    CHECK(run.problems().size() == 1);

    REQUIRE(run.finish(connection.close()) == netio::retcode::succeed);
    // connect, create, pipeline, prepare, bulk, count, close
    CHECK(run.completions() == (mode == netio::io_mode::sync ? 0 : 7));
  });
}
