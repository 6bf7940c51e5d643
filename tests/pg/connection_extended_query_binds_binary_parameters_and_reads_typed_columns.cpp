// The extended query protocol against a real PostgreSQL 15, in sync,
// deferred and async mode: parameters of every binary type this client
// encodes (bool, int2/4/8, float4/8, text, bytea, uuid, date, timestamp,
// timestamptz), NULL, and a text-format parameter; results read back in
// the binary and the text format through the typed reads, with clear
// errors for NULL, a wrong type and a binary column read as text; an error
// fails the operation and the connection goes on. Completions are counted
// exactly, on the thread the mode prescribes.
// ctest-timeout: 120
#include "pg_mode_support.hpp"

#include <actorloop/pg/error.hpp>

using namespace pg_mode_test;
using namespace std::chrono;

TEST_CASE("extended execute binds binary parameters and reads typed columns in every mode") {
  throwaway_server server;
  engine_fixture fixture;
  const auto id = pg::uuid::parse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  const pg::date day = sys_days{year{2024} / 2 / 29};
  const pg::timestamp wall = local_days{year{1999} / 12 / 31} + 23h + 59min + 59s + 123456us;
  const pg::timestamptz instant = sys_days{year{1969} / 7 / 20} + 20h + 17min + 40s;
  const std::string blob{"\0\x01\xff zero", 8};

  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    netio::context context{fixture.engine, {mode}};
    pg::connection connection{context, server.options("trust_user", std::nullopt)};
    mode_runner run{connection, mode};
    std::vector<pg::server_message> messages;
    std::mutex messages_mutex;
    connection.set_server_message([&](pg::connection&, const pg::server_message& message) {
      std::lock_guard guard{messages_mutex};
      messages.push_back(message);
    });
    REQUIRE(run.finish(connection.connect()) == netio::retcode::succeed);
    (void)run.result_of(connection.execute(
      "CREATE TEMP TABLE v(b bool, s int2, i int4, l int8, f float4, d float8, t text, "
      "y bytea, u uuid, day date, ts timestamp, tz timestamptz)"));

    const char* insert = "INSERT INTO v VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
    auto inserted = run.result_of(connection.execute(
      insert, {true, std::int16_t{-7}, std::int32_t{2000000000}, std::int64_t{-9000000000000},
               1.5f, -0.25, "héllo", pg::param::bytea(blob), id, day, wall, instant}));
    REQUIRE(inserted.results.size() == 1);
    CHECK(inserted.results[0].command() == "INSERT");
    CHECK(inserted.results[0].rows_affected() == std::optional<std::uint64_t>{1});
    CHECK_FALSE(inserted.error);
    std::vector<pg::param> nulls(12, pg::param::null());
    (void)run.result_of(connection.execute(insert, nulls));

    // The binary format (the default): every typed read decodes it.
    auto read = run.result_of(connection.execute("SELECT * FROM v ORDER BY b NULLS LAST", {}));
    REQUIRE(read.results.size() == 1);
    auto& rows = read.results[0];
    REQUIRE(rows.row_count() == 2);
    REQUIRE(rows.described);
    CHECK(rows.description.fields[0].format == 1);
    CHECK(rows.boolean(0, "b"));
    CHECK(rows.int64(0, "s") == -7);
    CHECK(rows.int64(0, "i") == 2000000000);
    CHECK(rows.int64(0, "l") == -9000000000000);
    CHECK(rows.float64(0, "f") == 1.5);
    CHECK(rows.float64(0, "d") == -0.25);
    CHECK(rows.float64(0, "i") == 2000000000.0);
    CHECK(rows.text(0, "t") == "héllo");
    CHECK(rows.bytea(0, "y") == blob);
    CHECK(rows.uuid_value(0, "u") == id);
    CHECK(rows.date_value(0, "day") == day);
    CHECK(rows.timestamp_value(0, "ts") == wall);
    CHECK(rows.timestamptz_value(0, "tz") == instant);
    for (std::size_t column = 0; column < 12; ++column)
      CHECK(rows.is_null(1, column));
    CHECK(code_of([&] { (void)rows.int64(1, "l"); }) == pg::errc::null_value);
    CHECK(code_of([&] { (void)rows.uuid_value(1, "u"); }) == pg::errc::null_value);
    CHECK(code_of([&] { (void)rows.boolean(0, "i"); }) == pg::errc::wrong_type);
    CHECK(code_of([&] { (void)rows.date_value(0, "ts"); }) == pg::errc::wrong_type);
    CHECK(code_of([&] { (void)rows.text(0, "l"); }) == pg::errc::wrong_type);
    CHECK(code_of([&] { (void)rows.bytea(0, "t"); }) == pg::errc::wrong_type);
    CHECK(rows.bytes(0, "i") == std::string_view{"\x77\x35\x94\x00", 4});

    // The text format on request: the typed reads parse it.
    pg::fetch_options text;
    text.results = pg::format::text;
    auto as_text = run.result_of(
      connection.execute("SELECT b, l, d, y, u, day FROM v WHERE b", {}, text));
    auto& line = as_text.results.at(0);
    CHECK(line.description.fields[0].format == 0);
    CHECK(line.boolean(0, "b"));
    CHECK(line.int64(0, "l") == -9000000000000);
    CHECK(line.float64(0, "d") == -0.25);
    CHECK(line.bytea(0, "y") == blob);
    CHECK(line.uuid_value(0, "u") == id);
    CHECK(line.text(0, "day") == "2024-02-29");
    CHECK(code_of([&] { (void)line.date_value(0, "day"); }) == pg::errc::wrong_type);

    // A text-format parameter goes through the server's input function.
    auto sum = run.result_of(connection.execute(
      "SELECT $1::numeric + 1 AS n", {pg::param::text_format("1.25")}, text));
    CHECK(sum.results.at(0).text(0, "n") == "2.25");
    CHECK(sum.results.at(0).float64(0, "n") == 2.25);

    // An error fails the operation, reaches the server-message callback,
    // and the connection goes on.
    auto failed = run.result_of(connection.execute("SELECT 10 / $1", {0}), netio::retcode::fail);
    REQUIRE(failed.error);
    CHECK(failed.error->sqlstate == "22012");
    {
      std::lock_guard guard{messages_mutex};
      REQUIRE(messages.size() == 1);
      CHECK(messages[0].sqlstate == "22012");
    }
    auto after = run.result_of(connection.execute("SELECT $1::int8 * 2 AS x", {std::int64_t{21}}));
    CHECK(after.results.at(0).int64(0, "x") == 42);

    // A parameter the protocol cannot carry: a client message and fail, nothing sent.
    CHECK(connection.execute(std::string{"SELECT \0 1", 10}, {}) == netio::retcode::fail);
    auto problems = run.problems();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].text.find("execute") != std::string::npos);
    CHECK(connection.connected());

    REQUIRE(run.finish(connection.close()) == netio::retcode::succeed);
    // connect, create, 2 inserts, 2 selects, sum, the failed one, after, close
    CHECK(run.completions() == (mode == netio::io_mode::sync ? 0 : 10));
  }
}
