// The io_uring backend (see file_ring.hpp for the reaping design and the
// lock order).

#include "file_ring.hpp"

#include "file_buffers.hpp"

#include "scheduler_group.hpp"
#include "thread_context.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace actorloop::runtime::detail {

namespace {

// Submission queue size; a full queue is submitted and refilled. The
// completion queue is larger so thousands of operations may be in flight
// before the kernel has to buffer overflowing completions.
constexpr unsigned submission_entries = 256;
constexpr unsigned completion_entries = 16384;

// Slots of the sparse fixed-buffer table: one per file_buffers block.
constexpr unsigned fixed_slots = 64;

// Slots of the sparse fixed-file table: one per registered file.
constexpr unsigned file_slots = 256;

// user_data of our own NOPs and cancel requests, whose completions carry no
// operation.
constexpr std::uint64_t no_operation = 0;

std::uint64_t tag(const file_op_state& op) noexcept {
  return reinterpret_cast<std::uint64_t>(&op);
}

/// A single read or write moves at most this much (Linux's own limit for
/// one call); the rest is a short transfer, reported as such.
unsigned clamp(std::size_t length) noexcept {
  return static_cast<unsigned>(std::min<std::size_t>(length, 0x7ffff000));
}

} // namespace

std::shared_ptr<file_ring> file_ring::create(scheduler_group& group, std::string& failure) {
  std::shared_ptr<file_ring> ring{new file_ring(group)};
  io_uring_params parameters{};
  parameters.flags = IORING_SETUP_CQSIZE;
  parameters.cq_entries = completion_entries;
  if (int failed = io_uring_queue_init_params(submission_entries, &ring->ring_, &parameters);
      failed < 0) {
    failure = std::string{"io_uring_queue_init: "} + std::strerror(-failed);
    ring->ring_.ring_fd = -1;
    return nullptr;
  }
  if (!(parameters.features & IORING_FEAT_EXT_ARG) || !(parameters.features & IORING_FEAT_NODROP)) {
    // Without EXT_ARG a timed wait would queue a timeout SQE, racing with
    // other submitters; without NODROP completions could be lost.
    failure = "the kernel's io_uring lacks IORING_FEAT_EXT_ARG or IORING_FEAT_NODROP";
    return nullptr; // the destructor closes the ring
  }
  // Without a sparse table (kernels before 5.19, or no locked memory left)
  // file_buffers stay unregistered here; everything else works.
  ring->fixed_table_ = io_uring_register_buffers_sparse(&ring->ring_, fixed_slots) == 0;
  // Likewise for registered files (the table counts against RLIMIT_NOFILE).
  ring->file_table_ = io_uring_register_files_sparse(&ring->ring_, file_slots) == 0;
  return ring;
}

file_ring::file_ring(scheduler_group& group)
  : group_(group.weak_from_this()), group_address_(&group) {
  ring_.ring_fd = -1;
}

file_ring::~file_ring() {
  if (ring_.ring_fd >= 0)
    io_uring_queue_exit(&ring_);
}

