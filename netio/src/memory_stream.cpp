#include <actorloop/netio/memory_stream.hpp>

#include <actorloop/netio/error.hpp>

#include <algorithm>
#include <deque>
#include <mutex>

namespace actorloop::netio {

struct memory_faults::shared {
  explicit shared(memory_stream_options settings) : options(settings) {}

  struct direction {
    std::deque<std::byte> bytes;
    bool closed = false; // the writer shut down its sending side
  };

  mutable std::mutex mutex;
  memory_stream_options options;
  direction to_second; // written by first, read by second
  direction to_first;  // written by second, read by first
  bool stalled = false;
  bool reset = false;
  bool reset_armed = false;
  std::size_t bytes_until_reset = 0;
};

namespace {

class memory_end final : public byte_stream {
public:
  memory_end(std::shared_ptr<memory_faults::shared> state, bool first)
    : state_(std::move(state)), first_(first) {}

  ~memory_end() override { shutdown_send(); }

  std::size_t read_some(std::span<std::byte> buffer, std::error_code& error) override {
    std::lock_guard guard{state_->mutex};
    auto& incoming = first_ ? state_->to_first : state_->to_second;
    if (state_->stalled && !state_->reset)
      return 0;
    // Bytes that arrived before a reset are still read; the reset follows.
    if (incoming.bytes.empty()) {
      if (state_->reset)
        error = errc::connection_reset;
      else if (incoming.closed)
        error = errc::connection_closed;
      return 0;
    }
    auto limit = state_->options.max_read == 0 ? buffer.size() : std::min(buffer.size(), state_->options.max_read);
    auto count = std::min(limit, incoming.bytes.size());
    std::copy_n(incoming.bytes.begin(), count, buffer.begin());
    incoming.bytes.erase(incoming.bytes.begin(), incoming.bytes.begin() + static_cast<std::ptrdiff_t>(count));
    return count;
  }

  std::size_t write_some(std::span<const std::byte> data, std::error_code& error) override {
    std::lock_guard guard{state_->mutex};
    if (state_->reset) {
      error = errc::connection_reset;
      return 0;
    }
    auto& outgoing = first_ ? state_->to_second : state_->to_first;
    if (outgoing.closed) {
      error = errc::not_connected;
      return 0;
    }
    auto room = state_->options.capacity > outgoing.bytes.size() ? state_->options.capacity - outgoing.bytes.size() : 0;
    auto count = std::min(data.size(), room);
    if (state_->options.max_write != 0)
      count = std::min(count, state_->options.max_write);
    bool resetting = false;
    if (state_->reset_armed && count >= state_->bytes_until_reset) {
      count = state_->bytes_until_reset;
      resetting = true;
    }
    outgoing.bytes.insert(outgoing.bytes.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(count));
    if (state_->reset_armed)
      state_->bytes_until_reset -= count;
    if (resetting) {
      // The bytes before the mark were "sent"; the peer then sees a reset
      // in place of the rest (what a dropped TCP connection looks like).
      state_->reset = true;
      state_->reset_armed = false;
      if (count == 0)
        error = errc::connection_reset;
    }
    return count;
  }

  void shutdown_send() noexcept override {
    std::lock_guard guard{state_->mutex};
    (first_ ? state_->to_second : state_->to_first).closed = true;
  }

private:
  std::shared_ptr<memory_faults::shared> state_;
  bool first_;
};

} // namespace

void memory_faults::stall() {
  std::lock_guard guard{state_->mutex};
  state_->stalled = true;
}

void memory_faults::resume() {
  std::lock_guard guard{state_->mutex};
  state_->stalled = false;
}

void memory_faults::reset() {
  std::lock_guard guard{state_->mutex};
  state_->reset = true;
}

void memory_faults::reset_after_bytes(std::size_t bytes) {
  std::lock_guard guard{state_->mutex};
  state_->reset_armed = true;
  state_->bytes_until_reset = bytes;
}

void memory_faults::set_max_read(std::size_t bytes) {
  std::lock_guard guard{state_->mutex};
  state_->options.max_read = bytes;
}

std::size_t memory_faults::pending_first_to_second() const {
  std::lock_guard guard{state_->mutex};
  return state_->to_second.bytes.size();
}

std::size_t memory_faults::pending_second_to_first() const {
  std::lock_guard guard{state_->mutex};
  return state_->to_first.bytes.size();
}

memory_stream_pair make_memory_stream_pair(memory_stream_options options) {
  if (options.capacity == 0)
    throw error(errc::invalid_argument, "memory stream: the capacity must be at least 1 byte");
  auto state = std::make_shared<memory_faults::shared>(options);
  return memory_stream_pair{std::make_unique<memory_end>(state, true),
                            std::make_unique<memory_end>(state, false), memory_faults{state}};
}

} // namespace actorloop::netio
