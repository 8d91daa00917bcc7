// HPACK encoder (RFC 7541 §6, §7.1): representation choice per field and the dynamic table
// index. Dynamic entries are found through one chained hash index on the name, whose chains
// run from newest to oldest, so evicted entries need no unlinking: a walk stops at the first
// sequence number older than the table's oldest entry. Values are compared only after a
// cheap fingerprint (length and last 8 bytes) matches.
#include "kakehi/http2/hpack/encoder.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <initializer_list>

#include "kakehi/http2/hpack/detail/hash.hpp"
#include "kakehi/http2/hpack/huffman.hpp"
#include "kakehi/http2/hpack/integer.hpp"
#include "kakehi/http2/hpack/static_table.hpp"

namespace kakehi::http2::hpack {
namespace {

// Static indexes of names the policy treats specially (docs/hpack.md "Encoder policy").
constexpr std::array<bool, kStaticTableSize + 1> make_flags(std::initializer_list<int> idx) {
  std::array<bool, kStaticTableSize + 1> f{};
  for (int i : idx) f[static_cast<std::size_t>(i)] = true;
  return f;
}
// authorization (23), proxy-authorization (49): always never-indexed.
constexpr auto kSensitive = make_flags({23, 49});
constexpr std::uint32_t kCookie = 32;
// Values that rarely repeat from one message to the next, so an entry would only evict a
// useful one: :path, age, content-length, etag, if-modified-since, if-none-match, location,
// set-cookie. (date, expires, last-modified, content-range do repeat across responses:
// measured on hpack-test-case raw-data, also excluding them costs 18% more bytes.)
constexpr auto kVolatile = make_flags({4, 21, 28, 34, 40, 41, 46, 55});

struct Link {
  std::uint64_t hash;        // of the name
  std::uint64_t next;        // seq + 1 of the next older entry in the same bucket, 0 = none
  std::uint64_t value_tail;  // value fingerprint: its last (up to) 8 bytes, and its length
  std::size_t value_len;
};

// Last (up to) 8 bytes of `v`: a cheap filter before comparing whole values.
std::uint64_t tail_of(std::string_view v) {
  std::uint64_t t = 0;
  if (v.size() >= 8) {
    std::memcpy(&t, v.data() + v.size() - 8, 8);
  } else if (!v.empty()) {
    std::memcpy(&t, v.data(), v.size());
  }
  return t;
}

// Longest chain walk per lookup: bounds the work for huge tables full of one name.
constexpr int kMaxChainWalk = 64;

std::uint32_t pow2_at_least(std::uint32_t n) {
  std::uint32_t c = 1;
  while (c < n) c <<= 1;
  return c;
}

}  // namespace

struct Encoder::Impl {
  explicit Impl(const EncoderOptions& o) : table(o.max_table_size) {
    if (o.max_table_size < peer_max) {  // our cap is below the default: announce it
      update_pending = true;
      update_min = update_final = o.max_table_size;
    }
  }

  DynamicTable table;
  // The index, sized with the table's ring (nothing before the first insert): links[seq & mask]
  // per entry, and per hash bucket the seq + 1 of its newest entry (0 = none).
  std::unique_ptr<Link[]> links;
  std::uint32_t links_mask = 0;
  std::uint32_t bucket_mask = 0;
  std::unique_ptr<std::uint64_t[]> heads;
  // Pending dynamic table size updates; `peer_max` is the maximum size the peer's decoder
  // currently uses (4096 until we signal otherwise, RFC 9113 §6.5.2 initial value).
  bool update_pending = false;
  std::uint32_t update_min = 0;
  std::uint32_t update_final = 0;
  std::uint32_t peer_max = 4096;

  struct Match {
    std::uint32_t name_index = 0;   // newest entry with the name (full HPACK index), 0 = none
    std::uint32_t exact_index = 0;  // newest entry with the name and the value, 0 = none
  };

