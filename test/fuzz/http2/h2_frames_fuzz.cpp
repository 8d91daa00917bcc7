// Fuzz target h2_frames: the frame decoder (RFC 9113 §4, §6) over arbitrary bytes. The first
// byte picks SETTINGS_MAX_FRAME_SIZE; every frame that decodes must re-encode to bytes that
// decode to an identical re-encoding (padding aside), so the target checks, not only runs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "kakehi/http2/frame_decoder.hpp"
#include "kakehi/http2/frame_encoder.hpp"

using namespace kakehi::http2;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint32_t max_frame = data[0] & 1 ? kMaxMaxFrameSize : kMinMaxFrameSize;
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  ByteBuffer first, second;
  while (!in.empty()) {
    auto r = decode_frame(in, max_frame);
    if (!r.ok()) break;
    if (r.consumed() == 0 || r.consumed() > in.size()) std::abort();
    first.clear();
    encode_frame(first, r.value());
    auto again = decode_frame(first, kMaxMaxFrameSize);
    if (!again.ok() || again.consumed() != first.size()) std::abort();
    second.clear();
    encode_frame(second, again.value());
    if (first != second) std::abort();
    in = in.subspan(r.consumed());
  }
  return 0;
}
