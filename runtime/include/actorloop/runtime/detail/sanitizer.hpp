#pragma once
/// @file
/// Library-internal: ThreadSanitizer happens-before annotations.
///
/// Debian's libcaf_core is not built with ThreadSanitizer, so the atomics
/// that hand a mailbox and an actor from one thread to the next inside it
/// are invisible to TSan. The real ordering exists (CAF's compare-and-swap on
/// the mailbox); these annotations state it where our code crosses that hand-off,
/// so TSan checks our code and the user's callbacks without suppressions.
/// Outside TSan builds they compile to nothing.

#if defined(__SANITIZE_THREAD__)
#  define ACTORLOOP_THREAD_SANITIZER 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define ACTORLOOP_THREAD_SANITIZER 1
#  endif
#endif

#if defined(ACTORLOOP_THREAD_SANITIZER)
#  include <sanitizer/tsan_interface.h>
#endif

namespace actorloop::runtime::detail {

/// Everything this thread did before is visible to a later `happens_after(key)`.
inline void happens_before([[maybe_unused]] const void* key) noexcept {
#if defined(ACTORLOOP_THREAD_SANITIZER)
  __tsan_release(const_cast<void*>(key));
#endif
}

/// Sees everything done before the matching `happens_before(key)`.
inline void happens_after([[maybe_unused]] const void* key) noexcept {
#if defined(ACTORLOOP_THREAD_SANITIZER)
  __tsan_acquire(const_cast<void*>(key));
#endif
}

} // namespace actorloop::runtime::detail
