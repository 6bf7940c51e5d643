// One overlapped file operation: its state, completion and cancellation, and
// the public `file_operation` handle.

#include "file_operation.hpp"

#include <cerrno>

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

file_op_state::file_op_state(file_op kind, std::shared_ptr<file_descriptor> descriptor,
                             const std::string& path, std::uint64_t offset,
                             const iovec* buffers, std::size_t count)
  : waitable_state(waitable_kind::file_operation, std::string{to_string(kind)} + " " + path),
    kind(kind), offset(offset), descriptor(descriptor ? descriptor->value : -1),
    file_(std::move(descriptor)) {
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

void file_op_state::launch(const std::shared_ptr<file_op_state>& self,
                           std::shared_ptr<file_backend> backend) {
  {
    std::lock_guard guard{mutex_};
    in_flight_self_ = self;
    backend_ = backend;
  }
  backend->start(self);
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
  // First let go of the descriptor, so whoever sees the operation done also
  // sees the descriptor closed if this was its last user (file::close).
  std::shared_ptr<file_descriptor> file;
  {
    std::lock_guard guard{mutex_};
    if (finishing_)
      return;
    finishing_ = true;
    file.swap(file_);
  }
  file.reset();
  // Dropped after unlocking: the last reference may destroy this state.
  std::shared_ptr<file_op_state> self;
  std::shared_ptr<file_backend> backend;
  {
    std::lock_guard guard{mutex_};
    done_ = true;
    result_ = outcome;
    self.swap(in_flight_self_);
    backend.swap(backend_);
    signal_locked();
    done_changed_.notify_all();
  }
}

bool file_op_state::done() const {
  std::lock_guard guard{mutex_};
  return done_;
}

file_result file_op_state::result() const {
  std::lock_guard guard{mutex_};
  if (!done_)
    throw error(errc::invalid_argument,
                "result of " + name() + " asked for while the operation is still in flight");
  return result_;
}

bool file_op_state::cancel_requested() const {
  std::lock_guard guard{mutex_};
  return cancel_requested_;
}

void file_op_state::cancel() noexcept {
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
  std::unique_lock guard{mutex_};
  done_changed_.wait(guard, [&] { return done_; });
}

void file_op_state::cancel_and_wait() noexcept {
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

file_op_token::~file_op_token() {
  // The caller's buffer may be freed right after this: make sure the kernel
  // (or the I/O thread) is done with it.
  if (op)
    op->cancel_and_wait();
}

} // namespace detail

// -- file_operation -----------------------------------------------------------

file_operation::file_operation(std::shared_ptr<detail::file_op_state> state)
  : waitable(state), token_(std::make_shared<detail::file_op_token>()) {
  token_->op = std::move(state);
}

namespace {

detail::file_op_state& op_of(const std::shared_ptr<detail::file_op_token>& token) {
  if (!token)
    throw error(errc::invalid_argument, "operation on an empty file_operation handle");
  return *token->op;
}

} // namespace

bool file_operation::done() const {
  return op_of(token_).done();
}

file_result file_operation::result() const {
  return op_of(token_).result();
}

void file_operation::cancel() {
  op_of(token_).cancel();
}

file_op file_operation::op() const {
  return op_of(token_).kind;
}

std::uint64_t file_operation::offset() const {
  return op_of(token_).offset;
}

std::size_t file_operation::requested() const {
  return op_of(token_).requested();
}

} // namespace actorloop::runtime
