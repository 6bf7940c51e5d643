// Values the protocol cannot carry are refused with pg::error
// (invalid_argument) naming the message, the field and the value, and the
// output buffer is left exactly as it was.
#include "pg_wire_support.hpp"

#include <actorloop/pg/frontend.hpp>

using namespace pg_test;
namespace fe = actorloop::pg::frontend;

namespace {

template <typename F>
void check_refused(F&& f, const std::string& what) {
  CAPTURE(what);
  std::vector<std::byte> out;
  fe::sync(out);
  auto before = out;
  try {
    f(out);
    FAIL("no error for: " << what);
  } catch (const pg::error& e) {
    CHECK(e.code() == pg::errc::invalid_argument);
    CHECK(std::string(e.what()).find(what) != std::string::npos);
  }
  CHECK(out == before);
}

} // namespace

TEST_CASE("values the protocol cannot carry are refused and nothing is appended") {
  using namespace std::string_view_literals;
  check_refused([](auto& o) { fe::query(o, "SELECT\0 1"sv); },
                "Query: the query text contains a NUL byte at offset 6");
  check_refused([](auto& o) { fe::password(o, "pa\0ss"sv); },
                "PasswordMessage: the password contains a NUL byte at offset 2");
  check_refused([](auto& o) { fe::startup(o, std::vector<fe::startup_parameter>{{"database", "d"}}); },
                "StartupMessage: the parameter \"user\" is missing");
  check_refused([](auto& o) { fe::startup(o, std::vector<fe::startup_parameter>{{"user", ""}}); },
                "StartupMessage: the parameter \"user\" is empty");
  check_refused([](auto& o) { fe::startup(o, std::vector<fe::startup_parameter>{{"", "x"}}); },
                "StartupMessage: a parameter has an empty name");
  check_refused([](auto& o) { fe::cancel_request(o, pg::backend_key_data{1, "abc"}); },
                "CancelRequest: the secret key has 3 bytes; it must have 4 to 256");
  check_refused([](auto& o) { fe::execute(o, "", -1); },
                "Execute: the row limit -1 is negative; 0 means all rows");
  std::vector<pg::oid> many(65536, 0);
  check_refused([&](auto& o) { fe::parse(o, "", "SELECT 1", many); },
                "Parse: the parameter type list has 65536 entries; at most 65535 fit");
  std::vector<std::int16_t> two{0, 0};
  std::vector<std::optional<std::string_view>> three(3, std::nullopt);
  check_refused([&](auto& o) { fe::bind(o, "", "", two, three); },
                "Bind: there are 2 parameter formats for 3 values; give 0, 1 or one per value");
  std::vector<std::int16_t> bad{2};
  check_refused([&](auto& o) { fe::bind(o, "", "", bad, three); },
                "Bind: parameter format 1 is 2; a format code is 0 (text) or 1 (binary)");
  check_refused([](auto& o) { fe::describe(o, static_cast<fe::target>('X'), "n"); },
                "Describe: the target is neither a statement ('S') nor a portal ('P')");
  check_refused([](auto& o) { fe::copy_fail(o, "a\0b"sv); },
                "CopyFail: the reason contains a NUL byte at offset 1");
  check_refused([](auto& o) { fe::sasl_initial_response(o, "", "x"); },
                "SASLInitialResponse: the mechanism name is empty");
}
