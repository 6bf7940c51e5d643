#pragma once
/// @file
/// Overlapped file I/O: a read, write or fsync at an explicit offset is
/// started, returns at once, and its completion is a waitable
/// (`file_operation`) that an applet registers in preselect, a plain thread
/// adds to a `wait_set`, or anyone waits on alone. This is Open Files'
/// overlapped handle (`OfcReadFile`/`OfcWriteFile` returning
/// `OFC_ERROR_IO_PENDING`, then `OfcGetOverlappedResult`), on Linux's own
/// asynchronous interface.
///
/// Backends (see docs/runtime.md, "File I/O"): io_uring, one ring per
/// scheduler, reaped by that scheduler's own workers; or, where io_uring is
/// unavailable or refused (ENOSYS, EPERM, `kernel.io_uring_disabled`), a pool
/// of four blocking I/O threads with the same semantics (cancel there takes
/// back operations still queued; a running one completes with its result).
/// The engine option `--actorloop.file-io=auto|uring|threads` forces one;
/// `scheduler_stats::file_io` names the one in use.
///
/// Results: a completed operation gives the byte count or a
/// `std::error_code` (the kernel's errno in `std::generic_category()`). End of
/// file is a zero-byte read. A short read or write is reported as it
/// happened; nothing is retried or hidden. A cancelled operation that the
/// kernel had not started gives `std::errc::operation_canceled`; one that had
/// already run gives its real result.
///
/// Buffer ownership: buffers belong to the caller and must stay valid and
/// untouched until the operation is complete (ready). The library never
/// copies them. Dropping the last `file_operation` handle of an operation in
/// flight cancels it and waits, before the destructor returns, until the
/// kernel (or the I/O thread) has let go of the buffer, so the caller may free
/// it right after; for a regular file that wait is at most one read or write.
/// The operation's internal state keeps the file descriptor open until the
/// kernel's completion arrives, so closing or dropping the `file` meanwhile
/// never lets the kernel touch a reused descriptor. On a pipe or FIFO the
/// offset is ignored (as io_uring does); a read there may wait indefinitely
/// for data, and with the thread pool a read already running cannot be
/// cancelled, so dropping its last handle waits for that data: keep the
/// handle until it completes.
///
/// Which thread completes: with io_uring, a worker of the scheduler whose
/// thread started the operation (an applet's own scheduler) reaps the
/// completion, without a thread hop; operations started on a plain thread
/// use the "default" scheduler's ring. With the thread pool, an I/O thread
/// completes it. Either way an applet waiting on it runs its postselect on
/// its own scheduler's threads, as for every waitable.
///
/// Thread safety: distinct objects: safe. Shared objects: safe; every member
/// function of `file` and `file_operation` may be called from any thread.

#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/waitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <sys/types.h>
#include <sys/uio.h>
#include <system_error>

namespace actorloop::runtime {

namespace detail {
class file_state;
class file_op_state;
} // namespace detail

/// What a file operation does.
enum class file_op { read, write, readv, writev, fsync, fdatasync };

/// A printable name ("read", ...).
[[nodiscard]] const char* to_string(file_op kind) noexcept;

/// The outcome of a completed file operation.
struct file_result {
  /// Bytes transferred (0 for fsync, 0 at end of file, 0 on error).
  std::size_t bytes = 0;
  /// Empty on success; otherwise the errno (generic category) or an `errc`.
  std::error_code error;
  [[nodiscard]] explicit operator bool() const noexcept { return !error; }
};

/// One started read, write or fsync. A waitable that becomes ready when the
/// operation completes and then stays ready (level-triggered, like a
/// manual-reset event; every waiter is woken). Copies share the operation.
class file_operation : public waitable {
public:
  file_operation() = default;
  file_operation(const file_operation& other) noexcept;
  file_operation(file_operation&& other) noexcept;
  file_operation& operator=(const file_operation& other);
  file_operation& operator=(file_operation&& other);
  /// The last handle of an operation in flight cancels it and waits until
  /// the kernel has let go of the buffer (see "Buffer ownership").
  ~file_operation();

  /// True once the operation completed (same as `ready()`).
  [[nodiscard]] bool done() const;
  /// The result. Throws `errc::invalid_argument` while still in flight.
  [[nodiscard]] file_result result() const;
  /// Shorthands for `result().bytes` and `result().error`.
  [[nodiscard]] std::size_t bytes() const { return result().bytes; }
  [[nodiscard]] std::error_code error() const { return result().error; }
  /// Asks the kernel to cancel the operation if it is still in flight; no
  /// effect once done. Never blocks; the operation still completes (with
  /// `std::errc::operation_canceled` or with its real result if it had run).
  void cancel();
  [[nodiscard]] file_op op() const;
  [[nodiscard]] std::uint64_t offset() const;
  /// Bytes asked for (sum over the buffers).
  [[nodiscard]] std::size_t requested() const;

private:
  friend class file;
  /// Takes the operation's first handle count (set by its creation).
  explicit file_operation(std::shared_ptr<detail::file_op_state>&& state) noexcept;
  void release() noexcept;
  // Counted by the `file_operation` copies only (not by plain `waitable`
  // copies or wait sets): the last one gone cancels and waits for the
  // kernel. The state is kept alive by the waitable's own reference.
  detail::file_op_state* op_ = nullptr;
};

/// An open file. A cheap, copyable handle; copies share the descriptor.
/// The descriptor is closed by `close` or when the last handle is gone, but
/// never before every operation started on it has completed.
class file {
public:
  file() = default;

