#include "channel.hpp"

#include <actorloop/runtime/detail/access.hpp>

#include <actorloop/netio/detail/socket_ops.hpp>

#include <actorloop/netio/error.hpp>

#include <sys/epoll.h>
#include <utility>

namespace actorloop::netio::detail {

namespace {

/// The buffer of one read and its delivery: the worker's shared receive
/// buffer, given back on every way out of the scope, or, when that is lent
/// already, `fallback` (the channel's own, made on first use).
class read_buffer_lease {
public:
  read_buffer_lease(io_worker& worker, std::size_t bytes, std::unique_ptr<std::byte[]>& fallback)
    : worker_(worker), buffer_(worker.borrow_read_buffer(bytes)), lent_(buffer_ != nullptr) {
    if (!lent_) {
      if (!fallback)
        fallback.reset(new std::byte[bytes]); // never zero-filled
      buffer_ = fallback.get();
    }
  }
  ~read_buffer_lease() {
    if (lent_)
      worker_.return_read_buffer();
  }
  read_buffer_lease(const read_buffer_lease&) = delete;
  read_buffer_lease& operator=(const read_buffer_lease&) = delete;
  [[nodiscard]] std::byte* get() const noexcept { return buffer_; }

private:
  io_worker& worker_;
  std::byte* buffer_;
  bool lent_;
};

/// Fires the connect timeout on the worker (scheduler timers run on the
/// group's worker, which is the I/O worker itself).
class connect_deadline final : public runtime::detail::deadline_target {
public:
  explicit connect_deadline(std::weak_ptr<channel> target) : target_(std::move(target)) {}
  void on_deadline_reached() noexcept override {
    if (auto alive = target_.lock(); alive && !alive->open() && !alive->closed())
      alive->close(errc::connect_timed_out, "connect timed out");
  }

private:
  std::weak_ptr<channel> target_;
};

/// Calls a member of the channel on the worker at a deadline, if the
/// channel is still alive then.
class channel_deadline final : public runtime::detail::deadline_target {
public:
  channel_deadline(std::weak_ptr<channel> target, void (*fire)(channel&))
    : target_(std::move(target)), fire_(fire) {}
  void on_deadline_reached() noexcept override {
    if (auto alive = target_.lock())
      fire_(*alive);
  }

private:
  std::weak_ptr<channel> target_;
  void (*fire_)(channel&);
};

std::shared_ptr<runtime::detail::deadline_target> schedule(channel& target, io_worker& worker,
                                                           runtime::duration after,
                                                           void (*fire)(channel&)) {
  auto timer = std::make_shared<channel_deadline>(target.weak_from_this(), fire);
  runtime::detail::schedule_deadline(runtime::detail::access::group(worker.engine().get_scheduler(worker.name())),
                                     runtime::clock::now() + after, timer);
  return timer;
}

} // namespace

channel::channel(io_worker& worker, int fd, bool connecting, channel_owner& owner,
                 channel_options options)
  : worker_(worker), fd_(fd), owner_(owner), options_(std::move(options)),
    state_(connecting ? state::connecting : state::open),
    stream_(std::make_unique<socket_stream>(fd)) {}

channel::~channel() {
  if (registered_)
    worker_.remove(fd_, *this);
}

void channel::start() {
  if (auto failure = worker_.add(fd_, 0, *this)) {
    finish(failure, "registering the socket with " + worker_.name() + " failed");
    return;
  }
  registered_ = true;
  if (state_ == state::connecting) {
    if (options_.connect_timeout > runtime::duration::zero()) {
      connect_timer_ = std::make_shared<connect_deadline>(weak_from_this());
      runtime::detail::schedule_deadline(
        runtime::detail::access::group(worker_.engine().get_scheduler(worker_.name())),
        runtime::clock::now() + options_.connect_timeout, connect_timer_);
    }
    update_interest();
  } else {
    on_connected();
  }
}

void channel::update_interest() {
  if (state_ == state::closed || !registered_)
    return;
  std::uint32_t wanted = 0;
  switch (state_) {
    case state::connecting: wanted = EPOLLOUT; break;
    case state::handshaking:
      wanted = EPOLLIN | ((security_.wants_write && security_.wants_write()) ? EPOLLOUT : 0u);
      break;
    case state::open:
      if (!reading_paused_)
        wanted |= EPOLLIN;
      // Output is written straight through while the socket takes it, so
      // unsent bytes here mean the last write came up short: wait for
      // writability. Inside a corked round the bytes wait for the round's
      // flush instead, so a request/reply never toggles EPOLLOUT (two
      // epoll_ctl calls per message otherwise); a registration made while
      // blocked stays until the output drains.
      if (corked_)
        wanted |= interest_ & EPOLLOUT;
      else if (output_bytes() > 0 || stream_->has_pending_output())
        wanted |= EPOLLOUT;
      break;
    case state::closed: break;
  }
  if (wanted == interest_)
    return;
  interest_ = wanted;
  if (auto failure = worker_.modify(fd_, wanted, *this))
    finish(failure, "updating the socket's readiness interest failed");
}

void channel::on_io(std::uint32_t events) noexcept {
  // Keep ourselves alive while a callback of the owner may drop us.
  auto keep = shared_from_this();
  switch (state_) {
    case state::connecting: {
      if (auto failure = pending_socket_error(fd_)) {
        finish(failure, "connect failed: " + failure.message());
        return;
      }
      on_connected();
      return;
    }
    case state::handshaking: handshake(); return;
    case state::open:
      if (reading_paused_ && (events & (EPOLLHUP | EPOLLERR))) {
        // Interest is 0 while paused, but the kernel reports a hang-up or
        // an error regardless, level-triggered: settle it now or the
        // worker spins until reading resumes.
        drain_after_hangup();
        if (state_ != state::open)
          return;
      }
      if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        read_available();
      if (state_ == state::open && (events & EPOLLOUT))
        write_pending();
      update_interest();
      return;
    case state::closed: return;
  }
}

void channel::on_connected() {
  connect_timer_.reset();
  set_no_delay(fd_);
  if (options_.secure) {
    security_ = options_.secure(std::move(stream_));
    stream_ = std::move(security_.stream);
    state_ = state::handshaking;
    if (options_.handshake_timeout > runtime::duration::zero())
      handshake_timer_ = schedule(*this, worker_, options_.handshake_timeout, [](channel& target) {
        if (target.state_ == state::handshaking)
          target.finish(errc::timed_out, "the TLS handshake did not finish in time");
      });
    handshake();
    return;
  }
  state_ = state::open;
  update_interest();
  owner_.on_channel_open();
  if (state_ == state::open)
    write_pending();
  update_interest();
}

void channel::handshake() {
  std::error_code failure;
  std::string detail;
  bool done = security_.step(failure, detail);
  if (failure) {
    finish(failure, detail.empty() ? failure.message() : detail);
    return;
  }
  if (!done) {
    update_interest();
    return;
  }
  state_ = state::open;
  handshake_timer_.reset();
  owner_.on_channel_open();
  if (state_ == state::open) {
    write_pending();
    // TLS may hold application bytes that arrived with the last handshake record.
    read_available();
  }
  update_interest();
}

std::error_code channel::send(const message& value) {
  if (state_ == state::closed || close_when_flushed_)
    return errc::not_connected;
  if (output_bytes() >= options_.max_output_bytes) {
    was_full_ = true;
    return errc::buffer_full;
  }
  if (output_offset_ > 0 && output_offset_ == output_.size()) {
    output_.clear();
    output_offset_ = 0;
  }
  if (auto failure = options_.wire->encode(value, output_))
    return failure;
  // While corked (inside a delivery round) the bytes wait for the round's
  // single flush: a reply made of several messages leaves in one send.
  if (can_write_through())
    write_pending();
  update_interest();
  return {};
}

std::error_code channel::send_encoded(std::span<const std::byte> bytes, bool beyond_limit) {
  if (state_ == state::closed || close_when_flushed_)
    return errc::not_connected;
  if (!beyond_limit && output_bytes() >= options_.max_output_bytes) {
    was_full_ = true;
    return errc::buffer_full;
  }
  if (output_bytes() == 0 && can_write_through()) {
    // Nothing queued: send from the caller's bytes and queue only what the
    // socket did not take (a bulk writer's 64 KiB chunk was copied into
    // the queue first, a fifth of its CPU time).
    // A reference to ourselves is taken only where the owner hears from us
    // (and may drop us): one atomic increment and decrement per send
    // otherwise, on every subscriber of a fan-out.
    std::error_code failure;
    auto sent = write_through(bytes, failure);
    if (failure) {
      auto keep = shared_from_this();
      finish(failure, "sending failed: " + failure.message());
      return {};
    }
    if (sent < bytes.size()) {
      reset_drained_output();
      output_.insert(output_.end(), bytes.begin() + static_cast<std::ptrdiff_t>(sent), bytes.end());
    } else if (was_full_) {
      // Drained at once: tell an owner that asked, as write_pending does.
      auto keep = shared_from_this();
      was_full_ = false;
      owner_.on_channel_writable();
      update_interest();
      return {};
    }
    update_interest();
    return {};
  }
  output_.insert(output_.end(), bytes.begin(), bytes.end());
  if (can_write_through())
    write_pending();
  update_interest();
  return {};
}

std::error_code channel::send_encoded(std::vector<std::byte>&& bytes, bool beyond_limit) {
  if (output_bytes() != 0 || !output_.empty() || state_ == state::closed || close_when_flushed_ ||
      (!beyond_limit && output_bytes() >= options_.max_output_bytes))
    return send_encoded(std::span<const std::byte>{bytes}, beyond_limit);
  // Nothing queued: the caller's buffer becomes the queue (no copy).
  output_.swap(bytes);
  output_offset_ = 0;
  if (can_write_through())
    write_pending();
  update_interest();
  return {};
}

bool channel::can_write_through() const noexcept {
  // Inside a corked round the round's end flushes; with EPOLLOUT registered
  // the socket is full and the readiness event flushes.
  return state_ == state::open && registered_ && !corked_ && !(interest_ & EPOLLOUT);
}

void channel::reset_drained_output() noexcept {
  if (output_offset_ > 0 && output_offset_ == output_.size()) {
    output_.clear();
    output_offset_ = 0;
  }
}

std::size_t channel::write_through(std::span<const std::byte> bytes, std::error_code& failure) {
  if (stream_->has_pending_output()) {
    if ((failure = stream_->flush()))
      return 0;
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    auto sent = stream_->write_some(bytes.subspan(done), failure);
    if (failure)
      return done;
    if (sent == 0)
      break;
    done += sent;
  }
  return done;
}

void channel::write_pending() {
  if (state_ != state::open)
    return;
  if (stream_->has_pending_output()) {
    if (auto failure = stream_->flush()) {
      finish(failure, "sending failed: " + failure.message());
      return;
    }
  }
  while (output_offset_ < output_.size()) {
    std::error_code failure;
    auto sent = stream_->write_some(
      std::span<const std::byte>{output_.data() + output_offset_, output_.size() - output_offset_},
      failure);
    if (failure) {
      finish(failure, "sending failed: " + failure.message());
      return;
    }
    if (sent == 0)
      break;
    output_offset_ += sent;
  }
  if (output_offset_ == output_.size()) {
    output_.clear();
    output_offset_ = 0;
    if (close_when_flushed_ && !stream_->has_pending_output()) {
      stream_->shutdown_send();
      if (close_reason_)
        finish(close_reason_, close_detail_);
      else
        finish(errc::connection_closed, "closed after sending everything");
      return;
    }
    if (was_full_) {
      was_full_ = false;
      owner_.on_channel_writable();
    }
  } else if (output_offset_ > (1u << 20)) {
    // Keep the buffer from creeping: drop what was sent once it is large.
    output_.erase(output_.begin(), output_.begin() + static_cast<std::ptrdiff_t>(output_offset_));
    output_offset_ = 0;
  }
}

void channel::read_available() {
  // Everything the owner sends while handling this input is flushed once,
  // at the end (fewer syscalls and segments per request/reply).
  // (Raw channels write through at once: their owners usually answer each
  // chunk with one write anyway, and measured no gain from corking.)
  bool outer = std::exchange(corked_, corked_ || static_cast<bool>(options_.wire));
  read_input();
  corked_ = outer;
  if (!corked_ && state_ == state::open && (output_bytes() > 0 || stream_->has_pending_output()) &&
      !(interest_ & EPOLLOUT))
    write_pending();
}

void channel::read_input() {
  // A TLS stream may hold decrypted input that the socket no longer signals,
  // so a secured channel reads until the stream says "nothing now" (or
  // filled less than the chunk and waits for the socket); a plain one stops
  // at a short read (the kernel buffer is empty then).
  const bool secured = static_cast<bool>(security_.step);
  // Read at most a few chunks per readiness event, so one busy socket cannot
  // starve the others on this worker.
  for (int round = 0; round < 4; ++round) {
    // (A read from inside the delivery of the frames just read would
    // overwrite them; the socket is level-triggered and reports it again.)
    if (state_ != state::open || reading_paused_ || delivering_read_)
      return;
    if (input_offset_ > 0 && input_offset_ == input_.size()) {
      input_.clear();
      input_offset_ = 0;
    }
    // Read into the worker's receive buffer, shared by all its sockets, and
    // deliver from there; what is left of it goes into input_ before it is
    // given back. (A read nested in another one's delivery finds it lent and
    // uses the channel's own.)
    read_buffer_lease lease{worker_, options_.read_chunk_bytes, scratch_};
    std::byte* buffer = lease.get();
    std::error_code failure;
    auto got = stream_->read_some(std::span<std::byte>{buffer, options_.read_chunk_bytes}, failure);
    if (got > 0) {
      if (input_offset_ == input_.size()) {
        // Nothing left over: hand the bytes over (raw) or decode them (framed)
        // in place, without copying them into input_ first.
        std::span<const std::byte> fresh{buffer, got};
        if (!options_.wire) {
          if (!owner_.on_channel_bytes(fresh))
            pause_reading();
        } else {
          deliver_in_place(fresh);
        }
      } else {
        input_.insert(input_.end(), buffer, buffer + got);
        deliver_buffered();
      }
    }
    if (state_ != state::open)
      return; // the bytes' handler closed the channel: its stream is gone
    if (failure) {
      // Deliver what arrived before the end, then report the end.
      if (state_ == state::open)
        finish(failure, failure == errc::connection_closed ? "the peer closed the connection"
                                                           : "receiving failed: " + failure.message());
      return;
    }
    // A short read means the kernel buffer is empty; for a TLS stream only
    // when it also says it waits for the socket (it may hold a failure to
    // report, or, if it did not say, more records).
    if (got == 0 || (got < options_.read_chunk_bytes &&
                     (!secured || (security_.wants_read && security_.wants_read()))))
      return;
  }
  if (secured) {
    // Budget used up with input possibly still inside TLS: continue later,
    // after the other sockets had their turn.
    auto self = weak_from_this();
    worker_.post([self] {
      if (auto alive = self.lock()) {
        alive->read_available();
        alive->update_interest();
      }
    });
  }
}

void channel::deliver_buffered() {
  if (!options_.wire) {
    // Raw channel: hand over everything buffered.
    if (state_ == state::open && !reading_paused_ && input_offset_ < input_.size()) {
      std::span<const std::byte> bytes{input_.data() + input_offset_, input_.size() - input_offset_};
      input_offset_ = input_.size();
      if (!owner_.on_channel_bytes(bytes))
        pause_reading();
    }
    return;
  }
  // A nested delivery (an owner resuming reading from its callback) goes
  // on from the same offset; only the outermost compacts input_, so the
  // bytes an outer delivery is reading stay where they are.
  const bool outermost = !delivering_input_;
  delivering_input_ = true;
  const bool accepted =
    deliver_frames(std::span<const std::byte>{input_.data(), input_.size()}, input_offset_);
  delivering_input_ = !outermost;
  if (!accepted || !outermost)
    return;
  if (input_offset_ > 0 && input_offset_ >= input_.size() / 2) {
    input_.erase(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(input_offset_));
    input_offset_ = 0;
  }
}

void channel::deliver_in_place(std::span<const std::byte> bytes) {
  // input_ holds nothing undelivered here. A callback that pauses and
  // resumes reading finds it empty, so the order stays that of the bytes.
  input_.clear();
  input_offset_ = 0;
  delivering_read_ = true;
  std::size_t at = 0;
  const bool accepted = deliver_frames(bytes, at);
  delivering_read_ = false;
  // A partial frame, or frames a pause held back, wait in input_.
  if (accepted && state_ != state::closed && at < bytes.size())
    input_.insert(input_.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at), bytes.end());
}

