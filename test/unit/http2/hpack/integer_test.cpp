// HPACK integers (RFC 7541 §5.1): Appendix C.1 examples, limits and truncation.
#include "kakehi/http2/hpack/integer.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "hpack_test_util.hpp"

namespace kakehi::http2::hpack {
namespace {

std::vector<std::byte> enc(std::uint32_t v, int prefix, std::uint8_t first = 0) {
  std::vector<std::byte> out(integer::kMaxEncodedLength);
  out.resize(integer::encode(v, prefix, first, out.data()));
  return out;
}

Result<std::uint32_t, HpackError> dec(const std::vector<std::byte>& b, int prefix,
                                      std::size_t* used = nullptr) {
  const std::byte* p = b.data();
  auto r = integer::decode(&p, b.data() + b.size(), prefix);
  if (used) *used = static_cast<std::size_t>(p - b.data());
  return r;
}

TEST_CASE("C.1.1: 10 with a 5-bit prefix is one byte") {
  CHECK(test::to_hex(enc(10, 5)) == "0a");
  CHECK(*dec(test::from_hex("0a"), 5) == 10);
  CHECK(*dec(test::from_hex("ea"), 5) == 10);  // bits above the prefix are ignored
}

TEST_CASE("C.1.2: 1337 with a 5-bit prefix is 1f 9a 0a") {
  CHECK(test::to_hex(enc(1337, 5)) == "1f9a0a");
  std::size_t used = 0;
  CHECK(*dec(test::from_hex("1f9a0aff"), 5, &used) == 1337);
  CHECK(used == 3);
}

TEST_CASE("C.1.3: 42 on an 8-bit prefix") {
  CHECK(test::to_hex(enc(42, 8)) == "2a");
  CHECK(*dec(test::from_hex("2a"), 8) == 42);
}

TEST_CASE("boundaries: 2^N-1 needs a continuation byte; round trip of edge values") {
  CHECK(test::to_hex(enc(30, 5)) == "1e");
  CHECK(test::to_hex(enc(31, 5)) == "1f00");
  CHECK(test::to_hex(enc(127, 7, 0x80)) == "ff00");
  for (int prefix = 1; prefix <= 8; ++prefix)
    for (std::uint32_t v :
         {0u, 1u, 126u, 127u, 128u, 255u, 256u, 16383u, 16384u, 0xfffffffeu, 0xffffffffu}) {
      CHECK(*dec(enc(v, prefix), prefix) == v);
    }
  CHECK(enc(0xffffffffu, 1).size() == integer::kMaxEncodedLength);
}

TEST_CASE("overflow: values above 2^32-1 and over-long encodings are rejected") {
  // 2^32 with a 5-bit prefix: 31 + (2^32 - 31).
  CHECK(dec(test::from_hex("1fe1ffffff0f"), 5).error() == HpackError::IntegerOverflow);
  CHECK(*dec(test::from_hex("1fe0ffffff0f"), 5) == 0xffffffffu);
  // Six continuation bytes, even if they only add zeros.
  CHECK(dec(test::from_hex("1f808080808000"), 5).error() == HpackError::IntegerOverflow);
  CHECK(*dec(test::from_hex("1f8080808000"), 5) == 31);  // five are accepted
}

TEST_CASE("truncated: continuation flag set on the last byte") {
  CHECK(dec(test::from_hex("1f"), 5).error() == HpackError::Truncated);
  CHECK(dec(test::from_hex("1f9a"), 5).error() == HpackError::Truncated);
}

}  // namespace
}  // namespace kakehi::http2::hpack
