// The MD5 answer is "md5" + md5hex(md5hex(password + user) + salt), checked
// against a value computed independently (PostgreSQL's pg_authid form for
// the inner hash, then the salted outer hash), and a salt that is not 4
// bytes is refused.
#include "pg_wire_support.hpp"

#include <actorloop/pg/auth.hpp>

using namespace pg_test;

TEST_CASE("md5 password hashing") {
  // Inner hash: what "SELECT rolpassword" shows for user "postgres" with
  // password "postgres": md53175bce1d3201d16594cebf9d7eb3f9d.
  // Outer: md5("3175bce1d3201d16594cebf9d7eb3f9d" + "abcd"), computed with
  // coreutils' md5sum.
  CHECK(pg::md5_password("postgres", "postgres", "abcd") ==
        "md50800ba833a175e428fc0110c29998942");
  CHECK_THROWS_AS((void)pg::md5_password("u", "p", "abc"), pg::error);
  try {
    (void)pg::md5_password("u", "p", "abcde");
    FAIL("a 5-byte salt was accepted");
  } catch (const pg::error& e) {
    CHECK(e.code() == pg::errc::invalid_argument);
    CHECK(std::string(e.what()).find("the salt has 5 bytes; it must have 4") != std::string::npos);
  }
}
