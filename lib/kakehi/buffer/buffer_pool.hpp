// BufferPool: a per-worker slab of fixed-size buffers with reference counts, and Slice, a
// refcounted view into one of them. The runtime hands free buffers to the kernel as a
// provided-buffer ring; received bytes come back as Slices that parsers read in place and
// that are forwarded (as iovecs) without copying. Single-threaded: a pool and its slices
// belong to one worker thread. Knows nothing of io_uring or sockets.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace kakehi::buffer {

class Slice;

/// Counters a pool keeps for metrics and tests.
struct PoolStats {
  uint64_t acquired = 0;          ///< buffers taken by writers (`acquire`)
  uint64_t acquire_failures = 0;  ///< `acquire` found the free list empty
  uint64_t adopted = 0;           ///< buffers filled by the kernel and handed to the app
};

class BufferPool {
 public:
  using Id = uint16_t;
  static constexpr uint32_t kMaxBuffers = 32768;  // io_uring buffer ids are 16-bit; ring ≤ 32768

  /// `count` buffers of `size` bytes each (1 ≤ count ≤ kMaxBuffers, size ≥ 64).
  /// Memory is reserved up front (mmap, committed lazily by the kernel on first touch).
  BufferPool(uint32_t count, uint32_t size);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  uint32_t count() const noexcept { return count_; }
  uint32_t buffer_size() const noexcept { return size_; }
  std::byte* data(Id id) const noexcept { return base_ + size_t{id} * size_; }
  uint32_t free_count() const noexcept { return static_cast<uint32_t>(free_.size()); }
  uint32_t in_use() const noexcept { return in_use_; }
  const PoolStats& stats() const noexcept { return stats_; }

  /// Takes a free buffer for writing; the returned slice spans the whole buffer and is its only
  /// reference. Empty when every buffer is in use (the caller applies back-pressure).
  std::optional<Slice> acquire();

  /// For the runtime's provided-buffer ring: takes a free buffer without a reference (the kernel
  /// owns it), leaving at least `keep` buffers on the free list for writers.
  std::optional<Id> take_for_kernel(uint32_t keep) noexcept;
  /// The kernel filled `len` bytes of buffer `id`: the app now owns it as a slice.
  Slice adopt(Id id, uint32_t len) noexcept;
  /// Returns a kernel-owned buffer that was never filled (ring teardown).
  void give_back(Id id) noexcept;

  void ref(Id id) noexcept { ++refs_[id]; }
  void unref(Id id) noexcept {
    assert(refs_[id] > 0);
    if (--refs_[id] == 0) {
      free_.push_back(id);
      --in_use_;
    }
  }
  uint32_t use_count(Id id) const noexcept { return refs_[id]; }

 private:
  std::byte* base_ = nullptr;
  size_t mapped_ = 0;
  uint32_t count_;
  uint32_t size_;
  uint32_t in_use_ = 0;  // buffers owned by the kernel or referenced by slices
  std::vector<uint32_t> refs_;
  std::vector<Id> free_;
  PoolStats stats_;
};

/// A refcounted view of bytes inside one pool buffer. Copying adds a reference; the buffer
/// returns to the pool when the last slice referring to it goes away. A default slice is empty.
class Slice {
 public:
  Slice() noexcept = default;
  Slice(BufferPool* pool, BufferPool::Id id, uint32_t off, uint32_t len) noexcept
      : pool_(pool), id_(id), off_(off), len_(len) {}  // adopts one reference
  Slice(const Slice& o) noexcept : pool_(o.pool_), id_(o.id_), off_(o.off_), len_(o.len_) {
    if (pool_) pool_->ref(id_);
  }
  Slice(Slice&& o) noexcept : pool_(o.pool_), id_(o.id_), off_(o.off_), len_(o.len_) {
    o.pool_ = nullptr;
    o.len_ = 0;
  }
  Slice& operator=(Slice o) noexcept {
    swap(o);
    return *this;
  }
  ~Slice() { reset(); }

  void reset() noexcept {
    if (pool_) pool_->unref(id_);
    pool_ = nullptr;
    off_ = len_ = 0;
  }
  void swap(Slice& o) noexcept {
    std::swap(pool_, o.pool_);
    std::swap(id_, o.id_);
    std::swap(off_, o.off_);
    std::swap(len_, o.len_);
  }

  bool empty() const noexcept { return len_ == 0; }
  uint32_t size() const noexcept { return len_; }
  const std::byte* data() const noexcept { return pool_ ? pool_->data(id_) + off_ : nullptr; }
  std::span<const std::byte> bytes() const noexcept { return {data(), len_}; }
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data()), len_}; }
  /// Bytes after the end of this slice up to the end of its buffer.
  uint32_t tailroom() const noexcept { return pool_ ? pool_->buffer_size() - off_ - len_ : 0; }
  bool unique() const noexcept { return pool_ && pool_->use_count(id_) == 1; }
  BufferPool::Id id() const noexcept { return id_; }

  /// Writable bytes: only for the sole owner (precondition `unique()`).
  std::span<std::byte> writable() noexcept {
    assert(unique());
    return {pool_->data(id_) + off_, len_};
  }

  /// A new reference to bytes [off, off+len) of this slice.
  Slice sub(uint32_t off, uint32_t len) const noexcept {
    assert(off + len <= len_);
    if (pool_) pool_->ref(id_);
    return Slice(pool_, id_, off_ + off, len);
  }
  void remove_prefix(uint32_t n) noexcept {
    assert(n <= len_);
    off_ += n;
    len_ -= n;
  }
  void remove_suffix(uint32_t n) noexcept {
    assert(n <= len_);
    len_ -= n;
  }
  /// Grows the slice into its tailroom (used by writers after filling bytes).
  void extend(uint32_t n) noexcept {
    assert(n <= tailroom());
    len_ += n;
  }

 private:
  BufferPool* pool_ = nullptr;
  BufferPool::Id id_ = 0;
  uint32_t off_ = 0;
  uint32_t len_ = 0;
};

inline std::optional<Slice> BufferPool::acquire() {
  if (free_.empty()) {
    ++stats_.acquire_failures;
    return std::nullopt;
  }
  Id id = free_.back();
  free_.pop_back();
  refs_[id] = 1;
  ++in_use_;
  ++stats_.acquired;
  return Slice(this, id, 0, size_);
}

inline std::optional<BufferPool::Id> BufferPool::take_for_kernel(uint32_t keep) noexcept {
  if (free_.size() <= keep) return std::nullopt;
  Id id = free_.back();
  free_.pop_back();
  ++in_use_;
  return id;
}

inline Slice BufferPool::adopt(Id id, uint32_t len) noexcept {
  assert(refs_[id] == 0 && len <= size_);
  refs_[id] = 1;
  ++stats_.adopted;
  return Slice(this, id, 0, len);
}

inline void BufferPool::give_back(Id id) noexcept {
  assert(refs_[id] == 0);
  free_.push_back(id);
  --in_use_;
}

}  // namespace kakehi::buffer
