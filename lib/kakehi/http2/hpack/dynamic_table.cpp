// HPACK dynamic table storage (RFC 7541 §4): FIFO eviction, contiguous entries in a linear
// buffer compacted on wrap, entry records in a power-of-two ring, both grown on demand.
#include "kakehi/http2/hpack/dynamic_table.hpp"

#include <algorithm>
#include <cstring>

namespace kakehi::http2::hpack {
namespace {
// Records needed for a table of `limit` bytes: every entry counts at least 32.
std::uint32_t ring_capacity(std::uint32_t limit) {
  std::uint32_t cap = 1;
  while (cap < limit / kEntryOverhead + 1) cap <<= 1;
  return cap;
}
constexpr std::uint32_t kFirstRing = 8;     // records at the first insert
constexpr std::uint64_t kFirstBytes = 256;  // bytes at the first insert
}  // namespace

DynamicTable::DynamicTable(std::uint32_t size_limit)
    : limit_(size_limit), max_size_(std::min<std::uint32_t>(4096, size_limit)) {}

void DynamicTable::set_size_limit(std::uint32_t size_limit) {
  if (max_size_ > size_limit) set_max_size(size_limit);
  limit_ = size_limit;
  // Storage beyond what the new limit can use is given back.
  const std::uint32_t ring_max = ring_capacity(size_limit);
  const std::uint64_t bytes_max = std::uint64_t{size_limit} * 2;
  if (ring_ && (ring_mask_ + 1 > ring_max || bytes_cap_ > bytes_max))
    relocate(std::min(ring_mask_ + 1, ring_max), std::min(bytes_cap_, bytes_max));
}

void DynamicTable::relocate(std::uint32_t cap, std::uint64_t bytes_cap) {
  auto ring = std::make_unique_for_overwrite<Record[]>(cap);
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

bool DynamicTable::insert(std::string_view name, std::string_view value) {
  const std::uint64_t entry = std::uint64_t{name.size()} + value.size() + kEntryOverhead;
  if (entry > max_size_) {
    while (first_seq_ != next_seq_) evict_oldest();
    return false;
  }
  while (size_ + entry > max_size_) evict_oldest();
  const std::uint64_t len = name.size() + value.size();
  // Grow (doubling) when the records have no room, or the bytes would fill more than half the
  // buffer (compaction then moves each byte at most once per buffer length: amortized O(1)).
  // The table's size (≤ max_size ≤ limit) bounds both: count ≤ limit / 32 and live bytes + len
  // ≤ limit, so the largest storage is the fixed one of before: 2 × limit bytes.
  const std::uint32_t ring_cap = ring_ ? ring_mask_ + 1 : 0;
  const std::uint64_t want_bytes =
      std::min(2 * (end_pos_ - begin_pos_ + len), std::uint64_t{limit_} * 2);
  if (count() + 1 > ring_cap || bytes_cap_ < want_bytes) {
    std::uint32_t new_ring = ring_cap ? ring_cap : kFirstRing;
    while (new_ring < count() + 1) new_ring <<= 1;
    std::uint64_t new_bytes = bytes_cap_ ? bytes_cap_ : kFirstBytes;
    while (new_bytes < want_bytes) new_bytes <<= 1;
    relocate(std::min(new_ring, ring_capacity(limit_)),
             std::min(new_bytes, std::uint64_t{limit_} * 2));
  }
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
