// ctest-timeout: 90
// TLS on one side only: a plain node connecting to a TLS node process fails
// with connect_failed and a message that names TLS (the TLS node waits for a
// TLS hello that never comes; the plain one for a BASP handshake), and so
// does a TLS node connecting to a plain node process. Both node processes
// serve a matching peer afterwards.
#include "node_test_support.hpp"
#include "tls_test_certificates.hpp"

using namespace node_test;

namespace {

void expect_refused(al::nodes::node& local, std::uint16_t port) {
  auto attempt = local.connect("127.0.0.1", port);
  REQUIRE(attempt.wait_for(30s));
  CHECK(attempt.error() == al::nodes::errc::connect_failed);
  MESSAGE(attempt.error_message());
  CHECK(attempt.error_message().find("TLS") != std::string::npos);
}

} // namespace

TEST_CASE("a plain node and a TLS node refuse each other clearly and keep serving") {
  test_certificates certificates;
  certificates.make_node("secure", "cluster");
  certificates.make_node("tester", "cluster");
  al::nodes::enable();
  node_process secure{"secure", certificates.options("secure")};
  node_process plain{"plain"};

  {
    al::runtime::engine engine{small_engine()};
    al::nodes::node local{engine, {.name = "plain-tester", .listen = {}, .connect_timeout = 3s}};
    CHECK_FALSE(local.tls());
    expect_refused(local, secure.port());
    // The plain node process is still fine for a plain peer.
    local.connect("127.0.0.1", plain.port()).get().lookup_event("bell").get().set().get();
    plain.expect("bell 1");
  }
  {
    al::runtime::engine engine{small_engine(certificates.options("tester"))};
    al::nodes::node local{engine, {.name = "tls-tester", .listen = {}, .connect_timeout = 3s}};
    expect_refused(local, plain.port());
    // The TLS node process serves a TLS peer after the plain attempt.
    local.connect("127.0.0.1", secure.port()).get().lookup_event("bell").get().set().get();
    secure.expect("bell 1");
  }
  secure.stop();
  plain.stop();
}
