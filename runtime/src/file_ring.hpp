#pragma once
// The io_uring backend: one ring per scheduler, created on first use. The
// scheduler's own workers reap it: while operations are in flight one idle
// worker, the "ring keeper", parks in io_uring_wait_cqe (with the timer
// deadline) instead of on its futex, and a waker that must wake it posts a
// NOP to the ring. Busy workers peek for completions between jobs (no
// syscall). SQEs queued by the scheduler's own workers are submitted when
// the worker runs out of jobs, every 16 jobs, and before parking, so the
// operations of many turns go in one syscall.
//
// Registered (fixed) buffers: the ring keeps a sparse table of
// `fixed_slots` buffers; each file_buffer_block takes one slot, and a read or
// write whose buffer lies wholly inside a registered block is submitted with
// the fixed opcode. The table is guarded by sq_mutex_.
//
// Registered (fixed) files: the ring keeps a sparse table of `file_slots`
// descriptors; file::register_with_rings puts a file_descriptor in a free
// slot, and every operation whose descriptor object sits in the table is
// submitted with IOSQE_FIXED_FILE and the slot index. The descriptor leaves
// the table when it is closed (after its last operation completed). The
// table is guarded by sq_mutex_.
//
// Locks, always taken in this order: cq_mutex_ (one consumer of the
// completion queue at a time) -> the group's mutex (a completion wakes an
// applet) -> sq_mutex_ (one producer of the submission queue at a time).

#include "file_lock.hpp"
#include "file_operation.hpp"

#include <actorloop/runtime/clock.hpp>

#include <liburing.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace actorloop::runtime::detail {

class file_buffer_block;

/// One registered block in a ring's fixed-buffer table.
struct fixed_buffer {
  const std::byte* begin;
  const std::byte* end;
  unsigned slot;
  file_buffer_block* block;
};

class scheduler_group;

class file_ring final : public file_backend, public std::enable_shared_from_this<file_ring> {
public:
  /// Creates the ring of `group`; null with `failure` set if the kernel
  /// refuses.
  [[nodiscard]] static std::shared_ptr<file_ring> create(scheduler_group& group,
                                                         std::string& failure);
  file_ring(const file_ring&) = delete;
  file_ring& operator=(const file_ring&) = delete;
  ~file_ring() override;

  void start(const std::shared_ptr<file_op_state>& op) noexcept override;
  void cancel(file_op_state& op) noexcept override;
  void wait_done(file_op_state& op) noexcept override;
  [[nodiscard]] const char* name() const noexcept override { return "uring"; }

  // -- hooks for the group's workers ------------------------------------------

  /// Group mutex held, about to park: submits queued SQEs; true if the
  /// caller is now the ring keeper (operations in flight, no keeper yet),
  /// with `seen` the wake count to pass to `keep`.
  [[nodiscard]] bool before_park(std::uint64_t& seen) noexcept;
  /// The keeper's park: waits for a completion, a `wake_keeper` after
  /// `seen`, or `deadline`; clears `parked_in_ring`, reaps, and gives up the
  /// keeper role. No lock held.
  void keep(const time_point* deadline, std::uint64_t seen,
            std::atomic<bool>& parked_in_ring) noexcept;
  /// Makes the keeper's current or next `keep` return. Any thread.
  void wake_keeper() noexcept;
  /// Between jobs: submits queued SQEs (if `submit`), reaps completions
  /// that are ready.
  void after_job(bool submit) noexcept;
  /// Operations submitted and not yet reaped.
  [[nodiscard]] std::size_t in_flight() const noexcept {
    return in_flight_.load(std::memory_order_acquire);
  }
  /// The group stopped: refuse new operations, cancel and reap the rest.
  void shutdown() noexcept;

  // -- registered buffers (file_buffers) ----------------------------------------

  /// Registers `block` as one fixed buffer; false when the table is full,
  /// the ring stopped or the kernel refused (the block then works unfixed).
  [[nodiscard]] bool register_block(file_buffer_block& block) noexcept;
  /// Drops `block` from the table (before its memory is unmapped).
  void unregister_block(const file_buffer_block& block) noexcept;

