// TLS over actorloop streams vs a plain OpenSSL client and server loop.
//
//  tls_handshake  full handshakes per second (TLS 1.3, EC P-256 certificate,
//                 a new TCP connection each time, no session resumption): an
//                 actorloop stream client against an actorloop stream_listener
//                 (both on the I/O workers), vs two threads running blocking
//                 SSL_connect / SSL_accept loops.
//  tls_bulk       one connection streaming 256 MiB (64 MiB with --quick, 8 with
//                 --smoke) of application data to a sink: actorloop streams
//                 (bounded buffers, backpressure through on_writable) vs
//                 blocking SSL_write / SSL_read.
// Placement, alike on both sides: every client end runs on one thread pinned
// to the first allowed CPU, every server end on one thread pinned to the last
// (ours: a client engine and a server engine in the process, each with one
// I/O worker pinned to its CPU; the peer: a client thread and a server
// thread pinned the same way). The bulk span is long enough (0.2-1 s) that a
// scheduler hiccup does not decide the run.
// Results are medians over the repetitions; ratio > 1 means actorloop is ahead.
// The peer is a limit (a blocking loop per side that does nothing else).
// cpu_s: process CPU seconds of each whole run (the timed part is nearly all
// of it).
//
// Profiling aid: ACTORLOOP_BENCH_ONLY=<name>[,<name>...] (tls_handshake,
// tls_bulk) runs only those comparisons.

#include "bench_support.hpp"

#include <actorloop/netio/io_pool.hpp>
#include <actorloop/netio/stream.hpp>
#include <actorloop/netio/tls.hpp>
#include <actorloop/runtime/engine.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace netio = actorloop::netio;
namespace runtime = actorloop::runtime;
using namespace std::chrono_literals;
using bench::bench_clock;

