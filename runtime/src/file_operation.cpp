// One overlapped file operation: its state, completion and cancellation, and
// the public `file_operation` handle.

#include "file_operation.hpp"

#include <cerrno>
#include <new>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace actorloop::runtime {

const char* to_string(file_op kind) noexcept {
  switch (kind) {
    case file_op::read: return "read";
    case file_op::write: return "write";
    case file_op::readv: return "readv";
    case file_op::writev: return "writev";
    case file_op::fsync: return "fsync";
    case file_op::fdatasync: return "fdatasync";
  }
  return "unknown";
}

namespace detail {

namespace {

/// The waitable's name: short enough for the string's inline buffer, so
/// naming costs no allocation per operation.
const char* name_of(file_op kind) noexcept {
  switch (kind) {
    case file_op::read: return "file read";
    case file_op::write: return "file write";
    case file_op::readv: return "file readv";
    case file_op::writev: return "file writev";
    case file_op::fsync: return "file fsync";
    case file_op::fdatasync: return "file fdatasync";
  }
  return "file operation";
}

// -- recycled state blocks --------------------------------------------------
//
// An operation's state is one heap block (the object with its shared_ptr
// control block). An applet that replaces each finished read by the next
// one took a block from malloc and gave one back per read, and a batch of
// 16 frees overflows glibc's per-thread cache (7 blocks of a size), so most
// of them took malloc's slower paths. Each thread now keeps up to
// `cached_blocks` freed blocks of its own and takes from them first. A block
// goes to the list of the thread that frees it (usually the applet's own,
// which drops the finished operation, or the reaping worker, the same thread
// here), so no list is shared and none needs a lock.

constexpr std::size_t cached_blocks = 64;

struct cached_block {
  cached_block* next;
};

/// Trivially destructible, so it stays usable for the whole thread exit: a
/// block freed by a later thread_local destructor then goes to operator
/// delete (`closed`).
struct block_cache {
  cached_block* head;
  std::size_t count;
  std::size_t size; // of every block in the list
  bool closing_registered;
  bool closed;
};

thread_local block_cache cache{};

/// Frees the thread's cached blocks when the thread ends.
struct block_cache_closer {
  block_cache_closer() noexcept = default;
  block_cache_closer(const block_cache_closer&) = delete;
  block_cache_closer& operator=(const block_cache_closer&) = delete;
  ~block_cache_closer() {
    cache.closed = true;
    while (cache.head != nullptr) {
      auto* block = cache.head;
#if defined(__SANITIZE_ADDRESS__)
      ASAN_UNPOISON_MEMORY_REGION(block, cache.size);
#endif
      cache.head = block->next;
      ::operator delete(block);
    }
    cache.count = 0;
  }
};

thread_local block_cache_closer closer;

void* take_block(std::size_t size) noexcept {
  auto* block = cache.head;
  if (block == nullptr || size != cache.size)
    return nullptr;
#if defined(__SANITIZE_ADDRESS__)
  ASAN_UNPOISON_MEMORY_REGION(block, size);
#endif
  cache.head = block->next;
  --cache.count;
  return block;
}

bool give_block(void* memory, std::size_t size) noexcept {
  if (cache.closed || cache.count == cached_blocks || (cache.count != 0 && size != cache.size) ||
      size < sizeof(cached_block))
    return false;
  if (!cache.closing_registered) {
    // The first use on this thread constructs `closer`, which registers its
    // destructor for the thread's exit.
    (void)&closer;
    cache.closing_registered = true;
  }
  auto* block = static_cast<cached_block*>(memory);
  block->next = cache.head;
  cache.head = block;
  cache.size = size;
  ++cache.count;
#if defined(__SANITIZE_ADDRESS__)
  // A use after free of a cached block is still reported.
  ASAN_POISON_MEMORY_REGION(block, size);
#endif
  return true;
}

/// The allocator of `file_op_state::make` (allocate_shared rebinds it to
/// its control block type, which is what gets allocated).
template <class T>
struct recycling_allocator {
  using value_type = T;
  recycling_allocator() noexcept = default;
  template <class U>
  recycling_allocator(const recycling_allocator<U>&) noexcept {}

  T* allocate(std::size_t count) {
    if (count == 1)
      if (void* block = take_block(sizeof(T)))
        return static_cast<T*>(block);
    return static_cast<T*>(::operator new(count * sizeof(T)));
  }

  void deallocate(T* memory, std::size_t count) noexcept {
    if (count == 1 && give_block(memory, sizeof(T)))
      return;
    ::operator delete(memory);
  }

