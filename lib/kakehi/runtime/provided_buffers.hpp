// ProvidedBuffers: feeds a worker's BufferPool to the kernel as an io_uring provided-buffer
// ring (IORING_REGISTER_PBUF_RING), so multishot recvs let the kernel pick a buffer per read and
// an idle connection holds none. Buffers released by slices go back to the pool's free list and
// are re-provided in one batch per loop turn (`replenish`). A recv that found the ring empty
// (-ENOBUFS) parks a BufferWaiter here and is re-armed once buffers are back (back-pressure).
//
// The kernel takes ring entries in order, so every buffer in the ring is used once before any
// is used again: with the whole pool in the ring (128 MiB in the benchmark's config) each recv
// landed in a cold buffer, and copying received bytes cost 5x what it did for haproxy. The ring
// therefore holds only about twice what the busiest recent loop turn took (at least 64): the
// same few buffers, warm in the caches, go round. A turn that finds the ring empty doubles it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kakehi/buffer/buffer_pool.hpp"
#include "kakehi/common/intrusive_list.hpp"
#include "kakehi/runtime/ring.hpp"

namespace kakehi::runtime {

/// Something waiting for the provided-buffer ring to be refilled.
struct BufferWaiter : IntrusiveHook {
  using Fn = void (*)(BufferWaiter*);
  Fn on_buffers = nullptr;
};

struct ProvidedBufferStats {
  uint64_t enobufs = 0;   ///< multishot recvs stopped because the ring ran dry
  uint64_t rearmed = 0;   ///< waiters re-armed after a refill
  uint64_t provided = 0;  ///< buffers handed to the kernel
};

class ProvidedBuffers {
 public:
  static constexpr uint16_t kGroup = 0;      // buffer group id used by every recv of this worker
  static constexpr uint32_t kMinDepth = 64;  // buffers always in the ring (pool permitting)
  static constexpr uint32_t kWindowTurns = 4096;  // loop turns over which the peak is taken

  /// Registers a ring with room for every buffer of `pool` (filled to depth() of them), keeping
  /// `write_reserve` free buffers out of the kernel's reach for writers. Throws RuntimeStartError
  /// on failure.
  ProvidedBuffers(Ring& ring, buffer::BufferPool& pool, uint32_t write_reserve);
  ~ProvidedBuffers();
  ProvidedBuffers(const ProvidedBuffers&) = delete;
  ProvidedBuffers& operator=(const ProvidedBuffers&) = delete;

  /// The kernel filled buffer `id` (from a CQE's flags) with `len` bytes.
  buffer::Slice take(uint16_t id, uint32_t len) noexcept {
    --kernel_owned_;
    ++taken_;
    owned_[id] = 0;
    return pool_.adopt(id, len);
  }
  /// Tops the kernel's ring up from the pool's free list; wakes parked waiters if it added any.
  void replenish();
  /// Parks `w` until the next refill (a recv got -ENOBUFS).
  void wait_for_buffers(BufferWaiter& w) {
    ++stats_.enobufs;
    depth_ = std::min(entries_, 2 * depth_);
    if (!w.linked()) waiters_.push_back(w);
  }

  uint32_t kernel_owned() const noexcept { return kernel_owned_; }
  /// How many buffers the ring is kept filled to now.
  uint32_t depth() const noexcept { return depth_; }
  const ProvidedBufferStats& stats() const noexcept { return stats_; }

 private:
  Ring& ring_;
  buffer::BufferPool& pool_;
  uint32_t write_reserve_;
  uint32_t entries_;  // power of two ≥ pool size
  struct io_uring_buf_ring* br_ = nullptr;
  size_t br_bytes_ = 0;
  uint32_t kernel_owned_ = 0;
  uint32_t depth_;              // kernel_owned_ is topped up to this
  uint32_t taken_ = 0;          // buffers filled since the last replenish
  uint32_t peak_ = 0;           // most taken in one turn, this window
  uint32_t last_peak_ = 0;      // the same, previous window
  uint32_t turns_ = 0;          // replenishes in this window
  std::vector<uint8_t> owned_;  // ids currently in the kernel's ring
  IntrusiveList<BufferWaiter> waiters_;
  ProvidedBufferStats stats_;
};

}  // namespace kakehi::runtime
