// Sample 08 / the installable program `actorloop-server`: actorloop's
// reference message server, showing how a real server embeds the runtime.
//
//  - configuration: its own options, plus every engine option
//    (--actorloop.io=workers=2:cpus=0-1, --actorloop.schedulers=..., a
//    caf-application.ini);
//  - signals: SIGTERM and SIGINT are blocked before any thread starts and
//    arrive through netio's signalfd as an ordinary callback on an I/O worker;
//  - graceful shutdown: stop accepting, let in-flight requests finish (up to
//    --drain-ms), tell every client, close, print statistics, exit 0;
//  - statistics: per I/O worker and for the server, at exit (and every
//    --stats-ms if given).
//
// Usage: see `actorloop-server --help` (print_usage below).
// Once ready it prints "listening on HOST:PORT" (the real port when 0 was
// asked for) as one line on stdout. The commands it serves are
// netio::demo_handlers(); sample 10 shows a server with commands of its own.

#include <actorloop/netio/connection.hpp>
#include <actorloop/netio/io_pool.hpp>
#include <actorloop/netio/server.hpp>
#include <actorloop/netio/tls.hpp>
#include <actorloop/runtime/engine.hpp>

#include <sample_support.hpp>

#include <condition_variable>
#include <csignal>
#include <exception>
#include <mutex>
#include <string_view>

namespace netio = actorloop::netio;
namespace runtime = actorloop::runtime;
using sample::say;

namespace {

void print_statistics(runtime::engine& engine, const netio::message_server& server) {
  auto stats = server.statistics();
  say("stats: sessions_open=", stats.sessions_open, " sessions_accepted=", stats.sessions_accepted,
      " requests=", stats.requests, " completions=", stats.completions,
      " notifications_delivered=", stats.notifications_delivered,
      " protocol_errors=", stats.protocol_errors, " warnings_sent=", stats.warnings_sent,
      " slow_subscribers_disconnected=", stats.slow_subscribers_disconnected,
      " requests_in_flight=", stats.requests_in_flight,
      " connections_dropped_at_descriptor_limit=", stats.connections_dropped_at_descriptor_limit,
      " login_timeouts=", stats.login_timeouts, " handshake_timeouts=", stats.handshake_timeouts,
      " idle_timeouts=", stats.idle_timeouts, " output_overflows=", stats.output_overflows);
  for (auto& worker : netio::io_worker_statistics(engine))
    say("stats: ", worker.name, " sockets=", worker.sockets,
        " readiness_events=", worker.readiness_events, " commands=", worker.commands);
}

void print_usage() {
  std::printf(
    "Usage: actorloop-server [options] [--actorloop.* engine options]\n"
    "actorloop's reference message server (docs/protocol.md): ECHO, ROWS, SLEEP,\n"
    "SUBSCRIBE, UNSUBSCRIBE, PUBLISH, STATS. Prints \"listening on HOST:PORT\" when ready;\n"
    "SIGTERM or SIGINT stops it gracefully.\n"
    "\n"
    "Server options:\n"
    "  --listen HOST:PORT|unix:PATH   where to listen (default 127.0.0.1:7542; port 0: any free)\n"
    "  --password TEXT                require this password at login\n"
    "  --tls-certificate FILE         TLS on every connection (PEM chain; with --tls-key)\n"
    "  --tls-key FILE                 the certificate's private key (PEM)\n"
    "  --max-frame-bytes N            largest frame accepted (default 16777216)\n"
    "  --login-timeout-ms N           login must finish within N ms (default 30000; 0: none)\n"
    "  --handshake-timeout-ms N       TLS handshake within N ms (default 10000; 0: none)\n"
    "  --idle-timeout-ms N            close sessions idle for N ms (default 0: never)\n"
    "  --drain-ms N                   on stop, let requests finish for N ms (default 5000)\n"
    "  --stats-ms N                   print statistics every N ms\n"
    "  --help                         print this and exit\n"
    "\n"
    "Engine options:\n"
    "  --actorloop.io=workers=N[:cpus=LIST]    the I/O workers (default: one per CPU)\n%s\n",
    runtime::engine::options_help().c_str());
}

} // namespace

int main(int argc, char** argv) {
  for (int index = 1; index < argc; ++index)
    if (std::string_view{argv[index]} == "--help" || std::string_view{argv[index]} == "-h") {
      print_usage();
      return 0;
    }
  // Before the engine starts any thread, so that every thread inherits the
  // mask and the signals can only arrive through the signalfd.
  netio::block_signals({SIGTERM, SIGINT});
  try {
    netio::server_options options;
    options.listen = netio::endpoint::parse(
      sample::take_option(argc, argv, "--listen").value_or("127.0.0.1:7542"));
    if (auto password = sample::take_option(argc, argv, "--password"))
      options.password = *password;
    auto certificate = sample::take_option(argc, argv, "--tls-certificate");
    auto key = sample::take_option(argc, argv, "--tls-key");
    if (certificate.has_value() != key.has_value())
      throw std::invalid_argument("--tls-certificate and --tls-key go together");
    if (certificate) {
      netio::tls_options tls;
      tls.role = netio::tls_role::server;
      tls.certificate_chain_file = *certificate;
      tls.private_key_file = *key;
      tls.verify_peer = false;
      options.tls = std::make_shared<netio::tls_context>(tls);
    }
    if (auto limit = sample::take_number_option(argc, argv, "--max-frame-bytes"))
      options.limits.max_frame_bytes = static_cast<std::uint32_t>(*limit);
    if (auto limit = sample::take_number_option(argc, argv, "--login-timeout-ms"))
      options.login_timeout = std::chrono::milliseconds(*limit);
    if (auto limit = sample::take_number_option(argc, argv, "--handshake-timeout-ms"))
      options.handshake_timeout = std::chrono::milliseconds(*limit);
    if (auto limit = sample::take_number_option(argc, argv, "--idle-timeout-ms"))
      options.idle_timeout = std::chrono::milliseconds(*limit);
    auto drain = std::chrono::milliseconds(sample::take_number_option(argc, argv, "--drain-ms").value_or(5000));
    auto stats_every = sample::take_number_option(argc, argv, "--stats-ms");

    runtime::engine engine{argc, argv};
    netio::message_server server{engine, options};
    say("listening on ", server.local_endpoint().to_string());

    std::mutex mutex;
    std::condition_variable stop_requested;
    int stop_signal = 0;
    netio::context signals{engine};
    for (int number : {SIGTERM, SIGINT})
      signals.set_signal(number, [&](int received) {
        // An ordinary function on an I/O worker: locks are fine here.
        std::lock_guard guard{mutex};
        stop_signal = received;
        stop_requested.notify_all();
      });

    {
      std::unique_lock guard{mutex};
      while (stop_signal == 0) {
        if (stats_every) {
          if (!stop_requested.wait_for(guard, std::chrono::milliseconds(*stats_every),
                                       [&] { return stop_signal != 0; })) {
            guard.unlock();
            print_statistics(engine, server);
            guard.lock();
          }
        } else {
          stop_requested.wait(guard);
        }
      }
    }
    say("stopping on ", stop_signal == SIGTERM ? "SIGTERM" : "SIGINT", ": draining in-flight requests");
    server.stop(drain);
    print_statistics(engine, server);
    say("stopped cleanly");
    return 0;
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "actorloop-server: %s\n", failure.what());
    return 2;
  }
}
