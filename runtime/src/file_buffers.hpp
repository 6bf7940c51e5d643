#pragma once
// The block behind runtime::file_buffers: one mapping of page-aligned
// buffers, registered as one fixed buffer with each scheduler's io_uring ring
// (see file_ring.hpp), unregistered from every ring before it is unmapped.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace actorloop::runtime::detail {

class file_ring;

class file_buffer_block {
public:
  /// Maps `count` buffers of `size` bytes, each starting on a page.
  file_buffer_block(std::size_t count, std::size_t size);
  file_buffer_block(const file_buffer_block&) = delete;
  file_buffer_block& operator=(const file_buffer_block&) = delete;
  /// Unregisters from every ring that took the block, then unmaps it.
  ~file_buffer_block();

  /// Offers the block to `ring`; counted when the ring registered it.
  void register_with(const std::shared_ptr<file_ring>& ring);

  [[nodiscard]] std::byte* begin() const noexcept { return base_; }
  [[nodiscard]] std::byte* end() const noexcept { return base_ + bytes_; }

  const std::size_t count;
  const std::size_t size;
  const std::size_t stride; // size rounded up to whole pages
  /// Rings holding the block; operations that used the fixed opcodes.
  std::atomic<std::size_t> registrations{0};
  std::atomic<std::uint64_t> fixed_operations{0};

private:
  std::byte* base_ = nullptr;
  std::size_t bytes_ = 0;
  std::mutex mutex_;
  std::vector<std::weak_ptr<file_ring>> rings_; // guarded by mutex_
};

} // namespace actorloop::runtime::detail
