// One header field as the HPACK decoder emits it and the encoder takes it (RFC 7541 §1.3).
// Views only: the strings are owned by whoever built the field (see decoder.hpp for how long
// decoded views stay valid). Must not own memory.
#pragma once

#include <string_view>

namespace kakehi::http2::hpack {

struct HeaderField {
  std::string_view name;
  std::string_view value;
  /// Decoder: the field arrived as "literal never indexed" (§6.2.3); an intermediary must
  /// re-encode it the same way (§7.1.3). Encoder: force a never-indexed literal.
  bool never_indexed = false;
};

}  // namespace kakehi::http2::hpack
