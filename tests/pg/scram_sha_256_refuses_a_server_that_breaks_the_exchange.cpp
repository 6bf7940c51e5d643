// A SCRAM server that breaks the exchange is refused, each case naming the
// problem: a nonce that does not extend ours, bad salt or iteration count,
// a hostile iteration count, a wrong signature, an e= error, steps out of
// order. After an error the exchange stays failed.
#include "pg_wire_support.hpp"

#include <actorloop/pg/auth.hpp>

using namespace pg_test;

namespace {

pg::scram_client rfc_client() {
  pg::scram_client::options settings;
  settings.username = "user";
  settings.password = "pencil";
  settings.client_nonce = "rOprNGfwEbeRWgbNEkqO";
  return pg::scram_client{settings};
}

constexpr const char* good_first =
  "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

void check_first_refused(std::string_view server_first, const std::string& detail) {
  CAPTURE(server_first);
  auto client = rfc_client();
  auto step = client.handle_server_first(server_first);
  CHECK(step.error == pg::errc::scram_protocol_violation);
  CHECK(step.detail == detail);
  CHECK(step.message.empty());
  // Failed for good: the final step is refused too.
  CHECK(client.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").error ==
        pg::errc::scram_protocol_violation);
  CHECK_FALSE(client.authenticated());
}

} // namespace

TEST_CASE("a bad server-first-message is refused naming the problem") {
  check_first_refused("r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                      "server nonce does not start with the client nonce followed by its own "
                      "part (nonce mismatch)");
  check_first_refused("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                      "server nonce does not start with the client nonce followed by its own "
                      "part (nonce mismatch)");
  check_first_refused("s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                      "server-first-message does not start with the nonce attribute r=");
  check_first_refused("r=rOprNGfwEbeRWgbNEkqOxyz,i=4096",
                      "server-first-message has no salt attribute s= after the nonce");
  check_first_refused("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==",
                      "server-first-message has no iteration count attribute i= after the salt");
  check_first_refused("r=rOprNGfwEbeRWgbNEkqOxyz,s=not*base64,i=4096",
                      "salt \"not*base64\" is not valid base64");
  check_first_refused("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
                      "iteration count \"0\" is not a positive integer");
  check_first_refused("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=12x",
                      "iteration count \"12x\" is not a positive integer");
  check_first_refused("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2000000000",
                      "iteration count 2000000000 is above the limit of 1000000");
  check_first_refused("m=ext,r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1",
                      "server-first-message demands an extension (m=) this client does not know");
}

TEST_CASE("a wrong server signature or a server error fails the exchange") {
  auto wrong = rfc_client();
  REQUIRE_FALSE(wrong.handle_server_first(good_first).error);
  auto mismatch = wrong.verify_server_final("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  CHECK(mismatch.error == pg::errc::scram_server_signature_mismatch);
  CHECK(mismatch.detail == "the server's signature does not match: it does not know the password");
  CHECK_FALSE(wrong.authenticated());

  auto truncated = rfc_client();
  REQUIRE_FALSE(truncated.handle_server_first(good_first).error);
  CHECK(truncated.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95A==").error ==
        pg::errc::scram_server_signature_mismatch);

  auto refused = rfc_client();
  REQUIRE_FALSE(refused.handle_server_first(good_first).error);
  auto server_error = refused.verify_server_final("e=invalid-proof");
  CHECK(server_error.error == pg::errc::scram_server_error);
  CHECK(server_error.detail == "the server reported SCRAM error \"invalid-proof\"");

  auto garbage = rfc_client();
  REQUIRE_FALSE(garbage.handle_server_first(good_first).error);
  CHECK(garbage.verify_server_final("x=1").detail ==
        "server-final-message has no verifier attribute v=");
}

TEST_CASE("steps out of order are refused") {
  auto early = rfc_client();
  auto step = early.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  CHECK(step.error == pg::errc::scram_protocol_violation);
  CHECK(step.detail ==
        "server-final-message arrived out of order (no client-final-message was sent)");

  auto twice = rfc_client();
  REQUIRE_FALSE(twice.handle_server_first(good_first).error);
  CHECK(twice.handle_server_first(good_first).detail ==
        "server-first-message arrived out of order (the exchange is past that step)");
}
