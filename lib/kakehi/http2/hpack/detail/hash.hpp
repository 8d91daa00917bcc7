// A small fast string hash for the HPACK encoder's name indexes (static and dynamic). Usable
// at compile time with the same results as at run time. Not a security boundary: entries
// are always compared byte for byte after a hash match.
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

/// Little-endian load of `N` (4 or 8) bytes.
template <std::size_t N>
constexpr std::uint64_t load_le(const char* p) noexcept {
  if (!std::is_constant_evaluated() && std::endian::native == std::endian::little) {
    if constexpr (N == 8) {
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    } else {
      std::uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
  }
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < N; ++i)
    v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

constexpr std::uint64_t hash_bytes(std::string_view s, std::uint64_t seed = 0) noexcept {
  const char* p = s.data();
  const std::size_t n = s.size();
  std::uint64_t h = hash_mix(seed ^ (n + 0x51ed27ull));
  if (n >= 8) {
    std::size_t i = 0;
    for (; i + 8 < n; i += 8) h = hash_mix(h ^ load_le<8>(p + i));
    h = hash_mix(h ^ load_le<8>(p + n - 8));  // last 8 bytes, overlapping
  } else if (n >= 4) {
    h = hash_mix(h ^ (load_le<4>(p) | (load_le<4>(p + n - 4) << 32)));
  } else if (n > 0) {
    const auto b = [&](std::size_t i) { return std::uint64_t{static_cast<unsigned char>(p[i])}; };
    h = hash_mix(h ^ (b(0) | (b(n / 2) << 8) | (b(n - 1) << 16)));
  }
  return h ^ (h >> 32);
}

}  // namespace kakehi::http2::hpack::detail
