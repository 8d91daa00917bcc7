// libFuzzer target hpack_decode: decodes a sequence of header blocks with small limits; every
// block that decodes is re-encoded by our encoder and decoded again by a second decoder, and
// the two field lists must match (never-indexed flags preserved).
// Input: byte 0 = options (table size, Huffman policy); then blocks as [u16 length][bytes].
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "kakehi/http2/hpack/decoder.hpp"
#include "kakehi/http2/hpack/encoder.hpp"

namespace hp = kakehi::http2::hpack;

namespace {

struct Field {
  std::string name, value;
  bool never_indexed;
  bool operator==(const Field&) const = default;
};

struct Collect {
  std::vector<Field>* out;
  void operator()(const hp::HeaderField& f) const {
    out->push_back({std::string(f.name), std::string(f.value), f.never_indexed});
  }
};

[[noreturn]] void fail() { std::abort(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr std::uint32_t kTableSizes[] = {4096, 256, 64, 0};
  const hp::DecoderLimits limits{.max_table_size = kTableSizes[data[0] & 3],
                                 .max_header_list_size = 8192,
                                 .max_field_count = 64,
                                 .max_string_length = 2048};
  const auto policy = static_cast<hp::HuffmanPolicy>((data[0] >> 2) % 3);
  hp::Decoder in(limits);
  hp::Encoder enc({.max_table_size = kTableSizes[(data[0] >> 4) & 3], .huffman = policy});
  // The second decoder has the default setting (4096): the encoder announces its own cap.
  hp::DecoderLimits again_limits = limits;
  again_limits.max_table_size = 4096;
  hp::Decoder again(again_limits);
  std::vector<Field> first, second;
  std::vector<hp::HeaderField> views;
  std::vector<std::byte> wire;
  std::size_t pos = 1;
  while (pos + 2 <= size) {
    std::size_t len = (std::size_t{data[pos]} << 8) | data[pos + 1];
    pos += 2;
    if (len > size - pos) len = size - pos;
    const auto* block = reinterpret_cast<const std::byte*>(data + pos);
    pos += len;
    first.clear();
    auto r = in.decode({block, len}, Collect{&first});
    if (!r) {
      if (hp::is_stream_level(r.error())) continue;  // table still in sync: next block
      return 0;                                      // connection error: stop
    }
    if (r->field_count != first.size()) fail();
    views.clear();
    for (const auto& f : first) views.push_back({f.name, f.value, f.never_indexed});
    wire.clear();
    enc.encode(views, wire);
    second.clear();
    auto r2 = again.decode(wire, Collect{&second});
    if (!r2 || second.size() != first.size()) fail();
    for (std::size_t i = 0; i < first.size(); ++i) {
      if (second[i].name != first[i].name || second[i].value != first[i].value) fail();
      if (first[i].never_indexed && !second[i].never_indexed) fail();
    }
  }
  return 0;
}
