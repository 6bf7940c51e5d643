// An open file: opening and adopting descriptors, starting operations,
// closing with operations in flight.

#include "file_operation.hpp"
#include "file_ring.hpp"
#include "file_service.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>

namespace actorloop::runtime {

namespace detail {

file_descriptor::~file_descriptor() {
  // Every operation holds the descriptor until its completion: the kernel is
  // done with it, so neither the number nor a fixed-file slot can be reused
  // under it. The slots go first: the table holds its own reference to the
  // open file, which must not outlive the descriptor.
  std::vector<std::weak_ptr<file_ring>> rings;
  {
    std::lock_guard guard{mutex_};
    rings.swap(rings_);
  }
  for (auto& each : rings)
    if (auto ring = each.lock())
      ring->unregister_file(*this);
  if (value >= 0)
    ::close(value);
}

void file_descriptor::registered_with(const std::shared_ptr<file_ring>& ring) {
  std::lock_guard guard{mutex_};
  rings_.push_back(ring);
}

std::size_t file_descriptor::registrations() const {
  std::lock_guard guard{mutex_};
  return rings_.size();
}

file_state::file_state(std::shared_ptr<file_service> service, int descriptor, std::string path)
  : service(std::move(service)), path(std::move(path)),
    fixed_operations_(std::make_shared<std::atomic<std::uint64_t>>(0)),
    descriptor_(std::make_shared<file_descriptor>(descriptor, fixed_operations_)) {}

file_state::~file_state() = default;

int file_state::descriptor() const {
  std::lock_guard guard{mutex_};
  return descriptor_ ? descriptor_->value : -1;
}

std::shared_ptr<file_descriptor> file_state::descriptor_reference() const {
  std::lock_guard guard{mutex_};
  return descriptor_;
}

bool file_state::track(const std::shared_ptr<file_op_state>& op) {
  std::lock_guard guard{mutex_};
  if (!descriptor_)
    return false;
  op->set_descriptor(descriptor_);
  if (operations_.size() >= prune_at_) {
    // A completed operation's state may be destroyed here, under the file's
    // lock: its destructor takes no lock (finish dropped the descriptor, the
    // backend and the operation's own reference).
    std::erase_if(operations_,
                  [](const std::shared_ptr<file_op_state>& each) { return each->done(); });
    prune_at_ = std::max<std::size_t>(16, operations_.size() * 2);
  }
  operations_.push_back(op);
  return true;
}

void file_state::close() {
  std::vector<std::shared_ptr<file_op_state>> operations;
  std::shared_ptr<file_descriptor> descriptor; // closed here unless in use
  {
    std::lock_guard guard{mutex_};
    if (!descriptor_)
      return;
    descriptor.swap(descriptor_);
    closed_ = descriptor;
    operations.swap(operations_);
  }
  for (auto& each : operations)
    each->cancel();
}

std::size_t file_state::in_flight() const {
  std::lock_guard guard{mutex_};
  return static_cast<std::size_t>(
    std::count_if(operations_.begin(), operations_.end(),
                  [](const auto& each) { return !each->done(); }));
}

std::size_t file_state::register_with_rings() {
  auto descriptor = descriptor_reference();
  if (!descriptor)
    throw error(errc::closed, "register_with_rings: '" + path + "' is closed");
  if (descriptor->value < 0)
    throw error(std::make_error_code(std::errc::bad_file_descriptor),
                "register_with_rings: '" + path + "' has no valid descriptor");
  // Checked here too so that both backends refuse a bad descriptor alike
  // (the thread pool has no ring to ask).
  if (::fcntl(descriptor->value, F_GETFD) < 0 && errno == EBADF)
    throw error(std::error_code{EBADF, std::generic_category()},
                "register_with_rings: '" + path + "': bad file descriptor " +
                  std::to_string(descriptor->value));
  for (auto& ring : service->rings()) {
    int failed = ring->register_file(*descriptor);
    if (failed == 0)
      descriptor->registered_with(ring);
    else if (failed == -EBADF)
      throw error(std::error_code{EBADF, std::generic_category()},
                  "register_with_rings: '" + path + "': bad file descriptor " +
                    std::to_string(descriptor->value));
    // Otherwise (already registered there, table full, no table): this
    // ring's operations take the ordinary path.
  }
  return descriptor->registrations();
}

std::size_t file_state::registrations() const {
  std::shared_ptr<file_descriptor> descriptor;
  {
    std::lock_guard guard{mutex_};
    descriptor = descriptor_ ? descriptor_ : closed_.lock();
  }
  return descriptor ? descriptor->registrations() : 0;
}

} // namespace detail

namespace {

std::shared_ptr<detail::file_state> make_state(engine& owner, int descriptor, std::string name) {
  try {
    return std::make_shared<detail::file_state>(detail::file_service::of(owner), descriptor,
                                                std::move(name));
  } catch (...) {
    if (descriptor >= 0)
      ::close(descriptor);
    throw;
  }
}

} // namespace

file file::open(engine& owner, const std::string& path, int flags, mode_t mode) {
  int descriptor = -1;
  do
    descriptor = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  while (descriptor < 0 && errno == EINTR);
  if (descriptor < 0) {
    int failed = errno;
    throw error(std::error_code{failed, std::generic_category()},
                "cannot open '" + path + "': " + std::strerror(failed));
  }
  return file{make_state(owner, descriptor, path)};
}

file file::adopt(engine& owner, int descriptor, std::string name) {
  return file{make_state(owner, descriptor, std::move(name))};
}

detail::file_state& file::checked() const {
  if (!state_)
    throw error(errc::invalid_argument, "operation on an empty file handle");
  return *state_;
}

const std::string& file::path() const {
  return checked().path;
}

int file::native_handle() const {
  return checked().descriptor();
}

bool file::is_open() const {
  return state_ && state_->descriptor() >= 0;
}

std::uint64_t file::size() const {
  auto& state = checked();
  struct stat facts {};
  if (::fstat(state.descriptor(), &facts) != 0) {
    int failed = errno;
    throw error(std::error_code{failed, std::generic_category()},
                "cannot stat '" + state.path + "': " + std::strerror(failed));
  }
  return static_cast<std::uint64_t>(facts.st_size);
}

void file::close() {
  checked().close();
}

std::size_t file::in_flight() const {
  return checked().in_flight();
}

file_operation file::start(file_op kind, std::uint64_t offset, const iovec* buffers,
                           std::size_t count) {
  auto& state = checked();
  // One heap block per operation (see file_op_state::make). `op` is moved
  // into the handle that is returned: no reference count is touched for it.
  auto op = detail::file_op_state::make(kind, offset, buffers, count);
  if (offset > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max())) {
    op->fail(std::make_error_code(std::errc::invalid_argument));
    return file_operation{std::move(op)};
  }
  // Chosen before the file publishes the operation (track), so that a
  // concurrent close can cancel it through its backend.
  auto backend = state.service->backend_for_caller();
  const bool runnable = backend != nullptr;
  op->prepare(op, std::move(backend));
  if (!state.track(op)) {
    op->fail(errc::closed);
    return file_operation{std::move(op)};
  }
  if (op->descriptor < 0) { // adopted as such; the kernel would say the same
    op->fail(std::make_error_code(std::errc::bad_file_descriptor));
    return file_operation{std::move(op)};
  }
  if (!runnable) {
    op->fail(errc::scheduler_stopped);
    return file_operation{std::move(op)};
  }
  op->launch(op);
  return file_operation{std::move(op)};
}

