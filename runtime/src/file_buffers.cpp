// runtime::file_buffers: mapping, registering with the rings, and handing
// out the buffers.

#include "file_buffers.hpp"

#include "file_ring.hpp"
#include "file_service.hpp"
#include "scheduler_group.hpp"

#include <actorloop/runtime/detail/access.hpp>
#include <actorloop/runtime/error.hpp>
#include <actorloop/runtime/file_buffers.hpp>

#include <cerrno>
#include <string>
#include <sys/mman.h>
#include <system_error>
#include <unistd.h>

namespace actorloop::runtime {

namespace detail {

namespace {

// io_uring refuses a single registered buffer above 1 GiB.
constexpr std::size_t largest_block = std::size_t{1} << 30;

std::size_t page_size() noexcept {
  static const auto size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

std::size_t round_to_pages(std::size_t bytes) noexcept {
  auto page = page_size();
  return (bytes + page - 1) / page * page;
}

} // namespace

file_buffer_block::file_buffer_block(std::size_t count, std::size_t size)
  : count(count), size(size), stride(round_to_pages(size)) {
  if (count == 0 || size == 0)
    throw error(errc::invalid_argument, "file_buffers::allocate: " + std::to_string(count) +
                                          " buffers of " + std::to_string(size) +
                                          " bytes: both must be above zero");
  if (stride > largest_block || count > largest_block / stride)
    throw error(errc::invalid_argument,
                "file_buffers::allocate: " + std::to_string(count) + " buffers of " +
                  std::to_string(size) + " bytes exceed io_uring's 1 GiB per registered block");
  bytes_ = count * stride;
  void* mapped = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED)
    throw std::system_error(errno, std::generic_category(),
                            "file_buffers::allocate: mmap of " + std::to_string(bytes_) + " bytes");
  base_ = static_cast<std::byte*>(mapped);
}

file_buffer_block::~file_buffer_block() {
  std::vector<std::weak_ptr<file_ring>> rings;
  {
    std::lock_guard guard{mutex_};
    rings.swap(rings_);
  }
  // Before the unmap: a ring must never match a later buffer at a reused
  // address against this block's pinned pages.
  for (auto& each : rings)
    if (auto ring = each.lock())
      ring->unregister_block(*this);
  ::munmap(base_, bytes_);
}

void file_buffer_block::register_with(const std::shared_ptr<file_ring>& ring) {
  if (!ring->register_block(*this))
    return;
  std::lock_guard guard{mutex_};
  rings_.push_back(ring);
  registrations.fetch_add(1, std::memory_order_relaxed);
}

} // namespace detail

file_buffers file_buffers::allocate(engine& owner, std::size_t count, std::size_t size) {
  auto block = std::make_shared<detail::file_buffer_block>(count, size);
  auto service = detail::file_service::of(owner);
  if (service->uses_uring()) {
    for (auto& each : owner.schedulers()) {
      auto& group = detail::access::group(each);
      std::string failure; // an I/O scheduler has no ring: it uses the default one's
      if (auto ring = group.file_slot().ring(group, failure))
        block->register_with(ring);
    }
  }
  return file_buffers{std::move(block)};
}

std::span<std::byte> file_buffers::operator[](std::size_t index) const {
  if (!block_)
    throw error(errc::invalid_argument, "file_buffers: an empty handle has no buffers");
  if (index >= block_->count)
    throw error(errc::invalid_argument, "file_buffers: buffer " + std::to_string(index) +
                                          " of " + std::to_string(block_->count));
  return {block_->begin() + index * block_->stride, block_->size};
}

std::size_t file_buffers::count() const noexcept {
  return block_ ? block_->count : 0;
}

std::size_t file_buffers::size() const noexcept {
  return block_ ? block_->size : 0;
}

std::size_t file_buffers::registrations() const noexcept {
  return block_ ? block_->registrations.load(std::memory_order_relaxed) : 0;
}

std::uint64_t file_buffers::fixed_operations() const noexcept {
  return block_ ? block_->fixed_operations.load(std::memory_order_relaxed) : 0;
}

} // namespace actorloop::runtime
