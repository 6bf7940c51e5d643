// ctest-timeout: 90
// caf::openssl verifies the peer's certificate chain on both sides
// (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT): a node whose own
// certificate comes from another CA is refused by a TLS node process, even
// when it trusts that node's CA itself (its CA file holds both CAs), and a
// node that trusts only another CA refuses the TLS node's certificate. The
// TLS node serves a properly certified peer afterwards.
#include "node_test_support.hpp"
#include "tls_test_certificates.hpp"

#include <fstream>
#include <sstream>

using namespace node_test;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void expect_refused(const std::vector<std::string>& options, std::uint16_t port) {
  al::runtime::engine engine{small_engine(options)};
  al::nodes::node local{engine, {.name = "outsider", .listen = {}, .connect_timeout = 5s}};
  auto attempt = local.connect("127.0.0.1", port);
  REQUIRE(attempt.wait_for(30s));
  CHECK(attempt.error() == al::nodes::errc::connect_failed);
}

} // namespace

TEST_CASE("a node presenting a certificate from another CA is refused and the TLS node keeps "
          "serving") {
  test_certificates certificates;
  certificates.make_node("secure", "cluster");
  certificates.make_node("tester", "cluster");
  certificates.make_node("stranger", "rogue");
  {
    std::ofstream both{certificates.path("both-ca.pem")};
    both << slurp(certificates.path("cluster-ca.pem")) << slurp(certificates.path("rogue-ca.pem"));
  }
  al::nodes::enable();
  node_process secure{"secure", certificates.options("secure")};

  // Presents a rogue certificate, trusts both CAs: only the TLS node's own
  // check of the client certificate can refuse it.
  expect_refused(certificates.options("stranger", "both"), secure.port());
  // Presents a rogue certificate and trusts only the rogue CA: refused on
  // both sides.
  expect_refused(certificates.options("stranger", "rogue"), secure.port());

  {
    al::runtime::engine engine{small_engine(certificates.options("tester"))};
    al::nodes::node local{engine, {.name = "tester", .listen = {}}};
    local.connect("127.0.0.1", secure.port()).get().lookup_event("bell").get().set().get();
    secure.expect("bell 1");
    CHECK(local.statistics().peers == 1);
  }
  secure.send("stats");
  // Only the certified tester got through BASP's handshake.
  secure.expect("stats peers=1 ");
  secure.stop();
}
