// Sample 07: Open Files' stream test app (test_stream), on actorloop sockets.
//
// A listener applet listens on 127.0.0.1 (a free port), enables ACCEPT and
// waits on its socket and on a timer. On ACCEPT it accepts immediately,
// inside postselect, and starts a server applet for the new connection
// (HEADER/BODY states: a 4-byte length, then that many bytes; it kills itself
// when the message is complete). On each timer tick it starts a client
// applet, which connects (CONNECTING -> CONNECTED on the connect readiness),
// enables WRITE while it has bytes to send, and kills itself once the
// message is out. After five rounds the listener kills itself; main waits
// for it and checks that every message arrived intact.
//
// Usage: actorloop-sample-07-stream [--period-ms N] [--rounds N] [--actorloop.*]

#include <actorloop/actors/applet.hpp>
#include <actorloop/netio/socket.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/timer.hpp>

#include <sample_support.hpp>

#include <atomic>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace actors = actorloop::actors;
namespace netio = actorloop::netio;
namespace runtime = actorloop::runtime;
using sample::say;

namespace {

constexpr std::string_view scheduler_name = "stream";

/// What the applets saw; shared between applets on one scheduler thread and
/// read by main after the listener is gone.
struct stream_report {
  std::mutex mutex;
  std::vector<std::string> received;
  int clients_done = 0;
  int connect_failures = 0;
};

std::string message_for(int round) {
  return "stream test message " + std::to_string(round) + std::string(1000 + round * 100, '.');
}

/// Reads one length-prefixed message, then kills itself.
class server_applet final : public actors::applet {
public:
  server_applet(netio::socket connection, stream_report& report)
    : connection_(std::move(connection)), report_(report) {}

  void init(actors::applet_context&) override {
    connection_.enable(netio::readiness::read | netio::readiness::close);
  }
  void preselect(actors::applet_context& context) override {
    if (!context.waiting_on(connection_))
      context.add_wait(connection_);
  }
  runtime::waitable postselect(actors::applet_context& context, const runtime::waitable&) override {
    std::byte buffer[4096];
    std::error_code failure;
    auto wanted = state_ == state::header ? 4 - header_.size() : body_length_ - body_.size();
    auto got = connection_.read(std::span<std::byte>{buffer, std::min(wanted, sizeof buffer)}, failure);
    if (failure) {
      say("server: connection ended early: ", failure.message());
      context.kill();
      return {};
    }
    auto* bytes = reinterpret_cast<const char*>(buffer);
    if (state_ == state::header) {
      header_.append(bytes, got);
      if (header_.size() == 4) {
        body_length_ = 0;
        for (unsigned char each : header_)
          body_length_ = (body_length_ << 8) | each;
        state_ = state::body;
      }
    } else {
      body_.append(bytes, got);
      if (body_.size() == body_length_) {
        say("server: received a message of ", body_length_, " bytes");
        std::lock_guard guard{report_.mutex};
        report_.received.push_back(body_);
        context.kill();
      }
    }
    return {};
  }
  void destroy(actors::applet_context&) override { connection_.close(); }

private:
  enum class state { header, body };
  netio::socket connection_;
  stream_report& report_;
  state state_ = state::header;
  std::string header_;
  std::size_t body_length_ = 0;
  std::string body_;
};

/// Connects, writes one message while WRITE is ready, and kills itself.
class client_applet final : public actors::applet {
public:
  client_applet(runtime::engine& engine, netio::endpoint server, int round, stream_report& report)
    : engine_(engine), server_(std::move(server)), round_(round), report_(report) {}

