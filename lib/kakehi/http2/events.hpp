// Events the HTTP/2 engine reports to its owner (the session), through an EventSink passed at
// construction. Called synchronously from Connection::feed/tick/submit_*; views are valid only
// during the call. A sink must not re-enter feed(); it may call submit_* and reset_stream.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "kakehi/http2/error.hpp"
#include "kakehi/http2/field_list.hpp"
#include "kakehi/http2/settings.hpp"

namespace kakehi::http2 {

/// Which head a header block is.
enum class HeadKind : uint8_t {
  Request,        // server: a new request stream
  Informational,  // client: a 1xx response
  Response,       // client: the final response
  Trailers,
};

/// Why a stream ended abnormally.
enum class ResetOrigin : uint8_t {
  Remote,  // the peer sent RST_STREAM
  Local,   // the engine reset it (peer error) or the application asked
  Goaway,  // client: the peer's GOAWAY excluded it; it was not processed and may be retried
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  /// A complete, validated header block. `end_stream`: no body follows.
  virtual void on_headers(uint32_t stream_id, HeadKind kind, const FieldList& fields,
                          bool end_stream) = 0;
  /// Body bytes (padding removed). With the auto window policy the credit is returned once
  /// this returns; otherwise call Connection::consume().
  virtual void on_data(uint32_t stream_id, std::span<const std::byte> data, bool end_stream) = 0;
  /// The stream ended without completing. `retryable`: the peer did not process it
  /// (REFUSED_STREAM §8.7, or above a GOAWAY's last stream id §6.8).
  virtual void on_stream_reset(uint32_t stream_id, H2Error code, ResetOrigin origin,
                               bool retryable) = 0;
  /// Both directions finished normally; the stream is gone.
  virtual void on_stream_closed(uint32_t /*stream_id*/) {}
  virtual void on_settings(const Settings& /*peer*/) {}
  virtual void on_ping_ack(const std::array<std::byte, 8>& /*opaque*/) {}
  virtual void on_goaway(uint32_t /*last_stream_id*/, H2Error /*code*/,
                         std::span<const std::byte> /*debug*/) {}
  /// The engine ended the connection (a GOAWAY is queued); no more input is processed.
  virtual void on_connection_error(const FrameError& /*err*/) {}
};

}  // namespace kakehi::http2
