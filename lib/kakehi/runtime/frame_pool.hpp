// FramePool: per-thread free lists of coroutine frames by 64-byte size class, so a worker in
// steady state opens connections (and their coroutines) without calling malloc. Frames larger
// than kMaxPooled go to operator new. Frames must be freed on the thread that allocated them
// (coroutines never migrate between workers).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kakehi::runtime {

struct FramePoolStats {
  uint64_t live = 0;         ///< frames allocated and not yet freed (this thread)
  uint64_t allocations = 0;  ///< total allocations
  uint64_t fresh = 0;        ///< allocations that had to go to the system allocator
};

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kFramePooling = false;  // ASan sees every frame's lifetime
#else
inline constexpr bool kFramePooling = true;
#endif

class FramePool {
 public:
  static constexpr size_t kGranule = 64;
  static constexpr size_t kMaxPooled = 4096;

  static void* allocate(size_t n);
  static void deallocate(void* p, size_t n) noexcept;
  /// This thread's counters (tests count frames with them).
  static const FramePoolStats& stats() noexcept;
  /// Returns this thread's cached free frames to the system allocator.
  static void trim() noexcept;
};

}  // namespace kakehi::runtime