  void init(actors::applet_context&) override {
    auto body = message_for(round_);
    auto length = static_cast<std::uint32_t>(body.size());
    for (int shift = 24; shift >= 0; shift -= 8)
      pending_.push_back(static_cast<char>((length >> shift) & 0xff));
    pending_ += body;
    connection_ = netio::socket::connect(engine_, server_);
    connection_.enable(netio::readiness::connect);
  }
  void preselect(actors::applet_context& context) override {
    if (!context.waiting_on(connection_))
      context.add_wait(connection_);
  }
  runtime::waitable postselect(actors::applet_context& context, const runtime::waitable&) override {
    if (state_ == state::connecting) {
      if (auto failure = connection_.connect_result()) {
        say("client ", round_, ": connect failed: ", failure.message());
        std::lock_guard guard{report_.mutex};
        ++report_.connect_failures;
        context.kill();
        return {};
      }
      state_ = state::connected;
      // WRITE is enabled only while a message is pending.
      connection_.enable(netio::readiness::write);
      return {};
    }
    std::error_code failure;
    auto sent = connection_.write(
      std::span<const std::byte>{reinterpret_cast<const std::byte*>(pending_.data()) + offset_,
                                 pending_.size() - offset_},
      failure);
    if (failure) {
      say("client ", round_, ": write failed: ", failure.message());
      context.kill();
      return {};
    }
    offset_ += sent;
    if (offset_ == pending_.size()) {
      connection_.enable(netio::readiness::none);
      say("client ", round_, ": sent ", pending_.size(), " bytes");
      std::lock_guard guard{report_.mutex};
      ++report_.clients_done;
      context.kill();
    }
    return {};
  }
  void destroy(actors::applet_context&) override { connection_.close(); }

private:
  enum class state { connecting, connected };
  runtime::engine& engine_;
  netio::endpoint server_;
  int round_;
  stream_report& report_;
  netio::socket connection_;
  state state_ = state::connecting;
  std::string pending_;
  std::size_t offset_ = 0;
};

/// Listens, accepts inside postselect, and starts a client per timer tick.
class listener_applet final : public actors::applet {
public:
  listener_applet(runtime::engine& engine, runtime::duration period, int rounds, stream_report& report)
    : engine_(engine), period_(period), rounds_(rounds), report_(report) {}

  void init(actors::applet_context&) override {
    listener_ = netio::socket::listen(engine_, netio::endpoint::tcp("127.0.0.1", 0));
    listener_.enable(netio::readiness::accept);
    address_ = listener_.local_endpoint();
    say("listener: listening on ", address_.to_string());
    timer_.set(period_);
  }
  void preselect(actors::applet_context& context) override {
    if (!context.waiting_on(listener_))
      context.add_wait(listener_);
    if (!context.waiting_on(timer_))
      context.add_wait(timer_);
  }
  runtime::waitable postselect(actors::applet_context& context, const runtime::waitable& fired) override {
    if (fired == listener_) {
      // Accept right here: some platforms do not clear the listen event
      // until the listen has been serviced.
      while (auto connection = listener_.accept())
        (void)actors::spawn_applet(engine_, scheduler_name,
                                   std::make_unique<server_applet>(std::move(connection), report_),
                                   "stream server");
      return {};
    }
    if (count_ >= rounds_) {
      // Every client started: wait (a few ticks at most) for the last
      // messages to arrive, then end the test app.
      std::size_t received = 0;
      {
        std::lock_guard guard{report_.mutex};
        received = report_.received.size();
      }
      if (received >= static_cast<std::size_t>(rounds_) || ++grace_ticks_ > 50) {
        say("listener: ", rounds_, " rounds done, the listener kills itself");
        context.kill();
        return {};
      }
      timer_.set(period_);
      return {};
    }
    ++count_;
    say("listener: timer tick ", count_, ", starting a client");
    (void)actors::spawn_applet(engine_, scheduler_name,
                               std::make_unique<client_applet>(engine_, address_, count_, report_),
                               "stream client");
    timer_.set(period_);
    return {};
  }
  void destroy(actors::applet_context&) override {
    timer_.cancel();
    listener_.close();
  }

private:
  runtime::engine& engine_;
  runtime::duration period_;
  int rounds_;
  stream_report& report_;
  netio::socket listener_;
  netio::endpoint address_;
  runtime::timer timer_{"stream tick"};
  int count_ = 0;
  int grace_ticks_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  try {
    auto period = std::chrono::milliseconds(sample::take_number_option(argc, argv, "--period-ms").value_or(200));
    int rounds = static_cast<int>(sample::take_number_option(argc, argv, "--rounds").value_or(5));
    runtime::engine engine{argc, argv};
    sample::ensure_loop_scheduler(engine, scheduler_name);
    stream_report report;
    auto listener = actors::spawn_applet(
      engine, scheduler_name, std::make_unique<listener_applet>(engine, period, rounds, report),
      "stream listener");
    listener.wait();
    std::lock_guard guard{report.mutex};
    bool intact = static_cast<int>(report.received.size()) == rounds && report.clients_done == rounds &&
                  report.connect_failures == 0;
    for (int round = 1; round <= rounds && intact; ++round) {
      bool found = false;
      for (auto& each : report.received)
        found = found || each == message_for(round);
      intact = found;
    }
    say("stream: ", report.clients_done, " clients sent, ", report.received.size(),
        " messages received", intact ? ", all intact" : ", MISMATCH");
    return intact ? 0 : 1;
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "actorloop-sample-07-stream: %s\n", failure.what());
    return 2;
  }
}
