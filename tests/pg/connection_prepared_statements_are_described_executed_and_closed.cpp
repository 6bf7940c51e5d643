// Named prepared statements against a real PostgreSQL 15, in sync,
// deferred and async mode: prepare describes the parameters
// (ParameterDescription) and the columns (RowDescription, or NoData for a
// statement without rows); execute_prepared runs it many times with binary
// parameters; a wrong parameter count or a binary parameter of another
// type is refused before anything is sent; a statement that fails to
// prepare is not remembered; close_statement deallocates it, after which
// the server refuses to run it.
// ctest-timeout: 120
#include "pg_mode_support.hpp"

using namespace pg_mode_test;

TEST_CASE("prepared statements are described, executed many times and closed in every mode") {
  throwaway_server server;
  engine_fixture fixture;
  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    netio::context context{fixture.engine, {mode}};
    pg::connection connection{context, server.options("scram_user", "scram-secret")};
    mode_runner run{connection, mode};
    REQUIRE(run.finish(connection.connect()) == netio::retcode::succeed);
    (void)run.result_of(connection.execute("CREATE TEMP TABLE p(id int8, name text)"));

    auto prepared = run.result_of(
      connection.prepare("insert_p", "INSERT INTO p VALUES ($1, $2) RETURNING id * 10 AS tens"));
    REQUIRE(prepared.statement);
    CHECK(prepared.statement->name == "insert_p");
    CHECK(prepared.statement->parameter_types == std::vector<pg::oid>{pg::oids::int8, pg::oids::text});
    CHECK(prepared.statement->returns_rows);
    REQUIRE(prepared.statement->columns.fields.size() == 1);
    CHECK(prepared.statement->columns.fields[0].name == "tens");
    CHECK(prepared.statement->columns.fields[0].type_oid == pg::oids::int8);
    REQUIRE(connection.statement("insert_p"));
    CHECK(connection.statement("insert_p")->parameter_types.size() == 2);

    for (std::int64_t each = 1; each <= 20; ++each) {
      auto ran = run.result_of(connection.execute_prepared(
        "insert_p", {each, "name " + std::to_string(each)}));
      REQUIRE(ran.results.size() == 1);
      CHECK(ran.results[0].int64(0, "tens") == each * 10);
      CHECK(ran.results[0].command() == "INSERT");
    }

    // A statement with given parameter types and no rows: NoData.
    auto update = run.result_of(
      connection.prepare("rename", "UPDATE p SET name = $2 WHERE id = $1", {pg::oids::int4}));
    REQUIRE(update.statement);
    CHECK(update.statement->parameter_types == std::vector<pg::oid>{pg::oids::int4, pg::oids::text});
    CHECK_FALSE(update.statement->returns_rows);
    auto renamed = run.result_of(connection.execute_prepared("rename", {7, "seven"}));
    CHECK(renamed.results.at(0).rows_affected() == std::optional<std::uint64_t>{1});
    CHECK_FALSE(renamed.results.at(0).described);

    // Refused before sending: a wrong count, a binary parameter of another type.
    CHECK(connection.execute_prepared("rename", {7}) == netio::retcode::fail);
    CHECK(connection.execute_prepared("insert_p", {7, "x"}) == netio::retcode::fail);
    auto problems = run.problems();
    REQUIRE(problems.size() == 2);
    CHECK(problems[0].code == pg::errc::invalid_argument);
    CHECK(problems[0].text.find("takes 2 parameters, 1 given") != std::string::npos);
    CHECK(problems[1].code == pg::errc::wrong_type);
    CHECK(problems[1].text.find("$1") != std::string::npos);
    // Text-format parameters are converted by the server, whatever the type.
    (void)run.result_of(
      connection.execute_prepared("insert_p", {pg::param::text_format("21"), "twenty-one"}));

    auto count = run.result_of(connection.execute("SELECT count(*) AS n, sum(id) AS s FROM p", {}));
    CHECK(count.results.at(0).int64(0, "n") == 21);
    // sum(int8) is numeric, whose binary format is not decoded: a clear wrong_type.
    CHECK(code_of([&] { (void)count.results.at(0).float64(0, "s"); }) == pg::errc::wrong_type);
    auto seven = run.result_of(connection.execute("SELECT name FROM p WHERE id = 7"));
    CHECK(seven.results.at(0).text(0, 0) == "seven");

    // A statement that does not prepare is not remembered.
    auto broken = run.result_of(connection.prepare("broken", "SELECT FROM nowhere_at_all"),
                                netio::retcode::fail);
    REQUIRE(broken.error);
    CHECK(broken.error->sqlstate == "42P01");
    CHECK_FALSE(broken.statement);
    CHECK_FALSE(connection.statement("broken"));
    CHECK(connection.prepare("", "SELECT 1") == netio::retcode::fail);

    // Closed: forgotten here, and the server refuses to run it.
    (void)run.result_of(connection.close_statement("insert_p"));
    CHECK_FALSE(connection.statement("insert_p"));
    auto gone = run.result_of(connection.execute_prepared("insert_p", {std::int64_t{1}, "x"}),
                              netio::retcode::fail);
    REQUIRE(gone.error);
    CHECK(gone.error->sqlstate == "26000");
    // Closing a name that does not exist is no error.
    (void)run.result_of(connection.close_statement("insert_p"));

    REQUIRE(run.finish(connection.close()) == netio::retcode::succeed);
    // connect, create, prepare, 20 executes, prepare, execute, text execute,
    // 2 selects, broken, close_statement, gone, close_statement, close
    CHECK(run.completions() == (mode == netio::io_mode::sync ? 0 : 33));
  }
}
