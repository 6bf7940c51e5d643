// ctest-timeout: 60
// BASP's handshake carries application identifiers: a node started with a
// different --middleman.app-identifiers cannot connect (connect_failed, with
// CAF's reason), and the node it tried keeps serving a matching peer.
#include "node_test_support.hpp"

using namespace node_test;

TEST_CASE("a node with another application identifier is refused and the node keeps serving") {
  al::nodes::enable();
  al::runtime::event bell{al::runtime::reset_mode::manual, "bell"};
  al::runtime::engine home_engine{small_engine()};
  al::nodes::node home{home_engine, {.name = "home", .listen = "127.0.0.1:0"}};
  home.export_event("bell", bell);
  {
    al::runtime::engine stranger_engine{
        small_engine({"--middleman.app-identifiers=[\"stranger\"]"})};
    al::nodes::node stranger{stranger_engine, {.name = "stranger", .listen = {}}};
    auto refused = stranger.connect("127.0.0.1", home.port());
    REQUIRE(refused.wait_for(30s));
    CHECK(refused.error() == al::nodes::errc::connect_failed);
    MESSAGE("refused: " << refused.error_message());
  }
  {
    al::runtime::engine friend_engine{small_engine()};
    al::nodes::node friendly{friend_engine, {.name = "friend", .listen = {}}};
    auto peer = friendly.connect("127.0.0.1", home.port()).get();
    peer.lookup_event("bell").get().set().get();
    CHECK(bell.test());
  }
  CHECK(home.statistics().peers == 1);
}
