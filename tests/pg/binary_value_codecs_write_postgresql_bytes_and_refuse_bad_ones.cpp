// The binary codecs of pg/values.hpp write exactly the bytes PostgreSQL's
// send functions write (network byte order, IEEE 754, days and
// microseconds since 2000-01-01, the infinities), pg::param picks the
// matching type and format, and the decoders, fed every length and random
// bytes, either return a value that encodes back to the same bytes or
// throw pg::error (malformed_message) that names the type.
#include <actorloop/pg/error.hpp>
#include <actorloop/pg/values.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>

namespace pg = actorloop::pg;
namespace binary = actorloop::pg::binary;
using namespace std::chrono;

namespace {

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char each : bytes) {
    out += digits[each >> 4u];
    out += digits[each & 15u];
  }
  return out;
}

/// Runs `decode`; on success checks that `encode` gives the bytes back.
/// Returns true if it decoded.
template <typename decoder, typename encoder>
bool decodes_back(std::string_view bytes, decoder decode, encoder encode, const char* type) {
  try {
    auto value = decode(bytes);
    CHECK(hex(encode(value)) == hex(bytes));
    return true;
  } catch (const pg::error& problem) {
    CHECK(problem.code() == make_error_code(pg::errc::malformed_message));
    CHECK(std::string{problem.what()}.find(type) != std::string::npos);
    return false;
  }
}

} // namespace

