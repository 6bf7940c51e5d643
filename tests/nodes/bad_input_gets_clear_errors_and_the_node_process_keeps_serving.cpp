// ctest-timeout: 90
// Bad input to a node process, each answered with a clear error while the
// node keeps serving its other peer: a client that is no BASP node writes
// garbage to the node's port (BASP closes that connection); a lookup of a
// name nobody exported (no_such_name, naming it); the right name with the
// wrong item type (type_mismatch); an item type not registered with CAF
// (type_not_registered, refused locally). Connecting to a port where nothing
// listens, or to a TCP listener that never speaks BASP, fails with
// connect_failed instead of hanging.
#include "node_test_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

using namespace node_test;

namespace {

struct not_registered {
  int value = 0;
};

// A loopback TCP socket bound to a free port; listening if `listen_too`.
struct raw_socket {
  explicit raw_socket(bool listen_too) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port = ntohs(address.sin_port);
    if (listen_too)
      REQUIRE(::listen(fd, 4) == 0);
  }
  ~raw_socket() { ::close(fd); }
  int fd = -1;
  std::uint16_t port = 0;
};

} // namespace

TEST_CASE("bad input gets clear errors and the node process keeps serving") {
  al::nodes::enable();
  node_process child{"child"};
  {
    // A client that is not a BASP node: connect, write garbage, and see the
    // node close the connection.
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(child.port());
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    std::string garbage(4096, '\xAB');
    CHECK(::write(fd, garbage.data(), garbage.size()) > 0);
    char sink[4096];
    pollfd watched{fd, POLLIN, 0};
    ssize_t got = 1;
    while (got > 0) {
      REQUIRE(::poll(&watched, 1, 20000) == 1);
      got = ::read(fd, sink, sizeof sink);
    }
    CHECK(got <= 0); // closed (or reset) by the node
    ::close(fd);
  }

  al::runtime::engine engine{small_engine()};
  {
    al::nodes::node local{engine,
                          {.name = "tester",
                           .listen = {},
                           .allow_insecure = false,
                           // Short enough for the silent listener's case, long
                           // enough for a real handshake with a TSan-built child
                           // on a loaded 2-core machine (1.5 s was not).
                           .connect_timeout = std::chrono::milliseconds{5000}}};
    {
      raw_socket nothing{false}; // bound, not listening: connections are refused
      auto refused = local.connect("127.0.0.1", nothing.port);
      REQUIRE(refused.wait_for(20s));
      CHECK(refused.error() == al::nodes::errc::connect_failed);
      CHECK(refused.error_message().find(std::to_string(nothing.port)) != std::string::npos);
    }
    {
      raw_socket silent{true}; // accepts (in the kernel) but never speaks BASP
      auto silence = local.connect("127.0.0.1", silent.port);
      REQUIRE(silence.wait_for(20s));
      CHECK(silence.error() == al::nodes::errc::connect_failed);
    }

    auto peer = local.connect("127.0.0.1", child.port()).get();
    auto unknown = peer.lookup_event("nobody");
    REQUIRE(unknown.wait_for(20s));
    CHECK(unknown.error() == al::nodes::errc::no_such_name);
    CHECK(unknown.error_message().find("nobody") != std::string::npos);

    auto mistyped = peer.lookup_queue<std::string>("numbers");
    REQUIRE(mistyped.wait_for(20s));
    CHECK(mistyped.error() == al::nodes::errc::type_mismatch);

    auto unregistered = peer.lookup_queue<not_registered>("numbers");
    REQUIRE(unregistered.wait_for(20s));
    CHECK(unregistered.error() == al::nodes::errc::type_not_registered);

    // The node still serves.
    auto queue = peer.lookup_queue<std::int64_t>("numbers").get();
    queue.try_push(42).get();
    child.send("drain");
    CHECK(child.expect("drained") == "drained 1 sum 42");
    child.send("stats");
    // Lookups served: nobody, numbers as string, numbers; two of them failed.
    CHECK(child.expect("stats") == "stats peers=1 lookups_served=3 failures=2");

    auto stats = local.statistics();
    CHECK(stats.lookups_made == 3); // the unregistered type never left
    CHECK(stats.failures == 4);     // two connects, two lookups refused there
  }
  child.stop();
}
