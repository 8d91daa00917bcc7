// HTTP/2 frame types, flags, limits and the decoded form of each frame (RFC 9113 §4.1, §6;
// PRIORITY_UPDATE from RFC 9218 §7.1). Decoded frames are views into the input bytes: they
// are valid only as long as the bytes they were decoded from. No behaviour here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>

#include "kakehi/http2/error.hpp"
#include "kakehi/http2/settings.hpp"

namespace kakehi::http2 {

/// Frame type codes (RFC 9113 §6, §11.2; RFC 9218 §7.1).
enum class FrameType : uint8_t {
  Data = 0x0,
  Headers = 0x1,
  Priority = 0x2,
  RstStream = 0x3,
  Settings = 0x4,
  PushPromise = 0x5,
  Ping = 0x6,
  Goaway = 0x7,
  WindowUpdate = 0x8,
  Continuation = 0x9,
  PriorityUpdate = 0x10,
};

/// Flag bits (RFC 9113 §6). Flags not defined for a frame type are ignored (§4.1).
namespace flag {
inline constexpr uint8_t kEndStream = 0x1;   // DATA, HEADERS
inline constexpr uint8_t kAck = 0x1;         // SETTINGS, PING
inline constexpr uint8_t kEndHeaders = 0x4;  // HEADERS, PUSH_PROMISE, CONTINUATION
inline constexpr uint8_t kPadded = 0x8;      // DATA, HEADERS, PUSH_PROMISE
inline constexpr uint8_t kPriority = 0x20;   // HEADERS
}  // namespace flag

inline constexpr size_t kFrameHeaderSize = 9;                                 // §4.1
inline constexpr uint32_t kMaxStreamId = 0x7fffffffu;                         // §5.1.1: 31 bits
inline constexpr int64_t kMaxWindowSize = 0x7fffffff;                         // §6.9.1: 2^31-1
inline constexpr int64_t kDefaultWindowSize = 65535;                          // §6.9.2
inline constexpr char kClientPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";  // §3.4
inline constexpr size_t kClientPrefaceSize = sizeof(kClientPreface) - 1;

/// The 9-byte frame header (§4.1). `type` stays raw: unknown types must be ignored.
struct FrameHeader {
  uint32_t length = 0;  // 24 bits
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream_id = 0;  // reserved bit already cleared
  bool has(uint8_t f) const noexcept { return (flags & f) != 0; }
};

/// The deprecated priority fields of HEADERS and PRIORITY (§5.3.2 of RFC 7540, §6.3).
/// `weight` is the wire value (actual weight minus one).
struct PrioritySpec {
  uint32_t dependency = 0;
  uint8_t weight = 15;
  bool exclusive = false;
};

struct DataFrame {
  uint32_t stream_id = 0;
  std::span<const std::byte> data;
  bool end_stream = false;
  uint32_t flow_length = 0;  // whole payload incl. padding: what flow control counts (§6.1)
  std::optional<uint8_t> pad_length;  // set when PADDED
};

struct HeadersFrame {
  uint32_t stream_id = 0;
  std::span<const std::byte> fragment;
  bool end_stream = false;
  bool end_headers = false;
  std::optional<PrioritySpec> priority;
  std::optional<uint8_t> pad_length;
};

struct PriorityFrame {
  uint32_t stream_id = 0;
  PrioritySpec priority;
};

struct RstStreamFrame {
  uint32_t stream_id = 0;
  H2Error error_code = H2Error::NoError;  // may hold a value outside the enum
};

struct SettingsFrame {
  bool ack = false;
  SettingsList settings;
};

struct PushPromiseFrame {
  uint32_t stream_id = 0;
  uint32_t promised_stream_id = 0;
  std::span<const std::byte> fragment;
  bool end_headers = false;
  std::optional<uint8_t> pad_length;
};

struct PingFrame {
  bool ack = false;
  std::array<std::byte, 8> opaque{};
};

struct GoawayFrame {
  uint32_t last_stream_id = 0;
  H2Error error_code = H2Error::NoError;
  std::span<const std::byte> debug_data;
};

struct WindowUpdateFrame {
  uint32_t stream_id = 0;
  uint32_t increment = 0;
};

struct ContinuationFrame {
  uint32_t stream_id = 0;
  std::span<const std::byte> fragment;
  bool end_headers = false;
};

/// RFC 9218 §7.1: sent on stream 0, names the stream whose priority changes.
struct PriorityUpdateFrame {
  uint32_t prioritized_stream_id = 0;
  std::string_view field_value;  // a Priority structured field, e.g. "u=2, i"
};

/// A frame of a type we do not know; ignored by the engine (§4.1, §5.5).
struct UnknownFrame {
  FrameHeader header;
  std::span<const std::byte> payload;
};

using Frame = std::variant<DataFrame, HeadersFrame, PriorityFrame, RstStreamFrame, SettingsFrame,
                           PushPromiseFrame, PingFrame, GoawayFrame, WindowUpdateFrame,
                           ContinuationFrame, PriorityUpdateFrame, UnknownFrame>;

}  // namespace kakehi::http2