namespace {

/// Set once in main from --quick/--smoke, before any run.
std::size_t bulk_bytes = 256u * 1024u * 1024u;
constexpr std::size_t write_chunk = 64u * 1024u;

struct credentials {
  netio::certificate_and_key authority = netio::generate_certificate_authority("bench CA");
  netio::certificate_and_key server = netio::issue_certificate(authority, "localhost", {"localhost", "127.0.0.1"});
};

// -- ours -------------------------------------------------------------------------------

struct waiter {
  std::mutex mutex;
  std::condition_variable changed;
  int opened = 0;
  int closed = 0;
  std::size_t received = 0;
  bool failed = false;
  std::string why;
};

std::shared_ptr<netio::tls_context> server_context(const credentials& keys) {
  netio::tls_options options;
  options.role = netio::tls_role::server;
  options.certificate_chain_pem = keys.server.certificate_pem;
  options.private_key_pem = keys.server.private_key_pem;
  return std::make_shared<netio::tls_context>(options);
}

std::shared_ptr<netio::tls_context> client_context(const credentials& keys) {
  netio::tls_options options;
  options.role = netio::tls_role::client;
  options.trusted_ca_pem = keys.authority.certificate_pem;
  return std::make_shared<netio::tls_context>(options);
}

using bench::placement;

double our_handshakes_per_second(runtime::engine& server_engine, runtime::engine& client_engine,
                                 const credentials& keys, int count) {
  auto sink = std::make_shared<waiter>();
  netio::stream_options server_options;
  server_options.tls = server_context(keys);
  netio::stream_listener listener{server_engine, netio::endpoint::tcp("127.0.0.1", 0),
                                  [](netio::stream&) { return netio::stream_callbacks{}; },
                                  server_options};
  netio::stream_options client_options;
  client_options.tls = client_context(keys);
  client_options.tls_host = "localhost";
  auto start = bench_clock::now();
  for (int index = 0; index < count; ++index) {
    netio::stream_callbacks callbacks;
    callbacks.on_open = [sink](netio::stream& self) {
      {
        std::lock_guard guard{sink->mutex};
        ++sink->opened;
      }
      sink->changed.notify_all();
      self.close();
    };
    callbacks.on_closed = [sink](netio::stream&, std::error_code error, const std::string& detail) {
      std::lock_guard guard{sink->mutex};
      if (error != netio::errc::connection_closed) {
        sink->failed = true;
        sink->why = detail;
      }
      sink->changed.notify_all();
    };
    (void)netio::stream::connect(client_engine, listener.local_endpoint(), callbacks, client_options);
    std::unique_lock guard{sink->mutex};
    if (!sink->changed.wait_for(guard, 20s, [&] { return sink->opened > index || sink->failed; }) || sink->failed)
      bench::fail("TLS handshake %d failed: %s", index, sink->why.c_str());
  }
  return count / bench::seconds_between(start, bench_clock::now());
}

double our_bulk_megabytes_per_second(runtime::engine& server_engine, runtime::engine& client_engine,
                                     const credentials& keys) {
  auto sink = std::make_shared<waiter>();
  netio::stream_options server_options;
  server_options.tls = server_context(keys);
  netio::stream_listener listener{
    server_engine, netio::endpoint::tcp("127.0.0.1", 0),
    [sink](netio::stream&) {
      netio::stream_callbacks callbacks;
      callbacks.on_data = [sink](netio::stream&, std::span<const std::byte> bytes) {
        std::lock_guard guard{sink->mutex};
        sink->received += bytes.size();
        if (sink->received >= bulk_bytes)
          sink->changed.notify_all();
      };
      return callbacks;
    },
    server_options};
  netio::stream_options client_options;
  client_options.tls = client_context(keys);
  client_options.tls_host = "localhost";
  auto chunk = std::make_shared<std::vector<std::byte>>(write_chunk, std::byte{'b'});
  auto sent = std::make_shared<std::size_t>(0);
  auto start = std::make_shared<bench_clock::time_point>();
  // Writes until the output queue refuses, then waits for on_writable.
  auto pump = [chunk, sent](netio::stream& self) {
    while (*sent < bulk_bytes) {
      if (self.write(*chunk))
        return; // full: on_writable brings us back
      *sent += chunk->size();
    }
  };
  netio::stream_callbacks callbacks;
  callbacks.on_open = [pump, start](netio::stream& self) {
    *start = bench_clock::now();
    pump(self);
  };
  callbacks.on_writable = pump;
  auto client = netio::stream::connect(client_engine, listener.local_endpoint(), callbacks, client_options);
  std::unique_lock guard{sink->mutex};
  if (!sink->changed.wait_for(guard, 120s, [&] { return sink->received >= bulk_bytes; }))
    bench::fail("TLS bulk: only %zu bytes arrived", sink->received);
  auto seconds = bench::seconds_between(*start, bench_clock::now());
  client.close();
  return static_cast<double>(bulk_bytes) / (1024.0 * 1024.0) / seconds;
}

// -- the peer: blocking OpenSSL ---------------------------------------------------------------

SSL_CTX* plain_context(const credentials& keys, bool server) {
  auto* context = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
  if (server) {
    BIO* bio = BIO_new_mem_buf(keys.server.certificate_pem.data(), static_cast<int>(keys.server.certificate_pem.size()));
    X509* certificate = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    bio = BIO_new_mem_buf(keys.server.private_key_pem.data(), static_cast<int>(keys.server.private_key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    SSL_CTX_use_certificate(context, certificate);
    SSL_CTX_use_PrivateKey(context, key);
    X509_free(certificate);
    EVP_PKEY_free(key);
  } else {
    BIO* bio = BIO_new_mem_buf(keys.authority.certificate_pem.data(), static_cast<int>(keys.authority.certificate_pem.size()));
    X509* authority = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(context), authority);
    X509_free(authority);
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  }
  return context;
}

int plain_listener(sockaddr_in& address) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::listen(fd, 512);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return fd;
}

int plain_connect(const sockaddr_in& address) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    bench::fail("peer: connect failed");
  return fd;
}

double peer_handshakes_per_second(const credentials& keys, int count, placement where) {
  sockaddr_in address;
  int listener = plain_listener(address);
  auto* server_ctx = plain_context(keys, true);
  auto* client_ctx = plain_context(keys, false);
  std::thread server{[&] {
    bench::pin_this_thread(where.server_cpu);
    for (int index = 0; index < count; ++index) {
      int fd = ::accept(listener, nullptr, nullptr);
      int on = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      SSL* ssl = SSL_new(server_ctx);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1)
        SSL_shutdown(ssl);
      SSL_free(ssl);
      ::close(fd);
    }
  }};
  double rate = 0;
  std::thread client{[&] {
    bench::pin_this_thread(where.client_cpu);
    auto start = bench_clock::now();
    for (int index = 0; index < count; ++index) {
      int fd = plain_connect(address);
      SSL* ssl = SSL_new(client_ctx);
      SSL_set_fd(ssl, fd);
      SSL_set1_host(ssl, "localhost");
      SSL_set_tlsext_host_name(ssl, "localhost");
      if (SSL_connect(ssl) != 1)
        bench::fail("peer: handshake failed");
      SSL_shutdown(ssl);
      SSL_free(ssl);
      ::close(fd);
    }
    rate = count / bench::seconds_between(start, bench_clock::now());
  }};
  client.join();
  server.join();
  SSL_CTX_free(server_ctx);
  SSL_CTX_free(client_ctx);
  ::close(listener);
  return rate;
}

