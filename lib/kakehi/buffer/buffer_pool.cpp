// BufferPool storage: one anonymous mapping, committed by the kernel on first touch.
#include "kakehi/buffer/buffer_pool.hpp"

#include <sys/mman.h>

#include <new>
#include <stdexcept>

namespace kakehi::buffer {

BufferPool::BufferPool(uint32_t count, uint32_t size) : count_(count), size_(size) {
  if (count == 0 || count > kMaxBuffers || size < 64)
    throw std::invalid_argument("BufferPool: need 1..32768 buffers of at least 64 bytes");
  mapped_ = size_t{count} * size;
  void* p = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  base_ = static_cast<std::byte*>(p);
  refs_.assign(count, 0);
  free_.reserve(count);
  // LIFO free list: hand out low ids first so a lightly loaded worker touches few pages.
  for (uint32_t i = count; i-- > 0;) free_.push_back(static_cast<Id>(i));
}

BufferPool::~BufferPool() {
  assert(in_use_ == 0 && "slices outlived their pool");
  ::munmap(base_, mapped_);
}

}  // namespace kakehi::buffer
