#pragma once
// The shared state of one file operation, the interface its backends
// implement (io_uring ring, blocking I/O threads), and an open file's state.

#include <actorloop/runtime/file.hpp>
#include <actorloop/runtime/waitable.hpp>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <sys/uio.h>
#include <vector>

namespace actorloop::runtime::detail {

class file_op_state;
class file_service;

/// Where operations run. Implementations: file_ring, file_threads.
class file_backend {
public:
  virtual ~file_backend() = default;
  /// Takes the operation (its `in_flight_self` keeps it alive) and starts it;
  /// or completes it at once with an error.
  virtual void start(const std::shared_ptr<file_op_state>& op) noexcept = 0;
  /// Asks for cancellation of an operation in flight. Never blocks.
  virtual void cancel(file_op_state& op) noexcept = 0;
  /// Blocks until `op` is complete (helping to reap if need be).
  virtual void wait_done(file_op_state& op) noexcept = 0;
  [[nodiscard]] virtual const char* name() const noexcept = 0;
};

/// A descriptor, closed when the last holder (the file, an operation in
/// flight) lets go of it.
struct file_descriptor {
  explicit file_descriptor(int value) noexcept : value(value) {}
  file_descriptor(const file_descriptor&) = delete;
  file_descriptor& operator=(const file_descriptor&) = delete;
  ~file_descriptor();
  const int value;
};

/// An open file: its descriptor and the operations in flight on it.
class file_state {
public:
  file_state(std::shared_ptr<file_service> service, int descriptor, std::string path);
  file_state(const file_state&) = delete;
  file_state& operator=(const file_state&) = delete;
  ~file_state();

  const std::shared_ptr<file_service> service;
  const std::string path;

  /// -1 once closed.
  [[nodiscard]] int descriptor() const;
  /// The descriptor for a new operation (null once closed).
  [[nodiscard]] std::shared_ptr<file_descriptor> descriptor_reference() const;
  /// Registers an operation; false once closed.
  bool track(const std::shared_ptr<file_op_state>& op);
  /// Refuses new operations and cancels those in flight.
  void close();
  [[nodiscard]] std::size_t in_flight() const;

private:
  mutable std::mutex mutex_;
  std::shared_ptr<file_descriptor> descriptor_;
  std::vector<std::weak_ptr<file_op_state>> operations_;
  std::size_t prune_at_ = 16;
};

/// One operation. The backend holds `in_flight_self` from start to
/// completion, so the state (the iovecs the kernel reads, the descriptor
/// it uses) outlives every handle while the kernel may touch it.
class file_op_state final : public waitable_state {
public:
  file_op_state(file_op kind, std::shared_ptr<file_descriptor> descriptor,
                const std::string& path, std::uint64_t offset, const iovec* buffers,
                std::size_t count);

  const file_op kind;
  const std::uint64_t offset;
  const int descriptor;

  /// The iovec array (one element for the plain forms).
  [[nodiscard]] const iovec* buffers() const noexcept {
    return many_.empty() ? &single_ : many_.data();
  }
  [[nodiscard]] std::size_t buffer_count() const noexcept {
    return many_.empty() ? (kind == file_op::fsync || kind == file_op::fdatasync ? 0 : 1)
                         : many_.size();
  }
  [[nodiscard]] std::size_t requested() const noexcept { return requested_; }

  /// Hands the operation to `backend` (which then holds it until complete).
  void launch(const std::shared_ptr<file_op_state>& self, std::shared_ptr<file_backend> backend);
  /// Records the kernel's result (bytes, or -errno) and wakes the waiters.
  /// Drops the backend's and the file's references; may destroy `*this`
  /// when no handle is left, so the caller must not touch it afterwards.
  void complete(long result) noexcept;
  /// Completes with a library error (never started).
  void fail(std::error_code failure) noexcept;

  [[nodiscard]] bool done() const;
  [[nodiscard]] file_result result() const;
  [[nodiscard]] bool cancel_requested() const;
  /// Asks for cancellation (see file_operation::cancel).
  void cancel() noexcept;
  /// Blocks until complete (backends whose completion needs no help).
  void block_until_done() noexcept;
  /// Cancels and blocks until complete (the last handle went away).
  void cancel_and_wait() noexcept;

protected:
  bool ready_locked() const override { return done_; }

private:
  void finish(file_result outcome) noexcept;

  iovec single_{};
  std::vector<iovec> many_;
  std::size_t requested_ = 0;
  // Guarded by mutex_ (the waitable's lock).
  bool finishing_ = false;
  bool done_ = false;
  bool cancel_requested_ = false;
  file_result result_;
  std::shared_ptr<file_op_state> in_flight_self_;
  std::shared_ptr<file_backend> backend_;
  std::shared_ptr<file_descriptor> file_;
  std::condition_variable done_changed_;
};

/// What every `file_operation` copy shares; the last one gone cancels and
/// waits (see file.hpp, "Buffer ownership").
struct file_op_token {
  std::shared_ptr<file_op_state> op;
  ~file_op_token();
};

} // namespace actorloop::runtime::detail
