// A simple query's RowDescription, DataRow, CommandComplete and
// ReadyForQuery are parsed straight into its result (no backend_message on
// the way). A scripted server answers a run of simple queries whose shapes
// change from one query to the next and within one answer (two columns,
// then one; a statement without rows; several statements; an empty query;
// rows with NULL and empty values; an answer sent a byte at a time; an
// ErrorResponse after some rows; a DataRow before any RowDescription;
// messages over 4 KiB, which are decoded outside the lock, among small
// ones), in every mode: each result has exactly its own statement's
// columns, rows and tag, nothing of the query before it, and the
// transaction status of its own ReadyForQuery.
// ctest-timeout: 120
#include "pg_fake_server.hpp"
#include "pg_mode_support.hpp"
#include "pg_wire_support.hpp"

#include <netinet/tcp.h>

#include <cstdio>
#include <map>
#include <optional>

using namespace pg_mode_test;

namespace {

using pg_test::wire;

/// RowDescription of text columns: (name, type OID) each.
std::string description(std::initializer_list<std::pair<std::string, std::int32_t>> columns) {
  wire out{'T'};
  out.i16(static_cast<std::int16_t>(columns.size()));
  std::int16_t number = 0;
  for (const auto& [name, type] : columns)
    out.str(name).i32(16384).i16(++number).i32(type).i16(-1).i32(-1).i16(0);
  return out.bytes();
}

/// DataRow of text values; nullopt is NULL.
std::string row(std::initializer_list<std::optional<std::string>> values) {
  wire out{'D'};
  out.i16(static_cast<std::int16_t>(values.size()));
  for (const auto& value : values) {
    if (value)
      out.i32(static_cast<std::int32_t>(value->size())).raw(*value);
    else
      out.i32(-1);
  }
  return out.bytes();
}

std::string tag(const std::string& text) {
  return wire('C').str(text).bytes();
}

std::string ready(char status) {
  return wire('Z').u8(static_cast<std::uint8_t>(status)).bytes();
}

std::string error_response(const std::string& message) {
  return wire('E').u8('S').str("ERROR").u8('C').str("22012").u8('M').str(message).u8(0).bytes();
}

/// 250 columns (a RowDescription over 4 KiB) and two rows: a small one and
/// one whose first value is 5,000 bytes (over 4 KiB).
std::string wide_answer() {
  wire columns{'T'};
  columns.i16(250);
  wire small{'D'}, large{'D'};
  small.i16(250);
  large.i16(250);
  for (int index = 0; index < 250; ++index) {
    char name[16];
    std::snprintf(name, sizeof name, "column_%03d", index);
    columns.str(name).i32(0).i16(0).i32(25).i16(-1).i32(-1).i16(0);
    auto value = std::to_string(index);
    small.i32(static_cast<std::int32_t>(value.size())).raw(value);
    if (index == 0)
      value = std::string(5000, 'w');
    large.i32(static_cast<std::int32_t>(value.size())).raw(value);
  }
  return columns.bytes() + small.bytes() + large.bytes() + tag("SELECT 2") + ready('I');
}

const std::map<std::string, std::string>& answers() {
  static const std::map<std::string, std::string> table{
    {"one", description({{"?column?", 23}}) + row({"1"}) + tag("SELECT 1") + ready('I')},
    {"two", description({{"id", 20}, {"name", 25}}) + row({"7", "seven"}) +
              row({"8", std::nullopt}) + row({"9", ""}) + tag("SELECT 3") + ready('T')},
    {"none", tag("CREATE TABLE") + ready('I')},
    {"many", description({{"a", 25}}) + row({"x"}) + tag("SELECT 1") + tag("INSERT 0 2") +
               description({{"b", 23}}) + tag("SELECT 0") + wire('I').bytes() + ready('I')},
    {"error", description({{"c", 23}}) + row({"1"}) + error_response("division by zero") +
                ready('E')},
    {"stray", row({"lost"}) + tag("SELECT 1") + ready('I')},
    {"wide", wide_answer()},
  };
  return table;
}

/// Answers each Query from the table ("bytewise": the "two" answer a byte
/// at a time) until Terminate.
void play(int fd, std::string& problem) {
  if (pg_fake::read_untyped(fd).empty())
    return;
  int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  pg_fake::send_all(fd, wire('R').i32(0).bytes() + wire('K').i32(7).i32(1).bytes() + ready('I'));
  for (;;) {
    auto message = pg_fake::read_typed(fd);
    if (message.empty() || message[0] == 'X')
      return;
    if (message[0] != 'Q') {
      problem = std::string{"unexpected frontend message '"} + message[0] + "'";
      return;
    }
    auto text = message.substr(1, message.size() - 2); // without the NUL
    if (text == "bytewise") {
      for (char each : answers().at("two"))
        pg_fake::send_all(fd, std::string(1, each));
      continue;
    }
    auto found = answers().find(text);
    if (found == answers().end()) {
      problem = "no answer for \"" + text + "\"";
      return;
    }
    pg_fake::send_all(fd, found->second);
  }
}

void check_one(const pg::query_result& answer) {
  REQUIRE(answer.results.size() == 1);
  const auto& only = answer.results[0];
  CHECK(only.described);
  REQUIRE(only.column_count() == 1);
  CHECK(only.description.fields[0].name == "?column?");
  CHECK(only.description.fields[0].type_oid == 23);
  CHECK(only.description.fields[0].table_oid == 16384);
  CHECK(only.description.fields[0].column_number == 1);
  CHECK(only.description.fields[0].type_size == -1);
  CHECK(only.description.fields[0].type_modifier == -1);
  CHECK(only.description.fields[0].format == 0);
  REQUIRE(only.row_count() == 1);
  CHECK(only.rows[0].size() == 1);
  CHECK(only.int64(0, 0) == 1);
  CHECK(only.command_tag == "SELECT 1");
  CHECK(!answer.error);
  CHECK(answer.status == pg::transaction_status::idle);
}

void check_two(const pg::query_result& answer) {
  REQUIRE(answer.results.size() == 1);
  const auto& only = answer.results[0];
  CHECK(only.described);
  REQUIRE(only.column_count() == 2);
  CHECK(only.description.fields[0].name == "id");
  CHECK(only.description.fields[0].type_oid == 20);
  CHECK(only.description.fields[1].name == "name");
  CHECK(only.description.fields[1].column_number == 2);
  CHECK(only.description.fields[1].type_oid == 25);
  REQUIRE(only.row_count() == 3);
  CHECK(only.int64(0, "id") == 7);
  CHECK(only.text(0, "name") == "seven");
  CHECK(only.int64(1, 0) == 8);
  CHECK(only.is_null(1, 1));
  CHECK(only.int64(2, 0) == 9);
  CHECK(!only.is_null(2, 1));
  CHECK(only.text(2, 1).empty());
  CHECK(only.command_tag == "SELECT 3");
  CHECK(answer.status == pg::transaction_status::in_transaction);
}

} // namespace

