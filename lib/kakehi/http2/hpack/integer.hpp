// HPACK integer representation (RFC 7541 §5.1): an N-bit prefix followed by 7-bit groups.
// Decoding accepts values up to 2^32 - 1 and at most 5 continuation bytes (anything longer
// is IntegerOverflow, so zero-padded encodings cannot stall the decoder). Header-only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kakehi/common/result.hpp"
#include "kakehi/http2/hpack/hpack_error.hpp"

namespace kakehi::http2::hpack::integer {

/// Decodes an integer with a `prefix_bits` prefix starting at `*p` (bits above the prefix in
/// the first byte are ignored). On success advances `*p`. Precondition: *p < end.
inline Result<std::uint32_t, HpackError> decode(const std::byte** p, const std::byte* end,
                                                int prefix_bits) noexcept {
  const std::uint32_t mask = (1u << prefix_bits) - 1;
  const std::byte* q = *p;
  std::uint32_t v = std::to_integer<std::uint32_t>(*q++) & mask;
  if (v < mask) {
    *p = q;
    return v;
  }
  std::uint64_t acc = v;
  for (int shift = 0; shift <= 28; shift += 7) {
    if (q == end) return Unexpected(HpackError::Truncated);
    const auto b = std::to_integer<std::uint32_t>(*q++);
    acc += std::uint64_t{b & 0x7f} << shift;
    if ((b & 0x80) == 0) {
      if (acc > 0xffffffffu) return Unexpected(HpackError::IntegerOverflow);
      *p = q;
      return static_cast<std::uint32_t>(acc);
    }
  }
  return Unexpected(HpackError::IntegerOverflow);
}

/// Most bytes encode() writes for a 32-bit value.
inline constexpr std::size_t kMaxEncodedLength = 6;

/// Writes `v` with a `prefix_bits` prefix; `first` holds the representation's high bits.
/// Returns the number of bytes written (at most kMaxEncodedLength).
inline std::size_t encode(std::uint32_t v, int prefix_bits, std::uint8_t first,
                          std::byte* out) noexcept {
  const std::uint32_t mask = (1u << prefix_bits) - 1;
  if (v < mask) {
    out[0] = std::byte(first | v);
    return 1;
  }
  out[0] = std::byte(first | mask);
  v -= mask;
  std::size_t n = 1;
  while (v >= 0x80) {
    out[n++] = std::byte((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out[n++] = std::byte(v);
  return n;
}

}  // namespace kakehi::http2::hpack::integer
