// HTTP/2 frame encoding (RFC 9113 §4.1, §6; RFC 9218 §7.1): one function per frame type that
// appends the frame to a byte buffer. Padding is written as zeros (§6.1). Callers pass valid
// values (stream ids ≤ 2^31-1, lengths within the peer's SETTINGS_MAX_FRAME_SIZE); the
// encoders assert this, they do not police peers.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "kakehi/http2/frame.hpp"

namespace kakehi::http2 {

using ByteBuffer = std::vector<std::byte>;

void encode_frame_header(ByteBuffer& out, const FrameHeader& h);

/// DATA with `data` as payload. `pad_length` adds the Pad Length field and that many zeros.
void encode_data(ByteBuffer& out, uint32_t stream_id, std::span<const std::byte> data,
                 bool end_stream, std::optional<uint8_t> pad_length = std::nullopt);
/// Only the 9-byte header of an unpadded DATA frame, for payloads sent as separate slices.
void encode_data_header(ByteBuffer& out, uint32_t stream_id, uint32_t length, bool end_stream);
void encode_headers(ByteBuffer& out, uint32_t stream_id, std::span<const std::byte> fragment,
                    bool end_stream, bool end_headers,
                    std::optional<PrioritySpec> priority = std::nullopt,
                    std::optional<uint8_t> pad_length = std::nullopt);
void encode_priority(ByteBuffer& out, uint32_t stream_id, const PrioritySpec& p);
void encode_rst_stream(ByteBuffer& out, uint32_t stream_id, H2Error code);
void encode_settings(ByteBuffer& out, std::span<const Setting> settings);
void encode_settings_ack(ByteBuffer& out);
void encode_push_promise(ByteBuffer& out, uint32_t stream_id, uint32_t promised_stream_id,
                         std::span<const std::byte> fragment, bool end_headers,
                         std::optional<uint8_t> pad_length = std::nullopt);
void encode_ping(ByteBuffer& out, const std::array<std::byte, 8>& opaque, bool ack);
void encode_goaway(ByteBuffer& out, uint32_t last_stream_id, H2Error code,
                   std::span<const std::byte> debug_data = {});
void encode_window_update(ByteBuffer& out, uint32_t stream_id, uint32_t increment);
void encode_continuation(ByteBuffer& out, uint32_t stream_id, std::span<const std::byte> fragment,
                         bool end_headers);
void encode_priority_update(ByteBuffer& out, uint32_t prioritized_stream_id,
                            std::string_view field_value);

/// Re-encodes any decoded frame (UnknownFrame keeps its header and payload).
void encode_frame(ByteBuffer& out, const Frame& f);

}  // namespace kakehi::http2
