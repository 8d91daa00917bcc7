// Helpers for the HPACK unit tests: hex <-> bytes, and a sink that copies decoded fields.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kakehi/http2/hpack/decoder.hpp"

namespace kakehi::http2::hpack::test {

using Fields = std::vector<std::pair<std::string, std::string>>;

/// Hex string (whitespace ignored) to bytes.
inline std::vector<std::byte> from_hex(std::string_view hex) {
  std::vector<std::byte> out;
  int hi = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else
      continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(std::byte(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

inline std::string to_hex(std::span<const std::byte> b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (auto x : b) {
    s += kDigits[std::to_integer<int>(x) >> 4];
    s += kDigits[std::to_integer<int>(x) & 15];
  }
  return s;
}

struct Collect {
  Fields fields;
  std::vector<bool> never_indexed;
  void operator()(const HeaderField& f) {
    fields.emplace_back(std::string(f.name), std::string(f.value));
    never_indexed.push_back(f.never_indexed);
  }
};

/// Decodes one block into a fresh list; the error, if any, in `err`.
struct Decoded {
  Fields fields;
  std::vector<bool> never_indexed;
  bool ok = false;
  HpackError error{};
};

inline Decoded decode(Decoder& d, std::span<const std::byte> block) {
  Collect c;
  auto r = d.decode(block, c);
  Decoded out{std::move(c.fields), std::move(c.never_indexed), r.has_value(), {}};
  if (!r) out.error = r.error();
  return out;
}

inline Decoded decode_hex(Decoder& d, std::string_view hex) { return decode(d, from_hex(hex)); }

}  // namespace kakehi::http2::hpack::test
