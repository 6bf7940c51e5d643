#pragma once
// Counts the allocations one thread makes, for the tests that prove a path
// allocates nothing (or only what it must). It replaces the global operator
// new and delete, so include it in exactly one source file of a test that
// has its own executable (`// ctest-own-executable`).
// Counted only on the thread inside an allocation_probe (the watchdog
// thread of the test main may allocate at any time).

#include <cstddef>
#include <cstdlib>
#include <new>

namespace allocation_test {

inline thread_local bool counting = false;
inline thread_local std::size_t allocation_count = 0;
inline thread_local std::size_t largest_allocation = 0;

/// Counts this thread's allocations from construction to destruction.
struct allocation_probe {
  allocation_probe() {
    allocation_count = 0;
    largest_allocation = 0;
    counting = true;
  }
  ~allocation_probe() { counting = false; }
  allocation_probe(const allocation_probe&) = delete;
  allocation_probe& operator=(const allocation_probe&) = delete;
};

} // namespace allocation_test

// GCC warns that free() does not match new; both sides go through malloc and
// free here, so they do match.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
  if (allocation_test::counting) {
    ++allocation_test::allocation_count;
    if (size > allocation_test::largest_allocation)
      allocation_test::largest_allocation = size;
  }
  if (void* memory = std::malloc(size == 0 ? 1 : size))
    return memory;
  throw std::bad_alloc{};
}
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
