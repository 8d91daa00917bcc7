// The HPACK dynamic table (RFC 7541 §2.3.2, §4): a FIFO of (name, value) entries whose size is
// name + value + 32 per entry, evicting the oldest on insertion and on a smaller maximum size.
// Bytes live in one linear buffer (compacted when the end is reached, so every entry is
// contiguous); entry records live in a power-of-two ring. Both start empty and grow (doubling)
// as entries need them, up to twice the size limit and size_limit / 32 + 1 records: a
// connection that never indexes a field holds nothing, and a busy one stops allocating once
// its table has reached its working size.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

namespace kakehi::http2::hpack {

/// Per-entry overhead counted in the table size (§4.1).
inline constexpr std::uint32_t kEntryOverhead = 32;

class DynamicTable {
 public:
  struct Entry {
    std::string_view name;
    std::string_view value;
  };

  /// `size_limit`: the largest maximum size the table may ever be given. The initial maximum
  /// size is min(4096, size_limit). Allocates nothing.
  explicit DynamicTable(std::uint32_t size_limit);

  /// Raises or lowers the size limit; evicts if the maximum size shrinks.
  void set_size_limit(std::uint32_t size_limit);
  std::uint32_t size_limit() const noexcept { return limit_; }

  /// Sets the maximum size (§4.3, §6.3). Precondition: max_size <= size_limit().
  void set_max_size(std::uint32_t max_size) noexcept;
  std::uint32_t max_size() const noexcept { return max_size_; }
  /// Current size: sum of name + value + 32 over the entries.
  std::uint32_t size() const noexcept { return size_; }
  std::uint32_t count() const noexcept {
    return static_cast<std::uint32_t>(next_seq_ - first_seq_);
  }

  /// Inserts at the front, evicting as needed (§4.4). Returns false, leaving the table empty,
  /// when the entry alone is larger than the maximum size. Precondition: `name` and `value` do
  /// not point into this table. May grow the storage (and so change ring_mask()).
  bool insert(std::string_view name, std::string_view value);

  /// Entry at dynamic index `i`: 1 is the newest. Precondition: 1 <= i <= count(). The views
  /// stay valid until the next insert() or set_max_size().
  Entry at(std::uint32_t i) const noexcept { return by_seq(next_seq_ - i); }

  /// Insertion sequence numbers: the oldest live entry is first_seq(), the next inserted gets
  /// next_seq(). Dynamic index of a live seq s is next_seq() - s.
  std::uint64_t first_seq() const noexcept { return first_seq_; }
  std::uint64_t next_seq() const noexcept { return next_seq_; }
  /// Precondition: first_seq() <= s < next_seq().
  Entry by_seq(std::uint64_t s) const noexcept;
  /// Capacity of the entry ring minus one: seq & ring_mask() indexes per-entry side arrays.
  /// Changes only when insert() grows the ring (0 before the first insert).
  std::uint32_t ring_mask() const noexcept { return ring_mask_; }
  /// Bytes allocated for the entries and their records.
  std::uint64_t capacity_bytes() const noexcept {
    return bytes_cap_ + (ring_ ? std::uint64_t{ring_mask_ + 1} * sizeof(Record) : 0);
  }

 private:
  struct Record {
    std::uint64_t pos;  // absolute byte position of the name, value follows
    std::uint32_t name_len;
    std::uint32_t value_len;
  };
  void evict_oldest() noexcept;
  /// Moves the live entries into storage of `ring_cap` records and `bytes_cap` bytes.
  void relocate(std::uint32_t ring_cap, std::uint64_t bytes_cap);

  std::unique_ptr<char[]> bytes_;
  std::unique_ptr<Record[]> ring_;
  std::uint64_t bytes_cap_ = 0;
  std::uint64_t base_pos_ = 0;   // absolute position of bytes_[0]
  std::uint64_t begin_pos_ = 0;  // oldest live byte
  std::uint64_t end_pos_ = 0;    // one past the newest live byte
  std::uint64_t first_seq_ = 0;
  std::uint64_t next_seq_ = 0;
  std::uint32_t ring_mask_ = 0;
  std::uint32_t limit_ = 0;
  std::uint32_t max_size_ = 0;
  std::uint32_t size_ = 0;
};

}  // namespace kakehi::http2::hpack
