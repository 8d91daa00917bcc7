// A small fast string hash for the HPACK encoder's table indexes (static and dynamic). Usable
// at compile time. Not a security boundary: entries are always compared byte for byte.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace kakehi::http2::hpack::detail {

constexpr std::uint64_t hash_mix(std::uint64_t x) noexcept {
  x *= 0x9e3779b97f4a7c15ull;
  return x ^ (x >> 29);
}

constexpr std::uint64_t load_le(const char* p, std::size_t n) noexcept {
  if (!std::is_constant_evaluated() && n == 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    return v;
  }
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

constexpr std::uint64_t hash_bytes(std::string_view s, std::uint64_t seed = 0) noexcept {
  std::uint64_t h = hash_mix(seed ^ (s.size() + 0x51ed27ull));
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) h = hash_mix(h ^ load_le(s.data() + i, 8));
  if (i < s.size()) h = hash_mix(h ^ load_le(s.data() + i, s.size() - i));
  return h ^ (h >> 32);
}

}  // namespace kakehi::http2::hpack::detail
