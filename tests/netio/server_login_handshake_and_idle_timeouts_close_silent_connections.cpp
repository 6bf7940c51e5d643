// Silent connections do not hold the server's descriptors for good: a client
// that connects and never logs in is told (fatal 3005) and closed after the
// login timeout; a TLS client that never finishes its handshake is closed
// after the handshake timeout; a logged-in session that stays idle is told
// (fatal 3006) and closed after the idle timeout when one is set; and a
// session with a request running is not idle. Accepted TCP connections
// have keepalive on.
// ctest-timeout: 60
#include "server_test_support.hpp"

#include <actorloop/netio/tls.hpp>

#include <dirent.h>
#include <netinet/tcp.h>

using namespace netio_test;
using server_test::raw_client;
using server_test::read_outcome;

namespace {

/// The fatal code of the last frame before the close (0 if none).
std::uint32_t fatal_code_before_close(raw_client& client) {
  auto frames = client.read_until_closed();
  if (frames.empty())
    return 0;
  auto* said = std::get_if<netio::server_message>(&frames.back().body);
  return said && said->level == netio::severity::fatal ? said->code : 0;
}

/// SO_KEEPALIVE and TCP_KEEPIDLE of the server's end of a connection: the
/// server runs in this process, so its accepted socket is one of ours (the
/// one whose local port is the server's and whose peer is `client_port`).
std::optional<std::pair<int, int>> server_end_keepalive(std::uint16_t server_port,
                                                        std::uint16_t client_port) {
  DIR* directory = ::opendir("/proc/self/fd");
  REQUIRE(directory != nullptr);
  std::optional<std::pair<int, int>> found;
  while (auto* entry = ::readdir(directory)) {
    int fd = std::atoi(entry->d_name);
    sockaddr_in local{};
    sockaddr_in peer{};
    socklen_t length = sizeof local;
    if (entry->d_name[0] == '.' || ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0 ||
        local.sin_family != AF_INET || ntohs(local.sin_port) != server_port)
      continue;
    length = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0 ||
        ntohs(peer.sin_port) != client_port)
      continue;
    int on = 0;
    int idle = 0;
    length = sizeof on;
    ::getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &length);
    length = sizeof idle;
    ::getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, &length);
    found = std::make_pair(on, idle);
  }
  ::closedir(directory);
  return found;
}

} // namespace

TEST_CASE("accepted TCP connections have keepalive on, with the configured first probe") {
  netio::server_options options;
  options.keepalive_idle = std::chrono::seconds(42);
  server_fixture fixture{options};
  raw_client client{fixture.address()};
  client.login(); // the session exists now
  sockaddr_in mine{};
  socklen_t length = sizeof mine;
  REQUIRE(::getsockname(client.fd(), reinterpret_cast<sockaddr*>(&mine), &length) == 0);
  auto keepalive = server_end_keepalive(fixture.address().port, ntohs(mine.sin_port));
  REQUIRE(keepalive);
  CHECK(keepalive->first == 1);
  CHECK(keepalive->second == 42);
}

TEST_CASE("the defaults bound login and handshake and keep idle sessions") {
  netio::server_options defaults;
  CHECK(defaults.login_timeout > runtime::duration::zero());
  CHECK(defaults.login_timeout <= std::chrono::seconds(60));
  CHECK(defaults.handshake_timeout > runtime::duration::zero());
  CHECK(defaults.handshake_timeout <= std::chrono::seconds(60));
  CHECK(defaults.idle_timeout == runtime::duration::zero());
  CHECK(defaults.tcp_keepalive);
}

TEST_CASE("a client that never logs in is closed after the login timeout") {
  netio::server_options options;
  options.login_timeout = std::chrono::milliseconds(200);
  server_fixture fixture{options};
  raw_client silent{fixture.address()};
  raw_client half{fixture.address()};
  half.send_message({0, netio::hello{"raw", "raw"}}); // hello, then nothing
  CHECK(fatal_code_before_close(silent) == netio::server_codes::login_timed_out);
  raw_client logged_in{fixture.address()};
  logged_in.login();
  logged_in.request(1, {"ECHO", "still here"});
  netio::message answer;
  REQUIRE(logged_in.read_message(answer) == read_outcome::message);
  CHECK(std::holds_alternative<netio::result_row>(answer.body));
  // The half-logged-in client got its ready (no password), so only the silent one timed out.
  CHECK(fixture.server->statistics().login_timeouts == 1);
}

TEST_CASE("a password login that is never answered times out too") {
  netio::server_options options;
  options.login_timeout = std::chrono::milliseconds(200);
  options.password = "secret";
  server_fixture fixture{options};
  raw_client half{fixture.address()};
  half.send_message({0, netio::hello{"raw", "raw"}});
  netio::message challenge;
  REQUIRE(half.read_message(challenge) == read_outcome::message);
  REQUIRE(std::holds_alternative<netio::challenge>(challenge.body));
  CHECK(fatal_code_before_close(half) == netio::server_codes::login_timed_out);
}

TEST_CASE("an unfinished TLS handshake is closed after the handshake timeout") {
  netio::tls_options tls;
  tls.role = netio::tls_role::server;
  auto identity = netio::generate_self_signed_certificate("localhost", {"127.0.0.1"});
  tls.certificate_chain_pem = identity.certificate_pem;
  tls.private_key_pem = identity.private_key_pem;
  tls.verify_peer = false;
  netio::server_options options;
  options.tls = std::make_shared<netio::tls_context>(tls);
  options.handshake_timeout = std::chrono::milliseconds(200);
  options.login_timeout = std::chrono::seconds(30);
  server_fixture fixture{options};
  raw_client silent{fixture.address()};
  netio::message nothing;
  CHECK(silent.read_message(nothing) == read_outcome::closed);
  CHECK(fixture.server->wait_for_statistics([&](const netio::server_statistics& now) { return now.handshake_timeouts == 1; }, 20s));
}

TEST_CASE("an idle session is closed after the idle timeout, a busy one is not") {
  netio::server_options options;
  options.idle_timeout = std::chrono::milliseconds(300);
  server_fixture fixture{options};
  raw_client idle{fixture.address()};
  idle.login();
  raw_client busy{fixture.address()};
  busy.login();
  busy.request(1, {"SLEEP", "1500"});
  CHECK(fatal_code_before_close(idle) == netio::server_codes::idle_timed_out);
  // The busy one gets its completion: a running request is not idleness.
  netio::message answer;
  REQUIRE(busy.read_message(answer) == read_outcome::message);
  auto* done = std::get_if<netio::completion>(&answer.body);
  REQUIRE(done);
  CHECK(done->status == netio::completion_status::succeeded);
  CHECK(fixture.server->statistics().idle_timeouts == 1);
}
