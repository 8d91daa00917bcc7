// HTTP/2 frame encoding: the inverse of frame_decoder.cpp, field by field per RFC 9113 §6.
#include "kakehi/http2/frame_encoder.hpp"

#include <cassert>

#include "kakehi/http2/detail/wire.hpp"

namespace kakehi::http2 {
namespace {

using Bytes = std::span<const std::byte>;
using detail::put16;
using detail::put32;
using detail::put8;
using detail::put_bytes;

uint8_t type_of(FrameType t) { return static_cast<uint8_t>(t); }

void put_padding(ByteBuffer& out, std::optional<uint8_t> pad) {
  if (pad) out.insert(out.end(), *pad, std::byte{0});
}

void put_priority(ByteBuffer& out, const PrioritySpec& p) {
  put32(out, (p.exclusive ? 0x80000000u : 0u) | (p.dependency & kMaxStreamId));
  put8(out, p.weight);
}

}  // namespace

void encode_frame_header(ByteBuffer& out, const FrameHeader& h) {
  assert(h.length <= kMaxMaxFrameSize && h.stream_id <= kMaxStreamId);
  detail::put24(out, h.length);
  put8(out, h.type);
  put8(out, h.flags);
  put32(out, h.stream_id);
}

void encode_data(ByteBuffer& out, uint32_t stream_id, Bytes data, bool end_stream,
                 std::optional<uint8_t> pad_length) {
  uint32_t len = static_cast<uint32_t>(data.size()) + (pad_length ? 1u + *pad_length : 0u);
  uint8_t flags = (end_stream ? flag::kEndStream : 0) | (pad_length ? flag::kPadded : 0);
  encode_frame_header(out, {len, type_of(FrameType::Data), flags, stream_id});
  if (pad_length) put8(out, *pad_length);
  put_bytes(out, data);
  put_padding(out, pad_length);
}

void encode_data_header(ByteBuffer& out, uint32_t stream_id, uint32_t length, bool end_stream) {
  encode_frame_header(out, {length, type_of(FrameType::Data),
                            end_stream ? flag::kEndStream : uint8_t{0}, stream_id});
}

void encode_headers(ByteBuffer& out, uint32_t stream_id, Bytes fragment, bool end_stream,
                    bool end_headers, std::optional<PrioritySpec> priority,
                    std::optional<uint8_t> pad_length) {
  uint32_t len = static_cast<uint32_t>(fragment.size()) + (priority ? 5u : 0u) +
                 (pad_length ? 1u + *pad_length : 0u);
  uint8_t flags = (end_stream ? flag::kEndStream : 0) | (end_headers ? flag::kEndHeaders : 0) |
                  (pad_length ? flag::kPadded : 0) | (priority ? flag::kPriority : 0);
  encode_frame_header(out, {len, type_of(FrameType::Headers), flags, stream_id});
  if (pad_length) put8(out, *pad_length);
  if (priority) put_priority(out, *priority);
  put_bytes(out, fragment);
  put_padding(out, pad_length);
}

void encode_priority(ByteBuffer& out, uint32_t stream_id, const PrioritySpec& p) {
  encode_frame_header(out, {5, type_of(FrameType::Priority), 0, stream_id});
  put_priority(out, p);
}

void encode_rst_stream(ByteBuffer& out, uint32_t stream_id, H2Error code) {
  encode_frame_header(out, {4, type_of(FrameType::RstStream), 0, stream_id});
  put32(out, static_cast<uint32_t>(code));
}

void encode_settings(ByteBuffer& out, std::span<const Setting> settings) {
  encode_frame_header(
      out, {static_cast<uint32_t>(settings.size() * 6), type_of(FrameType::Settings), 0, 0});
  for (const Setting& s : settings) {
    put16(out, s.id);
    put32(out, s.value);
  }
}

void encode_settings_ack(ByteBuffer& out) {
  encode_frame_header(out, {0, type_of(FrameType::Settings), flag::kAck, 0});
}

void encode_push_promise(ByteBuffer& out, uint32_t stream_id, uint32_t promised_stream_id,
                         Bytes fragment, bool end_headers, std::optional<uint8_t> pad_length) {
  uint32_t len = static_cast<uint32_t>(fragment.size()) + 4u + (pad_length ? 1u + *pad_length : 0u);
  uint8_t flags = (end_headers ? flag::kEndHeaders : 0) | (pad_length ? flag::kPadded : 0);
  encode_frame_header(out, {len, type_of(FrameType::PushPromise), flags, stream_id});
  if (pad_length) put8(out, *pad_length);
  put32(out, promised_stream_id & kMaxStreamId);
  put_bytes(out, fragment);
  put_padding(out, pad_length);
}

void encode_ping(ByteBuffer& out, const std::array<std::byte, 8>& opaque, bool ack) {
  encode_frame_header(out, {8, type_of(FrameType::Ping), ack ? flag::kAck : uint8_t{0}, 0});
  put_bytes(out, opaque);
}

void encode_goaway(ByteBuffer& out, uint32_t last_stream_id, H2Error code, Bytes debug_data) {
  encode_frame_header(
      out, {static_cast<uint32_t>(8 + debug_data.size()), type_of(FrameType::Goaway), 0, 0});
  put32(out, last_stream_id & kMaxStreamId);
  put32(out, static_cast<uint32_t>(code));
  put_bytes(out, debug_data);
}

void encode_window_update(ByteBuffer& out, uint32_t stream_id, uint32_t increment) {
  assert(increment >= 1 && increment <= kMaxStreamId);
  encode_frame_header(out, {4, type_of(FrameType::WindowUpdate), 0, stream_id});
  put32(out, increment);
}

void encode_continuation(ByteBuffer& out, uint32_t stream_id, Bytes fragment, bool end_headers) {
  encode_frame_header(out,
                      {static_cast<uint32_t>(fragment.size()), type_of(FrameType::Continuation),
                       end_headers ? flag::kEndHeaders : uint8_t{0}, stream_id});
  put_bytes(out, fragment);
}

void encode_priority_update(ByteBuffer& out, uint32_t prioritized_stream_id,
                            std::string_view field_value) {
  encode_frame_header(out, {static_cast<uint32_t>(4 + field_value.size()),
                            type_of(FrameType::PriorityUpdate), 0, 0});
  put32(out, prioritized_stream_id & kMaxStreamId);
  put_bytes(out, std::as_bytes(std::span(field_value.data(), field_value.size())));
}

namespace {

struct FrameEncoder {
  ByteBuffer& out;
  void operator()(const DataFrame& f) {
    encode_data(out, f.stream_id, f.data, f.end_stream, f.pad_length);
  }
  void operator()(const HeadersFrame& f) {
    encode_headers(out, f.stream_id, f.fragment, f.end_stream, f.end_headers, f.priority,
                   f.pad_length);
  }
  void operator()(const PriorityFrame& f) { encode_priority(out, f.stream_id, f.priority); }
  void operator()(const RstStreamFrame& f) { encode_rst_stream(out, f.stream_id, f.error_code); }
  void operator()(const SettingsFrame& f) {
    if (f.ack) return encode_settings_ack(out);
    std::vector<Setting> v;
    for (size_t i = 0; i < f.settings.size(); ++i) v.push_back(f.settings[i]);
    encode_settings(out, v);
  }
  void operator()(const PushPromiseFrame& f) {
    encode_push_promise(out, f.stream_id, f.promised_stream_id, f.fragment, f.end_headers,
                        f.pad_length);
  }
  void operator()(const PingFrame& f) { encode_ping(out, f.opaque, f.ack); }
  void operator()(const GoawayFrame& f) {
    encode_goaway(out, f.last_stream_id, f.error_code, f.debug_data);
  }
  void operator()(const WindowUpdateFrame& f) {
    encode_window_update(out, f.stream_id, f.increment);
  }
  void operator()(const ContinuationFrame& f) {
    encode_continuation(out, f.stream_id, f.fragment, f.end_headers);
  }
  void operator()(const PriorityUpdateFrame& f) {
    encode_priority_update(out, f.prioritized_stream_id, f.field_value);
  }
  void operator()(const UnknownFrame& f) {
    encode_frame_header(out, f.header);
    put_bytes(out, f.payload);
  }
};

}  // namespace

void encode_frame(ByteBuffer& out, const Frame& f) { std::visit(FrameEncoder{out}, f); }

}  // namespace kakehi::http2
