// Checks the proxy needs beyond Beast's own parsing (RFC 9112 §2.2, §3, §5.2, §6): one pass over
// the lines of a message head (bare LF, obs-fold, limits, version), Transfer-Encoding and Host
// validation, request-target forms. Independent of Beast so it compiles once; no allocation.
#pragma once

#include <cstdint>
#include <string_view>

#include "kakehi/http/arena.hpp"
#include "kakehi/http1/outcome.hpp"
#include "kakehi/http1/parser.hpp"

namespace kakehi::http1::detail {

/// Incremental search for the end of a head. Keeps offsets only, so the input may move between
/// calls as long as it is presented again from the same first byte.
struct HeadScanner {
  uint32_t scanned = 0;     ///< bytes already checked
  uint32_t line_start = 0;  ///< offset of the current line
  uint32_t fields = 0;      ///< header lines seen
  bool first_line_done = false;
  void reset() noexcept { *this = {}; }
};

struct ScanResult {
  uint32_t head_len = 0;  ///< 0: need more bytes
  Outcome error = Outcome::Ok;
};

/// Finds the end of the head in `in` (CRLF CRLF), rejecting bare LF, obs-fold, a line starting
/// with whitespace, unsupported versions and exceeded limits.
ScanResult scan_head(HeadScanner& s, std::string_view in, const Limits& limits, bool request);

/// Transfer-Encoding value check (RFC 9112 §6.1, §6.3): chunked exactly once and last → Ok;
/// chunked not last or missing, empty elements → BadTransferEncoding; another coding before a
/// final chunked → UnknownTransferCoding.
Outcome check_transfer_encoding(std::string_view value) noexcept;

/// Host = uri-host [ ":" port ] (RFC 9110 §7.2); empty is allowed.
bool valid_host(std::string_view host) noexcept;

/// Beast lets obs-text (≥ 0x80) and DEL through in a target; RFC 9112 §3.2 allows neither.
inline bool ascii_target(std::string_view target) noexcept {
  for (char c : target)
    if (static_cast<unsigned char>(c) >= 0x7f) return false;
  return true;
}

struct Target {
  std::string_view scheme;     ///< empty for origin-form
  std::string_view authority;  ///< empty for origin-form
  std::string_view path;
};
/// Splits a request-target (RFC 9112 §3.2) into its parts; CONNECT is refused before this.
/// Absolute-form accepts http and https only; "*" only with OPTIONS.
Outcome parse_target(std::string_view method, std::string_view target, http::StringArena& arena,
                     Target& out) noexcept;

/// True if the bytes of `between` (from after the colon to the value) are only SP/HT: used to
/// spot obs-fold in trailers, where the head scanner does not run.
bool only_ows(std::string_view between) noexcept;

}  // namespace kakehi::http1::detail
