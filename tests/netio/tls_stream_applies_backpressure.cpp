// Backpressure: while the inner stream takes nothing, a TLS writer accepts at
// most one record of plaintext and then reports 0 with no error, however
// often it is asked; the ciphertext it holds beyond what the inner stream
// accepted never exceeds one record plus overhead. As the inner stream takes
// bytes a little at a time, every byte still arrives intact and in order.
#include <actorloop/netio/error.hpp>
#include <actorloop/netio/tls.hpp>

#include <doctest/doctest.h>

#include "tls_test_support.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace netio = actorloop::netio;
using namespace tls_test;

namespace {

/// Wraps a socket end and passes on only as many bytes as the test allows,
/// counting them: a congested socket on demand.
class throttled_stream final : public netio::byte_stream {
public:
  explicit throttled_stream(std::unique_ptr<netio::byte_stream> inner) : inner_(std::move(inner)) {}

  std::size_t read_some(std::span<std::byte> buffer, std::error_code& error) override {
    return inner_->read_some(buffer, error);
  }
  std::size_t write_some(std::span<const std::byte> data, std::error_code& error) override {
    auto allowed = std::min(data.size(), budget_);
    if (allowed == 0)
      return 0;
    auto sent = inner_->write_some(data.first(allowed), error);
    budget_ -= sent;
    delivered_ += sent;
    return sent;
  }
  void shutdown_send() noexcept override { inner_->shutdown_send(); }

  /// From now on pass on at most `bytes` in total (until the next call).
  void allow(std::size_t bytes) { budget_ = bytes; }
  [[nodiscard]] std::size_t delivered() const { return delivered_; }

private:
  std::unique_ptr<netio::byte_stream> inner_;
  std::size_t budget_ = std::numeric_limits<std::size_t>::max();
  std::size_t delivered_ = 0;
};

/// One TLS record's plaintext plus its overhead: the most ciphertext a
/// writer may hold beyond what its inner stream took.
constexpr long long one_record = 16 * 1024 + 512;

} // namespace

TEST_CASE("a TLS stream applies backpressure when the inner stream is full") {
  auto options = localhost_tls_options();

  auto [client_end, server_end] = make_socket_pair();
  auto throttled = std::make_unique<throttled_stream>(std::move(client_end));
  auto* congestion = throttled.get();
  netio::tls_stream client{netio::tls_context{options.client}, std::move(throttled), "localhost"};
  netio::tls_stream server{netio::tls_context{options.server}, std::move(server_end)};
  complete_handshake(client, server);

  std::vector<std::byte> payload(1024 * 1024);
  for (std::size_t index = 0; index < payload.size(); ++index)
    payload[index] = static_cast<std::byte>((index * 7 + index / 251) & 0xff);
  std::vector<std::byte> received;
  std::size_t accepted = 0;
  const auto handshake_bytes = congestion->delivered();
  // Plaintext accepted minus ciphertext passed on is at least what the
  // writer holds (ciphertext is longer than its plaintext).
  auto held = [&] {
    return static_cast<long long>(accepted) -
           static_cast<long long>(congestion->delivered() - handshake_bytes);
  };
  auto write_more = [&] {
    std::error_code error;
    auto sent = client.write_some(std::span{payload}.subspan(accepted), error);
    REQUIRE_MESSAGE(!error, client.last_error_detail());
    accepted += sent;
    CHECK(held() <= one_record);
    return sent;
  };
  auto read_everything = [&] {
    std::array<std::byte, 16 * 1024> buffer;
    for (;;) {
      std::error_code error;
      auto got = server.read_some(buffer, error);
      REQUIRE_MESSAGE(!error, server.last_error_detail());
      if (got == 0)
        return;
      received.insert(received.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(got));
    }
  };

  SUBCASE("an inner stream that takes nothing") {
    congestion->allow(0);
    auto first = write_more();
    CHECK(first > 0);
    CHECK(first <= 16 * 1024);
    for (int attempt = 0; attempt < 1000; ++attempt)
      CHECK(write_more() == 0);
    CHECK(accepted == first);
    CHECK(client.has_pending_output());
    CHECK(client.wants_write());
    CHECK(!client.flush()); // nothing moves, nothing fails
    CHECK(client.has_pending_output());
  }
  SUBCASE("a peer that stops reading fills the socket, then the writer stops") {
    int zero_in_a_row = 0;
    for (int step = 0; step < 100000 && zero_in_a_row < 100 && accepted < payload.size(); ++step)
      zero_in_a_row = write_more() == 0 ? zero_in_a_row + 1 : 0;
    REQUIRE(zero_in_a_row == 100); // the socket filled before the payload ran out
    CHECK(client.has_pending_output());
    CHECK(held() <= one_record);
  }

  // Either way, the inner stream now takes a packet's worth per step, the
  // reader keeps up, and everything arrives intact and in order.
  for (int step = 0; step < 100000 && received.size() < payload.size(); ++step) {
    congestion->allow(1500);
    REQUIRE(!client.flush());
    if (accepted < payload.size())
      (void)write_more();
    read_everything();
  }
  CHECK(accepted == payload.size());
  REQUIRE(received.size() == payload.size());
  CHECK(received == payload);
}
