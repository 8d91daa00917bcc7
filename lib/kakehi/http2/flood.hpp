// Abuse limits of the HTTP/2 engine and their counters: rapid reset (CVE-2023-44487),
// CONTINUATION floods (CVE-2024-27316), PING / SETTINGS / WINDOW_UPDATE / empty DATA floods,
// and too many queued control-frame answers. Rates are counted in fixed windows of the `now`
// values passed to the engine (no clock here). Tripping a limit ends the connection with
// GOAWAY(ENHANCE_YOUR_CALM). HPACK amplification is bounded by the decoder's limits.
#pragma once

#include <chrono>
#include <cstdint>

namespace kakehi::http2 {

using Millis = std::chrono::milliseconds;

struct FloodLimits {
  Millis window{1000};                     // the period over which the rates below are counted
  uint32_t max_resets_per_window = 200;    // streams reset by the peer (RST_STREAM)
  uint32_t max_pings_per_window = 100;     // PING frames needing an ACK
  uint32_t max_settings_per_window = 100;  // SETTINGS frames needing an ACK
  uint32_t max_window_updates_per_window = 2000;
  uint32_t max_empty_data_per_window = 100;      // DATA with no payload and no END_STREAM
  uint32_t max_stream_errors_per_window = 200;   // our RST_STREAMs caused by the peer
  uint32_t max_continuations_per_block = 64;     // CONTINUATION frames in one header block
  uint32_t max_header_block_bytes = 256 * 1024;  // encoded bytes of one header block
  uint32_t max_queued_control_frames = 1000;     // answers (ACKs, RST_STREAM) not yet written
};

/// What was counted (for metrics), and which limit tripped, if any.
struct FloodStats {
  uint64_t resets_received = 0;
  uint64_t pings_received = 0;
  uint64_t settings_received = 0;
  uint64_t window_updates_received = 0;
  uint64_t empty_data_received = 0;
  uint64_t continuations_received = 0;
  uint64_t stream_errors_sent = 0;
  uint64_t trips = 0;
  const char* tripped = nullptr;  // reason of the limit that ended the connection
};

/// Counts events in fixed windows: `hit(now)` returns false when the count in the current
/// window exceeds `limit`.
class RateCounter {
 public:
  bool hit(Millis now, Millis window, uint32_t limit) noexcept {
    if (now - start_ >= window || now < start_) {
      start_ = now;
      count_ = 0;
    }
    return ++count_ <= limit;
  }

 private:
  Millis start_{0};
  uint32_t count_ = 0;
};

}  // namespace kakehi::http2