void file_ring::start(const std::shared_ptr<file_op_state>& op) noexcept {
  // Operations started by this group's own workers wait for the end of the
  // job (or the park) to be submitted together.
  bool own_worker = current_worker_group() == group_address_;
  std::error_code refused;
  {
    std::lock_guard guard{sq_mutex_};
    io_uring_sqe* sqe = nullptr;
    if (!stopped_) {
      sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) {
        submit_locked();
        sqe = io_uring_get_sqe(&ring_);
      }
    }
    if (stopped_)
      refused = errc::scheduler_stopped;
    else if (sqe == nullptr) // Could not even submit what was queued.
      refused = std::make_error_code(std::errc::resource_unavailable_try_again);
    else {
      auto count = static_cast<unsigned>(op->buffer_count());
      const iovec* buffers = op->buffers();
      const fixed_buffer* fixed = nullptr;
      if ((op->kind == file_op::read || op->kind == file_op::write) && !fixed_.empty())
        fixed = fixed_for(buffers[0].iov_base, buffers[0].iov_len);
      if (fixed != nullptr)
        fixed->block->fixed_operations.fetch_add(1, std::memory_order_relaxed);
      switch (op->kind) {
        case file_op::read:
          if (fixed != nullptr)
            io_uring_prep_read_fixed(sqe, op->descriptor, buffers[0].iov_base,
                                     clamp(buffers[0].iov_len), op->offset,
                                     static_cast<int>(fixed->slot));
          else
            io_uring_prep_read(sqe, op->descriptor, buffers[0].iov_base,
                               clamp(buffers[0].iov_len), op->offset);
          break;
        case file_op::write:
          if (fixed != nullptr)
            io_uring_prep_write_fixed(sqe, op->descriptor, buffers[0].iov_base,
                                      clamp(buffers[0].iov_len), op->offset,
                                      static_cast<int>(fixed->slot));
          else
            io_uring_prep_write(sqe, op->descriptor, buffers[0].iov_base,
                                clamp(buffers[0].iov_len), op->offset);
          break;
        case file_op::readv:
          io_uring_prep_readv(sqe, op->descriptor, buffers, count, op->offset);
          break;
        case file_op::writev:
          io_uring_prep_writev(sqe, op->descriptor, buffers, count, op->offset);
          break;
        case file_op::fsync: io_uring_prep_fsync(sqe, op->descriptor, 0); break;
        case file_op::fdatasync:
          io_uring_prep_fsync(sqe, op->descriptor, IORING_FSYNC_DATASYNC);
          break;
      }
      if (!files_.empty()) {
        // A registered file: the slot instead of the descriptor.
        const file_descriptor* file = op->descriptor_object();
        for (auto& each : files_)
          if (each.file == file) {
            sqe->fd = static_cast<int>(each.slot);
            sqe->flags |= IOSQE_FIXED_FILE;
            file->fixed_operations->fetch_add(1, std::memory_order_relaxed);
            break;
          }
      }
      io_uring_sqe_set_data64(sqe, tag(*op));
      in_flight_.fetch_add(1, std::memory_order_acq_rel);
      unsubmitted_.store(true, std::memory_order_release);
      if (!own_worker)
        submit_locked();
    }
  }
  if (refused) {
    // Outside sq_mutex_: completing wakes waiters, which may post a NOP.
    op->fail(refused);
    return;
  }
  // A plain thread (or another scheduler) started it: make sure one of our
  // workers reaps. Our own workers do so when they park or between jobs.
  if (!own_worker && !keeper_.load(std::memory_order_acquire))
    if (auto group = group_.lock())
      group->wake_for_files();
}

void file_ring::submit_locked() noexcept {
  if (!unsubmitted_.load(std::memory_order_acquire))
    return;
  int submitted = io_uring_submit(&ring_);
  // EBUSY/EAGAIN: the kernel is backed up; what stays queued goes with the
  // next submit (the next reap flushes).
  bool refused = submitted == -EBUSY || submitted == -EAGAIN || submitted == -EINTR;
  backlogged_.store(refused, std::memory_order_release);
  if (!refused)
    unsubmitted_.store(io_uring_sq_ready(&ring_) != 0, std::memory_order_release);
}

void file_ring::flush() noexcept {
  if (!unsubmitted_.load(std::memory_order_acquire))
    return; // Set under sq_mutex_ by this thread or before a hand-off to it.
  std::lock_guard guard{sq_mutex_};
  submit_locked();
}

void file_ring::submit_cancel(std::uint64_t user_data, bool all) noexcept {
  std::lock_guard guard{sq_mutex_};
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    submit_locked();
    sqe = io_uring_get_sqe(&ring_);
  }
  if (sqe == nullptr)
    return; // Best effort: the operation still completes on its own.
  io_uring_prep_cancel64(sqe, user_data, all ? IORING_ASYNC_CANCEL_ANY : 0);
  io_uring_sqe_set_data64(sqe, no_operation);
  unsubmitted_.store(true, std::memory_order_release);
  submit_locked();
}

void file_ring::cancel(file_op_state& op) noexcept {
  // The operation is alive (the caller holds it), so its address cannot
  // belong to another operation meanwhile.
  submit_cancel(tag(op), false);
}

void file_ring::reap_locked() noexcept {
  // Submissions refused with EBUSY go out once completions were consumed
  // (other queued ones wait for their worker's batch, see after_job).
  if (backlogged_.load(std::memory_order_acquire))
    flush();
  for (;;) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(&ring_, &cqe) != 0 || cqe == nullptr)
      return;
    auto user_data = io_uring_cqe_get_data64(cqe);
    long result = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    if (user_data == no_operation)
      continue;
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    // The backend's reference (in_flight_self) keeps the state alive until
    // this call, which drops it.
    reinterpret_cast<file_op_state*>(user_data)->complete(result);
  }
}

