// Byte-literal tests of the HTTP/2 frame encoders (RFC 9113 §6, RFC 9218 §7.1), and a
// decode(encode(x)) == x round trip for every frame type.
#include "kakehi/http2/frame_encoder.hpp"

#include <doctest/doctest.h>

#include "kakehi/http2/frame_decoder.hpp"
#include "support/h2_frames.hpp"

using namespace kakehi::http2;
using kakehi::test::ascii;
using kakehi::test::hex;
using kakehi::test::to_hex;

namespace {

std::string encoded(void (*fn)(ByteBuffer&)) {
  ByteBuffer out;
  fn(out);
  return to_hex(out);
}

}  // namespace

TEST_CASE("§6.1 encode DATA, plain and padded with zeros") {
  ByteBuffer out;
  encode_data(out, 3, ascii("hi"), true);
  CHECK(to_hex(out) == to_hex(hex("000002 00 01 00000003 | 6869")));
  out.clear();
  encode_data(out, 3, ascii("hi"), false, uint8_t{2});
  CHECK(to_hex(out) == to_hex(hex("000005 00 08 00000003 | 02 | 6869 | 0000")));
  out.clear();
  encode_data_header(out, 7, 0x10000, true);
  CHECK(to_hex(out) == to_hex(hex("010000 00 01 00000007")));
}

TEST_CASE("§6.2 encode HEADERS with priority and padding") {
  ByteBuffer out;
  encode_headers(out, 1, hex("8286"), true, true);
  CHECK(to_hex(out) == to_hex(hex("000002 01 05 00000001 | 8286")));
  out.clear();
  encode_headers(out, 3, hex("82"), false, false, PrioritySpec{1, 15, true}, uint8_t{1});
  CHECK(to_hex(out) == to_hex(hex("000008 01 28 00000003 | 01 | 80000001 0f | 82 | 00")));
}

TEST_CASE("§6.3–§6.10 encode control frames") {
  CHECK(encoded([](ByteBuffer& o) {
          encode_priority(o, 9, {11, 7, false});
        }) == to_hex(hex("000005 02 00 00000009 | 0000000b 07")));
  CHECK(encoded([](ByteBuffer& o) { encode_rst_stream(o, 5, H2Error::Cancel); }) ==
        to_hex(hex("000004 03 00 00000005 | 00000008")));
  CHECK(encoded([](ByteBuffer& o) {
          Setting s[] = {{1, 8192}, {3, 5000}};
          encode_settings(o, s);
        }) == to_hex(hex("00000c 04 00 00000000 | 0001 00002000 | 0003 00001388")));
  CHECK(encoded([](ByteBuffer& o) { encode_settings_ack(o); }) ==
        to_hex(hex("000000 04 01 00000000")));
  CHECK(encoded([](ByteBuffer& o) { encode_push_promise(o, 1, 2, hex("82"), true); }) ==
        to_hex(hex("000005 05 04 00000001 | 00000002 | 82")));
  CHECK(encoded([](ByteBuffer& o) {
          std::array<std::byte, 8> d{};
          d[0] = std::byte{0xde};
          encode_ping(o, d, true);
        }) == to_hex(hex("000008 06 01 00000000 | de00000000000000")));
  CHECK(encoded([](ByteBuffer& o) {
          encode_goaway(o, 30, H2Error::EnhanceYourCalm, ascii("x"));
        }) == to_hex(hex("000009 07 00 00000000 | 0000001e | 0000000b | 78")));
  CHECK(encoded([](ByteBuffer& o) { encode_window_update(o, 0, 0x7fffffff); }) ==
        to_hex(hex("000004 08 00 00000000 | 7fffffff")));
  CHECK(encoded([](ByteBuffer& o) { encode_continuation(o, 1, hex("86"), true); }) ==
        to_hex(hex("000001 09 04 00000001 | 86")));
  CHECK(encoded([](ByteBuffer& o) { encode_priority_update(o, 5, "u=1"); }) ==
        to_hex(hex("000007 10 00 00000000 | 00000005 | 753d31")));
}

TEST_CASE("decode(encode(frame)) reproduces the bytes for every frame type") {
  const char* wires[] = {
      "000006 00 09 00000001 | 02 | 616263 | 0000",
      "000009 01 2d 00000003 | 01 | 80000001 | 0f | 8286 | 00",
      "000005 02 00 00000009 | 0000000b | 07",
      "000004 03 00 00000005 | 00000008",
      "00000c 04 00 00000000 | 0001 00002000 | 00ff 00000001",
      "000000 04 01 00000000",
      "000008 05 0c 0000000a | 01 | 0000000c | 8286 | 00",
      "000008 06 00 00000000 | 0102030405060708",
      "00000a 07 00 00000000 | 0000001e | 00000009 | 6869",
      "000004 08 00 00000032 | 000003e8",
      "000002 09 04 00000032 | 8286",
      "000005 10 00 00000000 | 00000005 | 69",
      "000002 ee 03 00000007 | abcd",
  };
  for (const char* w : wires) {
    CAPTURE(w);
    auto b = hex(w);
    auto r = decode_frame(b, 16384);
    REQUIRE(r.ok());
    ByteBuffer out;
    encode_frame(out, r.value());
    CHECK(to_hex(out) == to_hex(b));
  }
}
