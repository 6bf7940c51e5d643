// A listening socket is a waitable; the listener applet accepts inside
// postselect and starts one applet per connection; each connection applet is
// woken only for the readiness bits it enabled, and a socket stays ready
// while unread data remains (level-triggered: the session reads one byte per
// wake). Three plain-thread clients each send a message and read the echo;
// the test counts accepts, wakes and bytes exactly, then proves every applet
// and the engine shut down cleanly.
// Model: Open Files of_core documentation (ofc_socket_enable,
// ofc_socket_accept; the stream test app, test_stream).
// ctest-timeout: 60
#include <actorloop/actors/applet.hpp>
#include <actorloop/netio/socket.hpp>
#include <actorloop/runtime/engine.hpp>

#include <actorloop_test/support.hpp>

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <atomic>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace actors = actorloop::actors;
namespace netio = actorloop::netio;
namespace runtime = actorloop::runtime;

namespace {

/// Echoes one byte per wake, so level-triggered readiness must wake it again.
class session_applet final : public actors::applet {
public:
  session_applet(netio::socket connection, std::atomic<int>& wakes, std::atomic<int>& echoed,
                 actorloop_test::latch_counter& finished)
    : connection_(std::move(connection)), wakes_(wakes), echoed_(echoed), finished_(finished) {}

  void init(actors::applet_context&) override {
    connection_.enable(netio::readiness::read);
  }
  void preselect(actors::applet_context& context) override {
    if (!context.waiting_on(connection_))
      context.add_wait(connection_);
  }
  runtime::waitable postselect(actors::applet_context& context,
                               const runtime::waitable& fired) override {
    REQUIRE(fired == connection_);
    ++wakes_;
    std::byte one[1];
    std::error_code failure;
    auto got = connection_.read(one, failure);
    if (failure) {
      // The client closed: we are done.
      context.kill();
      return {};
    }
    if (got == 1) {
      std::error_code write_failure;
      REQUIRE(connection_.write(one, write_failure) == 1);
      ++echoed_;
    }
    return {};
  }
  void destroy(actors::applet_context&) override {
    connection_.close();
    finished_.increment();
  }

private:
  netio::socket connection_;
  std::atomic<int>& wakes_;
  std::atomic<int>& echoed_;
  actorloop_test::latch_counter& finished_;
};

std::string client_round_trip(std::uint16_t port, const std::string& text) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::send(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()));
  std::string echoed;
  char buffer[64];
  while (echoed.size() < text.size()) {
    auto got = ::recv(fd, buffer, sizeof buffer, 0);
    REQUIRE(got > 0);
    echoed.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return echoed;
}

} // namespace

TEST_CASE("a listener applet accepts in postselect and starts an applet per connection") {
  runtime::engine engine;
  runtime::scheduler_options loop;
  loop.name = "loop";
  loop.threads = 1;
  (void)engine.create_scheduler(loop);

  auto listener = netio::socket::listen(engine, netio::endpoint::tcp("127.0.0.1", 0));
  listener.enable(netio::readiness::accept);
  auto port = listener.local_endpoint().port;
  REQUIRE(port != 0);

  std::atomic<int> accepted{0};
  std::atomic<int> wakes{0};
  std::atomic<int> echoed{0};
  actorloop_test::latch_counter sessions_finished;
  constexpr int clients = 3;
  const std::string message = "level!";

  actors::applet_callbacks listening;
  listening.name = "listener";
  listening.preselect = [&](actors::applet_context& context) {
    if (!context.waiting_on(listener))
      context.add_wait(listener);
  };
  listening.postselect = [&](actors::applet_context& context,
                             const runtime::waitable&) -> runtime::waitable {
    // Accept inside postselect, as Open Files' stream test does.
    while (auto connection = listener.accept()) {
      ++accepted;
      (void)actors::spawn_applet(context.engine(), "loop",
                                 std::make_unique<session_applet>(std::move(connection), wakes,
                                                                  echoed, sessions_finished),
                                 "session");
    }
    return {};
  };
  listening.destroy = [&](actors::applet_context&) { listener.close(); };
  auto listener_applet = actors::spawn_applet(engine, "loop", listening);

  std::vector<std::thread> threads;
  std::vector<std::string> answers(clients);
  for (int index = 0; index < clients; ++index)
    threads.emplace_back([&, index] { answers[index] = client_round_trip(port, message); });
  for (auto& each : threads)
    each.join();

  bool all_finished = sessions_finished.wait_for_at_least(clients, std::chrono::seconds(20));
  INFO("wakes " << wakes.load() << " echoed " << echoed.load() << " finished " << sessions_finished.value());
  REQUIRE(all_finished);
  for (auto& each : answers)
    CHECK(each == message);
  CHECK(accepted.load() == clients);
  CHECK(echoed.load() == clients * static_cast<int>(message.size()));
  // One wake per byte, plus one per end of stream: level-triggered readiness.
  CHECK(wakes.load() == clients * (static_cast<int>(message.size()) + 1));

  listener_applet.kill();
  REQUIRE(listener_applet.wait_for(std::chrono::seconds(10)));

}
