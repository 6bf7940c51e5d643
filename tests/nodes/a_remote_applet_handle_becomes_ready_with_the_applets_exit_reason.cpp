// ctest-timeout: 60
// A remote applet handle is a waitable that becomes ready once the applet is
// destroyed on its home node, with the exit reason given there (here an
// exception from its postselect: runtime::errc::callback_threw and the
// exception's text). Looking an event's name up as an applet is refused.
#include "node_test_support.hpp"

using namespace node_test;

TEST_CASE("a remote applet handle becomes ready with the applet's exit reason") {
  al::nodes::enable();
  node_process child{"child"};
  {
    al::runtime::engine engine{small_engine()};
    al::nodes::node local{engine, {.name = "tester", .listen = {}}};
    auto peer = local.connect("127.0.0.1", child.port()).get();

    auto wrong = peer.lookup_applet("bell");
    REQUIRE(wrong.wait_for(10s));
    CHECK(wrong.error() == al::nodes::errc::wrong_kind);

    auto worker = peer.lookup_applet("worker").get();
    CHECK_FALSE(worker.ready());
    child.send("fail-worker");
    CHECK(child.expect("worker gone") == "worker gone");
    REQUIRE(worker.wait_for(10s));
    auto reason = worker.exit_reason();
    CHECK_FALSE(reason.is_normal());
    CHECK(reason.code() == al::runtime::errc::callback_threw);
    CHECK(reason.message().find("boom requested") != std::string::npos);

    // Looked up after its end: ready at once with the same reason.
    auto late = peer.lookup_applet("worker").get();
    REQUIRE(late.wait_for(10s));
    CHECK(late.exit_reason().code() == al::runtime::errc::callback_threw);
  }
  child.stop();
}