bool channel::deliver_frames(std::span<const std::byte> bytes, std::size_t& offset) {
  while (state_ == state::open && !reading_paused_ && offset < bytes.size()) {
    std::optional<message> nested;
    message* decoded = nullptr;
    auto result = decode_front(bytes.subspan(offset), nested, decoded);
    if (result.error) {
      refuse_input(result);
      return false;
    }
    if (result.consumed == 0)
      break;
    // Consumed before the owner hears of it: a nested delivery starts
    // after this frame.
    offset += result.consumed;
    hand_over(*decoded, result.consumed);
  }
  return true;
}

decode_result channel::decode_front(std::span<const std::byte> bytes,
                                    std::optional<message>& nested, message*& target) {
  target = decoded_busy_ ? &nested.emplace() : &decoded_;
  return options_.wire->decode(bytes, *target);
}

void channel::hand_over(message& decoded, std::size_t frame_bytes) {
  const bool reused = &decoded == &decoded_;
  if (reused)
    decoded_busy_ = true;
  const bool go_on = owner_.on_channel_message(std::move(decoded));
  if (reused) {
    decoded_busy_ = false;
    // What the owner did not move out stays for the next frame, up to a
    // bound: past it the storage is let go and grows anew.
    decoded_bytes_ += frame_bytes;
    if (decoded_bytes_ > max_decoded_bytes) {
      decoded_ = message{};
      decoded_bytes_ = 0;
    }
  }
  if (!go_on)
    pause_reading();
}

