// The SCRAM-SHA-256 client reproduces RFC 7677's example exchange byte for
// byte (user "user", password "pencil", the RFC's nonces and salt), and
// verifies the RFC's server signature.
#include "pg_wire_support.hpp"

#include <actorloop/pg/auth.hpp>

using namespace pg_test;

TEST_CASE("the RFC 7677 test vector") {
  pg::scram_client::options settings;
  settings.username = "user";
  settings.password = "pencil";
  settings.client_nonce = "rOprNGfwEbeRWgbNEkqO";
  pg::scram_client client{settings};
  CHECK(client.mechanism() == "SCRAM-SHA-256");
  CHECK(client.client_first_message() == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");

  auto final_step = client.handle_server_first(
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  REQUIRE_MESSAGE(!final_step.error, final_step.detail);
  CHECK(final_step.message ==
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  CHECK_FALSE(client.authenticated());

  auto verified = client.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  CHECK_MESSAGE(!verified.error, verified.detail);
  CHECK(client.authenticated());
}

TEST_CASE("the client nonce is random and the name empty by default, as libpq sends it") {
  pg::scram_client::options settings;
  settings.password = "pw";
  pg::scram_client a{settings};
  pg::scram_client b{settings};
  CHECK(a.client_first_message().starts_with("n,,n=,r="));
  CHECK(a.client_first_message().size() == std::string("n,,n=,r=").size() + 24);
  CHECK(a.client_first_message() != b.client_first_message());
}

TEST_CASE("channel binding goes into the GS2 header and the c= attribute") {
  pg::scram_client::options settings;
  settings.password = "pencil";
  settings.client_nonce = "abc";
  settings.binding = pg::channel_binding_mode::tls_server_end_point;
  settings.channel_binding_data = std::string("\x01\x02\x03", 3);
  pg::scram_client plus{settings};
  CHECK(plus.mechanism() == "SCRAM-SHA-256-PLUS");
  CHECK(plus.client_first_message() == "p=tls-server-end-point,,n=,r=abc");
  auto step = plus.handle_server_first("r=abcdef,s=QUJD,i=1");
  REQUIRE_MESSAGE(!step.error, step.detail);
  // base64("p=tls-server-end-point,," + "\x01\x02\x03")
  CHECK(step.message.starts_with("c=cD10bHMtc2VydmVyLWVuZC1wb2ludCwsAQID,r=abcdef,p="));

  settings.binding = pg::channel_binding_mode::supported_not_used;
  pg::scram_client yes{settings};
  CHECK(yes.client_first_message() == "y,,n=,r=abc");
  auto y_step = yes.handle_server_first("r=abcdef,s=QUJD,i=1");
  CHECK(y_step.message.starts_with("c=eSws,r=abcdef,p="));

  settings.channel_binding_data.clear();
  settings.binding = pg::channel_binding_mode::tls_server_end_point;
  CHECK_THROWS_AS(pg::scram_client{settings}, pg::error);
}

TEST_CASE("the mechanism is chosen as libpq chooses it") {
  std::vector<std::string> both{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"};
  auto plus = pg::choose_sasl_mechanism(both, true, true);
  CHECK(plus.mechanism == "SCRAM-SHA-256-PLUS");
  CHECK(plus.binding == pg::channel_binding_mode::tls_server_end_point);
  auto tls_no_hash = pg::choose_sasl_mechanism(both, true, false);
  CHECK(tls_no_hash.mechanism == "SCRAM-SHA-256");
  CHECK(tls_no_hash.binding == pg::channel_binding_mode::supported_not_used);
  auto plain = pg::choose_sasl_mechanism(both, false, false);
  CHECK(plain.binding == pg::channel_binding_mode::none);
  std::vector<std::string> unknown{"OAUTHBEARER"};
  auto none = pg::choose_sasl_mechanism(unknown, false, false);
  CHECK(none.error == pg::errc::unsupported_authentication);
  CHECK(none.detail == "none of the server's SASL mechanisms (OAUTHBEARER) is usable");
}
