// HTTP/2 frame decoding: one function per frame type, each checking the rules of its RFC 9113
// §6 subsection (comments name them). See frame_decoder.hpp for the contract.
#include "kakehi/http2/frame_decoder.hpp"

#include "kakehi/http2/detail/wire.hpp"

namespace kakehi::http2 {
namespace {

using Bytes = std::span<const std::byte>;
using detail::be31;
using detail::be32;
using detail::u8;

Unexpected<FrameError> conn(H2Error code, const char* reason) {
  return Unexpected(connection_error(code, reason));
}

/// Strips the Pad Length field and the padding (§6.1, §6.2, §6.6). `fixed` counts the bytes
/// of mandatory fields that follow the Pad Length. Padding that leaves no room for them →
/// PROTOCOL_ERROR; a payload too small for Pad Length and the fixed fields → FRAME_SIZE_ERROR.
Result<Bytes, FrameError> strip_padding(const FrameHeader& h, Bytes p, size_t fixed) {
  size_t pad_field = h.has(flag::kPadded) ? 1 : 0;
  if (p.size() < pad_field + fixed)
    return conn(H2Error::FrameSizeError, "frame too short for its mandatory fields");
  if (!pad_field) return p;
  size_t pad = u8(p, 0);
  if (pad > p.size() - 1 - fixed)
    return conn(H2Error::ProtocolError, "padding length exceeds payload");
  return p.subspan(1, p.size() - 1 - pad);
}

std::optional<uint8_t> pad_of(const FrameHeader& h, Bytes p) {
  if (!h.has(flag::kPadded)) return std::nullopt;
  return u8(p, 0);
}

PrioritySpec read_priority(Bytes p) {
  return PrioritySpec{be31(p, 0), u8(p, 4), (u8(p, 0) & 0x80) != 0};
}

}  // namespace

DecodeResult<FrameHeader> decode_frame_header(Bytes bytes) noexcept {
  if (bytes.size() < kFrameHeaderSize) return NeedMore{kFrameHeaderSize};
  FrameHeader h{detail::be24(bytes, 0), u8(bytes, 3), u8(bytes, 4), be31(bytes, 5)};
  return Decoded<FrameHeader>{kFrameHeaderSize, h};
}

Result<void, FrameError> check_frame_size(const FrameHeader& h, uint32_t max_frame_size) noexcept {
  if (h.length > max_frame_size)
    return conn(H2Error::FrameSizeError, "frame larger than SETTINGS_MAX_FRAME_SIZE");
  return {};
}

// §6.1: DATA on stream 0 → PROTOCOL_ERROR; padding ≥ payload → PROTOCOL_ERROR.
Result<DataFrame, FrameError> decode_data(const FrameHeader& h, Bytes p) {
  if (h.stream_id == 0) return conn(H2Error::ProtocolError, "DATA on stream 0");
  auto body = strip_padding(h, p, 0);
  if (!body) return Unexpected(body.error());
  return DataFrame{h.stream_id, *body, h.has(flag::kEndStream), h.length, pad_of(h, p)};
}

// §6.2: HEADERS on stream 0 → PROTOCOL_ERROR; padding rules as DATA. A self-dependency
// (§5.3.1) is left to the engine: the field block must still be decoded for HPACK's sake.
Result<HeadersFrame, FrameError> decode_headers(const FrameHeader& h, Bytes p) {
  if (h.stream_id == 0) return conn(H2Error::ProtocolError, "HEADERS on stream 0");
  bool prio = h.has(flag::kPriority);
  auto body = strip_padding(h, p, prio ? 5 : 0);
  if (!body) return Unexpected(body.error());
  HeadersFrame f{h.stream_id, *body,       h.has(flag::kEndStream), h.has(flag::kEndHeaders),
                 {},          pad_of(h, p)};
  if (prio) {
    f.priority = read_priority(*body);
    f.fragment = body->subspan(5);
  }
  return f;
}

// §6.3: PRIORITY on stream 0 → connection PROTOCOL_ERROR; length ≠ 5 → stream
// FRAME_SIZE_ERROR; a stream depending on itself → stream PROTOCOL_ERROR (§5.3.1).
Result<PriorityFrame, FrameError> decode_priority(const FrameHeader& h, Bytes p) {
  if (h.stream_id == 0) return conn(H2Error::ProtocolError, "PRIORITY on stream 0");
  if (p.size() != 5)
    return Unexpected(stream_error(H2Error::FrameSizeError, h.stream_id, "PRIORITY length not 5"));
  PriorityFrame f{h.stream_id, read_priority(p)};
  if (f.priority.dependency == h.stream_id)
    return Unexpected(
        stream_error(H2Error::ProtocolError, h.stream_id, "stream depends on itself"));
  return f;
}

// §6.4: RST_STREAM on stream 0 → PROTOCOL_ERROR; length ≠ 4 → FRAME_SIZE_ERROR.
Result<RstStreamFrame, FrameError> decode_rst_stream(const FrameHeader& h, Bytes p) {
  if (h.stream_id == 0) return conn(H2Error::ProtocolError, "RST_STREAM on stream 0");
  if (p.size() != 4) return conn(H2Error::FrameSizeError, "RST_STREAM length not 4");
  return RstStreamFrame{h.stream_id, static_cast<H2Error>(be32(p, 0))};
}

// §6.5: SETTINGS not on stream 0 → PROTOCOL_ERROR; ACK with a payload, or a length not a
// multiple of 6 → FRAME_SIZE_ERROR; value ranges per §6.5.2 (validate_setting).
Result<SettingsFrame, FrameError> decode_settings(const FrameHeader& h, Bytes p) {
  if (h.stream_id != 0) return conn(H2Error::ProtocolError, "SETTINGS not on stream 0");
  bool ack = h.has(flag::kAck);
  if (ack && !p.empty()) return conn(H2Error::FrameSizeError, "SETTINGS ACK with a payload");
  if (p.size() % 6 != 0)
    return conn(H2Error::FrameSizeError, "SETTINGS length not a multiple of 6");
  SettingsList list(p);
  for (size_t i = 0; i < list.size(); ++i)
    if (auto ok = validate_setting(list[i]); !ok) return Unexpected(ok.error());
  return SettingsFrame{ack, list};
}

// §6.6: PUSH_PROMISE on stream 0 → PROTOCOL_ERROR; padding rules; the promised id must be a
// valid server-initiated id (non-zero, even: §5.1.1) → PROTOCOL_ERROR otherwise.
Result<PushPromiseFrame, FrameError> decode_push_promise(const FrameHeader& h, Bytes p) {
  if (h.stream_id == 0) return conn(H2Error::ProtocolError, "PUSH_PROMISE on stream 0");
  auto body = strip_padding(h, p, 4);
  if (!body) return Unexpected(body.error());
  uint32_t promised = be31(*body, 0);
  if (promised == 0 || promised % 2 != 0)
    return conn(H2Error::ProtocolError, "PUSH_PROMISE promised id zero or odd");
  return PushPromiseFrame{h.stream_id, promised, body->subspan(4), h.has(flag::kEndHeaders),
                          pad_of(h, p)};
}

// §6.7: PING not on stream 0 → PROTOCOL_ERROR; length ≠ 8 → FRAME_SIZE_ERROR.
Result<PingFrame, FrameError> decode_ping(const FrameHeader& h, Bytes p) {
  if (h.stream_id != 0) return conn(H2Error::ProtocolError, "PING not on stream 0");
  if (p.size() != 8) return conn(H2Error::FrameSizeError, "PING length not 8");
  PingFrame f{h.has(flag::kAck), {}};
  for (size_t i = 0; i < 8; ++i) f.opaque[i] = p[i];
  return f;
}

// §6.8: GOAWAY not on stream 0 → PROTOCOL_ERROR; shorter than 8 → FRAME_SIZE_ERROR (§4.2).
Result<GoawayFrame, FrameError> decode_goaway(const FrameHeader& h, Bytes p) {
  if (h.stream_id != 0) return conn(H2Error::ProtocolError, "GOAWAY not on stream 0");
  if (p.size() < 8) return conn(H2Error::FrameSizeError, "GOAWAY shorter than 8 bytes");
  return GoawayFrame{be31(p, 0), static_cast<H2Error>(be32(p, 4)), p.subspan(8)};
}

// §6.9: length ≠ 4 → connection FRAME_SIZE_ERROR; increment 0 → PROTOCOL_ERROR, a stream
// error on a stream, a connection error on stream 0.
Result<WindowUpdateFrame, FrameError> decode_window_update(const FrameHeader& h, Bytes p) {
  if (p.size() != 4) return conn(H2Error::FrameSizeError, "WINDOW_UPDATE length not 4");
  uint32_t inc = be31(p, 0);
  if (inc == 0) {
    if (h.stream_id == 0) return conn(H2Error::ProtocolError, "WINDOW_UPDATE increment 0");
    return Unexpected(
        stream_error(H2Error::ProtocolError, h.stream_id, "WINDOW_UPDATE increment 0"));
  }
  return WindowUpdateFrame{h.stream_id, inc};
}

// §6.10: CONTINUATION on stream 0 → PROTOCOL_ERROR (sequencing is the engine's).
Result<ContinuationFrame, FrameError> decode_continuation(const FrameHeader& h, Bytes p) {
  if (h.stream_id == 0) return conn(H2Error::ProtocolError, "CONTINUATION on stream 0");
  return ContinuationFrame{h.stream_id, p, h.has(flag::kEndHeaders)};
}

// RFC 9218 §7.1: not on stream 0 → PROTOCOL_ERROR; too short for the Prioritized Stream ID →
// FRAME_SIZE_ERROR; prioritized id 0 → PROTOCOL_ERROR.
Result<PriorityUpdateFrame, FrameError> decode_priority_update(const FrameHeader& h, Bytes p) {
  if (h.stream_id != 0) return conn(H2Error::ProtocolError, "PRIORITY_UPDATE not on stream 0");
  if (p.size() < 4) return conn(H2Error::FrameSizeError, "PRIORITY_UPDATE shorter than 4 bytes");
  uint32_t id = be31(p, 0);
  if (id == 0) return conn(H2Error::ProtocolError, "PRIORITY_UPDATE for stream 0");
  auto rest = p.subspan(4);
  return PriorityUpdateFrame{id, {reinterpret_cast<const char*>(rest.data()), rest.size()}};
}

namespace {

template <class T>
DecodeResult<Frame> wrap(Result<T, FrameError>&& r, size_t consumed) {
  if (!r) return r.error();
  return Decoded<Frame>{consumed, Frame{std::move(*r)}};
}

}  // namespace

DecodeResult<Frame> decode_frame(Bytes bytes, uint32_t max_frame_size) noexcept {
  auto hr = decode_frame_header(bytes);
  if (!hr.ok()) return NeedMore{kFrameHeaderSize};
  const FrameHeader& h = hr.value();
  if (auto ok = check_frame_size(h, max_frame_size); !ok) return ok.error();
  size_t total = kFrameHeaderSize + h.length;
  if (bytes.size() < total) return NeedMore{total};
  Bytes p = bytes.subspan(kFrameHeaderSize, h.length);
  switch (static_cast<FrameType>(h.type)) {
    case FrameType::Data:
      return wrap(decode_data(h, p), total);
    case FrameType::Headers:
      return wrap(decode_headers(h, p), total);
    case FrameType::Priority:
      return wrap(decode_priority(h, p), total);
    case FrameType::RstStream:
      return wrap(decode_rst_stream(h, p), total);
    case FrameType::Settings:
      return wrap(decode_settings(h, p), total);
    case FrameType::PushPromise:
      return wrap(decode_push_promise(h, p), total);
    case FrameType::Ping:
      return wrap(decode_ping(h, p), total);
    case FrameType::Goaway:
      return wrap(decode_goaway(h, p), total);
    case FrameType::WindowUpdate:
      return wrap(decode_window_update(h, p), total);
    case FrameType::Continuation:
      return wrap(decode_continuation(h, p), total);
    case FrameType::PriorityUpdate:
      return wrap(decode_priority_update(h, p), total);
  }
  return Decoded<Frame>{total, Frame{UnknownFrame{h, p}}};
}

}  // namespace kakehi::http2