  template <class U>
  friend bool operator==(const recycling_allocator&, const recycling_allocator<U>&) noexcept {
    return true;
  }
};

} // namespace

std::shared_ptr<file_op_state> file_op_state::make(file_op kind, std::uint64_t offset,
                                                   const iovec* buffers, std::size_t count) {
  auto op = std::allocate_shared<file_op_state>(recycling_allocator<file_op_state>{}, kind,
                                                offset, buffers, count);
  // Nobody else knows it yet: a plain store, no read-modify-write.
  op->handles.store(1, std::memory_order_relaxed);
  return op;
}

file_op_state::file_op_state(file_op kind, std::uint64_t offset, const iovec* buffers,
                             std::size_t count)
  : waitable_state(waitable_kind::file_operation, name_of(kind)), kind(kind), offset(offset) {
  if (kind == file_op::readv || kind == file_op::writev) {
    many_.assign(buffers, buffers + count);
    // An empty vector still needs one element for buffers(); a zero-length
    // iovec transfers nothing.
    if (many_.empty())
      many_.push_back(iovec{nullptr, 0});
  } else if (count == 1) {
    single_ = buffers[0];
  }
  for (std::size_t index = 0; index < count; ++index)
    requested_ += buffers[index].iov_len;
}

void file_op_state::prepare(const std::shared_ptr<file_op_state>& self,
                            std::shared_ptr<file_backend> backend) noexcept {
  // No other thread knows the operation yet: no lock.
  in_flight_self_ = self;
  backend_ = std::move(backend);
}

void file_op_state::set_descriptor(std::shared_ptr<file_descriptor> file) noexcept {
  descriptor = file->value;
  file_ = std::move(file);
}

void file_op_state::launch(const std::shared_ptr<file_op_state>& self) {
  // backend_ is only reset by finish, which cannot run before this start.
  backend_->start(self);
}

void file_op_state::complete(long result) noexcept {
  if (result >= 0)
    finish(file_result{static_cast<std::size_t>(result), {}});
  else
    finish(file_result{0, std::error_code{static_cast<int>(-result), std::generic_category()}});
}

void file_op_state::fail(std::error_code failure) noexcept {
  finish(file_result{0, failure});
}

void file_op_state::finish(file_result outcome) noexcept {
  if (finishing_.exchange(true, std::memory_order_acq_rel))
    return;
  // First let go of the descriptor (only the finisher touches file_ now),
  // so whoever sees the operation done also sees the descriptor closed if
  // this was its last user (file::close).
  file_.reset();
  // Dropped after unlocking: the last reference may destroy this state.
  std::shared_ptr<file_op_state> self;
  std::shared_ptr<file_backend> backend;
  {
    std::lock_guard guard{mutex_};
    done_ = true;
    result_ = outcome;
    completed_.store(true, std::memory_order_release);
    self.swap(in_flight_self_);
    backend.swap(backend_);
    // Done for good: dispatching (try_consume) and readiness tests take no
    // lock from here on.
    latch_ready_locked();
    signal_locked();
    completed_.notify_all();
  }
}

// done, result and the fast paths of cancel take no lock: the result is
// final once `completed_` is set.
bool file_op_state::done() const {
  return completed_.load(std::memory_order_acquire);
}

file_result file_op_state::result() const {
  if (!completed_.load(std::memory_order_acquire))
    throw error(errc::invalid_argument,
                "result of " + name() + " asked for while the operation is still in flight");
  return result_;
}

bool file_op_state::cancel_requested() const {
  std::lock_guard guard{mutex_};
  return cancel_requested_;
}

void file_op_state::cancel() noexcept {
  if (completed_.load(std::memory_order_acquire))
    return;
  std::shared_ptr<file_backend> backend;
  {
    std::lock_guard guard{mutex_};
    if (done_ || cancel_requested_)
      return;
    cancel_requested_ = true;
    backend = backend_;
  }
  if (backend)
    backend->cancel(*this);
}

void file_op_state::block_until_done() noexcept {
  while (!completed_.load(std::memory_order_acquire))
    completed_.wait(false, std::memory_order_acquire);
}

void file_op_state::cancel_and_wait() noexcept {
  if (completed_.load(std::memory_order_acquire))
    return; // The common case: the last handle of a finished operation.
  cancel();
  std::shared_ptr<file_backend> backend;
  {
    std::lock_guard guard{mutex_};
    if (done_)
      return;
    backend = backend_;
  }
  if (backend)
    backend->wait_done(*this);
}

} // namespace detail

// -- file_operation -----------------------------------------------------------

file_operation::file_operation(std::shared_ptr<detail::file_op_state>&& state) noexcept
  : op_(state.get()) {
  // The count of 1 that file_op_state::make set is this handle's.
  state_ = std::move(state);
}

file_operation::file_operation(const file_operation& other) noexcept
  : waitable(other), op_(other.op_) {
  if (op_)
    op_->handles.fetch_add(1, std::memory_order_relaxed);
}

file_operation::file_operation(file_operation&& other) noexcept
  : waitable(std::move(other)), op_(std::exchange(other.op_, nullptr)) {}

file_operation& file_operation::operator=(const file_operation& other) {
  if (this != &other) {
    file_operation copy{other};
    *this = std::move(copy);
  }
  return *this;
}

file_operation& file_operation::operator=(file_operation&& other) {
  if (this != &other) {
    release();
    waitable::operator=(std::move(other));
    op_ = std::exchange(other.op_, nullptr);
  }
  return *this;
}

file_operation::~file_operation() {
  release();
}

void file_operation::release() noexcept {
  // The last handle: the caller's buffer may be freed right after this, so
  // make sure the kernel (or the I/O thread) is done with it. The state is
  // alive meanwhile (the waitable base still holds it).
  if (op_ && op_->handles.fetch_sub(1, std::memory_order_acq_rel) == 1)
    op_->cancel_and_wait();
  op_ = nullptr;
}

namespace {

detail::file_op_state& op_of(detail::file_op_state* op) {
  if (op == nullptr)
    throw error(errc::invalid_argument, "operation on an empty file_operation handle");
  return *op;
}

} // namespace

bool file_operation::done() const {
  return op_of(op_).done();
}

file_result file_operation::result() const {
  return op_of(op_).result();
}

void file_operation::cancel() {
  op_of(op_).cancel();
}

file_op file_operation::op() const {
  return op_of(op_).kind;
}

std::uint64_t file_operation::offset() const {
  return op_of(op_).offset;
}

std::size_t file_operation::requested() const {
  return op_of(op_).requested();
}

} // namespace actorloop::runtime
