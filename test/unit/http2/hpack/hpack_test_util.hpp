// Helpers for the HPACK unit tests: hex <-> bytes, and a sink that copies decoded fields.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kakehi/http2/hpack/decoder.hpp"
#include "support/hex.hpp"

namespace kakehi::http2::hpack::test {

using Fields = std::vector<std::pair<std::string, std::string>>;

/// Hex string (whitespace ignored) to bytes.
inline std::vector<std::byte> from_hex(std::string_view hex) { return kakehi::test::hex(hex); }
using kakehi::test::to_hex;

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
