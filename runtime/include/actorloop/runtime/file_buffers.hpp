#pragma once
/// @file
/// Registered memory for the file I/O hot path: io_uring's fixed buffers.
///
/// `file_buffers::allocate(engine, count, size)` maps `count` page-aligned
/// buffers of `size` bytes in one block and registers the block with the
/// io_uring ring of every scheduler of the engine (each scheduler has its own
/// ring, see file.hpp). Nothing else changes for the caller: a `file::read`
/// or `file::write` whose buffer lies wholly inside a registered block is
/// submitted as `IORING_OP_READ_FIXED`/`WRITE_FIXED`, so the kernel skips
/// pinning and mapping the user pages on every operation; any other buffer
/// (a vectored operation, a span that leaves the block, a ring that could not
/// register it) takes the ordinary path with the same results. With the
/// thread-pool backend the buffers are plain memory. `fixed_operations()`
/// counts the operations that took the fixed path.
///
/// Registration pins the block's pages; the kernel may refuse (for an
/// unprivileged process, `RLIMIT_MEMLOCK`): the block is then used unregistered
/// by that ring, and `registrations()` says how many rings took it.
///
/// Ownership: the block belongs to the `file_buffers` handles (copies share
/// it) and is unregistered from every ring and unmapped when the last handle
/// goes away, which must not happen while an operation still uses one of its
/// buffers (the rule for every buffer, see file.hpp, "Buffer ownership").
///
/// Thread safety: distinct objects: safe. Shared objects: safe; every member
/// function may be called from any thread. The buffers' contents are the
/// caller's to synchronise, as with any memory given to a file operation.

#include <actorloop/runtime/engine.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace actorloop::runtime {

namespace detail {
class file_buffer_block;
} // namespace detail

/// A block of equal, page-aligned buffers registered with the engine's
/// io_uring rings. A cheap, copyable handle.
class file_buffers {
public:
  file_buffers() = default;

  /// Maps `count` buffers of `size` bytes each (each rounded up to whole
  /// pages) and registers them with every scheduler's ring. Throws `error`
  /// (`errc::invalid_argument`) for a zero count or size, or a block above
  /// io_uring's 1 GiB per registered buffer; `std::system_error`
  /// (`std::bad_alloc` semantics) when the memory cannot be mapped.
  [[nodiscard]] static file_buffers allocate(engine& owner, std::size_t count, std::size_t size);

  [[nodiscard]] explicit operator bool() const noexcept { return block_ != nullptr; }
  /// Buffer `index`, `size()` bytes. Throws `errc::invalid_argument` naming
  /// the index when it is out of range.
  [[nodiscard]] std::span<std::byte> operator[](std::size_t index) const;
  [[nodiscard]] std::size_t count() const noexcept;
  /// Bytes per buffer (as asked for; the stride between buffers may be
  /// larger, a whole number of pages).
  [[nodiscard]] std::size_t size() const noexcept;
  /// Rings that registered the block (0 with the thread-pool backend).
  [[nodiscard]] std::size_t registrations() const noexcept;
  /// Operations submitted with the fixed-buffer opcodes so far.
  [[nodiscard]] std::uint64_t fixed_operations() const noexcept;

private:
  explicit file_buffers(std::shared_ptr<detail::file_buffer_block> block) noexcept
    : block_(std::move(block)) {}
  std::shared_ptr<detail::file_buffer_block> block_;
};

} // namespace actorloop::runtime
