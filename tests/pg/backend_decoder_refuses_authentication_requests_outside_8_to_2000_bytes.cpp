// An authentication request ('R') whose length word is outside 8..2000 is
// refused (libpq: "expected authentication request from server"), before
// its body arrives; the limits themselves are accepted.
#include "pg_wire_support.hpp"

using namespace pg_test;

TEST_CASE("authentication requests outside 8..2000 bytes are refused") {
  for (std::uint32_t length : {4u, 7u, 2001u, 30000u, 0x7fffffffu}) {
    CAPTURE(length);
    auto result = decode_error(wire('R').claim(length).bytes());
    CHECK(result.error == pg::errc::bad_authentication_request);
    CHECK(result.detail == "Authentication ('R') claims length " + std::to_string(length) +
                             "; an authentication request must be 8 to 2000 bytes");
  }
  // 8 bytes: AuthenticationOk; 2000 bytes: a SASLContinue at the limit.
  CHECK(std::get<pg::authentication_request>(decode_all(wire('R').i32(0)).at(0)).kind ==
        pg::auth_kind::ok);
  std::string data(2000 - 8, 'x');
  CHECK(std::get<pg::authentication_request>(decode_all(wire('R').i32(11).raw(data)).at(0)).data ==
        data);
}

TEST_CASE("an authentication code the protocol does not define is refused by name") {
  auto result = decode_error(wire('R').i32(99).bytes());
  CHECK(result.error == pg::errc::unsupported_authentication);
  CHECK(result.detail ==
        "Authentication ('R'): authentication method 99 is not defined by the protocol");
}

TEST_CASE("an MD5 request needs its 4-byte salt, a SASL request a mechanism") {
  auto short_salt = decode_error(wire('R').i32(5).raw("abc").bytes());
  CHECK(short_salt.error == pg::errc::malformed_message);
  CHECK(short_salt.detail ==
        "Authentication ('R'): MD5 salt: claims 4 bytes but only 3 remain in the message");
  auto no_mechanism = decode_error(wire('R').i32(10).str("").bytes());
  CHECK(no_mechanism.error == pg::errc::malformed_message);
  CHECK(no_mechanism.detail == "Authentication ('R'): AuthenticationSASL lists no mechanism");
  auto unterminated = decode_error(wire('R').i32(10).str("SCRAM-SHA-256").bytes());
  CHECK(unterminated.error == pg::errc::malformed_message);
  CHECK(unterminated.detail.find("SASL mechanism 2: no terminating NUL") != std::string::npos);
}
