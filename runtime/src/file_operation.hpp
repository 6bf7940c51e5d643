#pragma once
// The shared state of one file operation, the interface its backends
// implement (io_uring ring, blocking I/O threads), and an open file's state.

#include "file_lock.hpp"

#include <actorloop/runtime/file.hpp>
#include <actorloop/runtime/waitable.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <sys/uio.h>
#include <vector>

namespace actorloop::runtime::detail {

class file_op_state;
class file_service;
class file_ring;

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
/// flight) lets go of it. It may also sit in the fixed-file tables of rings
/// (file::register_with_rings); it leaves them when the last holder lets
/// go, so every operation that used a table slot has completed by then.
struct file_descriptor {
  file_descriptor(int value, std::shared_ptr<std::atomic<std::uint64_t>> fixed_operations) noexcept
    : value(value), fixed_operations(std::move(fixed_operations)) {}
  file_descriptor(const file_descriptor&) = delete;
  file_descriptor& operator=(const file_descriptor&) = delete;
  /// Unregisters from every ring's file table, then closes the descriptor.
  ~file_descriptor();
  const int value;

  /// Records that `ring` holds this descriptor in its file table.
  void registered_with(const std::shared_ptr<file_ring>& ring);
  /// Rings holding it in their file tables.
  [[nodiscard]] std::size_t registrations() const;
  /// Operations submitted with IOSQE_FIXED_FILE (shared with the file's
  /// state, which outlives the descriptor once closed).
  const std::shared_ptr<std::atomic<std::uint64_t>> fixed_operations;

private:
  mutable std::mutex mutex_;
  std::vector<std::weak_ptr<file_ring>> rings_; // guarded by mutex_
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
  /// The descriptor (null once closed).
  [[nodiscard]] std::shared_ptr<file_descriptor> descriptor_reference() const;
  /// Registers an operation and gives it the descriptor (one lock for
  /// both: this is the per-operation path); false once closed.
  bool track(const std::shared_ptr<file_op_state>& op);
  /// Refuses new operations and cancels those in flight.
  void close();
  [[nodiscard]] std::size_t in_flight() const;
  /// See file::register_with_rings and its neighbours.
  std::size_t register_with_rings();
  [[nodiscard]] std::size_t registrations() const;
  [[nodiscard]] std::uint64_t fixed_file_operations() const noexcept {
    return fixed_operations_->load(std::memory_order_relaxed);
  }

private:
  const std::shared_ptr<std::atomic<std::uint64_t>> fixed_operations_;
  // Taken once per operation started (track): the inline lock.
  mutable file_lock mutex_;
  std::shared_ptr<file_descriptor> descriptor_;
  // The descriptor after close, while operations in flight still hold it.
  std::weak_ptr<file_descriptor> closed_;
  // Operations started and not yet seen complete. Strong references: a
  // completed one stays until the next prune (at most about as many as are
  // in flight), which costs two reference count updates per operation where
  // a weak_ptr cost four (its own count, then lock() and release at prune).
  std::vector<std::shared_ptr<file_op_state>> operations_;
  std::size_t prune_at_ = 16;
};

/// One operation. The backend holds `in_flight_self` from start to
/// completion, so the state (the iovecs the kernel reads, the descriptor
/// it uses) outlives every handle while the kernel may touch it.
///
/// Per-operation cost (the read path of an applet): this state is the one
/// heap block of an operation (the `file_operation` handles count
/// themselves in `handles`, the waitable's name fits the string's inline
/// buffer), and it takes its own lock once at completion.
class file_op_state final : public waitable_state {
public:
  /// A new operation, its block taken from the calling thread's recycled
  /// blocks when there is one (see file_operation.cpp). `handles` starts at
  /// 1: the caller wraps it in exactly one `file_operation` that adopts it.
  [[nodiscard]] static std::shared_ptr<file_op_state> make(file_op kind, std::uint64_t offset,
                                                           const iovec* buffers,
                                                           std::size_t count);

  file_op_state(file_op kind, std::uint64_t offset, const iovec* buffers, std::size_t count);

  const file_op kind;
  const std::uint64_t offset;
  /// Set by `file_state::track` before the operation reaches a backend
  /// (-1 when the file was closed or adopted as such).
  int descriptor = -1;
  /// The `file_operation` handles (see file_op_release).
  std::atomic<std::size_t> handles{0};

  /// The iovec array (one element for the plain forms).
  [[nodiscard]] const iovec* buffers() const noexcept {
    return many_.empty() ? &single_ : many_.data();
  }
  [[nodiscard]] std::size_t buffer_count() const noexcept {
    return many_.empty() ? (kind == file_op::fsync || kind == file_op::fdatasync ? 0 : 1)
                         : many_.size();
  }
  [[nodiscard]] std::size_t requested() const noexcept { return requested_; }

  /// Before anyone else sees the operation (no lock): keeps it alive and
  /// names the backend that will run it (null: it will fail).
  void prepare(const std::shared_ptr<file_op_state>& self,
               std::shared_ptr<file_backend> backend) noexcept;
  /// Called by `file_state::track` under the file's lock.
  void set_descriptor(std::shared_ptr<file_descriptor> file) noexcept;
  /// The descriptor object while in flight (the ring's fixed-file lookup).
  [[nodiscard]] const file_descriptor* descriptor_object() const noexcept { return file_.get(); }
  /// Hands the operation to the backend given to `prepare`.
  void launch(const std::shared_ptr<file_op_state>& self);
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
  // The first finish wins (a completion and a refusal never both run, but
  // a second call must not touch the state).
  std::atomic<bool> finishing_{false};
  // done_ and result_ are written once, under mutex_ (the waitable's lock),
  // before `completed_` is set (release): whoever reads `completed_` true
  // (acquire) may read result_ without the lock. block_until_done waits on
  // it (std::atomic::wait: no condition variable to construct and destroy
  // per operation; a notify without waiters is a load).
  std::atomic<bool> completed_{false};
  // Guarded by mutex_.
  bool done_ = false;
  bool cancel_requested_ = false;
  file_result result_;
  std::shared_ptr<file_op_state> in_flight_self_;
  std::shared_ptr<file_backend> backend_;
  // Written before the operation starts, dropped by the one finisher.
  std::shared_ptr<file_descriptor> file_;
};

} // namespace actorloop::runtime::detail
