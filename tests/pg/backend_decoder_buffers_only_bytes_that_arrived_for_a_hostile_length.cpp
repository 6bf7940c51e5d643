// A hostile length claim costs nothing until its bytes arrive: a DataRow
// claiming a gigabyte keeps the decoder waiting with only the fed bytes
// buffered, and a body whose counts claim more than it holds is refused
// without building them.
#include "pg_wire_support.hpp"

using namespace pg_test;

TEST_CASE("a gigabyte length claim buffers only the bytes that arrived") {
  pg::backend_decoder decoder;
  decoder.feed(wire('D').claim(0x3fffffff).bytes());
  CHECK(decoder.next().needs_more());
  CHECK(decoder.buffered() == 5);
  std::string chunk(64 * 1024, 'x');
  for (int i = 0; i < 16; ++i) {
    decoder.feed(chunk);
    CHECK(decoder.next().needs_more());
  }
  CHECK(decoder.buffered() == 5 + 16 * chunk.size());
  CHECK_FALSE(decoder.broken());
}

TEST_CASE("counts larger than the body are refused without building the entries") {
  // RowDescription claiming 65535 fields in 2 bytes of body.
  auto fields = decode_error(wire('T').i16(-1).bytes());
  CHECK(fields.error == pg::errc::malformed_message);
  CHECK(fields.detail.find("field 1 name") != std::string::npos);
  // ParameterDescription and copy responses likewise.
  CHECK(decode_error(wire('t').i16(-1).bytes()).error == pg::errc::malformed_message);
  CHECK(decode_error(wire('G').u8(0).i16(-1).bytes()).error == pg::errc::malformed_message);
  // A value length of 2^31-1 inside a short DataRow.
  auto value = decode_error(wire('D').i16(1).i32(0x7fffffff).bytes());
  CHECK(value.detail == "DataRow ('D'): value 1: claims 2147483647 bytes but only 0 remain in "
                        "the message");
}

TEST_CASE("the decoder's buffer shrinks back as messages are taken") {
  pg::backend_decoder decoder;
  std::string message = wire('d').raw(std::string(1000, 'c')).bytes();
  for (int round = 0; round < 100; ++round) {
    decoder.feed(message);
    auto result = decoder.next();
    REQUIRE(result.message.has_value());
    CHECK(decoder.buffered() == 0);
  }
}