void channel::refuse_input(const decode_result& result) {
  // Nothing after a bad frame can be trusted: stop reading, let the owner
  // say why, send that, and close.
  reading_paused_ = true;
  close_reason_ = result.error;
  close_detail_ = result.detail;
  owner_.on_channel_decode_error(result.error, result.detail);
  close_after_flush();
}

void channel::drain_after_hangup() {
  // Buffer what the peer sent before it hung up (it stays undelivered until
  // reading resumes) and close on the error or the end: a reset peer will
  // never read a reply anyway.
  for (;;) {
    read_buffer_lease lease{worker_, options_.read_chunk_bytes, scratch_};
    std::byte* buffer = lease.get();
    std::error_code failure;
    auto got = stream_->read_some(std::span<std::byte>{buffer, options_.read_chunk_bytes}, failure);
    if (got > 0)
      input_.insert(input_.end(), buffer, buffer + got);
    if (failure) {
      finish(failure, failure == errc::connection_closed ? "the peer closed the connection"
                                                          : "receiving failed: " + failure.message());
      return;
    }
    if (got == 0) {
      // Hang-up reported but nothing to read and no error: the socket
      // cannot make progress either way.
      finish(errc::connection_reset, "the peer hung up");
      return;
    }
  }
}

void channel::pause_reading() {
  reading_paused_ = true;
  update_interest();
}

