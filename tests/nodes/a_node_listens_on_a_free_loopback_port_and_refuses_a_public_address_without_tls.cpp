// ctest-timeout: 30
// An engine becomes a node: without nodes::enable() the node is refused with
// a clear error; with it, --actorloop.node.listen=127.0.0.1:0 binds a free
// port that port() reads back; a second listen, a malformed address and a
// non-loopback address without allow_insecure are refused, naming why.
#include "node_test_support.hpp"

using namespace node_test;

TEST_CASE("a node listens on a free loopback port and refuses a public address without TLS") {
  {
    al::runtime::engine plain{small_engine()};
    try {
      al::nodes::node refused{plain};
      FAIL("a node on an engine made before enable() must be refused");
    } catch (const al::nodes::error& failure) {
      CHECK(failure.code() == al::nodes::errc::not_enabled);
      CHECK(std::string{failure.what()}.find("enable()") != std::string::npos);
    }
  }

  al::nodes::enable();
  al::runtime::engine engine{
      small_engine({"--actorloop.node.listen=127.0.0.1:0", "--actorloop.node.name=alpha"})};
  {
    al::nodes::node node{engine};
    CHECK(node.name() == "alpha");
    CHECK(node.port() != 0);

    try {
      (void)node.listen("127.0.0.1", 0);
      FAIL("a second listen must be refused");
    } catch (const al::nodes::error& failure) {
      CHECK(failure.code() == al::nodes::errc::listen_failed);
    }
  }
  al::runtime::engine quiet{small_engine()}; // no listen option
  {
    al::nodes::node node{quiet, {.name = "beta", .listen = {}}};
    CHECK(node.port() == 0);
    try {
      (void)node.listen("0.0.0.0", 0);
      FAIL("listening on a public address without TLS must be refused");
    } catch (const al::nodes::error& failure) {
      CHECK(failure.code() == al::nodes::errc::insecure_listen);
      CHECK(std::string{failure.what()}.find("0.0.0.0") != std::string::npos);
    }
    CHECK(node.port() == 0);
    auto port = node.listen("::1", 0);
    CHECK(port != 0);
    CHECK(node.port() == port);
  }
  try {
    al::nodes::node node{quiet, {.name = "gamma", .listen = "127.0.0.1"}};
    FAIL("a listen address without a port must be refused");
  } catch (const al::nodes::error& failure) {
    CHECK(failure.code() == al::nodes::errc::bad_address);
  }
}
