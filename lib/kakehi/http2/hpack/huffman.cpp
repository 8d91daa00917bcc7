// HPACK Huffman encode/decode (RFC 7541 §5.2). Decoding keeps a 64-bit window of input bits;
// an 11-bit lookup table (built at compile time from Appendix B) yields up to two symbols per
// step, and codes longer than 11 bits fall back to a canonical-code search by length.
#include "kakehi/http2/hpack/huffman.hpp"

#include <array>
#include <cstring>

#include "kakehi/http2/hpack/detail/huffman_table.hpp"

namespace kakehi::http2::hpack::huffman {
namespace {

using detail::kHuffmanCodes;
constexpr int kMaxBits = 30;
constexpr int kFastBits = 11;
constexpr std::uint16_t kEos = 256;

// Canonical code description: codes of length L are first[L] .. first[L] + count[L] - 1,
// assigned in symbol order; sorted[offset[L] + k] is the k-th symbol of length L.
struct Canonical {
  std::array<std::uint32_t, kMaxBits + 1> first{};
  std::array<std::uint32_t, kMaxBits + 1> count{};
  std::array<std::uint32_t, kMaxBits + 1> offset{};
  std::array<std::uint16_t, 257> sorted{};
};

constexpr Canonical make_canonical() {
  Canonical c;
  for (const auto& e : kHuffmanCodes) ++c.count[e.bits];
  std::uint32_t code = 0, off = 0;
  for (int len = 1; len <= kMaxBits; ++len) {
    c.first[len] = code;
    c.offset[len] = off;
    std::uint32_t k = 0;
    for (std::uint16_t s = 0; s < 257; ++s)
      if (kHuffmanCodes[s].bits == len) c.sorted[off + k++] = s;
    off += c.count[len];
    code = (code + c.count[len]) << 1;
  }
  return c;
}
constexpr Canonical kCanon = make_canonical();

// The table is the RFC's code, canonical and complete: every code equals the canonical code
// computed from the lengths alone, and the Kraft sum is exactly 1 (catches any typo).
constexpr bool check_canonical() {
  std::uint64_t kraft = 0;
  for (int len = 1; len <= kMaxBits; ++len)
    for (std::uint32_t k = 0; k < kCanon.count[len]; ++k) {
      const auto s = kCanon.sorted[kCanon.offset[len] + k];
      if (kHuffmanCodes[s].code != kCanon.first[len] + k) return false;
      kraft += std::uint64_t{1} << (kMaxBits - len);
    }
  return kraft == (std::uint64_t{1} << kMaxBits);
}
static_assert(check_canonical(), "RFC 7541 Appendix B table mistyped");

struct Sym {
  std::uint16_t sym;
  std::uint8_t bits;
};

// Decodes the symbol at the top of a 30-bit window, searching lengths from `from`.
constexpr Sym decode_slow(std::uint32_t w30, int from) {
  for (int len = from; len <= kMaxBits; ++len) {
    const std::uint32_t code = w30 >> (kMaxBits - len);
    if (code - kCanon.first[len] < kCanon.count[len])
      return {kCanon.sorted[kCanon.offset[len] + (code - kCanon.first[len])],
              static_cast<std::uint8_t>(len)};
  }
  return {kEos, kMaxBits};  // unreachable for a complete code
}

// Fast table entry: first symbol and its length (0 = longer than kFastBits), a possible
// second symbol, and the total bits of the symbols it contains.
struct Fast {
  std::uint8_t s1;
  std::uint8_t s2;
  std::uint8_t len1;
  std::uint8_t total;
};

constexpr std::array<Fast, 1u << kFastBits> make_fast() {
  std::array<Fast, 1u << kFastBits> t{};
  for (std::uint32_t i = 0; i < t.size(); ++i) {
    const Sym a = decode_slow(i << (kMaxBits - kFastBits), 5);
    if (a.bits > kFastBits) continue;
    Fast f{static_cast<std::uint8_t>(a.sym), 0, a.bits, a.bits};
    const std::uint32_t rest = (i << a.bits) & ((1u << kFastBits) - 1);
    const Sym b = decode_slow(rest << (kMaxBits - kFastBits), 5);
    if (a.bits + b.bits <= kFastBits) {
      f.s2 = static_cast<std::uint8_t>(b.sym);
      f.total = static_cast<std::uint8_t>(a.bits + b.bits);
    }
    t[i] = f;
  }
  return t;
}
constexpr auto kFast = make_fast();

inline std::uint64_t load_be64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

// One symbol at the top of `acc` (left-aligned, at least 30 meaningful bits).
inline Sym decode_one(std::uint64_t acc) noexcept {
  const Fast f = kFast[acc >> (64 - kFastBits)];
  if (f.len1 != 0) return {f.s1, f.len1};
  return decode_slow(static_cast<std::uint32_t>(acc >> (64 - kMaxBits)), kFastBits + 1);
}

}  // namespace

std::size_t encoded_length(std::string_view s) noexcept {
  std::size_t bits = 0;
  for (unsigned char c : s) bits += kHuffmanCodes[c].bits;
  return (bits + 7) / 8;
}

namespace {
// The shared encoding loop; stops early (returning 0) once `limit` bytes have been written.
template <bool kBounded>
std::size_t encode_impl(std::string_view s, std::byte* out, std::size_t limit) noexcept {
  std::byte* const start = out;
  std::uint64_t acc = 0;
  int n = 0;  // pending bits in the low end of acc
  for (unsigned char c : s) {
    const auto& e = kHuffmanCodes[c];
    acc = (acc << e.bits) | e.code;
    n += e.bits;
    if (n >= 32) {
      n -= 32;
      const auto w = static_cast<std::uint32_t>(acc >> n);
      out[0] = std::byte(w >> 24);
      out[1] = std::byte(w >> 16);
      out[2] = std::byte(w >> 8);
      out[3] = std::byte(w);
      out += 4;
      if (kBounded && static_cast<std::size_t>(out - start) >= limit) return 0;
    }
  }
  while (n >= 8) {
    n -= 8;
    *out++ = std::byte(acc >> n);
  }
  if (n > 0) *out++ = std::byte((acc << (8 - n)) | ((1u << (8 - n)) - 1));  // EOS prefix pad
  const auto len = static_cast<std::size_t>(out - start);
  return kBounded && len >= limit ? 0 : len;
}
}  // namespace

std::size_t encode(std::string_view s, std::byte* out) noexcept {
  return encode_impl<false>(s, out, 0);
}

std::size_t encode_if_shorter(std::string_view s, std::byte* out, std::size_t limit) noexcept {
  return encode_impl<true>(s, out, limit);
}

Result<std::size_t, HpackError> decode(std::string_view in, char* out) noexcept {
  const char* p = in.data();
  const char* const end = p + in.size();
  char* const start = out;
  std::uint64_t acc = 0;  // left-aligned: the top `n` bits are input, the rest zero
  int n = 0;
  // Bulk: refill 8 bytes at a time, decode while a whole code is certainly present.
  while (end - p >= 8) {
    acc |= load_be64(p) >> n;
    p += (63 - n) >> 3;
    n |= 56;
    while (n >= kMaxBits) {
      const Fast f = kFast[acc >> (64 - kFastBits)];
      if (f.len1 != 0) {
        out[0] = static_cast<char>(f.s1);
        out[1] = static_cast<char>(f.s2);
        out += 1 + (f.total != f.len1);
        acc <<= f.total;
        n -= f.total;
        continue;
      }
      const Sym s = decode_slow(static_cast<std::uint32_t>(acc >> (64 - kMaxBits)), 12);
      if (s.sym == kEos) return Unexpected(HpackError::HuffmanEos);
      *out++ = static_cast<char>(s.sym);
      acc <<= s.bits;
      n -= s.bits;
    }
  }
  // Tail: fewer than 8 bytes left; bits past the input read as ones (the padding symbol).
  for (;;) {
    while (n <= 56 && p < end) {
      acc |= std::uint64_t{static_cast<unsigned char>(*p++)} << (56 - n);
      n += 8;
    }
    if (n == 0) break;
    const std::uint64_t ones = n >= 64 ? 0 : (~std::uint64_t{0} >> n);
    const Sym s = decode_one(acc | ones);
    if (s.bits > n) {
      // Not a whole symbol: must be at most 7 bits, all ones (a prefix of EOS).
      if (n > 7 || (acc | ones) != ~std::uint64_t{0})
        return Unexpected(HpackError::HuffmanBadPadding);
      break;
    }
    if (s.sym == kEos) return Unexpected(HpackError::HuffmanEos);
    *out++ = static_cast<char>(s.sym);
    acc <<= s.bits;
    n -= s.bits;
  }
  return static_cast<std::size_t>(out - start);
}

}  // namespace kakehi::http2::hpack::huffman
