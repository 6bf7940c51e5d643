// Every backend message type decodes to its parsed form, and the stream
// decodes to the same messages whether it arrives whole, one byte at a time,
// or split at every possible point into two reads.
#include "pg_wire_support.hpp"

using namespace pg_test;

namespace {

std::string stream() {
  std::string s;
  s += wire('R').i32(0);
  s += wire('R').i32(3);
  s += wire('R').i32(5).raw("salt");
  s += wire('R').i32(10).str("SCRAM-SHA-256-PLUS").str("SCRAM-SHA-256").str("");
  s += wire('R').i32(11).raw("r=abc,s=c2FsdA==,i=4096");
  s += wire('R').i32(12).raw("v=signature");
  s += wire('S').str("server_version").str("15.18");
  s += wire('K').i32(4242).raw("KEY!");
  s += wire('v').i32(0).i32(1).str("_pq_.unknown");
  s += wire('Z').u8('I');
  s += wire('T').i16(2)
         .str("id").i32(16384).i16(1).i32(23).i16(4).i32(-1).i16(0)
         .str("name").i32(16384).i16(2).i32(25).i16(-1).i32(-1).i16(1);
  s += wire('D').i16(3).i32(1).raw("1").i32(-1).i32(0);
  s += wire('C').str("SELECT 1");
  s += wire('N').u8('S').str("NOTICE").u8('V').str("NOTICE").u8('C').str("00000")
         .u8('M').str("hello").u8(0);
  s += wire('A').i32(77).str("jobs").str("payload");
  s += wire('G').u8(0).i16(2).i16(0).i16(0);
  s += wire('H').u8(1).i16(1).i16(1);
  s += wire('W').u8(0).i16(0);
  s += wire('d').raw("1\tone\n");
  s += wire('c');
  s += wire('t').i16(2).i32(23).i32(25);
  s += wire('V').i32(-1);
  s += wire('V').i32(2).raw("ok");
  s += wire('1');
  s += wire('2');
  s += wire('3');
  s += wire('n');
  s += wire('s');
  s += wire('I');
  s += wire('Z').u8('E');
  return s;
}

void check_messages(const std::vector<pg::backend_message>& m) {
  REQUIRE(m.size() == 30);
  CHECK(std::get<pg::authentication_request>(m[0]).kind == pg::auth_kind::ok);
  CHECK(std::get<pg::authentication_request>(m[1]).kind == pg::auth_kind::cleartext_password);
  CHECK(std::get<pg::authentication_request>(m[2]).salt == "salt");
  CHECK(std::get<pg::authentication_request>(m[3]).mechanisms ==
        std::vector<std::string>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"});
  CHECK(std::get<pg::authentication_request>(m[4]).kind == pg::auth_kind::sasl_continue);
  CHECK(std::get<pg::authentication_request>(m[4]).data == "r=abc,s=c2FsdA==,i=4096");
  CHECK(std::get<pg::authentication_request>(m[5]).data == "v=signature");
  CHECK(std::get<pg::parameter_status>(m[6]) == pg::parameter_status{"server_version", "15.18"});
  CHECK(std::get<pg::backend_key_data>(m[7]) == pg::backend_key_data{4242, "KEY!"});
  CHECK(std::get<pg::negotiate_protocol_version>(m[8]).unrecognized_options ==
        std::vector<std::string>{"_pq_.unknown"});
  CHECK(std::get<pg::ready_for_query>(m[9]).status == pg::transaction_status::idle);
  const auto& rows = std::get<pg::row_description>(m[10]);
  REQUIRE(rows.fields.size() == 2);
  CHECK(rows.fields[0].name == "id");
  CHECK(rows.fields[0].table_oid == 16384);
  CHECK(rows.fields[0].type_oid == 23);
  CHECK(rows.fields[0].type_size == 4);
  CHECK(rows.fields[1].column_number == 2);
  CHECK(rows.fields[1].type_size == -1);
  CHECK(rows.fields[1].format == 1);
  const auto& row = std::get<pg::data_row>(m[11]);
  REQUIRE(row.size() == 3);
  CHECK(row.value(0) == "1");
  CHECK(row.is_null(1));
  CHECK_FALSE(row.is_null(2));
  CHECK(row.value(2).empty());
  CHECK_THROWS_AS((void)row.value(3), std::out_of_range);
  CHECK(std::get<pg::command_complete>(m[12]).rows() == 1u);
  const auto& notice = std::get<pg::server_message>(m[13]);
  CHECK_FALSE(notice.is_error);
  CHECK(notice.message == "hello");
  CHECK(std::get<pg::notification_response>(m[14]) ==
        pg::notification_response{77, "jobs", "payload"});
  CHECK(std::get<pg::copy_response>(m[15]).kind == pg::copy_response::direction::in);
  CHECK(std::get<pg::copy_response>(m[15]).column_formats.size() == 2);
  CHECK(std::get<pg::copy_response>(m[16]).kind == pg::copy_response::direction::out);
  CHECK(std::get<pg::copy_response>(m[16]).format == 1);
  CHECK(std::get<pg::copy_response>(m[17]).kind == pg::copy_response::direction::both);
  CHECK(std::get<pg::copy_data>(m[18]).data == "1\tone\n");
  CHECK(std::holds_alternative<pg::copy_done>(m[19]));
  CHECK(std::get<pg::parameter_description>(m[20]).types == std::vector<pg::oid>{23, 25});
  CHECK_FALSE(std::get<pg::function_call_response>(m[21]).result.has_value());
  CHECK(std::get<pg::function_call_response>(m[22]).result == "ok");
  CHECK(std::holds_alternative<pg::parse_complete>(m[23]));
  CHECK(std::holds_alternative<pg::bind_complete>(m[24]));
  CHECK(std::holds_alternative<pg::close_complete>(m[25]));
  CHECK(std::holds_alternative<pg::no_data>(m[26]));
  CHECK(std::holds_alternative<pg::portal_suspended>(m[27]));
  CHECK(std::holds_alternative<pg::empty_query_response>(m[28]));
  CHECK(std::get<pg::ready_for_query>(m[29]).status == pg::transaction_status::failed);
  // The type byte round-trips through the parsed form.
  const std::string types = "RRRRRRSKvZTDCNAGHWdctVV123nsIZ";
  for (std::size_t i = 0; i < m.size(); ++i)
    CHECK(pg::type_byte(m[i]) == types[i]);
}

std::vector<pg::backend_message> decode_in_pieces(const std::string& bytes,
                                                  const std::vector<std::size_t>& cuts) {
  pg::backend_decoder decoder;
  std::vector<pg::backend_message> out;
  std::size_t from = 0;
  for (auto cut : cuts) {
    decoder.feed(std::string_view{bytes}.substr(from, cut - from));
    drain(decoder, out);
    from = cut;
  }
  decoder.feed(std::string_view{bytes}.substr(from));
  drain(decoder, out);
  CHECK(decoder.buffered() == 0);
  return out;
}

} // namespace

TEST_CASE("every backend message type decodes, whole, byte by byte and split anywhere") {
  const auto bytes = stream();
  const auto whole = decode_all(bytes);
  check_messages(whole);

  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < bytes.size(); ++i)
    every_byte.push_back(i);
  CHECK(decode_in_pieces(bytes, every_byte) == whole);

  for (std::size_t cut = 1; cut < bytes.size(); ++cut)
    REQUIRE(decode_in_pieces(bytes, {cut}) == whole);
}
