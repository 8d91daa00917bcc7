// The HPACK static table (RFC 7541 §2.3.1, Appendix A): 61 fixed entries, index 1..61, and a
// compile-time hash index from name to its first entry for the encoder. Header-only data.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "kakehi/http2/hpack/detail/hash.hpp"

namespace kakehi::http2::hpack {

struct StaticEntry {
  std::string_view name;
  std::string_view value;
};

inline constexpr std::uint32_t kStaticTableSize = 61;

/// Appendix A, in index order (element 0 is index 1).
inline constexpr std::array<StaticEntry, kStaticTableSize> kStaticTable = {{
    {":authority", ""},
    {":method", "GET"},
    {":method", "POST"},
    {":path", "/"},
    {":path", "/index.html"},
    {":scheme", "http"},
    {":scheme", "https"},
    {":status", "200"},
    {":status", "204"},
    {":status", "206"},
    {":status", "304"},
    {":status", "400"},
    {":status", "404"},
    {":status", "500"},
    {"accept-charset", ""},
    {"accept-encoding", "gzip, deflate"},
    {"accept-language", ""},
    {"accept-ranges", ""},
    {"accept", ""},
    {"access-control-allow-origin", ""},
    {"age", ""},
    {"allow", ""},
    {"authorization", ""},
    {"cache-control", ""},
    {"content-disposition", ""},
    {"content-encoding", ""},
    {"content-language", ""},
    {"content-length", ""},
    {"content-location", ""},
    {"content-range", ""},
    {"content-type", ""},
    {"cookie", ""},
    {"date", ""},
    {"etag", ""},
    {"expect", ""},
    {"expires", ""},
    {"from", ""},
    {"host", ""},
    {"if-match", ""},
    {"if-modified-since", ""},
    {"if-none-match", ""},
    {"if-range", ""},
    {"if-unmodified-since", ""},
    {"last-modified", ""},
    {"link", ""},
    {"location", ""},
    {"max-forwards", ""},
    {"proxy-authenticate", ""},
    {"proxy-authorization", ""},
    {"range", ""},
    {"referer", ""},
    {"refresh", ""},
    {"retry-after", ""},
    {"server", ""},
    {"set-cookie", ""},
    {"strict-transport-security", ""},
    {"transfer-encoding", ""},
    {"user-agent", ""},
    {"vary", ""},
    {"via", ""},
    {"www-authenticate", ""},
}};

/// Result of a static lookup: `index` 0 when the name is not in the table; `exact` when the
/// entry at `index` also has the value.
struct StaticMatch {
  std::uint32_t index = 0;
  bool exact = false;
};

namespace detail {
inline constexpr std::uint32_t kStaticSlots = 128;  // power of two > 2 × distinct names

constexpr std::array<std::uint8_t, kStaticSlots> make_static_index() {
  std::array<std::uint8_t, kStaticSlots> slots{};
  for (std::uint32_t i = 0; i < kStaticTableSize; ++i) {
    if (i > 0 && kStaticTable[i - 1].name == kStaticTable[i].name) continue;
    auto s = static_cast<std::uint32_t>(hash_bytes(kStaticTable[i].name)) & (kStaticSlots - 1);
    while (slots[s] != 0) s = (s + 1) & (kStaticSlots - 1);
    slots[s] = static_cast<std::uint8_t>(i + 1);
  }
  return slots;
}
inline constexpr auto kStaticIndex = make_static_index();

constexpr std::array<std::uint64_t, kStaticTableSize> make_static_hashes() {
  std::array<std::uint64_t, kStaticTableSize> h{};
  for (std::uint32_t i = 0; i < kStaticTableSize; ++i) h[i] = hash_bytes(kStaticTable[i].name);
  return h;
}
inline constexpr auto kStaticNameHash = make_static_hashes();
}  // namespace detail

/// Finds `name` (whose hash_bytes() is `name_hash`) and, among its entries, `value`.
constexpr StaticMatch find_static(std::string_view name, std::string_view value,
                                  std::uint64_t name_hash) noexcept {
  auto s = static_cast<std::uint32_t>(name_hash) & (detail::kStaticSlots - 1);
  for (;; s = (s + 1) & (detail::kStaticSlots - 1)) {
    const std::uint32_t idx = detail::kStaticIndex[s];
    if (idx == 0) return {};
    if (detail::kStaticNameHash[idx - 1] != name_hash || kStaticTable[idx - 1].name != name)
      continue;
    for (std::uint32_t i = idx; i <= kStaticTableSize && kStaticTable[i - 1].name == name; ++i)
      if (kStaticTable[i - 1].value == value) return {i, true};
    return {idx, false};
  }
}

}  // namespace kakehi::http2::hpack
