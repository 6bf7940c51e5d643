// Each frontend message encodes to the bytes the protocol documents: type
// byte, length word counting itself, body; startup-slot messages without a
// type byte.
#include "pg_wire_support.hpp"

#include <actorloop/pg/frontend.hpp>

using namespace pg_test;
namespace fe = actorloop::pg::frontend;

namespace {

std::string untyped(const wire& w) { return w.bytes().substr(1); }

template <typename F>
std::string encoded(F&& f) {
  std::vector<std::byte> out;
  f(out);
  return as_string(out);
}

} // namespace

TEST_CASE("frontend messages encode to the documented bytes") {
  std::vector<fe::startup_parameter> params{{"user", "alice"}, {"database", "db"}};
  CHECK(encoded([&](auto& o) { fe::startup(o, params); }) ==
        untyped(wire('\0').i32(196608).str("user").str("alice").str("database").str("db").u8(0)));
  CHECK(encoded([](auto& o) { fe::ssl_request(o); }) == untyped(wire('\0').i32(80877103)));
  CHECK(encoded([](auto& o) { fe::gssenc_request(o); }) == untyped(wire('\0').i32(80877104)));
  CHECK(encoded([](auto& o) { fe::cancel_request(o, pg::backend_key_data{1234, "abcd"}); }) ==
        untyped(wire('\0').i32(80877102).i32(1234).raw("abcd")));
  CHECK(encoded([](auto& o) { fe::password(o, "secret"); }) == wire('p').str("secret").bytes());
  CHECK(encoded([](auto& o) { fe::sasl_initial_response(o, "SCRAM-SHA-256", "n,,n=,r=x"); }) ==
        wire('p').str("SCRAM-SHA-256").i32(9).raw("n,,n=,r=x").bytes());
  CHECK(encoded([](auto& o) { fe::sasl_initial_response(o, "X", std::nullopt); }) ==
        wire('p').str("X").i32(-1).bytes());
  CHECK(encoded([](auto& o) { fe::sasl_response(o, "c=biws"); }) == wire('p').raw("c=biws").bytes());
  CHECK(encoded([](auto& o) { fe::query(o, "SELECT 1; SELECT 2"); }) ==
        wire('Q').str("SELECT 1; SELECT 2").bytes());
  std::vector<pg::oid> types{23, 0};
  CHECK(encoded([&](auto& o) { fe::parse(o, "s1", "SELECT $1, $2", types); }) ==
        wire('P').str("s1").str("SELECT $1, $2").i16(2).i32(23).i32(0).bytes());
  std::vector<std::int16_t> formats{1, 0};
  std::vector<std::optional<std::string_view>> values{std::string_view{"\x00\x00\x00\x07", 4},
                                                      std::nullopt};
  std::vector<std::int16_t> results{1};
  CHECK(encoded([&](auto& o) { fe::bind(o, "p1", "s1", formats, values, results); }) ==
        wire('B').str("p1").str("s1").i16(2).i16(1).i16(0).i16(2).i32(4)
          .raw(std::string_view{"\x00\x00\x00\x07", 4}).i32(-1).i16(1).i16(1).bytes());
  CHECK(encoded([](auto& o) { fe::describe(o, fe::target::portal, "p1"); }) ==
        wire('D').u8('P').str("p1").bytes());
  CHECK(encoded([](auto& o) { fe::execute(o, "", 100); }) == wire('E').str("").i32(100).bytes());
  CHECK(encoded([](auto& o) { fe::close(o, fe::target::statement, "s1"); }) ==
        wire('C').u8('S').str("s1").bytes());
  CHECK(encoded([](auto& o) { fe::sync(o); }) == wire('S').bytes());
  CHECK(encoded([](auto& o) { fe::flush(o); }) == wire('H').bytes());
  CHECK(encoded([](auto& o) { fe::copy_data(o, std::string_view{"1\tone\n"}); }) ==
        wire('d').raw("1\tone\n").bytes());
  CHECK(encoded([](auto& o) { fe::copy_done(o); }) == wire('c').bytes());
  CHECK(encoded([](auto& o) { fe::copy_fail(o, "aborted"); }) == wire('f').str("aborted").bytes());
  CHECK(encoded([](auto& o) { fe::terminate(o); }) == wire('X').bytes());
}

TEST_CASE("messages append to what the buffer already holds") {
  std::vector<std::byte> out;
  fe::parse(out, "", "SELECT 1");
  fe::bind(out, "", "", {}, {});
  fe::execute(out, "");
  fe::sync(out);
  CHECK(as_string(out) == wire('P').str("").str("SELECT 1").i16(0).bytes() +
                            wire('B').str("").str("").i16(0).i16(0).i16(0).bytes() +
                            wire('E').str("").i32(0).bytes() + wire('S').bytes());
}
