// HPACK decoder (RFC 7541 §3-§6): Appendix C.2-C.6 byte for byte, string ownership, table
// size update rules (§4.2, §6.3), malformed input, and limits tripping at the exact boundary.
#include "kakehi/http2/hpack/decoder.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "hpack_test_util.hpp"
#include "rfc7541_vectors.hpp"

namespace kakehi::http2::hpack {
namespace {

using test::decode_hex;
using test::Fields;

Fields to_fields(const std::vector<std::pair<std::string_view, std::string_view>>& v) {
  Fields f;
  for (auto& [n, x] : v) f.emplace_back(n, x);
  return f;
}

TEST_CASE("C.2.1 literal with indexing adds custom-key: custom-header (size 55)") {
  Decoder d;
  auto r = decode_hex(d, "400a637573746f6d2d6b65790d637573746f6d2d686561646572");
  REQUIRE(r.ok);
  CHECK(r.fields == Fields{{"custom-key", "custom-header"}});
  CHECK(d.table().count() == 1);
  CHECK(d.table().size() == 55);
}

TEST_CASE("C.2.2 literal without indexing leaves the table empty") {
  Decoder d;
  auto r = decode_hex(d, "040c2f73616d706c652f70617468");
  REQUIRE(r.ok);
  CHECK(r.fields == Fields{{":path", "/sample/path"}});
  CHECK(r.never_indexed == std::vector<bool>{false});
  CHECK(d.table().count() == 0);
}

TEST_CASE("C.2.3 literal never indexed is flagged and not added") {
  Decoder d;
  auto r = decode_hex(d, "100870617373776f726406736563726574");
  REQUIRE(r.ok);
  CHECK(r.fields == Fields{{"password", "secret"}});
  CHECK(r.never_indexed == std::vector<bool>{true});
  CHECK(d.table().count() == 0);
}

TEST_CASE("C.2.4 indexed field from the static table") {
  Decoder d;
  auto r = decode_hex(d, "82");
  REQUIRE(r.ok);
  CHECK(r.fields == Fields{{":method", "GET"}});
}

TEST_CASE("C.3-C.6 sequences decode byte for byte with the RFC's table sizes") {
  for (const auto& seq : test::kRfcSequences) {
    CAPTURE(seq.name);
    Decoder d(DecoderLimits{.max_table_size = seq.settings_table_size});
    for (const auto& b : seq.blocks) {
      auto r = decode_hex(d, b.hex);
      REQUIRE(r.ok);
      CHECK(r.fields == to_fields(b.fields));
      CHECK(d.table().size() == b.table_size);
    }
  }
}

TEST_CASE("C.5.3 eviction leaves exactly set-cookie, content-encoding, date") {
  const auto& seq = test::kRfcSequences[2];
  Decoder d(DecoderLimits{.max_table_size = 256});
  for (const auto& b : seq.blocks) REQUIRE(decode_hex(d, b.hex).ok);
  REQUIRE(d.table().count() == 3);
  CHECK(d.table().at(1).name == "set-cookie");
  CHECK(d.table().at(2).value == "gzip");
  CHECK(d.table().at(3).value == "Mon, 21 Oct 2013 20:13:22 GMT");
}

TEST_CASE("raw literals are views into the input; Huffman literals are not") {
  Decoder d;
  const auto raw = test::from_hex("040c2f73616d706c652f70617468");
  const char* lo = reinterpret_cast<const char*>(raw.data());
  bool inside = false;
  auto sink = [&](const HeaderField& f) {
    inside = f.value.data() >= lo && f.value.data() < lo + raw.size();
  };
  REQUIRE(d.decode(raw, sink));
  CHECK(inside);
  const auto huff = test::from_hex("048cf1e3c2e5f23a6ba0ab90f4ff");
  lo = reinterpret_cast<const char*>(huff.data());
  REQUIRE(d.decode(huff, sink));
  CHECK_FALSE(inside);
}

TEST_CASE("incremental indexing with a dynamic name that the insertion evicts (§4.4)") {
  // Table max 64: "aaaa: bbbb" (40). Then a literal with indexing, name index 62, value of
  // 20 bytes: the new entry (4 + 20 + 32 = 56) evicts the entry its name came from.
  Decoder d(DecoderLimits{.max_table_size = 64});
  REQUIRE(decode_hex(d,
                     "3f21"
                     "4004616161610462626262")
              .ok);  // size update to 64
  auto r = decode_hex(d,
                      "7e14"
                      "3031323334353637383930313233343536373839");
  REQUIRE(r.ok);
  CHECK(r.fields == Fields{{"aaaa", "01234567890123456789"}});
  REQUIRE(d.table().count() == 1);
  CHECK(d.table().at(1).name == "aaaa");
}

TEST_CASE("an entry larger than the table empties it and is still delivered (§4.4)") {
  const std::string big(40, 'x');
  std::vector<std::byte> block = test::from_hex("400461616161");
  block.push_back(std::byte(big.size()));
  for (char c : big) block.push_back(std::byte(c));
  Decoder d2(DecoderLimits{.max_table_size = 64});
  REQUIRE(decode_hex(d2,
                     "3f21"
                     "4004616161610462626262")
              .ok);
  auto r2 = test::decode(d2, block);
  REQUIRE(r2.ok);
  CHECK(r2.fields == Fields{{"aaaa", big}});
  CHECK(d2.table().count() == 0);
  CHECK(d2.table().size() == 0);
}

// --- malformed input -------------------------------------------------------------------

TEST_CASE("index 0 is an error for indexed fields and is a literal name otherwise") {
  Decoder d;
  CHECK(decode_hex(d, "80").error == HpackError::IndexZero);
}

TEST_CASE("index past the static + dynamic table") {
  Decoder d;
  CHECK(decode_hex(d, "be").error == HpackError::IndexOutOfRange);  // 62, table empty
  Decoder d2;
  CHECK(decode_hex(d2, "7e00").error == HpackError::IndexOutOfRange);  // name index 62
  Decoder d3;
  REQUIRE(decode_hex(d3, "4001610162").ok);  // a: b
  CHECK(decode_hex(d3, "be").ok);
  CHECK(decode_hex(d3, "bf").error == HpackError::IndexOutOfRange);
}

TEST_CASE("integer overflow in an index and in a string length") {
  Decoder d;
  CHECK(decode_hex(d, "ffffffffff0f").error == HpackError::IntegerOverflow);
  Decoder d2;
  CHECK(decode_hex(d2, "047fffffffff0f").error == HpackError::IntegerOverflow);
}

TEST_CASE("truncated input at every position of every C.3-C.6 block") {
  std::size_t cuts = 0;
  for (const auto& seq : test::kRfcSequences) {
    for (std::size_t k = 0; k < seq.blocks.size(); ++k) {
      const auto full = test::from_hex(seq.blocks[k].hex);
      for (std::size_t cut = 0; cut < full.size(); ++cut) {
        CAPTURE(seq.name);
        CAPTURE(k);
        CAPTURE(cut);
        Decoder d(DecoderLimits{.max_table_size = seq.settings_table_size});
        for (std::size_t j = 0; j < k; ++j) REQUIRE(decode_hex(d, seq.blocks[j].hex).ok);
        auto r = test::decode(d, std::span(full).first(cut));
        // A cut on a representation boundary decodes a strict prefix of the list; any other
        // cut is Truncated (a cut Huffman string is never reached: its length comes first).
        if (r.ok) {
          const auto want = to_fields(seq.blocks[k].fields);
          REQUIRE(r.fields.size() < want.size());
          CHECK(std::equal(r.fields.begin(), r.fields.end(), want.begin()));
        } else {
          CHECK(r.error == HpackError::Truncated);
        }
        ++cuts;
      }
    }
  }
  CHECK(cuts == 433);  // every byte offset of the twelve blocks
}

TEST_CASE("truncated string and truncated integer report Truncated") {
  Decoder d;
  CHECK(decode_hex(d, "040c2f73").error == HpackError::Truncated);
  Decoder d2;
  CHECK(decode_hex(d2, "40").error == HpackError::Truncated);
  Decoder d3;
  CHECK(decode_hex(d3, "ff").error == HpackError::Truncated);
}

TEST_CASE("string longer than max_string_length, raw or after Huffman decoding") {
  Decoder d(DecoderLimits{.max_string_length = 4});
  CHECK(decode_hex(d,
                   "0404"
                   "61616161")
            .ok);
  CHECK(decode_hex(d,
                   "0405"
                   "6161616161")
            .error == HpackError::StringTooLong);
  // Huffman: 3 bytes decode to 4 x 'a' (fine); 4 bytes decode to 6 x 'a' (too long).
  Decoder d2(DecoderLimits{.max_string_length = 4});
  CHECK(decode_hex(d2,
                   "0483"
                   "18c63f")
            .ok);
  CHECK(decode_hex(d2,
                   "0484"
                   "18c6318f")
            .error == HpackError::StringTooLong);
}

TEST_CASE("Huffman errors surface from a literal") {
  Decoder d;
  CHECK(decode_hex(d, "0484ffffffff").error == HpackError::HuffmanEos);
  Decoder d2;
  CHECK(decode_hex(d2, "0481ff").error == HpackError::HuffmanBadPadding);
  Decoder d3;
  CHECK(decode_hex(d3, "048118").error == HpackError::HuffmanBadPadding);
}

// --- dynamic table size updates --------------------------------------------------------

TEST_CASE("size update at the start of a block: accepted up to the setting") {
  Decoder d;
  CHECK(decode_hex(d,
                   "3fe11f"
                   "82")
            .ok);  // 4096
  CHECK(d.table().max_size() == 4096);
  CHECK(decode_hex(d,
                   "20"
                   "3fe11f"
                   "82")
            .ok);                                                               // 0 then 4096
  CHECK(decode_hex(d, "3fe21f").error == HpackError::TableSizeUpdateTooLarge);  // 4097
}

TEST_CASE("size update after a field is an error") {
  Decoder d;
  CHECK(decode_hex(d,
                   "82"
                   "20")
            .error == HpackError::TableSizeUpdateNotAtStart);
}

TEST_CASE("size update evicts entries") {
  Decoder d;
  REQUIRE(decode_hex(d,
                     "4001610162"
                     "4001630164")
              .ok);  // two entries of 34
  CHECK(d.table().count() == 2);
  REQUIRE(decode_hex(d,
                     "3f03"
                     "82")
              .ok);  // 34
  CHECK(d.table().count() == 1);
  CHECK(d.table().at(1).name == "c");
  REQUIRE(decode_hex(d, "20").ok);
  CHECK(d.table().count() == 0);
}

TEST_CASE("after lowering the setting the next block must start with an update") {
  Decoder d;
  REQUIRE(decode_hex(d, "4001610162").ok);
  d.set_max_table_size_setting(100);
  CHECK(decode_hex(d, "82").error == HpackError::TableSizeUpdateMissing);

  Decoder d2;
  d2.set_max_table_size_setting(100);
  CHECK(decode_hex(d2, "3f66").error == HpackError::TableSizeUpdateTooLarge);  // 133 > 100

  Decoder d3;
  d3.set_max_table_size_setting(100);
  CHECK(decode_hex(d3,
                   "3f45"
                   "82")
            .ok);  // 100
  CHECK(d3.table().max_size() == 100);
  CHECK(decode_hex(d3, "82").ok);  // only the first block after the change needs it
}

TEST_CASE("raising the setting does not require an update; larger updates become legal") {
  Decoder d;
  d.set_max_table_size_setting(8192);
  CHECK(decode_hex(d, "82").ok);
  CHECK(d.table().max_size() == 4096);
  CHECK(decode_hex(d, "3fe13f").ok);  // 8192
  CHECK(d.table().max_size() == 8192);
}

// --- limits ------------------------------------------------------------------------------

TEST_CASE("max_field_count trips at the exact boundary; the rest of the block still decodes") {
  Decoder d(DecoderLimits{.max_field_count = 3});
  CHECK(decode_hex(d, "828684").ok);
  auto r = decode_hex(d,
                      "828684"
                      "4001610162");
  CHECK_FALSE(r.ok);
  CHECK(r.error == HpackError::TooManyFields);
  CHECK(is_stream_level(r.error));
  CHECK(r.fields.size() == 3);    // delivered before the limit
  CHECK(d.table().count() == 1);  // the 4th field still entered the table
  CHECK(decode_hex(d, "be").ok);  // and the table is in sync for the next block
}

TEST_CASE("max_header_list_size trips at the exact boundary (name + value + 32)") {
  // :method GET = 7 + 3 + 32 = 42; :scheme http = 7 + 4 + 32 = 43. Total 85.
  Decoder ok(DecoderLimits{.max_header_list_size = 85});
  auto r = decode_hex(ok, "8286");
  REQUIRE(r.ok);
  Decoder over(DecoderLimits{.max_header_list_size = 84});
  auto r2 = decode_hex(over,
                       "8286"
                       "4001610162");
  CHECK(r2.error == HpackError::HeaderListTooLarge);
  CHECK(is_stream_level(r2.error));
  CHECK(r2.fields == Fields{{":method", "GET"}});
  CHECK(over.table().count() == 1);
}

TEST_CASE("a connection error after a limit trip wins") {
  Decoder d(DecoderLimits{.max_field_count = 1});
  CHECK(decode_hex(d,
                   "8282"
                   "80")
            .error == HpackError::IndexZero);
}

TEST_CASE("amplification: many references to one big entry are bounded by the list limit") {
  Decoder d(DecoderLimits{.max_header_list_size = 16 * 1024});
  std::vector<std::byte> block = test::from_hex("4001617f");  // a: <value of 4004 bytes>
  block.push_back(std::byte{0xa5});
  block.push_back(std::byte{0x1e});  // 127 + 0x25 + 0x1e*128 = 4004 bytes
  block.insert(block.end(), 4004, std::byte{'v'});
  block.insert(block.end(), 1000, std::byte{0xbe});  // 1000 x indexed 62
  std::size_t delivered = 0;
  auto sink = [&](const HeaderField& f) { delivered += f.value.size(); };
  auto r = d.decode(block, sink);
  CHECK(r.error() == HpackError::HeaderListTooLarge);
  CHECK(delivered <= 16 * 1024);
}

TEST_CASE("errors have distinct static reasons") {
  CHECK(reason(HpackError::HuffmanEos) != reason(HpackError::HuffmanBadPadding));
  CHECK(reason(HpackError::HeaderListTooLarge) == "hpack: header list too large");
  CHECK_FALSE(is_stream_level(HpackError::Truncated));
}

}  // namespace
}  // namespace kakehi::http2::hpack
