#include <actorloop/netio/memory_stream.hpp>

#include <actorloop/netio/error.hpp>

#include <algorithm>
#include <deque>
#include <mutex>

namespace actorloop::netio {

namespace detail {

/// Everything both ends and the fault handle share; one mutex guards it all
/// (the pair is a test tool: simplicity over throughput).
struct memory_pair_state {
  explicit memory_pair_state(memory_stream_options settings) : options(settings) {}

  /// The bytes travelling one way and the state of that direction's ends.
  struct direction {
    std::deque<std::byte> bytes;
    bool writer_closed = false; // the writing end shut down its sending side
    bool reader_gone = false;   // the reading end was destroyed
  };

  std::mutex mutex;
  memory_stream_options options;
  direction to_second; // written by first, read by second
  direction to_first;  // written by second, read by first
  bool stalled = false;
  bool reset = false;
  bool reset_armed = false;
  std::size_t bytes_until_reset = 0;
};

} // namespace detail

namespace {

using detail::memory_pair_state;

class memory_end final : public byte_stream {
public:
  memory_end(std::shared_ptr<memory_pair_state> state, bool is_first)
    : state_(std::move(state)), is_first_(is_first) {}

  // Like closing a socket: the peer reads what was sent, then an orderly
  // end; what the peer still writes has no reader, so it fails.
  ~memory_end() override {
    std::lock_guard guard{state_->mutex};
    outgoing().writer_closed = true;
    incoming().reader_gone = true;
    incoming().bytes.clear();
  }

  std::size_t read_some(std::span<std::byte> buffer, std::error_code& error) override {
    std::lock_guard guard{state_->mutex};
    // A reset ends a stall: a stalled reader must still learn that the
    // connection is gone.
    if (state_->stalled && !state_->reset)
      return 0;
    auto& source = incoming();
    // Bytes that arrived before a reset or close are read first, so a reset
    // after a partial frame leaves exactly that partial frame with the reader.
    if (source.bytes.empty()) {
      if (state_->reset)
        error = errc::connection_reset;
      else if (source.writer_closed)
        error = errc::connection_closed;
      return 0;
    }
    auto limit = buffer.size();
    if (state_->options.max_read != 0)
      limit = std::min(limit, state_->options.max_read);
    auto count = std::min(limit, source.bytes.size());
    auto end = source.bytes.begin() + static_cast<std::ptrdiff_t>(count);
    std::copy(source.bytes.begin(), end, buffer.begin());
    source.bytes.erase(source.bytes.begin(), end);
    return count;
  }

  std::size_t write_some(std::span<const std::byte> data, std::error_code& error) override {
    std::lock_guard guard{state_->mutex};
    if (state_->reset) {
      error = errc::connection_reset;
      return 0;
    }
    auto& target = outgoing();
    if (target.writer_closed) {
      error = errc::not_connected;
      return 0;
    }
    if (target.reader_gone) {
      error = errc::connection_reset;
      return 0;
    }
    auto capacity = state_->options.capacity;
    auto room = capacity > target.bytes.size() ? capacity - target.bytes.size() : 0;
    auto count = std::min(data.size(), room);
    if (state_->options.max_write != 0)
      count = std::min(count, state_->options.max_write);
    bool crosses_mark = false;
    if (state_->reset_armed) {
      if (count >= state_->bytes_until_reset) {
        count = state_->bytes_until_reset;
        crosses_mark = true;
      }
      state_->bytes_until_reset -= count;
    }
    target.bytes.insert(target.bytes.end(), data.begin(),
                        data.begin() + static_cast<std::ptrdiff_t>(count));
    if (crosses_mark) {
      // The bytes before the mark were sent; the peer then sees a reset in
      // place of the rest (what a dropped TCP connection looks like). A write
      // that sent nothing reports the reset at once.
      state_->reset = true;
      state_->reset_armed = false;
      if (count == 0)
        error = errc::connection_reset;
    }
    return count;
  }

  void shutdown_send() noexcept override {
    std::lock_guard guard{state_->mutex};
    outgoing().writer_closed = true;
  }

private:
  memory_pair_state::direction& incoming() noexcept {
    return is_first_ ? state_->to_first : state_->to_second;
  }
  memory_pair_state::direction& outgoing() noexcept {
    return is_first_ ? state_->to_second : state_->to_first;
  }

  std::shared_ptr<memory_pair_state> state_;
  bool is_first_;
};

} // namespace

memory_faults::memory_faults(std::shared_ptr<detail::memory_pair_state> state)
  : state_(std::move(state)) {}

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
  state_->reset_armed = false;
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

void memory_faults::set_max_write(std::size_t bytes) {
  std::lock_guard guard{state_->mutex};
  state_->options.max_write = bytes;
}

std::size_t memory_faults::pending_first_to_second() const {
  std::lock_guard guard{state_->mutex};
  return state_->to_second.bytes.size();
}

std::size_t memory_faults::pending_second_to_first() const {
  std::lock_guard guard{state_->mutex};
  return state_->to_first.bytes.size();
}

bool memory_faults::is_reset() const {
  std::lock_guard guard{state_->mutex};
  return state_->reset;
}

memory_stream_pair make_memory_stream_pair(memory_stream_options options) {
  if (options.capacity == 0)
    throw error(errc::invalid_argument,
                "memory stream: capacity 0 would refuse every write; it must be at least 1 byte");
  auto state = std::make_shared<detail::memory_pair_state>(options);
  return memory_stream_pair{std::make_unique<memory_end>(state, true),
                            std::make_unique<memory_end>(state, false), memory_faults{state}};
}

} // namespace actorloop::netio