  // Walks the name's bucket from the newest entry; stops at the first evicted one.
  Match find(std::string_view name, std::string_view value, std::uint64_t h) const {
    Match m;
    if (!heads) return m;
    const std::uint64_t tail = tail_of(value);
    const std::uint64_t first = table.first_seq();
    std::uint64_t s1 = heads[h & bucket_mask];
    for (int steps = 0; s1 > first && steps < kMaxChainWalk; ++steps) {
      const std::uint64_t s = s1 - 1;
      const Link& l = links[s & links_mask];
      s1 = l.next;
      if (l.hash != h) continue;
      const bool maybe_value = l.value_len == value.size() && l.value_tail == tail;
      if (m.name_index != 0 && !maybe_value) continue;  // only an exact match can help now
      const auto e = table.by_seq(s);
      if (e.name != name) continue;
      const auto index = kStaticTableSize + static_cast<std::uint32_t>(table.next_seq() - s);
      if (m.name_index == 0) m.name_index = index;
      if (maybe_value && e.value == value) {
        m.exact_index = index;
        break;
      }
    }
    return m;
  }

  void insert(std::string_view name, std::string_view value, std::uint64_t h) {
    const std::uint64_t s = table.next_seq();
    if (!table.insert(name, value)) return;
    if (!links || table.ring_mask() != links_mask) reindex(s);
    links[s & links_mask] = {h, heads[h & bucket_mask], tail_of(value), value.size()};
    heads[h & bucket_mask] = s + 1;
  }

