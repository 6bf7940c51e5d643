// Byte streams on the I/O workers: an echo over plain TCP and over TLS
// delivers every byte in order with callbacks on the worker; a writer that
// outpaces a paused reader is refused with buffer_full once its bounded
// output queue is full, hears on_writable when it drains, and nothing is
// lost; a refused connect reports through on_closed exactly once.
// ctest-timeout: 60
#include "netio_test_support.hpp"

#include <actorloop/netio/stream.hpp>
#include <actorloop/netio/tls.hpp>

#include <atomic>

using namespace netio_test;

namespace {

struct collector {
  std::mutex mutex;
  std::condition_variable changed;
  std::string received;
  int closed = 0;
  std::error_code close_reason;
  int writable = 0;
  std::set<std::thread::id> threads;
};

std::string pattern(std::size_t size) {
  std::string text(size, '\0');
  for (std::size_t index = 0; index < size; ++index)
    text[index] = static_cast<char>('a' + index % 26);
  return text;
}

void echo_round_trip(runtime::engine& engine, netio::stream_options server_options,
                     netio::stream_options client_options) {
  netio::stream_listener listener{engine, netio::endpoint::tcp("127.0.0.1", 0), [](netio::stream&) {
    netio::stream_callbacks echo;
    echo.on_data = [](netio::stream& self, std::span<const std::byte> bytes) {
      REQUIRE_FALSE(self.write(bytes));
    };
    return echo;
  }, server_options};
  auto sink = std::make_shared<collector>();
  auto text = pattern(200'000);
  netio::stream_callbacks callbacks;
  callbacks.on_open = [text](netio::stream& self) {
    std::span<const std::byte> bytes{reinterpret_cast<const std::byte*>(text.data()), text.size()};
    REQUIRE_FALSE(self.write(bytes));
  };
  callbacks.on_data = [sink](netio::stream& self, std::span<const std::byte> bytes) {
    bool complete = false;
    {
      std::lock_guard guard{sink->mutex};
      sink->threads.insert(std::this_thread::get_id());
      sink->received.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      complete = sink->received.size() >= 200'000;
      sink->changed.notify_all();
    }
    // On the worker, close runs at once and calls on_closed: not under our lock.
    if (complete)
      self.close();
  };
  callbacks.on_closed = [sink](netio::stream&, std::error_code error, const std::string&) {
    std::lock_guard guard{sink->mutex};
    ++sink->closed;
    sink->close_reason = error;
    sink->changed.notify_all();
  };
  auto client = netio::stream::connect(engine, listener.local_endpoint(), callbacks, client_options);
  std::unique_lock guard{sink->mutex};
  REQUIRE(sink->changed.wait_for(guard, 20s, [&] { return sink->closed == 1; }));
  CHECK(sink->received == text);
  CHECK(sink->close_reason == netio::errc::connection_closed);
  REQUIRE(sink->threads.size() == 1);
  CHECK(*sink->threads.begin() == client.io_thread());
}

} // namespace

TEST_CASE("echo over plain TCP and over TLS") {
  runtime::engine engine;
  echo_round_trip(engine, {}, {});
  auto authority = netio::generate_certificate_authority("stream CA");
  auto leaf = netio::issue_certificate(authority, "localhost", {"localhost"});
  netio::tls_options server_tls;
  server_tls.role = netio::tls_role::server;
  server_tls.certificate_chain_pem = leaf.certificate_pem;
  server_tls.private_key_pem = leaf.private_key_pem;
  netio::tls_options client_tls;
  client_tls.trusted_ca_pem = authority.certificate_pem;
  netio::stream_options server_options;
  server_options.tls = std::make_shared<netio::tls_context>(server_tls);
  netio::stream_options client_options;
  client_options.tls = std::make_shared<netio::tls_context>(client_tls);
  client_options.tls_host = "localhost";
  echo_round_trip(engine, server_options, client_options);
}

TEST_CASE("a paused reader makes the writer's bounded queue refuse, then drain") {
  runtime::engine engine;
  auto sink = std::make_shared<collector>();
  std::shared_ptr<netio::stream> reader_handle = std::make_shared<netio::stream>();
  netio::stream_listener listener{engine, netio::endpoint::tcp("127.0.0.1", 0), [sink, reader_handle](netio::stream& self) {
    *reader_handle = self;
    self.pause_reading(); // read nothing until told
    netio::stream_callbacks callbacks;
    callbacks.on_data = [sink](netio::stream&, std::span<const std::byte> bytes) {
      std::lock_guard guard{sink->mutex};
      sink->received.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      sink->changed.notify_all();
    };
    return callbacks;
  }};
  netio::stream_options options;
  options.max_output_bytes = 64 * 1024;
  auto chunk = pattern(16 * 1024);
  // Written on the I/O worker, read by the test thread.
  auto written = std::make_shared<std::atomic<std::size_t>>(0);
  auto refused = std::make_shared<std::atomic<bool>>(false);
  netio::stream_callbacks callbacks;
  // Writes until refused; the kernel buffers fill, then our queue does.
  auto pump = [chunk, written, refused](netio::stream& self) {
    for (int round = 0; round < 10'000; ++round) {
      auto failure = self.write({reinterpret_cast<const std::byte*>(chunk.data()), chunk.size()});
      if (failure) {
        CHECK(failure == netio::errc::buffer_full);
        *refused = true;
        return;
      }
      *written += chunk.size();
    }
  };
  callbacks.on_open = [pump, sink](netio::stream& self) {
    pump(self);
    std::lock_guard guard{sink->mutex};
    sink->changed.notify_all();
  };
  callbacks.on_writable = [sink](netio::stream&) {
    std::lock_guard guard{sink->mutex};
    ++sink->writable;
    sink->changed.notify_all();
  };
  auto writer = netio::stream::connect(engine, listener.local_endpoint(), callbacks, options);
  std::unique_lock guard{sink->mutex};
  REQUIRE(sink->changed.wait_for(guard, 20s, [&] { return refused->load(); }));
  CHECK(written->load() < 100u * 1024u * 1024u); // bounded: kernel buffers + 64 KiB, not everything
  guard.unlock();
  reader_handle->resume_reading();
  guard.lock();
  REQUIRE(sink->changed.wait_for(guard, 20s, [&] { return sink->writable >= 1 && sink->received.size() >= written->load(); }));
  CHECK(sink->received.size() == written->load());
  CHECK(sink->received.substr(0, chunk.size()) == chunk);
}

TEST_CASE("a refused connect closes exactly once with the reason") {
  runtime::engine engine;
  std::uint16_t port = 0;
  {
    netio::stream_listener probe{engine, netio::endpoint::tcp("127.0.0.1", 0),
                                 [](netio::stream&) { return netio::stream_callbacks{}; }};
    port = probe.local_endpoint().port;
  }
  auto sink = std::make_shared<collector>();
  netio::stream_callbacks callbacks;
  callbacks.on_closed = [sink](netio::stream&, std::error_code error, const std::string&) {
    std::lock_guard guard{sink->mutex};
    ++sink->closed;
    sink->close_reason = error;
    sink->changed.notify_all();
  };
  auto stream = netio::stream::connect(engine, netio::endpoint::tcp("127.0.0.1", port), callbacks);
  std::unique_lock guard{sink->mutex};
  REQUIRE(sink->changed.wait_for(guard, 20s, [&] { return sink->closed >= 1; }));
  CHECK(sink->closed == 1);
  CHECK(sink->close_reason == netio::errc::connection_refused);
}
