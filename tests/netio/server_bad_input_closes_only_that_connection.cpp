// Bad input on the wire: a frame whose length claims 4 GiB, a wrong protocol
// version, an unknown message kind, and a malformed body each get a clear
// fatal server message naming the problem (code 2001..2004), and the server
// closes only that connection; a healthy client on the same server keeps
// working, and the server allocates nothing for the 4 GiB claim. The client
// side is tested by feeding the same bytes to a connection from a fake
// server: it reports the problem through its client-message callback and
// marks the connection dead.
// ctest-timeout: 60
#include "netio_test_support.hpp"

#include <actorloop/netio/codec.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace netio_test;

namespace {

/// A blocking plain-socket client that speaks raw bytes.
class raw_client {
public:
  explicit raw_client(const netio::endpoint& where) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(where.port);
    ::inet_pton(AF_INET, where.host.c_str(), &address.sin_addr);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    timeval limit{20, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  }
  ~raw_client() { ::close(fd_); }
  void send(const std::vector<std::byte>& bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
  void send_message(const netio::message& value) {
    std::vector<std::byte> bytes;
    REQUIRE_FALSE(netio::make_framed_codec()->encode(value, bytes));
    send(bytes);
  }
  /// Reads messages until the server closes; returns them.
  std::vector<netio::message> read_until_closed() {
    auto codec = netio::make_framed_codec();
    std::vector<std::byte> buffer;
    std::vector<netio::message> result;
    for (;;) {
      std::byte chunk[4096];
      auto got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got <= 0)
        break;
      buffer.insert(buffer.end(), chunk, chunk + got);
      for (;;) {
        netio::message decoded;
        auto outcome = codec->decode(buffer, decoded);
        REQUIRE_FALSE(outcome.error);
        if (outcome.consumed == 0)
          break;
        buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(outcome.consumed));
        result.push_back(std::move(decoded));
      }
    }
    return result;
  }

private:
  int fd_ = -1;
};

std::vector<std::byte> header(std::uint32_t length, std::uint8_t version, std::uint8_t kind) {
  std::vector<std::byte> bytes;
  for (int shift = 24; shift >= 0; shift -= 8)
    bytes.push_back(static_cast<std::byte>((length >> shift) & 0xff));
  bytes.push_back(static_cast<std::byte>(version));
  bytes.push_back(static_cast<std::byte>(kind));
  bytes.insert(bytes.end(), 10, std::byte{0}); // flags + request id
  return bytes;
}

/// The fatal server message the server sent before closing.
netio::server_message last_fatal(const std::vector<netio::message>& messages) {
  for (auto position = messages.rbegin(); position != messages.rend(); ++position)
    if (auto* said = std::get_if<netio::server_message>(&position->body))
      if (said->level == netio::severity::fatal)
        return *said;
  FAIL("no fatal server message before the close");
  return {};
}

} // namespace

TEST_CASE("each kind of bad frame closes only its own connection, with a clear message") {
  server_fixture fixture;
  netio::context context{fixture.engine};
  netio::connection healthy{context};
  REQUIRE(healthy.connect(fixture.address()) == netio::retcode::succeed);

  struct bad_input {
    const char* name;
    std::vector<std::byte> bytes;
    std::uint32_t code;
    const char* mentions;
  };
  std::vector<std::byte> malformed = header(12 + 4, 1, 10); // request with a 4-byte body...
  for (int index = 0; index < 4; ++index)
    malformed.push_back(std::byte{0xff}); // ...claiming 4 billion arguments
  std::vector<bad_input> cases{
    {"a 4 GiB length", header(0xFFFFFFFFu, 1, 10), netio::server_codes::frame_too_large, "4294967299"},
    {"a wrong version", header(12, 9, 10), netio::server_codes::unsupported_version, "version 9"},
    {"an unknown kind", header(12, 1, 77), netio::server_codes::unknown_message_kind, "77"},
    {"a malformed body", malformed, netio::server_codes::malformed_frame, "entries"},
  };
  for (auto& each : cases) {
    CAPTURE(each.name);
    raw_client bad{fixture.address()};
    bad.send_message({0, netio::hello{"raw", "raw"}});
    bad.send(each.bytes);
    auto received = bad.read_until_closed();
    auto fatal = last_fatal(received);
    CHECK(fatal.code == each.code);
    CHECK(fatal.text.find(each.mentions) != std::string::npos);
    // Everyone else is still served.
    REQUIRE(healthy.execute({"ECHO", each.name}) == netio::retcode::succeed);
    CHECK(healthy.take_result()->rows.at(0).columns.at(0) == each.name);
  }
  CHECK(fixture.server->statistics().protocol_errors == cases.size());
}

TEST_CASE("the client side reports a bad frame from the server and marks the connection dead") {
  runtime::engine engine;
  // A fake server: accepts, answers the hello with ready, then sends garbage.
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::thread fake{[&] {
    int peer = ::accept(listener, nullptr, nullptr);
    auto codec = netio::make_framed_codec();
    std::vector<std::byte> bytes;
    REQUIRE_FALSE(codec->encode({0, netio::ready{"fake", 1}}, bytes));
    auto garbage = header(0xFFFFFFFFu, 1, 11);
    bytes.insert(bytes.end(), garbage.begin(), garbage.end());
    std::byte scratch[256];
    (void)::recv(peer, scratch, sizeof scratch, 0); // the hello
    (void)::send(peer, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    (void)::recv(peer, scratch, sizeof scratch, 0); // until the client closes
    ::close(peer);
  }};
  netio::context context{engine, {netio::io_mode::async}};
  netio::connection connection{context};
  thread_log log;
  netio::client_message reported;
  connection.set_client_message([&](netio::connection*, const netio::client_message& message) {
    reported = message;
    log.record("client message");
    return netio::callback_result::succeed;
  });
  connect_or_fail(connection, netio::endpoint::tcp("127.0.0.1", ntohs(address.sin_port)));
  REQUIRE(log.wait_for("client message", 1));
  CHECK(reported.code == netio::errc::frame_too_large);
  CHECK(reported.text.find("16777216") != std::string::npos);
  CHECK(connection.dead());
  CHECK(connection.execute({"ECHO"}) == netio::retcode::fail);
  fake.join();
  ::close(listener);
}