void file_ring::release_cq() noexcept {
  cq_mutex_.unlock();
  {
    std::lock_guard guard{reap_mutex_};
    ++reap_generation_;
  }
  reaped_.notify_all();
}

void file_ring::wait_done(file_op_state& op) noexcept {
  for (;;) {
    if (op.done())
      return;
    std::unique_lock guard{reap_mutex_};
    auto generation = reap_generation_;
    if (cq_mutex_.try_lock()) {
      guard.unlock();
      if (!op.done()) {
        // Our CQE is queued or coming (the submit in flush sends it if it
        // was still waiting for the end of a job).
        flush();
        io_uring_cqe* cqe = nullptr;
        (void)io_uring_wait_cqe(&ring_, &cqe);
      }
      reap_locked();
      release_cq();
      continue;
    }
    // Someone else is reaping; it tells us when it let go.
    reaped_.wait(guard, [&] { return reap_generation_ != generation; });
  }
}

bool file_ring::before_park(std::uint64_t& seen) noexcept {
  flush();
  if (in_flight_.load(std::memory_order_acquire) == 0)
    return false;
  bool expected = false;
  if (!keeper_.compare_exchange_strong(expected, true, std::memory_order_acq_rel))
    return false;
  seen = wakes_.load(std::memory_order_acquire);
  return true;
}

void file_ring::keep(const time_point* deadline, std::uint64_t seen,
                     std::atomic<bool>& parked_in_ring) noexcept {
  flush();
  cq_mutex_.lock();
  // A wake posted before we got here was counted: do not wait for its NOP,
  // which another reaper may have consumed.
  if (wakes_.load(std::memory_order_acquire) == seen && io_uring_cq_ready(&ring_) == 0) {
    io_uring_cqe* cqe = nullptr;
    if (deadline) {
      auto left = std::max(*deadline - clock::now(), duration::zero());
      auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
      __kernel_timespec timeout{};
      timeout.tv_sec = seconds.count();
      timeout.tv_nsec =
        std::chrono::duration_cast<std::chrono::nanoseconds>(left - seconds).count();
      (void)io_uring_wait_cqe_timeout(&ring_, &cqe, &timeout);
    } else {
      (void)io_uring_wait_cqe(&ring_, &cqe);
    }
  }
  // Awake: wakers use the futex again (harmlessly) from here on.
  parked_in_ring.store(false, std::memory_order_release);
  keeper_.store(false, std::memory_order_release);
  reap_locked();
  release_cq();
}

void file_ring::wake_keeper() noexcept {
  wakes_.fetch_add(1, std::memory_order_acq_rel);
  std::lock_guard guard{sq_mutex_};
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    submit_locked();
    sqe = io_uring_get_sqe(&ring_);
  }
  if (sqe != nullptr) {
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, no_operation);
    unsubmitted_.store(true, std::memory_order_release);
  }
  // Even without room for the NOP, submitting queued SQEs makes progress
  // that ends the keeper's wait.
  submit_locked();
}

void file_ring::after_job(bool submit) noexcept {
  if (submit)
    flush();
  if (in_flight_.load(std::memory_order_acquire) == 0)
    return;
  // The completion queue's head belongs to whoever holds cq_mutex_, so even
  // the peek happens under it.
  if (!cq_mutex_.try_lock())
    return; // Someone else is reaping.
  if (io_uring_cq_ready(&ring_) != 0)
    reap_locked();
  release_cq();
}

void file_ring::shutdown() noexcept {
  {
    std::lock_guard guard{sq_mutex_};
    if (stopped_)
      return;
    stopped_ = true;
  }
  if (in_flight_.load(std::memory_order_acquire) != 0)
    submit_cancel(0, true);
  // Nobody reaps for us any more: wait for every completion.
  cq_mutex_.lock();
  while (in_flight_.load(std::memory_order_acquire) != 0) {
    flush();
    io_uring_cqe* cqe = nullptr;
    (void)io_uring_wait_cqe(&ring_, &cqe);
    reap_locked();
  }
  release_cq();
}

// -- registered buffers ---------------------------------------------------------

