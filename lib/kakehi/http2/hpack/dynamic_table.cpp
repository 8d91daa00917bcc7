// HPACK dynamic table storage (RFC 7541 §4): FIFO eviction, contiguous entries in a linear
// buffer compacted on wrap, entry records in a power-of-two ring.
#include "kakehi/http2/hpack/dynamic_table.hpp"

#include <algorithm>
#include <cstring>

namespace kakehi::http2::hpack {
namespace {
std::uint32_t ring_capacity(std::uint32_t limit) {
  std::uint32_t cap = 1;
  while (cap < limit / kEntryOverhead + 1) cap <<= 1;
  return cap;
}
}  // namespace

DynamicTable::DynamicTable(std::uint32_t size_limit) {
  set_size_limit(size_limit);
  set_max_size(std::min<std::uint32_t>(4096, size_limit));
}

void DynamicTable::set_size_limit(std::uint32_t size_limit) {
  if (max_size_ > size_limit) set_max_size(size_limit);
  // Rebuild storage, keeping the live entries (oldest first).
  const std::uint32_t cap = ring_capacity(size_limit);
  auto ring = std::make_unique<Record[]>(cap);
  const std::uint64_t bytes_cap = std::uint64_t{size_limit} * 2;
  auto bytes = std::make_unique_for_overwrite<char[]>(bytes_cap ? bytes_cap : 1);
  std::uint64_t pos = 0;
  for (std::uint64_t s = first_seq_; s < next_seq_; ++s) {
    Record r = ring_[s & ring_mask_];
    std::memcpy(bytes.get() + pos, bytes_.get() + (r.pos - base_pos_), r.name_len + r.value_len);
    r.pos = pos;
    pos += r.name_len + r.value_len;
    ring[s & (cap - 1)] = r;
  }
  ring_ = std::move(ring);
  bytes_ = std::move(bytes);
  bytes_cap_ = bytes_cap;
  ring_mask_ = cap - 1;
  base_pos_ = 0;
  begin_pos_ = 0;
  end_pos_ = pos;
  limit_ = size_limit;
}

void DynamicTable::set_max_size(std::uint32_t max_size) noexcept {
  max_size_ = max_size;
  while (size_ > max_size_) evict_oldest();
}

void DynamicTable::evict_oldest() noexcept {
  const Record& r = ring_[first_seq_ & ring_mask_];
  size_ -= r.name_len + r.value_len + kEntryOverhead;
  begin_pos_ += r.name_len + r.value_len;
  ++first_seq_;
  if (first_seq_ == next_seq_) begin_pos_ = end_pos_ = base_pos_;  // empty: restart at 0
}

bool DynamicTable::insert(std::string_view name, std::string_view value) noexcept {
  const std::uint64_t entry = std::uint64_t{name.size()} + value.size() + kEntryOverhead;
  if (entry > max_size_) {
    while (first_seq_ != next_seq_) evict_oldest();
    return false;
  }
  while (size_ + entry > max_size_) evict_oldest();
  const std::uint64_t len = name.size() + value.size();
  if (end_pos_ - base_pos_ + len > bytes_cap_) {  // compact the live bytes to the start
    std::memmove(bytes_.get(), bytes_.get() + (begin_pos_ - base_pos_), end_pos_ - begin_pos_);
    base_pos_ = begin_pos_;
  }
  char* dst = bytes_.get() + (end_pos_ - base_pos_);
  if (!name.empty()) std::memcpy(dst, name.data(), name.size());
  if (!value.empty()) std::memcpy(dst + name.size(), value.data(), value.size());
  ring_[next_seq_ & ring_mask_] = {end_pos_, static_cast<std::uint32_t>(name.size()),
                                   static_cast<std::uint32_t>(value.size())};
  ++next_seq_;
  end_pos_ += len;
  size_ += static_cast<std::uint32_t>(entry);
  return true;
}

DynamicTable::Entry DynamicTable::by_seq(std::uint64_t s) const noexcept {
  const Record& r = ring_[s & ring_mask_];
  const char* p = bytes_.get() + (r.pos - base_pos_);
  return {{p, r.name_len}, {p + r.name_len, r.value_len}};
}

}  // namespace kakehi::http2::hpack
