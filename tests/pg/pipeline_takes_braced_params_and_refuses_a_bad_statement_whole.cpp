// A pipeline takes its parameters as a braced list as well as a vector:
// both count a statement each; a text param made from a std::string&&
// equals one made from a view of the same bytes and refuses a NUL as that
// one does; a statement the protocol cannot carry (a parameter format
// other than text or binary, a NUL in the statement name) throws
// pg::error (invalid_argument) naming the problem and leaves the pipeline
// as it was, through either overload.
#include "pg_wire_support.hpp"

#include <actorloop/pg/connection.hpp>

#include <string>
#include <vector>

using namespace pg_test;

namespace {

/// Runs `body` and returns the text of the pg::error (invalid_argument) it throws.
template <typename F>
std::string refusal(F&& body) {
  try {
    body();
  } catch (const pg::error& thrown) {
    CHECK(thrown.code() == pg::errc::invalid_argument);
    return thrown.what();
  }
  FAIL("no pg::error thrown");
  return {};
}

} // namespace

TEST_CASE("a text param taken over from a std::string equals one copied from a view") {
  std::string text = "a payload longer than the small-string buffer";
  pg::param copied{std::string_view{text}};
  pg::param taken{std::string{text}};
  CHECK(taken == copied);
  CHECK(taken.type == pg::oids::text);
  CHECK(taken.wire == pg::format::binary);
  CHECK(refusal([] { pg::param bad{std::string("a\0b", 3)}; }).find("NUL") != std::string::npos);
}

TEST_CASE("braced and vector params count a statement each and a bad one changes nothing") {
  pg::pipeline batch;
  batch.execute_prepared("put", {std::int64_t{1}, std::string{"one"}})
    .execute_prepared("put", std::vector<pg::param>{std::int64_t{2}, "two"})
    .execute("SELECT $1::int4", {3})
    .sync();
  REQUIRE(batch.statements() == 3);

  pg::param odd{std::int32_t{4}};
  odd.wire = static_cast<pg::format>(7);
  CHECK(refusal([&] { batch.execute_prepared("put", {odd}); })
          .find("parameter format 1 is 7") != std::string::npos);
  CHECK(refusal([&] { batch.execute_prepared("put", std::vector<pg::param>{1, odd}); })
          .find("parameter format 2 is 7") != std::string::npos);
  CHECK(refusal([&] { batch.execute_prepared(std::string_view{"p\0t", 3}, {1}); })
          .find("the statement name contains a NUL byte") != std::string::npos);
  CHECK(batch.statements() == 3);
}