TEST_CASE("encoders write PostgreSQL's binary bytes") {
  CHECK(hex(binary::encode_bool(true)) == "01");
  CHECK(hex(binary::encode_bool(false)) == "00");
  CHECK(hex(binary::encode_int2(-2)) == "fffe");
  CHECK(hex(binary::encode_int4(1)) == "00000001");
  CHECK(hex(binary::encode_int8(258)) == "0000000000000102");
  CHECK(hex(binary::encode_int8(INT64_MIN)) == "8000000000000000");
  CHECK(hex(binary::encode_float8(1.5)) == "3ff8000000000000");
  CHECK(hex(binary::encode_float4(-2.25f)) == "c0100000");
  CHECK(hex(binary::encode_date(pg::date{year{2000} / 1 / 1})) == "00000000");
  CHECK(hex(binary::encode_date(pg::date{year{1970} / 1 / 1})) == "ffffd533");
  CHECK(hex(binary::encode_date(pg::date::max())) == "7fffffff");
  CHECK(hex(binary::encode_date(pg::date::min())) == "80000000");
  auto y2k = local_days{year{2000} / 1 / 1};
  CHECK(hex(binary::encode_timestamp(pg::timestamp{y2k} + 1s)) == "00000000000f4240");
  CHECK(hex(binary::encode_timestamp(pg::timestamp::max())) == "7fffffffffffffff");
  CHECK(hex(binary::encode_timestamptz(pg::timestamptz{})) == "fffca2fec4c82000");
  CHECK(hex(binary::encode_timestamptz(pg::timestamptz::min())) == "8000000000000000");
  auto id = pg::uuid::parse("A0EEBC99-9c0b-4ef8-bb6d-6bb9bd380a11");
  CHECK(hex(binary::encode_uuid(id)) == "a0eebc999c0b4ef8bb6d6bb9bd380a11");
  CHECK(id.to_string() == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  for (auto bad : {"", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "a0eebc99x9c0b-4ef8-bb6d-6bb9bd380a11",
                   "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS((void)pg::uuid::parse(bad), pg::error);
  }
  // Beyond PostgreSQL's range: an error, not a wrapped number.
  CHECK_THROWS_AS((void)binary::encode_date(pg::date{days{std::int64_t{1} << 40}}), pg::error);
  CHECK_THROWS_AS(
    (void)binary::encode_timestamptz(pg::timestamptz{microseconds{INT64_MIN + 1}}), pg::error);
}

TEST_CASE("decoders read PostgreSQL's binary bytes") {
  CHECK(binary::decode_int4(std::string{"\xff\xff\xff\xfe", 4}) == -2);
  CHECK(binary::decode_int2(std::string{"\x01\x02", 2}) == 258);
  CHECK(binary::decode_float8(binary::encode_float8(-0.125)) == -0.125);
  CHECK(binary::decode_date(std::string{"\xff\xff\xd5\x33", 4}) == pg::date{year{1970} / 1 / 1});
  CHECK(binary::decode_timestamptz(std::string{"\x00\x00\x00\x00\x00\x00\x00\x00", 8}) ==
        pg::timestamptz{sys_days{year{2000} / 1 / 1}});
  CHECK(binary::decode_timestamp(std::string{"\x7f\xff\xff\xff\xff\xff\xff\xff", 8}) ==
        pg::timestamp::max());
  // A value past what the C++ type holds after moving the epoch is refused.
  CHECK_THROWS_AS((void)binary::decode_timestamptz(std::string{"\x7f\xff\xff\xff\xff\xff\xff\xfe", 8}),
                  pg::error);
  CHECK_FALSE(decodes_back(std::string{"\x02", 1}, binary::decode_bool, binary::encode_bool, "bool"));
  CHECK_FALSE(decodes_back("", binary::decode_int8, binary::encode_int8, "int8"));
}

TEST_CASE("param chooses the type and the format") {
  auto binary_value = [](pg::oid type, std::string bytes) {
    pg::param out;
    out.type = type;
    out.wire = pg::format::binary;
    out.value = std::move(bytes);
    return out;
  };
  CHECK(pg::param{true} == binary_value(pg::oids::bool_, "\x01"));
  CHECK(pg::param{std::int16_t{7}}.type == pg::oids::int2);
  CHECK(pg::param{7}.type == pg::oids::int4);
  CHECK(pg::param{std::int64_t{7}}.type == pg::oids::int8);
  CHECK(pg::param{1.0f}.type == pg::oids::float4);
  CHECK(pg::param{1.0}.type == pg::oids::float8);
  CHECK(pg::param{"abc"} == binary_value(pg::oids::text, "abc"));
  CHECK(pg::param::bytea(std::string_view{"a\0b", 3}).value == std::string{"a\0b", 3});
  CHECK(pg::param::null().value == std::nullopt);
  CHECK(pg::param::text_format("12", pg::oids::numeric).wire == pg::format::text);
  auto with_nul = [] { return pg::param{std::string_view{"a\0b", 3}}; };
  CHECK_THROWS_AS((void)with_nul(), pg::error);
}

TEST_CASE("decoders refuse or round-trip every short length and random bytes") {
  std::mt19937_64 random{20261202};
  int decoded = 0, refused = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes(static_cast<std::size_t>(random() % 20), '\0');
    for (auto& each : bytes)
      each = static_cast<char>(random());
    // Short bytes of one value's width are common inputs too.
    if (round % 4 == 0)
      bytes.resize(std::size_t{1} << (random() % 5));
    for (bool ok : {decodes_back(bytes, binary::decode_bool, binary::encode_bool, "bool"),
                    decodes_back(bytes, binary::decode_int2, binary::encode_int2, "int2"),
                    decodes_back(bytes, binary::decode_int4, binary::encode_int4, "int4"),
                    decodes_back(bytes, binary::decode_int8, binary::encode_int8, "int8"),
                    decodes_back(bytes, binary::decode_float4, binary::encode_float4, "float4"),
                    decodes_back(bytes, binary::decode_float8, binary::encode_float8, "float8"),
                    decodes_back(bytes, binary::decode_uuid, binary::encode_uuid, "uuid"),
                    decodes_back(bytes, binary::decode_date, binary::encode_date, "date"),
                    decodes_back(bytes, binary::decode_timestamp, binary::encode_timestamp,
                                 "timestamp"),
                    decodes_back(bytes, binary::decode_timestamptz, binary::encode_timestamptz,
                                 "timestamptz")})
      ++(ok ? decoded : refused);
  }
  CHECK(decoded > 1000);
  CHECK(refused > 1000);
}
