// SETTINGS parameters (RFC 9113 §6.5.2; RFC 8441 §3; RFC 9218 §2.1): identifiers, the value set
// one endpoint advertises, the range rules for each value, and a view over the 6-byte entries
// of a received SETTINGS payload. Unknown identifiers are ignored (§6.5.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kakehi/common/result.hpp"
#include "kakehi/http2/detail/wire.hpp"
#include "kakehi/http2/error.hpp"

namespace kakehi::http2 {

enum class SettingId : uint16_t {
  HeaderTableSize = 0x1,
  EnablePush = 0x2,
  MaxConcurrentStreams = 0x3,
  InitialWindowSize = 0x4,
  MaxFrameSize = 0x5,
  MaxHeaderListSize = 0x6,
  EnableConnectProtocol = 0x8,  // RFC 8441 §3
  NoRfc7540Priorities = 0x9,    // RFC 9218 §2.1
};

struct Setting {
  uint16_t id = 0;
  uint32_t value = 0;
};

inline constexpr uint32_t kMinMaxFrameSize = 16384;        // §6.5.2 (also the initial value)
inline constexpr uint32_t kMaxMaxFrameSize = 16777215;     // §6.5.2: 2^24-1
inline constexpr uint32_t kMaxInitialWindow = 0x7fffffff;  // §6.5.2: 2^31-1
inline constexpr uint32_t kUnlimited = 0xffffffffu;

/// The values one endpoint has advertised (initial values from §6.5.2).
struct Settings {
  uint32_t header_table_size = 4096;
  uint32_t enable_push = 1;
  uint32_t max_concurrent_streams = kUnlimited;  // "initially, there is no limit"
  uint32_t initial_window_size = 65535;
  uint32_t max_frame_size = kMinMaxFrameSize;
  uint32_t max_header_list_size = kUnlimited;
  uint32_t enable_connect_protocol = 0;
  uint32_t no_rfc7540_priorities = 0;

  /// Stores `s` (already validated by `validate_setting`); unknown ids are ignored.
  void apply(Setting s) noexcept {
    switch (static_cast<SettingId>(s.id)) {
      case SettingId::HeaderTableSize:
        header_table_size = s.value;
        break;
      case SettingId::EnablePush:
        enable_push = s.value;
        break;
      case SettingId::MaxConcurrentStreams:
        max_concurrent_streams = s.value;
        break;
      case SettingId::InitialWindowSize:
        initial_window_size = s.value;
        break;
      case SettingId::MaxFrameSize:
        max_frame_size = s.value;
        break;
      case SettingId::MaxHeaderListSize:
        max_header_list_size = s.value;
        break;
      case SettingId::EnableConnectProtocol:
        enable_connect_protocol = s.value;
        break;
      case SettingId::NoRfc7540Priorities:
        no_rfc7540_priorities = s.value;
        break;
    }
  }
};

/// Range rules of §6.5.2 (and RFC 8441 §3, RFC 9218 §2.1): ENABLE_PUSH, ENABLE_CONNECT_PROTOCOL
/// and NO_RFC7540_PRIORITIES other than 0/1 → PROTOCOL_ERROR; INITIAL_WINDOW_SIZE above 2^31-1
/// → FLOW_CONTROL_ERROR; MAX_FRAME_SIZE outside 16384..2^24-1 → PROTOCOL_ERROR. All are
/// connection errors. Unknown identifiers pass.
inline Result<void, FrameError> validate_setting(Setting s) noexcept {
  switch (static_cast<SettingId>(s.id)) {
    case SettingId::EnablePush:
      if (s.value > 1)
        return Unexpected(connection_error(H2Error::ProtocolError, "ENABLE_PUSH not 0 or 1"));
      break;
    case SettingId::InitialWindowSize:
      if (s.value > kMaxInitialWindow)
        return Unexpected(
            connection_error(H2Error::FlowControlError, "INITIAL_WINDOW_SIZE above 2^31-1"));
      break;
    case SettingId::MaxFrameSize:
      if (s.value < kMinMaxFrameSize || s.value > kMaxMaxFrameSize)
        return Unexpected(
            connection_error(H2Error::ProtocolError, "MAX_FRAME_SIZE outside 16384..2^24-1"));
      break;
    case SettingId::EnableConnectProtocol:
    case SettingId::NoRfc7540Priorities:
      if (s.value > 1)
        return Unexpected(connection_error(H2Error::ProtocolError, "boolean setting not 0 or 1"));
      break;
    default:
      break;
  }
  return {};
}

/// A view over the entries of a SETTINGS payload (length already checked to be a multiple of 6).
class SettingsList {
 public:
  SettingsList() = default;
  explicit SettingsList(std::span<const std::byte> payload) noexcept : bytes_(payload) {}

  size_t size() const noexcept { return bytes_.size() / 6; }
  bool empty() const noexcept { return bytes_.empty(); }
  Setting operator[](size_t i) const noexcept {
    return Setting{detail::be16(bytes_, i * 6), detail::be32(bytes_, i * 6 + 2)};
  }

 private:
  std::span<const std::byte> bytes_;
};

}  // namespace kakehi::http2
