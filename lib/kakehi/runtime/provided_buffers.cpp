// ProvidedBuffers: ring registration (liburing 2.3 API: we map the ring memory ourselves).
#include "kakehi/runtime/provided_buffers.hpp"

#include <sys/mman.h>

#include <bit>
#include <cstring>
#include <string>

namespace kakehi::runtime {

ProvidedBuffers::ProvidedBuffers(Ring& ring, buffer::BufferPool& pool, uint32_t write_reserve)
    : ring_(ring),
      pool_(pool),
      write_reserve_(write_reserve),
      entries_(std::bit_ceil(pool.count())),
      depth_(std::min(entries_, kMinDepth)),
      owned_(pool.count(), 0) {
  br_bytes_ = entries_ * sizeof(io_uring_buf);
  void* mem =
      ::mmap(nullptr, br_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) throw RuntimeStartError("kakehi: cannot map the provided-buffer ring");
  br_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(br_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br_);
  reg.ring_entries = entries_;
  reg.bgid = kGroup;
  int r = io_uring_register_buf_ring(ring_.raw(), &reg, 0);
  if (r < 0) {
    ::munmap(br_, br_bytes_);
    throw RuntimeStartError(std::string("kakehi: cannot register the provided-buffer ring: ") +
                            std::strerror(-r));
  }
  replenish();
}

ProvidedBuffers::~ProvidedBuffers() {
  io_uring_unregister_buf_ring(ring_.raw(), kGroup);
  ::munmap(br_, br_bytes_);
  // Buffers still in the ring were never filled: the pool gets them back.
  for (uint32_t id = 0; id < owned_.size(); ++id)
    if (owned_[id]) pool_.give_back(static_cast<uint16_t>(id));
}

void ProvidedBuffers::replenish() {
  // Twice the busiest turn of this window and the last one: bursts find room, and a depth
  // grown by a burst (or by wait_for_buffers) shrinks back within two windows of calm.
  peak_ = std::max(peak_, taken_);
  taken_ = 0;
  if (++turns_ == kWindowTurns) {
    depth_ = std::clamp(2 * std::max(peak_, last_peak_), std::min(entries_, kMinDepth), entries_);
    last_peak_ = peak_;
    peak_ = 0;
    turns_ = 0;
  }
  depth_ = std::max(depth_, std::min(entries_, 2 * peak_));
  const uint32_t room = depth_ > kernel_owned_ ? depth_ - kernel_owned_ : 0;
  const int mask = io_uring_buf_ring_mask(entries_);
  int added = 0;
  while (static_cast<uint32_t>(added) < room) {
    auto id = pool_.take_for_kernel(write_reserve_);
    if (!id) break;
    io_uring_buf_ring_add(br_, pool_.data(*id), pool_.buffer_size(), *id, mask, added);
    owned_[*id] = 1;
    ++added;
  }
  if (added == 0) return;
  io_uring_buf_ring_advance(br_, added);
  kernel_owned_ += static_cast<uint32_t>(added);
  stats_.provided += static_cast<uint64_t>(added);
  // Re-arm parked recvs. Each re-armed recv may get -ENOBUFS again and park itself anew, so
  // detach the current waiters first.
  IntrusiveList<BufferWaiter> parked;
  while (BufferWaiter* w = waiters_.pop_front()) parked.push_back(*w);
  while (BufferWaiter* w = parked.pop_front()) {
    ++stats_.rearmed;
    w->on_buffers(w);
  }
}

}  // namespace kakehi::runtime