void channel::resume_reading() {
  if (!reading_paused_ || state_ == state::closed)
    return;
  reading_paused_ = false;
  auto keep = shared_from_this();
  deliver_buffered();
  update_interest();
}

void channel::close(std::error_code reason, std::string detail) {
  finish(reason, std::move(detail));
}

void channel::close_after_flush(runtime::duration limit) {
  if (state_ == state::closed)
    return;
  if (limit > runtime::duration::zero() && !flush_timer_)
    flush_timer_ = schedule(*this, worker_, limit, [](channel& target) {
      target.finish(errc::timed_out, "the peer did not read what was left to send in time");
    });
  close_when_flushed_ = true;
  if (state_ == state::open)
    write_pending();
  update_interest();
}

void channel::finish(std::error_code reason, std::string detail) {
  if (state_ == state::closed)
    return;
  state_ = state::closed;
  connect_timer_.reset();
  handshake_timer_.reset();
  flush_timer_.reset();
  if (registered_) {
    worker_.remove(fd_, *this);
    registered_ = false;
  }
  stream_.reset(); // closes the socket
  owner_.on_channel_closed(reason, detail);
}

void channel::on_worker_stopping() noexcept {
  auto keep = shared_from_this();
  finish(errc::shutting_down, "I/O worker " + worker_.name() + " is stopping");
}

} // namespace actorloop::netio::detail
