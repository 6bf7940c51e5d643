#pragma once
// The fallback backend: a small pool of blocking I/O threads doing
// pread/pwrite/preadv/pwritev/fsync, with the same results as io_uring.
// Used where io_uring is unavailable or refused, or when forced with
// --actorloop.file-io=threads. Completion runs on the I/O thread; waiters
// are woken from there (an applet's postselect still runs on its own
// scheduler).

#include "file_operation.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace actorloop::runtime::detail {

class file_threads final : public file_backend {
public:
  /// A pool of up to `threads` I/O threads, started on demand.
  explicit file_threads(std::size_t threads);
  file_threads(const file_threads&) = delete;
  file_threads& operator=(const file_threads&) = delete;
  ~file_threads() override;

  void start(const std::shared_ptr<file_op_state>& op) noexcept override;
  void cancel(file_op_state& op) noexcept override;
  void wait_done(file_op_state& op) noexcept override;
  [[nodiscard]] const char* name() const noexcept override { return "threads"; }

  /// Refuses new operations, lets the threads finish the queue, joins them.
  /// Must not run on one of the pool's threads.
  void stop() noexcept;

private:
  void run() noexcept;

  const std::size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable work_;
  std::deque<std::shared_ptr<file_op_state>> queue_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
};

} // namespace actorloop::runtime::detail
