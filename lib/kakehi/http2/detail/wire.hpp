// Big-endian integer reads and writes over byte spans for the HTTP/2 wire format (RFC 9113 §4.1:
// all multi-byte fields are in network byte order). Callers check bounds first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace kakehi::http2::detail {

inline uint8_t u8(std::span<const std::byte> b, size_t at) noexcept {
  return static_cast<uint8_t>(b[at]);
}
inline uint16_t be16(std::span<const std::byte> b, size_t at) noexcept {
  return static_cast<uint16_t>((u8(b, at) << 8) | u8(b, at + 1));
}
inline uint32_t be24(std::span<const std::byte> b, size_t at) noexcept {
  return (uint32_t{u8(b, at)} << 16) | (uint32_t{u8(b, at + 1)} << 8) | u8(b, at + 2);
}
inline uint32_t be32(std::span<const std::byte> b, size_t at) noexcept {
  return (uint32_t{u8(b, at)} << 24) | (uint32_t{u8(b, at + 1)} << 16) |
         (uint32_t{u8(b, at + 2)} << 8) | u8(b, at + 3);
}
/// A 31-bit field preceded by one reserved bit that is ignored on receipt (RFC 9113 §4.1).
inline uint32_t be31(std::span<const std::byte> b, size_t at) noexcept {
  return be32(b, at) & 0x7fffffffu;
}

inline void put8(std::vector<std::byte>& out, uint32_t v) { out.push_back(std::byte(v & 0xff)); }
inline void put16(std::vector<std::byte>& out, uint32_t v) {
  put8(out, v >> 8);
  put8(out, v);
}
inline void put24(std::vector<std::byte>& out, uint32_t v) {
  put8(out, v >> 16);
  put16(out, v);
}
inline void put32(std::vector<std::byte>& out, uint32_t v) {
  put16(out, v >> 16);
  put16(out, v);
}
inline void put_bytes(std::vector<std::byte>& out, std::span<const std::byte> b) {
  out.insert(out.end(), b.begin(), b.end());
}

}  // namespace kakehi::http2::detail
