// ctest-timeout: 60
// Remote spawn: this process spawns two applets of the type "probe" that a
// node process registered, one on its scheduler "loop" and one on
// "default". Each reports, from its init, that it runs on one of the named
// scheduler's threads. The handles are remote applets: pending until the
// node process releases the probes, then ready with the exit reason made
// there (callback_threw and the probe's text).
#include "node_test_support.hpp"

using namespace node_test;

namespace {

// The same type name as the node process's probe; this process only needs
// the name to spawn one with peer::spawn<A>.
class local_probe final : public al::actors::applet {
public:
  explicit local_probe(std::string) {}
  void preselect(al::actors::applet_context&) override {}
  al::runtime::waitable postselect(al::actors::applet_context&,
                                   const al::runtime::waitable&) override {
    return {};
  }
};

struct probe_name {
  static constexpr const char* value = "probe";
};

} // namespace

TEST_CASE("a remote spawn runs the applet on the named scheduler and reports its exit reason") {
  al::nodes::enable();
  al::nodes::register_applet_type<local_probe, probe_name, std::string>();
  node_process child{"child"};
  {
    al::runtime::engine engine{small_engine()};
    al::nodes::node local{engine, {.name = "tester", .listen = {}}};
    auto peer = local.connect("127.0.0.1", child.port()).get();

    auto first = peer.spawn("probe", "loop", caf::make_message(std::string{"one"})).get();
    CHECK(child.expect("probe one") == "probe one init on loop own-thread=yes");
    auto second = peer.spawn<local_probe>("default", std::string{"two"}).get();
    CHECK(child.expect("probe two") == "probe two init on default own-thread=yes");
    CHECK(first.node_name() == "child");
    CHECK(first.name() != second.name());
    CHECK_FALSE(first.wait_for(0ms));
    CHECK_FALSE(second.wait_for(0ms));

    child.send("release");
    CHECK(child.expect("released") == "released");
    REQUIRE(first.wait_for(20s));
    REQUIRE(second.wait_for(20s));
    CHECK(first.exit_reason().code() == al::runtime::errc::callback_threw);
    CHECK(first.exit_reason().message().find("probe one released") != std::string::npos);
    CHECK(second.exit_reason().code() == al::runtime::errc::callback_threw);
    CHECK(second.exit_reason().message().find("probe two released") != std::string::npos);
    // Ready for good.
    CHECK(first.wait_for(0ms));
  }
  child.stop();
}
