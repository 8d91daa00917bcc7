// RFC 9218 priority parameters: urgency (0..7, default 3) and incremental (default false), and
// parsing of the Priority structured field (RFC 9218 §4–§5, an RFC 8941 dictionary) as carried
// in the `priority` request header and in PRIORITY_UPDATE frames. Pure parsing, no state.
#pragma once

#include <cstdint>
#include <string_view>

namespace kakehi::http2 {

struct Priority {
  uint8_t urgency = 3;       // RFC 9218 §4.1: 0 (highest) .. 7, default 3
  bool incremental = false;  // RFC 9218 §4.2

  friend bool operator==(const Priority&, const Priority&) = default;
};

inline constexpr uint8_t kUrgencyLevels = 8;

/// Applies the members of a Priority field value to `base` (the value so far: defaults for a
/// header, the current priority is *not* kept for PRIORITY_UPDATE — pass `Priority{}` there,
/// RFC 9218 §7: absent parameters take their defaults). Unknown keys, parameters, and values
/// out of range or of the wrong type are ignored (§4). A field that is not a valid dictionary
/// yields `base` unchanged.
Priority parse_priority_field(std::string_view value, Priority base = {}) noexcept;

}  // namespace kakehi::http2