TEST_CASE("a simple query's result holds exactly its own statements' columns, rows and tags") {
  engine_fixture fixture;
  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    std::string problem; // written by the server thread, read after it is joined
    {
      pg_fake::server scripted{[&](int fd, int) { play(fd, problem); }};
      auto options = pg_fake::plain_options(scripted);
      netio::context context{fixture.engine, {mode}};
      pg::connection connection{context, options};
      mode_runner run{connection, mode};
      server_error_counter server_errors{connection};
      REQUIRE(run.finish(connection.connect()) == netio::retcode::succeed);

      check_one(run.result_of(connection.execute("one")));
      check_two(run.result_of(connection.execute("two")));
      // Back to one column: nothing of the two-column description or rows.
      check_one(run.result_of(connection.execute("one")));

      auto none = run.result_of(connection.execute("none"));
      REQUIRE(none.results.size() == 1);
      CHECK(!none.results[0].described);
      CHECK(none.results[0].column_count() == 0);
      CHECK(none.results[0].row_count() == 0);
      CHECK(none.results[0].command_tag == "CREATE TABLE");

      auto many = run.result_of(connection.execute("many"));
      REQUIRE(many.results.size() == 4);
      CHECK(many.results[0].described);
      REQUIRE(many.results[0].column_count() == 1);
      CHECK(many.results[0].description.fields[0].name == "a");
      REQUIRE(many.results[0].row_count() == 1);
      CHECK(many.results[0].text(0, 0) == "x");
      CHECK(many.results[0].command_tag == "SELECT 1");
      CHECK(!many.results[1].described);
      CHECK(many.results[1].row_count() == 0);
      CHECK(many.results[1].command_tag == "INSERT 0 2");
      CHECK(many.results[1].rows_affected() == 2u);
      CHECK(many.results[2].described);
      REQUIRE(many.results[2].column_count() == 1);
      CHECK(many.results[2].description.fields[0].name == "b");
      CHECK(many.results[2].row_count() == 0);
      CHECK(many.results[2].command_tag == "SELECT 0");
      CHECK(!many.results[3].described); // the empty query
      CHECK(many.results[3].command_tag.empty());

      check_two(run.result_of(connection.execute("bytewise")));

      auto failed = run.result_of(connection.execute("error"), netio::retcode::fail);
      REQUIRE(failed.results.size() == 1);
      CHECK(failed.results[0].described);
      CHECK(failed.results[0].description.fields[0].name == "c");
      REQUIRE(failed.results[0].row_count() == 1);
      CHECK(failed.results[0].int64(0, 0) == 1);
      CHECK(failed.results[0].command_tag.empty());
      REQUIRE(failed.error);
      CHECK(failed.error->sqlstate == "22012");
      CHECK(failed.error->message == "division by zero");
      CHECK(failed.status == pg::transaction_status::failed);
      CHECK(server_errors.value() == 1);

      // A DataRow before any RowDescription has no result to go to: dropped.
      auto stray = run.result_of(connection.execute("stray"));
      REQUIRE(stray.results.size() == 1);
      CHECK(!stray.results[0].described);
      CHECK(stray.results[0].row_count() == 0);
      CHECK(stray.results[0].command_tag == "SELECT 1");

      // Large messages (over 4 KiB) between small ones, in their order.
      auto wide = run.result_of(connection.execute("wide"));
      REQUIRE(wide.results.size() == 1);
      REQUIRE(wide.results[0].column_count() == 250);
      CHECK(wide.results[0].description.fields[0].name == "column_000");
      CHECK(wide.results[0].description.fields[249].name == "column_249");
      CHECK(wide.results[0].description.fields[249].type_oid == 25);
      REQUIRE(wide.results[0].row_count() == 2);
      CHECK(wide.results[0].text(0, 0) == "0");
      CHECK(wide.results[0].text(0, 249) == "249");
      CHECK(wide.results[0].text(1, 0) == std::string(5000, 'w'));
      CHECK(wide.results[0].text(1, 249) == "249");
      CHECK(wide.results[0].command_tag == "SELECT 2");

      check_one(run.result_of(connection.execute("one")));
      CHECK(!connection.take_result());
      CHECK(connection.transaction() == pg::transaction_status::idle);
      CHECK(run.finish(connection.close()) == netio::retcode::succeed);
      CHECK(run.problems().empty());
      CHECK(server_errors.value() == 1);
    }
    CHECK(problem.empty());
  }
}
