// The messages of a simple query's answer are parsed straight into its
// result only when their bodies are well formed; any other body goes
// through the decoder, whose text names the problem. A scripted server
// answers `SELECT 1` with one bad body each time (a RowDescription with
// format code 2, a DataRow whose value runs past its body, a
// CommandComplete with bytes after its NUL, a ReadyForQuery with status
// 'X', a RowDescription whose field name has no NUL), after a good row
// where the shape allows: in every mode the query fails, the client
// message is "the server's data cannot be decoded: " followed by exactly
// what pg::decode_backend_message says of the same bytes, and the
// connection is dead.
// ctest-timeout: 120
#include "pg_fake_server.hpp"
#include "pg_mode_support.hpp"
#include "pg_wire_support.hpp"

using namespace pg_mode_test;

namespace {

using pg_test::wire;

std::string good_description() {
  return wire('T').i16(1).str("?column?").i32(0).i16(0).i32(23).i16(4).i32(-1).i16(0).bytes();
}

std::string good_row() {
  return wire('D').i16(1).i32(1).raw("1").bytes();
}

struct bad_answer {
  const char* what;
  std::string before; // well-formed messages sent first
  std::string bad;    // the malformed message
};

std::vector<bad_answer> bad_answers() {
  return {
    {"format code 2", "",
     wire('T').i16(1).str("?column?").i32(0).i16(0).i32(23).i16(4).i32(-1).i16(2).bytes()},
    {"field name without NUL", "", wire('T').i16(1).raw("?column?").bytes()},
    {"value past the body", good_description(), wire('D').i16(1).i32(10).raw("1").bytes()},
    {"bytes after the tag", good_description() + good_row(),
     wire('C').str("SELECT 1").raw("!").bytes()},
    {"status X", good_description() + good_row() + wire('C').str("SELECT 1").bytes(),
     wire('Z').u8('X').bytes()},
  };
}

/// What the decoder says of `message`.
std::string decoder_text(const std::string& message) {
  std::size_t consumed = 0;
  auto decoded = pg::decode_backend_message(
    std::span<const std::byte>{reinterpret_cast<const std::byte*>(message.data()), message.size()},
    consumed);
  REQUIRE(decoded.error);
  return decoded.detail;
}

} // namespace

TEST_CASE("a malformed simple query answer fails the connection with the decoder's text") {
  engine_fixture fixture;
  for (const auto& answer : bad_answers()) {
    CAPTURE(answer.what);
    const auto expected = "the server's data cannot be decoded: " + decoder_text(answer.bad);
    for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
      CAPTURE(netio::to_string(mode));
      pg_fake::server scripted{[&](int fd, int) {
        if (pg_fake::read_untyped(fd).empty())
          return;
        pg_fake::send_all(fd, wire('R').i32(0).bytes() + wire('K').i32(7).i32(1).bytes() +
                                wire('Z').u8('I').bytes());
        auto query = pg_fake::read_typed(fd);
        if (query.empty() || query[0] != 'Q')
          return;
        pg_fake::send_all(fd, answer.before + answer.bad);
        while (!pg_fake::read_typed(fd).empty()) {
        } // until the client closes
      }};
      auto options = pg_fake::plain_options(scripted);
      netio::context context{fixture.engine, {mode}};
      pg::connection connection{context, options};
      mode_runner run{connection, mode};
      REQUIRE(run.finish(connection.connect()) == netio::retcode::succeed);
      CHECK(run.finish(connection.execute("SELECT 1")) == netio::retcode::fail);
      auto problems = run.problems();
      REQUIRE(problems.size() == 1);
      CHECK(problems[0].text == expected);
      CHECK(problems[0].code == pg::errc::malformed_message);
      CHECK(connection.dead());
    }
  }
}
