// The command tag gives the command word(s) and, for the commands that
// count, the rows affected; other tags have no count.
#include "pg_wire_support.hpp"

using namespace pg_test;

TEST_CASE("the command tag yields the command and the row count") {
  struct expectation {
    const char* tag;
    const char* command;
    std::optional<std::uint64_t> rows;
  };
  const expectation cases[] = {
    {"INSERT 0 5", "INSERT", 5},   {"DELETE 12", "DELETE", 12}, {"UPDATE 0", "UPDATE", 0},
    {"MERGE 3", "MERGE", 3},       {"SELECT 1", "SELECT", 1},   {"MOVE 4", "MOVE", 4},
    {"FETCH 9", "FETCH", 9},       {"COPY 100000", "COPY", 100000},
    {"CREATE TABLE", "CREATE TABLE", std::nullopt}, {"BEGIN", "BEGIN", std::nullopt},
    {"SELECT", "SELECT", std::nullopt}, {"INSERT 0 x", "INSERT", std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.tag);
    pg::command_complete done{c.tag};
    CHECK(done.command() == c.command);
    CHECK(done.rows() == c.rows);
  }
}
