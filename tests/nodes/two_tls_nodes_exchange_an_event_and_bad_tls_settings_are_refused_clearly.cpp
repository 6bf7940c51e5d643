// ctest-timeout: 90
// TLS between nodes (caf::openssl): a node process and an in-process node,
// each with a certificate of the same test CA, connect and exchange an event;
// a TLS node may listen on a non-loopback address. Incomplete TLS options, a
// wrong passphrase and a certificate that does not chain to the configured
// CA are refused when the node is made, naming the problem. An encrypted key
// with its passphrase works.
#include "node_test_support.hpp"
#include "tls_test_certificates.hpp"

using namespace node_test;

namespace {

std::vector<std::string> with(std::vector<std::string> options, const std::string& extra) {
  options.push_back(extra);
  return options;
}

/// The message of the error thrown when making a node on `arguments`.
std::string refusal(const std::vector<std::string>& arguments) {
  al::runtime::engine engine{small_engine(arguments)};
  try {
    al::nodes::node node{engine, {.name = "refused", .listen = {}}};
  } catch (const al::nodes::error& failure) {
    CHECK(failure.code() == std::make_error_code(std::errc::invalid_argument));
    return failure.what();
  }
  FAIL("the node must be refused");
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("two TLS nodes exchange an event and bad TLS settings are refused clearly") {
  test_certificates certificates;
  certificates.make_node("child", "cluster");
  certificates.make_node("tester", "cluster");
  certificates.make_node("locked", "cluster", "open sesame");
  certificates.make_node("stranger", "rogue");
  al::nodes::enable();

  node_process child{"child", certificates.options("child")};
  {
    al::runtime::engine engine{small_engine(certificates.options("tester"))};
    al::nodes::node local{engine, {.name = "tester", .listen = {}}};
    CHECK(local.tls());
    auto peer = local.connect("127.0.0.1", child.port()).get();
    CHECK(peer.name() == "child");
    auto bell = peer.lookup_event("bell").get();
    bell.set().get();
    child.expect("bell 1");
    // With TLS, a non-loopback address is allowed (nothing connects to it).
    CHECK(local.listen("0.0.0.0", 0) != 0);
  }
  {
    // An encrypted key works with its passphrase.
    al::runtime::engine engine{small_engine(
        with(certificates.options("locked"), "--actorloop.node.tls.passphrase=open sesame"))};
    al::nodes::node local{engine, {.name = "locked", .listen = {}}};
    auto peer = local.connect("127.0.0.1", child.port()).get();
    peer.lookup_event("bell").get().set().get();
    child.expect("bell 2");
  }

  auto incomplete = refusal({"--actorloop.node.tls.certificate=" + certificates.path("tester.pem")});
  CHECK(contains(incomplete, "--actorloop.node.tls.key"));
  CHECK(contains(incomplete, "--actorloop.node.tls.ca-file"));
  auto wrong_passphrase = refusal(
      with(certificates.options("locked"), "--actorloop.node.tls.passphrase=guess"));
  CHECK(contains(wrong_passphrase, "cannot load the private key"));
  auto other_ca = refusal(certificates.options("stranger", "cluster"));
  CHECK(contains(other_ca, "does not chain to a CA"));
  auto missing = refusal(with(certificates.options("tester"), "--actorloop.node.tls.certificate=" +
                                                                  certificates.path("none.pem")));
  CHECK(contains(missing, "none.pem"));

  child.stop();
}
