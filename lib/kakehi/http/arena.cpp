// StringArena: block allocation and reuse (see arena.hpp).
#include "kakehi/http/arena.hpp"

#include <cstring>

namespace kakehi::http {

char* StringArena::allocate(size_t n) {
  if (n > kBlockSize / 4) {
    large_.push_back(std::make_unique_for_overwrite<char[]>(n == 0 ? 1 : n));
    return large_.back().get();
  }
  if (blocks_.empty()) {
    blocks_.push_back(std::make_unique_for_overwrite<char[]>(kBlockSize));
    current_ = 0;
    used_ = 0;
  }
  if (used_ + n > kBlockSize) {
    ++current_;
    used_ = 0;
    if (current_ == blocks_.size())
      blocks_.push_back(std::make_unique_for_overwrite<char[]>(kBlockSize));
  }
  char* p = blocks_[current_].get() + used_;
  used_ += n;
  return p;
}

std::string_view StringArena::store(std::string_view s) {
  if (s.empty()) return {};
  char* p = allocate(s.size());
  std::memcpy(p, s.data(), s.size());
  return {p, s.size()};
}

std::string_view StringArena::concat(std::initializer_list<std::string_view> parts) {
  size_t n = 0;
  for (auto p : parts) n += p.size();
  if (n == 0) return {};
  char* out = allocate(n);
  size_t at = 0;
  for (auto p : parts) {
    if (!p.empty()) std::memcpy(out + at, p.data(), p.size());
    at += p.size();
  }
  return {out, n};
}

void StringArena::clear() noexcept {
  if (!large_.empty()) large_.clear();
  current_ = 0;
  used_ = 0;
}

}  // namespace kakehi::http
