// HTTP/2 error codes (RFC 9113 §7) and the error value every decoder and the engine return:
// the wire code, its scope (connection → GOAWAY, stream → RST_STREAM, §5.4) and a static reason.
// Unknown codes received from a peer are kept as their raw value (§7: no special behaviour).
#pragma once

#include <cstdint>

namespace kakehi::http2 {

/// RFC 9113 §7 error codes; the enumerator values are the wire values.
enum class H2Error : uint32_t {
  NoError = 0x0,
  ProtocolError = 0x1,
  InternalError = 0x2,
  FlowControlError = 0x3,
  SettingsTimeout = 0x4,
  StreamClosed = 0x5,
  FrameSizeError = 0x6,
  RefusedStream = 0x7,
  Cancel = 0x8,
  CompressionError = 0x9,
  ConnectError = 0xa,
  EnhanceYourCalm = 0xb,
  InadequateSecurity = 0xc,
  Http11Required = 0xd,
};

/// Where an error applies (RFC 9113 §5.4.1 connection error, §5.4.2 stream error).
enum class ErrorScope : uint8_t { Connection, Stream };

/// An error detected while decoding or processing input. `stream_id` is the stream to reset
/// for stream-scoped errors (0 for connection errors). `reason` is a static string.
struct FrameError {
  H2Error code = H2Error::ProtocolError;
  ErrorScope scope = ErrorScope::Connection;
  uint32_t stream_id = 0;
  const char* reason = "";

  bool is_connection_error() const noexcept { return scope == ErrorScope::Connection; }
};

/// A connection error of `code`.
constexpr FrameError connection_error(H2Error code, const char* reason) noexcept {
  return FrameError{code, ErrorScope::Connection, 0, reason};
}
/// A stream error of `code` on `stream_id`.
constexpr FrameError stream_error(H2Error code, uint32_t stream_id, const char* reason) noexcept {
  return FrameError{code, ErrorScope::Stream, stream_id, reason};
}

/// Name of a code for logs and test output ("PROTOCOL_ERROR"); "UNKNOWN" for others.
constexpr const char* error_name(H2Error e) noexcept {
  switch (e) {
    case H2Error::NoError:
      return "NO_ERROR";
    case H2Error::ProtocolError:
      return "PROTOCOL_ERROR";
    case H2Error::InternalError:
      return "INTERNAL_ERROR";
    case H2Error::FlowControlError:
      return "FLOW_CONTROL_ERROR";
    case H2Error::SettingsTimeout:
      return "SETTINGS_TIMEOUT";
    case H2Error::StreamClosed:
      return "STREAM_CLOSED";
    case H2Error::FrameSizeError:
      return "FRAME_SIZE_ERROR";
    case H2Error::RefusedStream:
      return "REFUSED_STREAM";
    case H2Error::Cancel:
      return "CANCEL";
    case H2Error::CompressionError:
      return "COMPRESSION_ERROR";
    case H2Error::ConnectError:
      return "CONNECT_ERROR";
    case H2Error::EnhanceYourCalm:
      return "ENHANCE_YOUR_CALM";
    case H2Error::InadequateSecurity:
      return "INADEQUATE_SECURITY";
    case H2Error::Http11Required:
      return "HTTP_1_1_REQUIRED";
  }
  return "UNKNOWN";
}

}  // namespace kakehi::http2
