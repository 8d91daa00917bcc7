// BufferChain: an ordered list of slices to be written out as one vectored send, consumed from
// the front as the kernel accepts bytes. Reused per connection (clear() keeps capacity), so the
// steady state does not allocate. Single-threaded like the pool.
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>
#include <vector>

#include "kakehi/buffer/buffer_pool.hpp"

namespace kakehi::buffer {

class BufferChain {
 public:
  void append(Slice s) {
    if (s.empty()) return;
    bytes_ += s.size();
    slices_.push_back(std::move(s));
  }
  /// Copies the front of `bytes` into the tailroom of the last slice, when this chain is the
  /// only owner of that buffer (small pieces then share one buffer); returns how many bytes.
  size_t append_into_tail(std::span<const std::byte> bytes) noexcept {
    if (slice_count() == 0) return 0;
    Slice& last = slices_.back();
    const size_t n = std::min<size_t>(bytes.size(), last.tailroom());
    if (n == 0 || !last.unique()) return 0;
    std::memcpy(last.writable().data() + last.size(), bytes.data(), n);
    last.extend(static_cast<uint32_t>(n));
    bytes_ += n;
    return n;
  }
  bool empty() const noexcept { return bytes_ == 0; }
  size_t size() const noexcept { return bytes_; }
  size_t slice_count() const noexcept { return slices_.size() - head_; }
  std::span<const Slice> slices() const noexcept {
    return {slices_.data() + head_, slices_.size() - head_};
  }

  /// Fills up to `out.size()` iovecs from the front; returns how many were filled.
  size_t fill_iovecs(std::span<iovec> out) const noexcept {
    size_t n = 0;
    for (size_t i = head_; i < slices_.size() && n < out.size(); ++i, ++n)
      out[n] = iovec{const_cast<std::byte*>(slices_[i].data()), slices_[i].size()};
    return n;
  }

  /// Drops `n` bytes from the front (after the kernel sent them), releasing whole slices.
  void consume(size_t n) noexcept {
    bytes_ -= n;
    while (n > 0) {
      Slice& s = slices_[head_];
      if (n < s.size()) {
        s.remove_prefix(static_cast<uint32_t>(n));
        return;
      }
      n -= s.size();
      s.reset();
      ++head_;
    }
    if (head_ == slices_.size()) clear();
  }
  void clear() noexcept {
    slices_.clear();
    head_ = 0;
    bytes_ = 0;
  }

 private:
  std::vector<Slice> slices_;
  size_t head_ = 0;
  size_t bytes_ = 0;
};

}  // namespace kakehi::buffer
