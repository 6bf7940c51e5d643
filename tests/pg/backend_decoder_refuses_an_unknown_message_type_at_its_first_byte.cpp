// A type byte the protocol does not define for the backend is an error as
// soon as it arrives (the connection must be closed); the detail shows the
// byte in hex. Frontend-only types ('Q', 'X', 'p', ...) are unknown too.
#include "pg_wire_support.hpp"

using namespace pg_test;

TEST_CASE("an unknown backend message type is refused at its first byte") {
  pg::backend_decoder decoder;
  decoder.feed(std::string_view{"\x7f", 1});
  auto result = decoder.next();
  CHECK(result.error == pg::errc::unknown_message_type);
  CHECK(result.detail == "type byte 0x7f is not a backend message type");

  for (char type : std::string_view{"QXpPBFfxz\0", 10}) {
    CAPTURE(type);
    CHECK(decode_error(wire(type).bytes()).error == pg::errc::unknown_message_type);
  }
  // After valid messages, the stream's messages up to the bad byte come out.
  std::string stream = wire('Z').u8('I').bytes() + "?";
  pg::backend_decoder after;
  after.feed(stream);
  auto first = after.next();
  REQUIRE(first.message.has_value());
  CHECK(std::holds_alternative<pg::ready_for_query>(*first.message));
  CHECK(after.next().detail == "type byte 0x3f is not a backend message type");
}
