// A pipeline fed in pieces (execute(pipeline_source)) against a real
// PostgreSQL 15, in sync, deferred and async mode: the source runs on the
// thread the mode prescribes, is asked exactly once per piece, and its
// pieces (with and without a Sync at their end) give one result per
// statement in order; an error aborts the rest of its segment across a
// piece boundary; a source that throws fails the operation with a client
// message quoting it while what was sent before stays committed and
// answered; a source with nothing completes with no results; and the
// connection goes on after each.
// ctest-timeout: 180
#include "pg_mode_support.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>

using namespace pg_mode_test;

TEST_CASE("a pipeline fed in pieces runs every statement and a throw fails it in every mode") {
  throwaway_server server;
  in_every_mode(server.options("md5_user", "md5-secret"), [&](pg::connection& connection,
                                                              mode_runner& run,
                                                              server_error_counter& server_errors,
                                                              netio::io_mode mode) {
    (void)run.result_of(connection.execute("CREATE TEMP TABLE fed(n int4)"));
    REQUIRE(run.finish(connection.prepare("put", "INSERT INTO fed VALUES ($1)")) ==
            netio::retcode::succeed);
    (void)connection.take_result();

    // 20 pieces of 500 inserts: even pieces end with a Sync, odd ones do
    // not (their statements join the next piece's segment).
    constexpr int pieces = 20, per_piece = 500;
    int asked = 0;
    bool wrong_thread = false;
    const auto callback_thread = run.callback_thread();
    auto source = [&](pg::connection& target, pg::pipeline& next) {
      wrong_thread = wrong_thread || std::this_thread::get_id() != callback_thread ||
                     &target != &connection || next.statements() != 0;
      for (int each = 0; each < per_piece; ++each)
        next.execute_prepared("put", {static_cast<std::int32_t>(asked * per_piece + each)});
      if (asked % 2 == 0)
        next.sync();
      return ++asked < pieces;
    };
    auto loaded = run.result_of(connection.execute(pg::pipeline_source{source}));
    CHECK(asked == pieces);
    CHECK_FALSE(wrong_thread);
    REQUIRE(loaded.results.size() == pieces * per_piece);
    CHECK(std::all_of(loaded.results.begin(), loaded.results.end(), [](const pg::result& each) {
      return each.status == pg::statement_status::completed && each.rows_affected() == 1u;
    }));
    CHECK_FALSE(loaded.error);
    auto sum = run.result_of(connection.execute("SELECT count(*), sum(n) FROM fed", {}));
    CHECK(sum.results.at(0).int64(0, 0) == pieces * per_piece);
    CHECK(sum.results.at(0).int64(0, 1) ==
          static_cast<std::int64_t>(pieces * per_piece) * (pieces * per_piece - 1) / 2);

    // An error in a segment that spans two pieces aborts the rest of it.
    asked = 0;
    auto failing = [&](pg::connection&, pg::pipeline& next) {
      if (asked++ == 0) {
        next.execute("INSERT INTO fed VALUES ($1)", {-1}).execute("SELECT 1 / $1", {0});
        return true; // no Sync: the segment goes on in the next piece
      }
      next.execute("INSERT INTO fed VALUES ($1)", {-2}).sync().execute("SELECT $1::int4 AS v",
                                                                         {7});
      return false; // and a Sync is added after this last statement
    };
    auto broken = run.result_of(connection.execute(pg::pipeline_source{failing}),
                                netio::retcode::fail);
    CHECK(asked == 2);
    REQUIRE(broken.results.size() == 4);
    CHECK(broken.results[0].status == pg::statement_status::completed);
    CHECK(broken.results[1].status == pg::statement_status::failed);
    REQUIRE(broken.results[1].error);
    CHECK(broken.results[1].error->sqlstate == "22012");
    CHECK(broken.results[2].status == pg::statement_status::aborted);
    CHECK(broken.results[3].status == pg::statement_status::completed);
    CHECK(broken.results[3].int64(0, "v") == 7);
    REQUIRE(broken.error);
    CHECK(broken.error->sqlstate == "22012");
    CHECK(server_errors.value() == 1);
    auto negatives = run.result_of(connection.execute("SELECT count(*) FROM fed WHERE n < 0", {}));
    CHECK(negatives.results.at(0).int64(0, 0) == 0); // the segment rolled back

    // A throw: the piece before it ran and stays; the operation fails.
    asked = 0;
    auto throwing = [&](pg::connection&, pg::pipeline& next) -> bool {
      if (asked++ == 0) {
        next.execute_prepared("put", {-10}).execute_prepared("put", {-11}).sync();
        next.execute_prepared("put", {-12}); // sent; the Sync after the throw closes it
        return true;
      }
      next.execute_prepared("put", {-13}); // never sent
      throw std::runtime_error("the input file vanished");
    };
    auto thrown = run.result_of(connection.execute(pg::pipeline_source{throwing}),
                                netio::retcode::fail);
    CHECK(asked == 2);
    REQUIRE(thrown.results.size() == 3);
    CHECK(std::all_of(thrown.results.begin(), thrown.results.end(), [](const pg::result& each) {
      return each.status == pg::statement_status::completed;
    }));
    CHECK_FALSE(thrown.error);
    auto problems = run.problems();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].code == pg::errc::invalid_argument);
    CHECK(problems[0].text ==
          "execute(pipeline_source): the pipeline source threw: the input file vanished");
    auto kept = run.result_of(connection.execute("SELECT count(*) FROM fed WHERE n < 0", {}));
    CHECK(kept.results.at(0).int64(0, 0) == 3);

    // Nothing to send: no results, success. No source: refused.
    asked = 0;
    auto empty = run.result_of(connection.execute(pg::pipeline_source{
      [&](pg::connection&, pg::pipeline&) { return ++asked < 0; }}));
    CHECK(asked == 1);
    CHECK(empty.results.empty());
    CHECK(connection.execute(pg::pipeline_source{}) == netio::retcode::fail);
    CHECK(run.problems().size() == 2);
    CHECK(server_errors.value() == 1);

    REQUIRE(run.finish(connection.close()) == netio::retcode::succeed);
    // connect, create, prepare, loaded, sum, broken, negatives, thrown, kept, empty, close
    CHECK(run.completions() == (mode == netio::io_mode::sync ? 0 : 11));
  });
}