  // -- registered files (file::register_with_rings) ----------------------------

  /// Puts `file` in a free slot of the file table: 0, or -EEXIST (already
  /// there), -ENFILE (table full), -ENXIO (no table: kernel before 5.19,
  /// ring stopped), or the kernel's -errno (e.g. -EBADF).
  [[nodiscard]] int register_file(const file_descriptor& file) noexcept;
  /// Clears `file`'s slot (its last operation has completed).
  void unregister_file(const file_descriptor& file) noexcept;

private:
  file_ring(scheduler_group& group);
  /// sq_mutex_ held: submits queued SQEs (retried later on EBUSY/EAGAIN).
  void submit_locked() noexcept;
  void flush() noexcept;
  /// cq_mutex_ held: completes every ready CQE.
  void reap_locked() noexcept;
  /// Unlocks cq_mutex_ and tells threads in `wait_done` to look again.
  void release_cq() noexcept;
  /// Queues a cancel of `user_data` (or of everything) and submits it.
  void submit_cancel(std::uint64_t user_data, bool all) noexcept;

  /// sq_mutex_ held: the fixed-buffer slot holding [base, base + length).
  [[nodiscard]] const struct fixed_buffer* fixed_for(const void* base, std::size_t length) const noexcept;

  io_uring ring_{};
  std::weak_ptr<scheduler_group> group_;
  scheduler_group* const group_address_;

  // Taken for every operation started: the inline lock (see file_lock.hpp).
  file_lock sq_mutex_;
  bool stopped_ = false;     // guarded by sq_mutex_
  bool fixed_table_ = false; // the sparse buffer table exists (sq_mutex_)
  std::vector<fixed_buffer> fixed_; // registered blocks (sq_mutex_)
  bool file_table_ = false;  // the sparse file table exists (sq_mutex_)
  struct fixed_file {
    const file_descriptor* file;
    unsigned slot;
  };
  std::vector<fixed_file> files_; // registered descriptors (sq_mutex_)
  // Set under sq_mutex_; read without it as a hint (a stale false only
  // delays a submit to the next flush by the same thread).
  std::atomic<bool> unsubmitted_{false};
  // The kernel refused the last submit (EBUSY/EAGAIN): retry after a reap.
  std::atomic<bool> backlogged_{false};

  std::mutex cq_mutex_;
  std::mutex reap_mutex_;
  std::condition_variable reaped_;
  std::uint64_t reap_generation_ = 0; // guarded by reap_mutex_

  std::atomic<std::size_t> in_flight_{0};
  std::atomic<bool> keeper_{false};
  std::atomic<std::uint64_t> wakes_{0};
};

/// The group's slot for its ring (a member of scheduler_group).
class file_ring_slot {
public:
  file_ring_slot() = default;
  file_ring_slot(const file_ring_slot&) = delete;
  file_ring_slot& operator=(const file_ring_slot&) = delete;
  ~file_ring_slot();

  /// The group's ring, created on first use; null for an I/O (polled)
  /// scheduler, a stopped one, or when the kernel refuses (`failure`).
  [[nodiscard]] std::shared_ptr<file_ring> ring(scheduler_group& group, std::string& failure);
  /// The ring if created (the workers' fast path); valid while the group lives.
  [[nodiscard]] file_ring* get() const noexcept { return fast_.load(std::memory_order_acquire); }
  /// Drains and closes the ring for good (the group's workers stopped).
  void shutdown() noexcept;
  /// The backend this scheduler's operations use ("" before the first).
  void note_backend(const char* name) noexcept { backend_.store(name); }
  [[nodiscard]] const char* backend() const noexcept { return backend_.load(); }

private:
  std::mutex mutex_;
  std::shared_ptr<file_ring> ring_;
  std::atomic<file_ring*> fast_{nullptr};
  bool shut_ = false;
  std::string failure_; // why the ring could not be created
  std::atomic<const char*> backend_{""};
};

} // namespace actorloop::runtime::detail
