// The blocking I/O thread pool backend (see file_threads.hpp).

#include "file_threads.hpp"

#include <caf/detail/set_thread_name.hpp>

#include <algorithm>
#include <cerrno>
#include <sys/uio.h>
#include <unistd.h>

namespace actorloop::runtime::detail {

namespace {

/// Runs the operation's system call; bytes, or -errno.
long perform(const file_op_state& op) noexcept {
  const iovec* buffers = op.buffers();
  auto offset = static_cast<off_t>(op.offset);
  for (;;) {
    long result = -1;
    switch (op.kind) {
      case file_op::read:
        result = ::pread(op.descriptor, buffers[0].iov_base, buffers[0].iov_len, offset);
        break;
      case file_op::write:
        result = ::pwrite(op.descriptor, buffers[0].iov_base, buffers[0].iov_len, offset);
        break;
      case file_op::readv:
        result = ::preadv(op.descriptor, buffers, static_cast<int>(op.buffer_count()), offset);
        break;
      case file_op::writev:
        result = ::pwritev(op.descriptor, buffers, static_cast<int>(op.buffer_count()), offset);
        break;
      case file_op::fsync: result = ::fsync(op.descriptor); break;
      case file_op::fdatasync: result = ::fdatasync(op.descriptor); break;
    }
    if (result < 0 && errno == ESPIPE) {
      // A pipe or FIFO: io_uring ignores the offset there; so do we.
      switch (op.kind) {
        case file_op::read: result = ::read(op.descriptor, buffers[0].iov_base, buffers[0].iov_len); break;
        case file_op::write: result = ::write(op.descriptor, buffers[0].iov_base, buffers[0].iov_len); break;
        case file_op::readv: result = ::readv(op.descriptor, buffers, static_cast<int>(op.buffer_count())); break;
        case file_op::writev: result = ::writev(op.descriptor, buffers, static_cast<int>(op.buffer_count())); break;
        case file_op::fsync:
        case file_op::fdatasync: break;
      }
    }
    if (result >= 0)
      return result;
    // Interrupted before transferring anything: io_uring would not report
    // that either.
    if (errno != EINTR)
      return -errno;
  }
}

} // namespace

file_threads::file_threads(std::size_t threads) : max_threads_(std::max<std::size_t>(threads, 1)) {}

file_threads::~file_threads() {
  stop();
}

void file_threads::start(const std::shared_ptr<file_op_state>& op) noexcept {
  bool accepted = false;
  bool stopped = false;
  {
    std::lock_guard guard{mutex_};
    stopped = stopping_;
    if (!stopping_) {
      if (idle_ == 0 && threads_.size() < max_threads_) {
        try {
          threads_.emplace_back([this] { run(); });
        } catch (...) {
          // The threads already running (if any) serve the queue.
        }
      }
      if (!threads_.empty()) {
        queue_.push_back(op);
        accepted = true;
      }
    }
  }
  if (accepted)
    work_.notify_one();
  else if (stopped) // Outside the lock: completing wakes waiters.
    op->fail(errc::scheduler_stopped);
  else
    op->fail(std::make_error_code(std::errc::resource_unavailable_try_again));
}

void file_threads::cancel(file_op_state& op) noexcept {
  std::shared_ptr<file_op_state> taken;
  {
    std::lock_guard guard{mutex_};
    auto position = std::find_if(queue_.begin(), queue_.end(),
                                 [&](const auto& each) { return each.get() == &op; });
    if (position == queue_.end())
      return; // Running (it completes with its real result) or done.
    taken = std::move(*position);
    queue_.erase(position);
  }
  taken->complete(-ECANCELED);
}

void file_threads::wait_done(file_op_state& op) noexcept {
  op.block_until_done();
}

void file_threads::stop() noexcept {
  std::vector<std::thread> threads;
  {
    std::lock_guard guard{mutex_};
    stopping_ = true;
    threads.swap(threads_);
  }
  work_.notify_all();
  for (auto& each : threads)
    each.join();
}

void file_threads::run() noexcept {
  caf::detail::set_thread_name("al.file-io");
  std::unique_lock guard{mutex_};
  for (;;) {
    if (queue_.empty()) {
      if (stopping_)
        return; // The queue is finished: nothing is left waiting.
      ++idle_;
      work_.wait(guard, [&] { return !queue_.empty() || stopping_; });
      --idle_;
      continue;
    }
    auto op = std::move(queue_.front());
    queue_.pop_front();
    guard.unlock();
    long result = perform(*op);
    op->complete(result);
    op.reset(); // May destroy the state: outside the lock.
    guard.lock();
  }
}

} // namespace actorloop::runtime::detail