double peer_bulk_megabytes_per_second(const credentials& keys, placement where) {
  sockaddr_in address;
  int listener = plain_listener(address);
  auto* server_ctx = plain_context(keys, true);
  auto* client_ctx = plain_context(keys, false);
  // Each written by one thread, read after both are joined.
  bench_clock::time_point start;
  bench_clock::time_point end;
  std::thread server{[&] {
    bench::pin_this_thread(where.server_cpu);
    int fd = ::accept(listener, nullptr, nullptr);
    SSL* ssl = SSL_new(server_ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1)
      bench::fail("peer: bulk handshake failed");
    std::vector<char> buffer(write_chunk);
    std::size_t received = 0;
    while (received < bulk_bytes) {
      int got = SSL_read(ssl, buffer.data(), static_cast<int>(buffer.size()));
      if (got <= 0)
        bench::fail("peer: bulk read failed");
      received += static_cast<std::size_t>(got);
    }
    end = bench_clock::now();
    SSL_free(ssl);
    ::close(fd);
  }};
  // The client closes only after the server has read everything: closing
  // with the server's unread session tickets in its receive buffer would
  // reset the connection under the server's last reads.
  int fd = plain_connect(address);
  SSL* ssl = SSL_new(client_ctx);
  std::thread client{[&] {
    bench::pin_this_thread(where.client_cpu);
    SSL_set_fd(ssl, fd);
    SSL_set1_host(ssl, "localhost");
    if (SSL_connect(ssl) != 1)
      bench::fail("peer: bulk connect failed");
    std::vector<char> chunk(write_chunk, 'b');
    start = bench_clock::now();
    for (std::size_t sent = 0; sent < bulk_bytes; sent += chunk.size())
      if (SSL_write(ssl, chunk.data(), static_cast<int>(chunk.size())) <= 0)
        bench::fail("peer: bulk write failed");
  }};
  server.join();
  client.join();
  auto seconds = bench::seconds_between(start, end);
  SSL_free(ssl);
  ::close(fd);
  SSL_CTX_free(server_ctx);
  SSL_CTX_free(client_ctx);
  ::close(listener);
  return static_cast<double>(bulk_bytes) / (1024.0 * 1024.0) / seconds;
}

} // namespace

int main(int argc, char** argv) {
  auto settings = bench::parse_arguments(argc, argv);
  // The blocking peer writes close_notify to sockets its partner may have
  // closed already; that must be an error return, not a SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  int handshakes = settings.smoke ? 10 : settings.quick ? 100 : 300;
  bulk_bytes = (settings.smoke ? 8u : settings.quick ? 64u : 256u) * 1024u * 1024u;
  credentials keys;
  auto where = bench::client_server_placement();
  // Every server end on the server engine's worker, every client end on the client engine's.
  auto server_engine = bench::engine_with_one_io_worker(where.server_cpu);
  auto client_engine = bench::engine_with_one_io_worker(where.client_cpu);
  auto measured = [](bench::side& into, auto&& run) {
    bench::cpu_meter meter;
    meter.start();
    double value = run();
    into.add(value, meter.stop());
  };
  if (bench::selected("tls_handshake")) {
    bench::side ours, peer;
    for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
      bench::in_turn(repetition, {[&] {
                                    measured(ours, [&] {
                                      return our_handshakes_per_second(
                                        *server_engine, *client_engine, keys, handshakes);
                                    });
                                  },
                                  [&] {
                                    measured(peer, [&] {
                                      return peer_handshakes_per_second(keys, handshakes, where);
                                    });
                                  }});
    }
    bench::comment("tls_handshake: %d full handshakes per repetition, EC P-256, new TCP each; every "
                   "client end on one thread pinned to CPU %u, every server end on one thread pinned "
                   "to CPU %u (ours: one I/O worker per engine, client and server engine)",
                   handshakes, where.client_cpu, where.server_cpu);
    bench::report("tls_handshake", "handshakes/s", bench::better::higher, ours,
                  "blocking OpenSSL loop", bench::peer_kind::limit, peer);
  }
  if (bench::selected("tls_bulk")) {
    bench::side ours, peer;
    for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
      bench::in_turn(repetition, {[&] {
                                    measured(ours, [&] {
                                      return our_bulk_megabytes_per_second(*server_engine,
                                                                           *client_engine, keys);
                                    });
                                  },
                                  [&] {
                                    measured(peer, [&] {
                                      return peer_bulk_megabytes_per_second(keys, where);
                                    });
                                  }});
    }
    bench::comment("tls_bulk: %zu MiB over one connection in 64 KiB writes, same placement",
                   bulk_bytes / (1024u * 1024u));
    bench::report("tls_bulk", "MiB/s", bench::better::higher, ours, "blocking OpenSSL loop",
                  bench::peer_kind::limit, peer);
  }
  return 0;
}
