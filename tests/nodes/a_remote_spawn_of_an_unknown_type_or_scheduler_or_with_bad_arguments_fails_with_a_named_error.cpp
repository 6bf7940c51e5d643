// ctest-timeout: 60
// Remote spawn errors, each a named errc with a text that names the problem:
// an applet type the node process did not register, a scheduler it does not
// have, arguments that do not fit the type (none, or a number instead of a
// string), and a type not registered in this process (refused before
// anything is sent). The node process keeps serving: a good spawn works
// afterwards, and the node process stops cleanly with it running.
#include "node_test_support.hpp"

using namespace node_test;

namespace {

class unregistered final : public al::actors::applet {
public:
  void preselect(al::actors::applet_context&) override {}
  al::runtime::waitable postselect(al::actors::applet_context&,
                                   const al::runtime::waitable&) override {
    return {};
  }
};

std::error_code failure_of(al::nodes::pending<al::nodes::remote_applet> spawned,
                           std::string& text) {
  REQUIRE(spawned.wait_for(20s));
  text = spawned.error_message();
  return spawned.error();
}

} // namespace

TEST_CASE("a remote spawn of an unknown type or scheduler or with bad arguments fails with a named "
          "error") {
  al::nodes::enable();
  node_process child{"child"};
  {
    al::runtime::engine engine{small_engine()};
    al::nodes::node local{engine, {.name = "tester", .listen = {}}};
    auto peer = local.connect("127.0.0.1", child.port()).get();
    std::string text;

    CHECK(failure_of(peer.spawn("nobody", "loop", caf::make_message(std::string{"x"})), text) ==
          al::nodes::errc::unknown_applet_type);
    CHECK(text.find("'nobody'") != std::string::npos);
    CHECK(text.find("'child'") != std::string::npos);

    CHECK(failure_of(peer.spawn("probe", "nowhere", caf::make_message(std::string{"x"})), text) ==
          al::nodes::errc::no_such_scheduler);
    CHECK(text.find("'nowhere'") != std::string::npos);

    CHECK(failure_of(peer.spawn("probe", "loop"), text) == al::nodes::errc::bad_spawn_arguments);
    CHECK(failure_of(peer.spawn("probe", "loop", caf::make_message(std::int64_t{7})), text) ==
          al::nodes::errc::bad_spawn_arguments);
    CHECK(text.find("(7)") != std::string::npos);

    CHECK(failure_of(peer.spawn<unregistered>("loop"), text) ==
          al::nodes::errc::unknown_applet_type);
    CHECK(text.find("not registered in this process") != std::string::npos);

    auto good = peer.spawn("probe", "loop", caf::make_message(std::string{"after"})).get();
    CHECK(child.expect("probe after") == "probe after init on loop own-thread=yes");
    CHECK_FALSE(good.wait_for(0ms));
    CHECK(local.statistics().failures == 4); // the four sent and refused
  }
  child.stop();
}
