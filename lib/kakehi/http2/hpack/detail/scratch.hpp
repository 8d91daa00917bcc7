// A reusable byte buffer for decoded strings: grows to the largest string seen, never shrinks,
// never zero-fills. Internal to HPACK.
#pragma once

#include <cstddef>
#include <memory>

namespace kakehi::http2::hpack::detail {

class Scratch {
 public:
  /// A buffer of at least `n` bytes; previous contents are not kept. May allocate.
  char* reserve(std::size_t n) {
    if (n > cap_) {
      std::size_t cap = cap_ ? cap_ : 64;
      while (cap < n) cap *= 2;
      data_ = std::make_unique_for_overwrite<char[]>(cap);
      cap_ = cap;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t cap_ = 0;
};

}  // namespace kakehi::http2::hpack::detail
