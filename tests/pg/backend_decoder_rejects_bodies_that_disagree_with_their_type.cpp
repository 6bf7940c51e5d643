// Bodies that do not agree with their type or their length are malformed;
// each case's detail names the message and the field.
#include "pg_wire_support.hpp"

using namespace pg_test;

namespace {

void check_malformed(const std::string& bytes, const std::string& detail) {
  CAPTURE(detail);
  auto result = decode_error(bytes);
  CHECK(result.error == pg::errc::malformed_message);
  CHECK(result.detail == detail);
}

} // namespace

TEST_CASE("malformed bodies are refused with the message and field named") {
  check_malformed(wire('Z').u8('I').u8('I'),
                  "ReadyForQuery ('Z'): 1 bytes left over after the body (message contents do "
                  "not agree with length)");
  check_malformed(wire('Z').u8('X'),
                  "ReadyForQuery ('Z'): transaction status 0x58 is none of 'I', 'T', 'E'");
  check_malformed(wire('Z'),
                  "ReadyForQuery ('Z'): transaction status: needs 1 bytes but only 0 remain in "
                  "the message");
  check_malformed(wire('K').i32(1).raw("abc"),
                  "BackendKeyData ('K'): secret key of 3 bytes; it must be 4 to 256 bytes");
  check_malformed(wire('K').i32(1).raw(std::string(257, 'k')),
                  "BackendKeyData ('K'): secret key of 257 bytes; it must be 4 to 256 bytes");
  check_malformed(wire('S').str("name").raw("value"),
                  "ParameterStatus ('S'): parameter value: no terminating NUL byte before the "
                  "end of the message");
  check_malformed(wire('T').i16(1).str("id").i32(0),
                  "RowDescription ('T'): field 1 column number: needs 2 bytes but only 0 remain "
                  "in the message");
  check_malformed(wire('T').i16(1).str("id").i32(0).i16(1).i32(23).i16(4).i32(-1).i16(7),
                  "RowDescription ('T'): field 1 format code 7 is neither 0 (text) nor 1 (binary)");
  check_malformed(wire('D').i16(2).i32(3).raw("abc").i32(10).raw("short"),
                  "DataRow ('D'): value 2: claims 10 bytes but only 5 remain in the message");
  check_malformed(wire('D').i16(1).i32(-2),
                  "DataRow ('D'): value 1 length -2 is negative but not -1 (NULL)");
  // A count the body cannot hold: 65535 values claimed, none present.
  check_malformed(wire('D').i16(-1),
                  "DataRow ('D'): value 1 length: needs 4 bytes but only 0 remain in the message");
  check_malformed(wire('E').u8('S').str("ERROR").u8('M').str("no code").u8(0),
                  "ErrorResponse ('E'): the SQLSTATE field 'C' is missing");
  check_malformed(wire('N').u8('C').str("00000").u8('M').str("x").u8(0),
                  "NoticeResponse ('N'): the severity field 'S' is missing");
  check_malformed(wire('E').u8('S').str("ERROR").u8('C').str("XX000").u8(0),
                  "ErrorResponse ('E'): the message field 'M' is missing");
  check_malformed(wire('E').u8('S').str("ERROR").u8('C').str("XX000").u8('M').str("m"),
                  "ErrorResponse ('E'): field code: needs 1 bytes but only 0 remain in the message");
  check_malformed(wire('A').i32(1).str("channel"),
                  "NotificationResponse ('A'): payload: no terminating NUL byte before the end "
                  "of the message");
  check_malformed(wire('G').u8(2).i16(0),
                  "CopyInResponse ('G'): overall format 2 is neither 0 (text) nor 1 (binary)");
  check_malformed(wire('H').u8(0).i16(2).i16(0),
                  "CopyOutResponse ('H'): column 2 format: needs 2 bytes but only 0 remain in "
                  "the message");
  check_malformed(wire('v').i32(0).i32(-1),
                  "NegotiateProtocolVersion ('v'): unrecognized option count -1 is negative");
  check_malformed(wire('V').i32(-3),
                  "FunctionCallResponse ('V'): result length -3 is negative but not -1 (NULL)");
  check_malformed(wire('1').u8(0),
                  "ParseComplete ('1'): 1 bytes left over after the body (message contents do "
                  "not agree with length)");
  check_malformed(wire('t').i16(2).i32(23),
                  "ParameterDescription ('t'): parameter 2 type OID: needs 4 bytes but only 0 "
                  "remain in the message");
}