  // The table's ring grew: the index follows, rebuilt from the live entries before `s` (oldest
  // first, so each chain keeps the newest entry at its head).
  void reindex(std::uint64_t s) {
    const std::uint32_t mask = table.ring_mask();
    const std::uint32_t buckets = pow2_at_least((mask + 1) * 2);
    auto new_links = std::make_unique_for_overwrite<Link[]>(mask + 1);
    auto new_heads = std::make_unique<std::uint64_t[]>(buckets);
    for (std::uint64_t q = table.first_seq(); q < s; ++q) {
      Link l = links[q & links_mask];
      l.next = new_heads[l.hash & (buckets - 1)];
      new_heads[l.hash & (buckets - 1)] = q + 1;
      new_links[q & mask] = l;
    }
    links = std::move(new_links);
    heads = std::move(new_heads);
    links_mask = mask;
    bucket_mask = buckets - 1;
  }
};

namespace {

std::byte* write_string(std::string_view s, HuffmanPolicy policy, std::byte* w) {
  if (policy == HuffmanPolicy::Shorter && s.size() > 1) {
    // Speculatively Huffman-code after a 1-byte length prefix; keep it if shorter.
    if (const std::size_t hlen = huffman::encode_if_shorter(s, w + 1, s.size())) {
      if (hlen < 127) {
        w[0] = std::byte(0x80 | hlen);
        return w + 1 + hlen;
      }
      std::byte len[integer::kMaxEncodedLength];
      const std::size_t n = integer::encode(static_cast<std::uint32_t>(hlen), 7, 0x80, len);
      std::memmove(w + n, w + 1, hlen);
      std::memcpy(w, len, n);
      return w + n + hlen;
    }
  } else if (policy == HuffmanPolicy::Always) {
    const std::size_t hlen = huffman::encoded_length(s);
    w += integer::encode(static_cast<std::uint32_t>(hlen), 7, 0x80, w);
    return w + huffman::encode(s, w);
  }
  w += integer::encode(static_cast<std::uint32_t>(s.size()), 7, 0x00, w);
  if (!s.empty()) std::memcpy(w, s.data(), s.size());
  return w + s.size();
}

std::size_t field_bound(const HeaderField& f, HuffmanPolicy policy) {
  // Always: Huffman takes up to 30 bits per byte. Shorter: a speculative Huffman string may
  // overrun its raw length by 4 bytes before it is abandoned (within the integer slack).
  const std::size_t k = policy == HuffmanPolicy::Always ? 4 : 1;
  return k * (f.name.size() + f.value.size()) + 3 * integer::kMaxEncodedLength;
}

}  // namespace

Encoder::Encoder(const EncoderOptions& options)
    : options_(options), impl_(std::make_unique<Impl>(options)) {}
Encoder::~Encoder() = default;
Encoder::Encoder(Encoder&&) noexcept = default;
Encoder& Encoder::operator=(Encoder&&) noexcept = default;

const DynamicTable& Encoder::table() const noexcept { return impl_->table; }

void Encoder::set_peer_max_table_size(std::uint32_t size) {
  const std::uint32_t eff = std::min(size, options_.max_table_size);
  impl_->update_min = impl_->update_pending ? std::min(impl_->update_min, eff) : eff;
  impl_->update_final = eff;
  impl_->update_pending = true;
}

namespace {
std::byte* write_updates(Encoder::Impl& impl, std::byte* w) {  // §4.2, §6.3
  if (!impl.update_pending) return w;
  impl.update_pending = false;
  if (impl.update_min < impl.peer_max && impl.update_min < impl.update_final)
    w += integer::encode(impl.update_min, 5, 0x20, w);
  if (impl.update_final != impl.peer_max || impl.update_min < impl.peer_max)
    w += integer::encode(impl.update_final, 5, 0x20, w);
  impl.peer_max = impl.update_final;
  impl.table.set_max_size(std::min(impl.update_min, impl.update_final));  // evict at the min
  impl.table.set_max_size(impl.update_final);
  return w;
}
}  // namespace

void Encoder::begin_block(std::vector<std::byte>& out) {
  const std::size_t old = out.size();
  out.resize(old + 2 * integer::kMaxEncodedLength);
  std::byte* w = write_updates(*impl_, out.data() + old);
  out.resize(static_cast<std::size_t>(w - out.data()));
}

namespace {
std::byte* encode_one(Encoder::Impl& impl, const EncoderOptions& opt, const HeaderField& f,
                      std::byte* w) {
  const std::uint64_t hn = detail::hash_bytes(f.name);
  const StaticMatch sm = find_static(f.name, f.value, hn);
  const bool sensitive = f.never_indexed || kSensitive[sm.index] ||
                         (sm.index == kCookie && f.value.size() < opt.cookie_never_index_below);
  if (!sensitive && sm.exact) return w + integer::encode(sm.index, 7, 0x80, w);  // §6.1
  Encoder::Impl::Match dm;
  if (!sensitive || sm.index == 0) dm = impl.find(f.name, f.value, hn);
  if (!sensitive && dm.exact_index) return w + integer::encode(dm.exact_index, 7, 0x80, w);
  const std::uint32_t name_index = sm.index ? sm.index : dm.name_index;
  const std::uint64_t entry = f.name.size() + f.value.size() + kEntryOverhead;
  const std::uint32_t max_entry =
      opt.max_indexed_entry_size ? opt.max_indexed_entry_size : impl.table.max_size() / 2;
  const bool add =
      !sensitive && entry <= max_entry && (opt.index_volatile_fields || !kVolatile[sm.index]);
  if (sensitive) {
    w += integer::encode(name_index, 4, 0x10, w);  // §6.2.3 never indexed
  } else if (add) {
    w += integer::encode(name_index, 6, 0x40, w);  // §6.2.1 incremental indexing
  } else {
    w += integer::encode(name_index, 4, 0x00, w);  // §6.2.2 without indexing
  }
  if (name_index == 0) w = write_string(f.name, opt.huffman, w);
  w = write_string(f.value, opt.huffman, w);
  if (add) impl.insert(f.name, f.value, hn);
  return w;
}
}  // namespace

void Encoder::encode_field(const HeaderField& field, std::vector<std::byte>& out) {
  const std::size_t old = out.size();
  out.resize(old + field_bound(field, options_.huffman));
  std::byte* w = encode_one(*impl_, options_, field, out.data() + old);
  out.resize(static_cast<std::size_t>(w - out.data()));
}

void Encoder::encode(std::span<const HeaderField> fields, std::vector<std::byte>& out) {
  std::size_t bound = 2 * integer::kMaxEncodedLength;
  for (const auto& f : fields) bound += field_bound(f, options_.huffman);
  const std::size_t old = out.size();
  out.resize(old + bound);
  std::byte* w = write_updates(*impl_, out.data() + old);
  for (const auto& f : fields) w = encode_one(*impl_, options_, f, w);
  out.resize(static_cast<std::size_t>(w - out.data()));
}

}  // namespace kakehi::http2::hpack