const fixed_buffer* file_ring::fixed_for(const void* base, std::size_t length) const noexcept {
  auto* begin = static_cast<const std::byte*>(base);
  for (auto& each : fixed_)
    if (begin >= each.begin && begin <= each.end &&
        length <= static_cast<std::size_t>(each.end - begin))
      return &each;
  return nullptr;
}

bool file_ring::register_block(file_buffer_block& block) noexcept {
  std::lock_guard guard{sq_mutex_};
  if (stopped_ || !fixed_table_ || fixed_.size() == fixed_slots)
    return false;
  unsigned slot = 0;
  while (std::any_of(fixed_.begin(), fixed_.end(), [&](auto& each) { return each.slot == slot; }))
    ++slot;
  iovec memory{block.begin(), static_cast<std::size_t>(block.end() - block.begin())};
  __u64 no_tag = 0;
  // Pins the pages; fails with ENOMEM beyond RLIMIT_MEMLOCK (unprivileged).
  if (io_uring_register_buffers_update_tag(&ring_, slot, &memory, &no_tag, 1) != 1)
    return false;
  fixed_.push_back({block.begin(), block.end(), slot, &block});
  return true;
}

void file_ring::unregister_block(const file_buffer_block& block) noexcept {
  std::lock_guard guard{sq_mutex_};
  auto found = std::find_if(fixed_.begin(), fixed_.end(),
                            [&](auto& each) { return each.block == &block; });
  if (found == fixed_.end())
    return;
  // An empty iovec clears the slot; the kernel lets go of the pages once no
  // submitted operation uses them any more.
  iovec nothing{nullptr, 0};
  __u64 no_tag = 0;
  (void)io_uring_register_buffers_update_tag(&ring_, found->slot, &nothing, &no_tag, 1);
  fixed_.erase(found);
}

// -- registered files -------------------------------------------------------------

int file_ring::register_file(const file_descriptor& file) noexcept {
  std::lock_guard guard{sq_mutex_};
  if (stopped_ || !file_table_)
    return -ENXIO;
  if (std::any_of(files_.begin(), files_.end(), [&](auto& each) { return each.file == &file; }))
    return -EEXIST;
  if (files_.size() == file_slots)
    return -ENFILE;
  unsigned slot = 0;
  while (std::any_of(files_.begin(), files_.end(), [&](auto& each) { return each.slot == slot; }))
    ++slot;
  int descriptor = file.value;
  int updated = io_uring_register_files_update(&ring_, slot, &descriptor, 1);
  if (updated != 1)
    return updated < 0 ? updated : -EIO;
  files_.push_back({&file, slot});
  return 0;
}

void file_ring::unregister_file(const file_descriptor& file) noexcept {
  std::lock_guard guard{sq_mutex_};
  auto found = std::find_if(files_.begin(), files_.end(),
                            [&](auto& each) { return each.file == &file; });
  if (found == files_.end())
    return;
  // -1 empties the slot; the kernel drops its reference to the open file
  // (no operation uses it any more: the descriptor's last one completed).
  int nothing = -1;
  (void)io_uring_register_files_update(&ring_, found->slot, &nothing, 1);
  files_.erase(found);
}

// -- slot ---------------------------------------------------------------------

file_ring_slot::~file_ring_slot() {
  shutdown();
}

std::shared_ptr<file_ring> file_ring_slot::ring(scheduler_group& group, std::string& failure) {
  std::lock_guard guard{mutex_};
  if (shut_)
    failure = "the scheduler stopped";
  else if (group.polled())
    failure = "an I/O scheduler's worker parks in its poller";
  else if (!ring_ && failure_.empty())
    ring_ = file_ring::create(group, failure_);
  if (!ring_ && failure.empty())
    failure = failure_;
  if (shut_)
    return nullptr;
  fast_.store(ring_.get(), std::memory_order_release);
  // Whoever made the ring (an operation, file_buffers, a registered file):
  // the workers' fast path then skips noting it, so note it here.
  if (ring_)
    note_backend("uring");
  return ring_;
}

void file_ring_slot::shutdown() noexcept {
  std::shared_ptr<file_ring> ring;
  {
    std::lock_guard guard{mutex_};
    shut_ = true;
    ring = ring_;
  }
  if (ring)
    ring->shutdown();
}

} // namespace actorloop::runtime::detail
