// HTTP/2 frame decoding (RFC 9113 §4.1–§4.2, §6; RFC 9218 §7.1): free functions over byte
// spans that check every rule a single frame can be judged by (lengths, stream-id rules,
// padding, setting ranges, increments) and map each violation to its code and scope.
// Rules that depend on connection or stream state (§5.1, §6.10 sequencing) belong to the engine.
#pragma once

#include <cstddef>
#include <span>
#include <variant>

#include "kakehi/common/result.hpp"
#include "kakehi/http2/frame.hpp"

namespace kakehi::http2 {

/// More input is needed: at least `total` bytes from the start of the frame.
struct NeedMore {
  size_t total = 0;
};

template <class T>
struct Decoded {
  size_t consumed = 0;
  T value;
};

/// `{consumed, value}` | NeedMore | FrameError.
template <class T>
class [[nodiscard]] DecodeResult {
 public:
  DecodeResult(Decoded<T> d) : v_(std::move(d)) {}  // NOLINT
  DecodeResult(NeedMore n) : v_(n) {}               // NOLINT
  DecodeResult(FrameError e) : v_(e) {}             // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  bool need_more() const noexcept { return v_.index() == 1; }
  bool is_error() const noexcept { return v_.index() == 2; }
  const Decoded<T>& decoded() const { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_).value; }
  size_t consumed() const { return std::get<0>(v_).consumed; }
  size_t needed() const { return std::get<1>(v_).total; }
  const FrameError& error() const { return std::get<2>(v_); }

 private:
  std::variant<Decoded<T>, NeedMore, FrameError> v_;
};

/// Reads the 9-byte header; NeedMore if fewer bytes. Never an error by itself.
DecodeResult<FrameHeader> decode_frame_header(std::span<const std::byte> bytes) noexcept;

/// §4.2: a frame longer than our SETTINGS_MAX_FRAME_SIZE → connection FRAME_SIZE_ERROR
/// (we treat every oversized frame as a connection error, which §5.4 allows).
Result<void, FrameError> check_frame_size(const FrameHeader& h, uint32_t max_frame_size) noexcept;

/// Per-type payload decoders: `payload` is exactly `h.length` bytes following the header.
Result<DataFrame, FrameError> decode_data(const FrameHeader& h, std::span<const std::byte> p);
Result<HeadersFrame, FrameError> decode_headers(const FrameHeader& h, std::span<const std::byte> p);
Result<PriorityFrame, FrameError> decode_priority(const FrameHeader& h,
                                                  std::span<const std::byte> p);
Result<RstStreamFrame, FrameError> decode_rst_stream(const FrameHeader& h,
                                                     std::span<const std::byte> p);
Result<SettingsFrame, FrameError> decode_settings(const FrameHeader& h,
                                                  std::span<const std::byte> p);
Result<PushPromiseFrame, FrameError> decode_push_promise(const FrameHeader& h,
                                                         std::span<const std::byte> p);
Result<PingFrame, FrameError> decode_ping(const FrameHeader& h, std::span<const std::byte> p);
Result<GoawayFrame, FrameError> decode_goaway(const FrameHeader& h, std::span<const std::byte> p);
Result<WindowUpdateFrame, FrameError> decode_window_update(const FrameHeader& h,
                                                           std::span<const std::byte> p);
Result<ContinuationFrame, FrameError> decode_continuation(const FrameHeader& h,
                                                          std::span<const std::byte> p);
Result<PriorityUpdateFrame, FrameError> decode_priority_update(const FrameHeader& h,
                                                               std::span<const std::byte> p);

/// Decodes one whole frame from the start of `bytes`: the header, the size check against
/// `max_frame_size` (done as soon as the header is complete, before the payload arrives), then
/// the type's payload decoder. Unknown types decode to UnknownFrame. On a stream-scoped error
/// the whole frame is present and the caller may skip `kFrameHeaderSize + length` bytes.
DecodeResult<Frame> decode_frame(std::span<const std::byte> bytes,
                                 uint32_t max_frame_size) noexcept;

}  // namespace kakehi::http2