std::size_t file::register_with_rings() {
  return checked().register_with_rings();
}

std::size_t file::registrations() const {
  return checked().registrations();
}

std::uint64_t file::fixed_file_operations() const {
  return checked().fixed_file_operations();
}

file_operation file::read(std::uint64_t offset, std::span<std::byte> buffer) {
  iovec one{buffer.data(), buffer.size()};
  return start(file_op::read, offset, &one, 1);
}

file_operation file::write(std::uint64_t offset, std::span<const std::byte> buffer) {
  iovec one{const_cast<std::byte*>(buffer.data()), buffer.size()};
  return start(file_op::write, offset, &one, 1);
}

file_operation file::readv(std::uint64_t offset, std::span<const std::span<std::byte>> buffers) {
  std::vector<iovec> list;
  list.reserve(buffers.size());
  for (auto each : buffers)
    list.push_back(iovec{each.data(), each.size()});
  return start(file_op::readv, offset, list.data(), list.size());
}

file_operation file::writev(std::uint64_t offset,
                            std::span<const std::span<const std::byte>> buffers) {
  std::vector<iovec> list;
  list.reserve(buffers.size());
  for (auto each : buffers)
    list.push_back(iovec{const_cast<std::byte*>(each.data()), each.size()});
  return start(file_op::writev, offset, list.data(), list.size());
}

file_operation file::fsync(bool data_only) {
  return start(data_only ? file_op::fdatasync : file_op::fsync, 0, nullptr, 0);
}

} // namespace actorloop::runtime