  /// Opens `path` as `open(2)` does (`flags` such as `O_RDONLY`, `O_RDWR |
  /// O_CREAT | O_TRUNC`; O_CLOEXEC is always added; `mode` for O_CREAT).
  /// Operations then run on `owner`'s schedulers. Throws `error` with the
  /// errno (generic category) and a message naming the path, or
  /// `errc::bad_configuration` / `errc::system_failure` when the configured
  /// backend cannot start.
  [[nodiscard]] static file open(engine& owner, const std::string& path, int flags,
                                 mode_t mode = 0644);
  /// Takes ownership of an open descriptor (closed with the file). A bad
  /// descriptor is accepted; its operations fail with EBADF.
  [[nodiscard]] static file adopt(engine& owner, int descriptor, std::string name);

  [[nodiscard]] explicit operator bool() const noexcept { return state_ != nullptr; }
  /// The path given to `open` (or the name given to `adopt`).
  [[nodiscard]] const std::string& path() const;
  /// The descriptor, or -1 once closed.
  [[nodiscard]] int native_handle() const;
  [[nodiscard]] bool is_open() const;
  /// The file's size now (fstat). Throws `error` naming the path.
  [[nodiscard]] std::uint64_t size() const;

  /// Starts a read of up to `buffer.size()` bytes at `offset`.
  [[nodiscard]] file_operation read(std::uint64_t offset, std::span<std::byte> buffer);
  /// Starts a write of `buffer` at `offset`.
  [[nodiscard]] file_operation write(std::uint64_t offset, std::span<const std::byte> buffer);
  /// Vectored forms (`preadv`/`pwritev`): the buffers are filled in order.
  [[nodiscard]] file_operation readv(std::uint64_t offset,
                                     std::span<const std::span<std::byte>> buffers);
  [[nodiscard]] file_operation writev(std::uint64_t offset,
                                      std::span<const std::span<const std::byte>> buffers);
  /// Starts an fsync (or fdatasync with `data_only`).
  [[nodiscard]] file_operation fsync(bool data_only = false);

  /// Closes the file for new operations (they complete at once with
  /// `errc::closed`) and cancels those in flight; each still completes
  /// exactly once. The descriptor leaves the rings' file tables (see
  /// `register_with_rings`) and is closed once the last of them has
  /// completed. Never blocks. Idempotent.
  void close();

  /// Operations started and not yet complete.
  [[nodiscard]] std::size_t in_flight() const;

  /// Registered files (io_uring's fixed files), an option for the hot path:
  /// puts the descriptor in the file table of every scheduler's ring (a
  /// sparse table of 256 slots per ring), so that later operations on any
  /// ring that holds it are submitted with IOSQE_FIXED_FILE and the kernel
  /// skips looking the descriptor up (`fget`/`fput`) on each of them.
  /// Returns the number of rings holding it (0 with the thread pool, which
  /// has nothing to register; a ring whose table is full, or whose kernel
  /// has no sparse file tables, leaves the file unregistered there and its
  /// operations take the ordinary path with the same results). Calling it
  /// again registers with rings that do not hold it yet (none, usually).
  /// The registration lasts as long as the descriptor: `close` (or the last
  /// handle going) releases the table slots when the descriptor itself is
  /// closed, that is after every operation in flight has completed, so no
  /// slot is ever reused under an operation. Throws `error`: `errc::closed`
  /// for a closed file, EBADF (generic category) for a bad descriptor,
  /// `errc::invalid_argument` for an empty handle, each naming the path.
  /// Any thread.
  std::size_t register_with_rings();
  /// Rings holding the descriptor in their file tables. After `close` the
  /// count stays until the last operation in flight has completed (the
  /// descriptor is closed then), and is 0 from there on.
  [[nodiscard]] std::size_t registrations() const;
  /// Operations on this file submitted with IOSQE_FIXED_FILE so far.
  [[nodiscard]] std::uint64_t fixed_file_operations() const;

private:
  explicit file(std::shared_ptr<detail::file_state> state) noexcept : state_(std::move(state)) {}
  file_operation start(file_op kind, std::uint64_t offset, const iovec* buffers,
                       std::size_t count);
  detail::file_state& checked() const;
  std::shared_ptr<detail::file_state> state_;
};

} // namespace actorloop::runtime
