// Test helpers for HTTP/2: byte literals from hex text ("00 00 04 08 ..."; spaces and '|'
// ignored so tests can separate fields), hex dumps for failure messages, and builders that
// produce whole frames through the library's encoders.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kakehi/http2/frame_encoder.hpp"

#include "support/hex.hpp"

namespace kakehi::test {

inline Bytes ascii(std::string_view s) {
  auto b = std::as_bytes(std::span(s.data(), s.size()));
  return Bytes(b.begin(), b.end());
}

inline std::string_view as_text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

/// A raw frame with an arbitrary header and payload (for malformed input).
inline Bytes raw_frame(uint8_t type, uint8_t flags, uint32_t stream_id, const Bytes& payload,
                       uint32_t length_override = 0xffffffffu) {
  Bytes out;
  uint32_t len =
      length_override == 0xffffffffu ? static_cast<uint32_t>(payload.size()) : length_override;
  out.push_back(std::byte(len >> 16));
  out.push_back(std::byte(len >> 8));
  out.push_back(std::byte(len));
  out.push_back(std::byte(type));
  out.push_back(std::byte(flags));
  for (int s = 24; s >= 0; s -= 8) out.push_back(std::byte(stream_id >> s));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

}  // namespace kakehi::test
