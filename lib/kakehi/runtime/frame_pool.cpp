// FramePool implementation: one intrusive singly-linked free list per size class, per thread.
#include "kakehi/runtime/frame_pool.hpp"

#include <array>
#include <new>

namespace kakehi::runtime {
namespace {

struct FreeBlock {
  FreeBlock* next;
};

constexpr size_t kClasses = FramePool::kMaxPooled / FramePool::kGranule;

struct ThreadPool {
  std::array<FreeBlock*, kClasses> free{};
  FramePoolStats stats;
  ~ThreadPool() { trim(); }
  void trim() noexcept {
    for (size_t c = 0; c < kClasses; ++c) {
      while (FreeBlock* b = free[c]) {
        free[c] = b->next;
        ::operator delete(b, (c + 1) * FramePool::kGranule);
      }
    }
  }
};

thread_local ThreadPool tls_pool;

constexpr size_t class_of(size_t n) {
  return (n + FramePool::kGranule - 1) / FramePool::kGranule - 1;
}

}  // namespace

void* FramePool::allocate(size_t n) {
  ThreadPool& tp = tls_pool;
  ++tp.stats.live;
  ++tp.stats.allocations;
  if (!kFramePooling || n > kMaxPooled) {
    ++tp.stats.fresh;
    return ::operator new(n);
  }
  size_t c = class_of(n);
  if (FreeBlock* b = tp.free[c]) {
    tp.free[c] = b->next;
    return b;
  }
  ++tp.stats.fresh;
  return ::operator new((c + 1) * kGranule);
}

void FramePool::deallocate(void* p, size_t n) noexcept {
  ThreadPool& tp = tls_pool;
  --tp.stats.live;
  if (!kFramePooling || n > kMaxPooled) {
    ::operator delete(p, n);
    return;
  }
  size_t c = class_of(n);
  auto* b = static_cast<FreeBlock*>(p);
  b->next = tp.free[c];
  tp.free[c] = b;
}

const FramePoolStats& FramePool::stats() noexcept { return tls_pool.stats; }

void FramePool::trim() noexcept { tls_pool.trim(); }

}  // namespace kakehi::runtime
