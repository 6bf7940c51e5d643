// libpq's framing limits: a length word below 4 on any type, or above
// 30,000 on a type other than T, D, d, V, E, N, A, is loss of
// synchronisation. The error comes as soon as the 5-byte header is there,
// the detail names the type and the length, and the decoder stays broken.
#include "pg_wire_support.hpp"

using namespace pg_test;

TEST_CASE("a length word below 4 is loss of synchronisation, on every type") {
  for (char type : std::string_view{"RKSZTDCENAGHWdctvV123nsI"}) {
    for (std::uint32_t length : {0u, 1u, 3u}) {
      CAPTURE(type);
      CAPTURE(length);
      auto result = decode_error(wire(type).claim(length).bytes());
      CHECK(result.error == pg::errc::lost_synchronization);
      CHECK(result.detail.find("length " + std::to_string(length)) != std::string::npos);
      CHECK(result.detail.find("below the minimum of 4") != std::string::npos);
    }
  }
}

TEST_CASE("more than 30000 bytes on a short type is loss of synchronisation before the body") {
  // Only the header is there: the decoder must not wait for 40000 bytes.
  auto result = decode_error(wire('Z').claim(40000).bytes());
  CHECK(result.error == pg::errc::lost_synchronization);
  CHECK(result.detail == "ReadyForQuery ('Z') claims length 40000, above the 30000 allowed for "
                         "this type (lost synchronization with the server)");
  for (char type : std::string_view{"KSZCGHWctv123nsI"}) {
    CAPTURE(type);
    CHECK(decode_error(wire(type).claim(30001).bytes()).error == pg::errc::lost_synchronization);
  }
  // Exactly 30000 is allowed: a CommandComplete of that size decodes.
  std::string tag(30000 - 4 - 1, 'x');
  auto ok = decode_all(wire('C').str(tag).bytes());
  REQUIRE(ok.size() == 1);
  CHECK(std::get<pg::command_complete>(ok[0]).tag == tag);
}

TEST_CASE("the long types may exceed 30000 bytes, up to the configured maximum") {
  std::string big(70000, 'v');
  auto rows = decode_all(wire('D').i16(1).i32(static_cast<std::int32_t>(big.size())).raw(big).bytes());
  CHECK(std::get<pg::data_row>(rows.at(0)).value(0) == big);
  auto copy = decode_all(wire('d').raw(big).bytes());
  CHECK(std::get<pg::copy_data>(copy.at(0)).data == big);

  pg::decoder_limits limits;
  limits.max_long_length = 50000;
  auto result = decode_error(wire('D').claim(50001).bytes(), limits);
  CHECK(result.error == pg::errc::message_too_large);
  CHECK(result.detail == "DataRow ('D') claims length 50001, above the limit of 50000");
  CHECK_THROWS_AS(pg::backend_decoder{pg::decoder_limits{29999}}, pg::error);
}

TEST_CASE("a broken decoder repeats its error and decodes nothing more") {
  pg::backend_decoder decoder;
  decoder.feed(wire('Z').claim(2).bytes());
  decoder.feed(wire('Z').u8('I').bytes());
  auto first = decoder.next();
  CHECK(first.error == pg::errc::lost_synchronization);
  CHECK(decoder.broken());
  auto second = decoder.next();
  CHECK(second.error == first.error);
  CHECK(second.detail == first.detail);
  CHECK_FALSE(second.message.has_value());
}
