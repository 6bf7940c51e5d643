// ErrorResponse and NoticeResponse carry every field the protocol defines;
// an unknown field code is ignored, as the protocol requires, and an empty
// message text is still a message.
#include "pg_wire_support.hpp"

using namespace pg_test;

TEST_CASE("every error field is parsed and unknown codes are ignored") {
  auto bytes = wire('E')
                 .u8('S').str("ERREUR").u8('V').str("ERROR").u8('C').str("23505")
                 .u8('M').str("duplicate key").u8('D').str("Key (id)=(1) already exists.")
                 .u8('H').str("use another id").u8('P').str("15").u8('p').str("3")
                 .u8('q').str("select 1").u8('W').str("PL/pgSQL function f() line 3")
                 .u8('s').str("public").u8('t').str("items").u8('c').str("id")
                 .u8('d').str("int4").u8('n').str("items_pkey").u8('F').str("nbtinsert.c")
                 .u8('L').str("666").u8('R').str("_bt_check_unique").u8('Z').str("future field")
                 .u8(0)
                 .bytes();
  auto messages = decode_all(bytes);
  REQUIRE(messages.size() == 1);
  const auto& e = std::get<pg::server_message>(messages[0]);
  CHECK(e.is_error);
  CHECK(e.severity == "ERREUR");
  CHECK(e.severity_nonlocalized == "ERROR");
  CHECK(e.sqlstate == "23505");
  CHECK(e.message == "duplicate key");
  CHECK(e.detail == "Key (id)=(1) already exists.");
  CHECK(e.hint == "use another id");
  CHECK(e.position == "15");
  CHECK(e.internal_position == "3");
  CHECK(e.internal_query == "select 1");
  CHECK(e.where == "PL/pgSQL function f() line 3");
  CHECK(e.schema == "public");
  CHECK(e.table == "items");
  CHECK(e.column == "id");
  CHECK(e.data_type == "int4");
  CHECK(e.constraint == "items_pkey");
  CHECK(e.file == "nbtinsert.c");
  CHECK(e.line == "666");
  CHECK(e.routine == "_bt_check_unique");
  CHECK(pg::type_byte(messages[0]) == 'E');
}

TEST_CASE("a notice with an empty message text is accepted") {
  auto messages =
    decode_all(wire('N').u8('S').str("NOTICE").u8('C').str("00000").u8('M').str("").u8(0));
  const auto& n = std::get<pg::server_message>(messages.at(0));
  CHECK_FALSE(n.is_error);
  CHECK(n.message.empty());
  CHECK(pg::type_byte(messages[0]) == 'N');
}
