#include <actorloop/netio/stream.hpp>

#include "channel.hpp"
#include <actorloop/netio/detail/io_worker.hpp>
#include <actorloop/netio/detail/resolver.hpp>
#include "security.hpp"
#include <actorloop/netio/detail/socket_ops.hpp>

#include <actorloop/netio/error.hpp>

#include <future>
#include <sys/epoll.h>
#include <unistd.h>

namespace actorloop::netio {

namespace detail {

struct stream_access {
  static stream make(std::shared_ptr<stream::state> shared) { return stream{std::move(shared)}; }
};

} // namespace detail

class stream::state final : public detail::channel_owner,
                            public std::enable_shared_from_this<stream::state> {
public:
  state(std::shared_ptr<detail::io_worker> worker, stream_options options)
    : worker(std::move(worker)), options(std::move(options)) {}

  /// Worker thread: wraps `fd` (connected or connecting) in a channel.
  void start(int fd, bool connecting, std::string tls_host) {
    self = shared_from_this(); // alive while the channel is
    detail::channel_options settings;
    settings.max_output_bytes = options.max_output_bytes;
    settings.read_chunk_bytes = options.read_chunk_bytes;
    settings.connect_timeout = options.connect_timeout;
    if (options.tls) {
      auto context = options.tls;
      settings.secure = [context, tls_host](std::unique_ptr<byte_stream> plain) {
        return detail::make_tls_layer(*context, tls_host, std::move(plain));
      };
    }
    channel = std::make_shared<detail::channel>(*worker, fd, connecting, *this, std::move(settings));
    channel->start();
  }

  void fail(std::error_code error, const std::string& detail) {
    if (finished)
      return;
    finished = true;
    stream handle{shared_from_this()};
    if (callbacks.on_closed)
      callbacks.on_closed(handle, error, detail);
  }

  void on_channel_open() override {
    stream handle{shared_from_this()};
    if (callbacks.on_open)
      callbacks.on_open(handle);
  }

  bool on_channel_message(message&&) override { return true; } // raw channels have no codec

  bool on_channel_bytes(std::span<const std::byte> bytes) override {
    stream handle{shared_from_this()};
    if (callbacks.on_data)
      callbacks.on_data(handle, bytes);
    return true;
  }

  void on_channel_writable() override {
    stream handle{shared_from_this()};
    if (callbacks.on_writable)
      callbacks.on_writable(handle);
  }

  void on_channel_closed(std::error_code error, const std::string& detail) override {
    auto kept = channel;
    auto me = std::move(self);
    // Let go of the channel and of ourselves outside the channel's call stack.
    worker->post([kept, me] {});
    fail(error, detail);
  }

  std::shared_ptr<detail::io_worker> worker;
  stream_options options;
  stream_callbacks callbacks;
  std::shared_ptr<detail::channel> channel;
  std::shared_ptr<state> self;
  bool finished = false;
  // Connect attempts.
  std::vector<detail::socket_address> addresses;
};

namespace {

void try_connect(const std::shared_ptr<stream::state>& target, std::string host,
                 std::error_code last, std::string detail) {
  while (!target->addresses.empty()) {
    auto address = target->addresses.front();
    target->addresses.erase(target->addresses.begin());
    std::error_code failure;
    std::string why;
    int fd = detail::start_connect(address, failure, why);
    if (fd >= 0) {
      target->start(fd, true, host);
      return;
    }
    last = failure;
    detail = why;
  }
  target->fail(last ? last : errc::connection_refused,
               detail.empty() ? "no address could be connected" : detail);
}

} // namespace

stream stream::connect(runtime::engine& engine, const endpoint& server, stream_callbacks callbacks,
                       stream_options options) {
  auto worker = detail::pool_of(engine).next_shared_worker();
  auto target = std::make_shared<state>(worker, std::move(options));
  target->callbacks = std::move(callbacks);
  auto host = target->options.tls_host.empty() ? server.host : target->options.tls_host;
  detail::resolve_async(engine, server, [target, worker, host](detail::resolution outcome) {
    worker->run_or_post([target, host, outcome = std::move(outcome)]() mutable {
      if (outcome.error) {
        target->fail(outcome.error, outcome.detail);
        return;
      }
      target->addresses = std::move(outcome.addresses);
      try_connect(target, host, {}, {});
    });
  });
  return detail::stream_access::make(target);
}

std::error_code stream::write(std::span<const std::byte> bytes) {
  if (!state_)
    return errc::not_connected;
  if (state_->worker->on_this_thread()) {
    if (!state_->channel || state_->channel->closed())
      return errc::not_connected;
    return state_->channel->send_encoded(bytes);
  }
  auto target = state_;
  std::vector<std::byte> copy{bytes.begin(), bytes.end()};
  if (!state_->worker->post([target, copy = std::move(copy)]() mutable {
        if (!target->channel || target->channel->closed())
          return;
        if (auto failure = target->channel->send_encoded(std::move(copy)))
          target->channel->close(failure, "write from another thread refused: output queue full");
      }))
    return errc::shutting_down;
  return {};
}

void stream::pause_reading() {
  if (!state_)
    return;
  auto target = state_;
  state_->worker->run_or_post([target] {
    if (target->channel)
      target->channel->pause_reading();
  });
}

void stream::resume_reading() {
  if (!state_)
    return;
  auto target = state_;
  state_->worker->run_or_post([target] {
    if (target->channel)
      target->channel->resume_reading();
  });
}

void stream::close() {
  if (!state_)
    return;
  auto target = state_;
  state_->worker->run_or_post([target] {
    if (target->channel)
      target->channel->close_after_flush();
  });
}

std::size_t stream::queued_output() const {
  if (!state_ || !state_->worker->on_this_thread() || !state_->channel)
    return 0;
  return state_->channel->output_bytes();
}

std::thread::id stream::io_thread() const {
  return state_ ? state_->worker->thread_id() : std::thread::id{};
}

// -- stream_listener ----------------------------------------------------------------------------

class stream_listener::state final : public detail::io_handler,
                                     public std::enable_shared_from_this<stream_listener::state> {
public:
  state(runtime::engine& engine, std::function<stream_callbacks(stream&)> on_accept,
        stream_options options)
    : engine(engine), on_accept(std::move(on_accept)), options(std::move(options)) {}

  ~state() override {
    if (fd >= 0)
      ::close(fd);
  }

  void on_io(std::uint32_t) noexcept override {
    auto& pool = detail::pool_of(engine);
    for (int round = 0; round < 256; ++round) {
      std::error_code failure;
      int accepted = detail::accept_connection(fd, nullptr, failure);
      if (accepted < 0)
        return;
      auto worker = pool.next_shared_worker();
      auto target = std::make_shared<stream::state>(worker, options);
      auto callback = on_accept;
      worker->run_or_post([target, callback, accepted] {
        auto handle = detail::stream_access::make(target);
        target->callbacks = callback(handle);
        target->start(accepted, false, {});
      });
    }
  }

  void on_worker_stopping() noexcept override { unregister(); }

  void unregister() {
    if (registered) {
      worker->remove(fd, *this);
      registered = false;
    }
  }

  runtime::engine& engine;
  std::function<stream_callbacks(stream&)> on_accept;
  stream_options options;
  int fd = -1;
  endpoint bound;
  detail::io_worker* worker = nullptr;
  bool registered = false;
};

stream_listener::stream_listener(runtime::engine& engine, const endpoint& where,
                                 std::function<stream_callbacks(stream&)> on_accept,
                                 stream_options options, int backlog)
  : state_(std::make_shared<state>(engine, std::move(on_accept), std::move(options))) {
  if (!state_->on_accept)
    throw error(errc::invalid_argument, "stream_listener: on_accept is empty");
  std::error_code failure;
  std::string detail;
  auto addresses = detail::resolve(where, true, failure, detail);
  if (failure)
    throw error(failure, "stream_listener: cannot listen on " + where.to_string() + ": " + detail);
  for (auto& address : addresses) {
    state_->fd = detail::open_listener(address, backlog, failure, detail);
    if (state_->fd >= 0)
      break;
  }
  if (state_->fd < 0)
    throw error(failure, "stream_listener: " + detail);
  state_->bound = detail::local_address(state_->fd).to_endpoint();
  auto& pool = detail::pool_of(engine);
  state_->worker = &pool.worker(0);
  auto target = state_;
  std::promise<std::error_code> registered;
  auto done = registered.get_future();
  if (!state_->worker->run_or_post([target, &registered] {
        auto result = target->worker->add(target->fd, EPOLLIN, *target);
        target->registered = !result;
        registered.set_value(result);
      }))
    throw error(errc::shutting_down, "stream_listener: the I/O workers are stopping");
  if (auto result = done.get())
    throw error(result, "stream_listener: registering the listener failed");
}

stream_listener::~stream_listener() {
  close();
}

endpoint stream_listener::local_endpoint() const {
  return state_->bound;
}

void stream_listener::close() {
  auto target = state_;
  if (target->worker->on_this_thread()) {
    target->unregister();
    return;
  }
  std::promise<void> closed;
  auto done = closed.get_future();
  if (target->worker->post([target, &closed] {
        target->unregister();
        closed.set_value();
      }))
    done.wait();
}

} // namespace actorloop::netio
