// HPACK Huffman coding (RFC 7541 §5.2, Appendix B): RFC strings, every symbol, and the
// decoding errors (EOS, padding too long, padding not all ones).
#include "kakehi/http2/hpack/huffman.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "hpack_test_util.hpp"

namespace kakehi::http2::hpack {
namespace {

std::string huff_hex(std::string_view s) {
  std::vector<std::byte> out(huffman::encoded_length(s));
  CHECK(huffman::encode(s, out.data()) == out.size());
  return test::to_hex(out);
}

Result<std::string, HpackError> unhuff(std::string_view hex) {
  const auto in = test::from_hex(hex);
  std::string out(huffman::max_decoded_length(in.size()), '\0');
  auto n = huffman::decode({reinterpret_cast<const char*>(in.data()), in.size()}, out.data());
  if (!n) return Unexpected(n.error());
  out.resize(*n);
  return out;
}

TEST_CASE("RFC 7541 C.4/C.6 strings encode and decode byte for byte") {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"www.example.com", "f1e3c2e5f23a6ba0ab90f4ff"},
      {"no-cache", "a8eb10649cbf"},
      {"custom-key", "25a849e95ba97d7f"},
      {"custom-value", "25a849e95bb8e8b4bf"},
      {"302", "6402"},
      {"307", "640eff"},
      {"private", "aec3771a4b"},
      {"Mon, 21 Oct 2013 20:13:21 GMT", "d07abe941054d444a8200595040b8166e082a62d1bff"},
      {"https://www.example.com", "9d29ad171863c78f0b97c8e9ae82ae43d3"},
      {"gzip", "9bd9ab"},
      {"foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
       "94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d500"
       "7"},
  };
  for (auto [text, hex] : cases) {
    CAPTURE(text);
    CHECK(huff_hex(text) == hex);
    CHECK(*unhuff(hex) == text);
  }
}

TEST_CASE("every byte value round-trips, alone and in long mixed strings") {
  for (int c = 0; c < 256; ++c) {
    const std::string s(1, static_cast<char>(c));
    std::vector<std::byte> out(huffman::encoded_length(s));
    huffman::encode(s, out.data());
    CHECK(*unhuff(test::to_hex(out)) == s);
  }
  std::string all;
  for (int r = 0; r < 7; ++r)
    for (int c = 0; c < 256; ++c) all += static_cast<char>((c * 7 + r * 13) & 0xff);
  for (std::size_t len : {0u, 1u, 7u, 8u, 9u, 63u, 100u, 1000u, 1792u}) {
    const std::string s = all.substr(0, len);
    std::vector<std::byte> out(huffman::encoded_length(s));
    huffman::encode(s, out.data());
    CHECK(*unhuff(test::to_hex(out)) == s);
  }
}

TEST_CASE("encoded_length is exact: 5-bit symbols pack 8 into 5 bytes") {
  CHECK(huffman::encoded_length("") == 0);
  CHECK(huffman::encoded_length("a") == 1);          // 5 bits + 3 padding
  CHECK(huffman::encoded_length("aaaaaaaa") == 5);   // 40 bits
  CHECK(huffman::encoded_length("aaaaaaaaa") == 6);  // 45 bits
  CHECK(huff_hex("aaaaaaaa") == "18c6318c63");       // 00011 x 8
}

TEST_CASE("EOS inside the string is an error (§5.2)") {
  // EOS (30 ones) then padding: ff ff ff ff.
  CHECK(unhuff("ffffffff").error() == HpackError::HuffmanEos);
  // 'a' (00011) then EOS, then 5 bits of padding: 00011111 11111111 11111111 11111111 1111 1111.
  CHECK(unhuff("1fffffffff").error() == HpackError::HuffmanEos);
}

TEST_CASE("padding longer than 7 bits is an error") {
  CHECK(unhuff("ff").error() == HpackError::HuffmanBadPadding);    // 8 bits of ones
  CHECK(unhuff("1fff").error() == HpackError::HuffmanBadPadding);  // 'a' + 11 ones
  CHECK(*unhuff("1f") == "a");                                     // 'a' + 3 ones: fine
  CHECK(*unhuff("fe3f") == "!");  // '!' 1111111000 + 6 ones: padding at limit
}

TEST_CASE("padding that is not all ones is an error") {
  CHECK(unhuff("18").error() == HpackError::HuffmanBadPadding);  // 'a' + 000
  CHECK(unhuff("1e").error() == HpackError::HuffmanBadPadding);  // 'a' + 110
  // A truncated long code (first 8 bits of 0x1ff8 / 13 bits) looks like padding of 8 ones.
  CHECK(unhuff("ff").error() == HpackError::HuffmanBadPadding);
  // Truncated after 12 bits of a 13-bit code, not all ones.
  CHECK(unhuff("fff0").error() == HpackError::HuffmanBadPadding);
}

TEST_CASE("encode_if_shorter: same bytes as encode() when shorter, 0 otherwise") {
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "text/html,application/xhtml+xml;q=0.9 ";
  for (std::string_view s : {std::string_view("www.example.com"), std::string_view("307"),
                             std::string_view("\xff\xfe\x01"), std::string_view(long_text)}) {
    CAPTURE(s);
    std::vector<std::byte> full(huffman::encoded_length(s));
    huffman::encode(s, full.data());
    std::vector<std::byte> out(s.size() + 4);
    const std::size_t n = huffman::encode_if_shorter(s, out.data(), s.size());
    if (full.size() < s.size()) {
      REQUIRE(n == full.size());
      out.resize(n);
      CHECK(out == full);
    } else {
      CHECK(n == 0);
    }
  }
}

TEST_CASE("empty input decodes to the empty string") { CHECK(*unhuff("") == ""); }

}  // namespace
}  // namespace kakehi::http2::hpack
