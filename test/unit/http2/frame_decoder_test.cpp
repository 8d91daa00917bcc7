// Byte-literal tests of the HTTP/2 frame decoder: each case names the RFC 9113 (or RFC 9218)
// section whose rule it pins. Frames are written field by field: length | type | flags | stream.
#include "kakehi/http2/frame_decoder.hpp"

#include <doctest/doctest.h>

#include <deque>

#include "support/h2_frames.hpp"

using namespace kakehi::http2;
using kakehi::test::as_text;
using kakehi::test::hex;

namespace {

// Decoded frames are views into their input: keep every input and result alive for the
// whole test binary so tests can write decode(hex("...")) inline.
const DecodeResult<Frame>& decode(kakehi::test::Bytes b, uint32_t max = 16384) {
  static std::deque<kakehi::test::Bytes> inputs;
  static std::deque<DecodeResult<Frame>> results;
  inputs.push_back(std::move(b));
  return results.emplace_back(decode_frame(inputs.back(), max));
}

void check_error(const kakehi::test::Bytes& b, H2Error code, ErrorScope scope,
                 uint32_t max = 16384) {
  auto r = decode(b, max);
  REQUIRE(r.is_error());
  CHECK(r.error().code == code);
  CHECK(r.error().scope == scope);
}

template <class T>
const T& frame_as(const DecodeResult<Frame>& r) {
  REQUIRE(r.ok());
  REQUIRE(std::holds_alternative<T>(r.value()));
  return std::get<T>(r.value());
}

}  // namespace

TEST_CASE("§4.1 frame header: 24-bit length, type, flags, reserved bit ignored") {
  auto b = hex("012345 | 07 | a5 | ff ff ff fe");
  auto r = decode_frame_header(b);
  REQUIRE(r.ok());
  CHECK(r.consumed() == 9);
  CHECK(r.value().length == 0x012345);
  CHECK(r.value().type == 7);
  CHECK(r.value().flags == 0xa5);
  CHECK(r.value().stream_id == 0x7ffffffe);  // §4.1: the R bit is ignored on receipt
}

TEST_CASE("§4.1 header and payload arrive in pieces: NeedMore names the total") {
  auto b = hex("000008 06 00 00000000 | 0102030405060708");
  for (size_t n = 0; n < 9; ++n) {
    auto r = decode(kakehi::test::Bytes(b.begin(), b.begin() + static_cast<long>(n)));
    REQUIRE(r.need_more());
    CHECK(r.needed() == 9);
  }
  auto r = decode(kakehi::test::Bytes(b.begin(), b.begin() + 12));
  REQUIRE(r.need_more());
  CHECK(r.needed() == 17);
  CHECK(decode(b).consumed() == 17);
}

TEST_CASE("§4.2 frame above SETTINGS_MAX_FRAME_SIZE: FRAME_SIZE_ERROR before the payload") {
  // Only the header is present: the error must not wait for 16385 bytes.
  check_error(hex("004001 00 00 00000001"), H2Error::FrameSizeError, ErrorScope::Connection);
  // Exactly the maximum is fine (it needs the payload).
  CHECK(decode(hex("004000 00 00 00000001")).need_more());
  // A larger advertised maximum admits it.
  CHECK(decode(hex("004001 00 00 00000001"), 32768).need_more());
}

TEST_CASE("§4.1/§5.5 unknown frame types are returned as UnknownFrame (to be ignored)") {
  auto r = decode(hex("000003 fa 7f 00000005 | aabbcc"));
  const auto& f = frame_as<UnknownFrame>(r);
  CHECK(f.header.type == 0xfa);
  CHECK(f.payload.size() == 3);
  CHECK(r.consumed() == 12);
}

TEST_CASE("§6.1 DATA") {
  SUBCASE("plain, END_STREAM; undefined flags ignored (§4.1)") {
    auto r = decode(hex("000005 00 f1 00000003 | 68656c6c6f"));
    const auto& f = frame_as<DataFrame>(r);
    CHECK(f.stream_id == 3);
    CHECK(as_text(f.data) == "hello");
    CHECK(f.end_stream);
    CHECK(f.flow_length == 5);
  }
  SUBCASE("padded: padding stripped, flow control counts the whole payload") {
    auto r2 = decode(hex("000006 00 08 00000001 | 02 | 616263 | 0000"));
    const auto& f = frame_as<DataFrame>(r2);
    CHECK(as_text(f.data) == "abc");
    CHECK(f.flow_length == 6);
    CHECK(f.pad_length == 2);
  }
  SUBCASE("padding fills everything after Pad Length: empty data is fine") {
    const auto& f = frame_as<DataFrame>(decode(hex("000003 00 08 00000001 | 02 | 0000")));
    CHECK(f.data.empty());
  }
  SUBCASE("padding ≥ payload length → PROTOCOL_ERROR") {
    check_error(hex("000003 00 08 00000001 | 03 | 0000"), H2Error::ProtocolError,
                ErrorScope::Connection);
  }
  SUBCASE("PADDED with an empty payload → FRAME_SIZE_ERROR (§4.2: too small)") {
    check_error(hex("000000 00 08 00000001"), H2Error::FrameSizeError, ErrorScope::Connection);
  }
  SUBCASE("stream 0 → connection PROTOCOL_ERROR") {
    check_error(hex("000001 00 00 00000000 | aa"), H2Error::ProtocolError, ErrorScope::Connection);
  }
}

TEST_CASE("§6.2 HEADERS") {
  SUBCASE("END_HEADERS|END_STREAM, fragment") {
    const auto& f = frame_as<HeadersFrame>(decode(hex("000002 01 05 00000001 | 8286")));
    CHECK(f.end_stream);
    CHECK(f.end_headers);
    CHECK(f.fragment.size() == 2);
    CHECK(!f.priority);
  }
  SUBCASE("PRIORITY|PADDED: priority fields and padding removed from the fragment") {
    auto b = hex("000009 01 2c 00000003 | 01 | 80000001 | 0f | 8286 | 00");
    const auto& f = frame_as<HeadersFrame>(decode(b));
    REQUIRE(f.priority);
    CHECK(f.priority->exclusive);
    CHECK(f.priority->dependency == 1);
    CHECK(f.priority->weight == 15);
    CHECK(f.fragment.size() == 2);
    CHECK(f.end_headers);
  }
  SUBCASE("self-dependency is decoded; the engine resets the stream after HPACK (§5.3.1)") {
    const auto& f = frame_as<HeadersFrame>(decode(hex("000005 01 24 00000003 | 00000003 | 10")));
    CHECK(f.priority->dependency == 3);
  }
  SUBCASE("padding exceeding the room left after the priority fields → PROTOCOL_ERROR") {
    check_error(hex("000007 01 28 00000003 | 02 | 00000000 | 10 | 00"), H2Error::ProtocolError,
                ErrorScope::Connection);
  }
  SUBCASE("PRIORITY flag but fewer than 5 bytes → FRAME_SIZE_ERROR") {
    check_error(hex("000004 01 20 00000003 | 00000000"), H2Error::FrameSizeError,
                ErrorScope::Connection);
  }
  SUBCASE("stream 0 → PROTOCOL_ERROR") {
    check_error(hex("000001 01 04 00000000 | 82"), H2Error::ProtocolError, ErrorScope::Connection);
  }
}

TEST_CASE("§6.3 PRIORITY") {
  SUBCASE("fields") {
    const auto& f = frame_as<PriorityFrame>(decode(hex("000005 02 00 00000009 | 0000000b | 07")));
    CHECK(f.stream_id == 9);
    CHECK(f.priority.dependency == 11);
    CHECK(f.priority.weight == 7);
    CHECK(!f.priority.exclusive);
  }
  SUBCASE("length not 5 → stream FRAME_SIZE_ERROR") {
    auto r = decode(hex("000004 02 00 00000009 | 0000000b"));
    REQUIRE(r.is_error());
    CHECK(r.error().code == H2Error::FrameSizeError);
    CHECK(r.error().scope == ErrorScope::Stream);
    CHECK(r.error().stream_id == 9);
  }
  SUBCASE("stream 0 → connection PROTOCOL_ERROR") {
    check_error(hex("000005 02 00 00000000 | 00000001 | 07"), H2Error::ProtocolError,
                ErrorScope::Connection);
  }
  SUBCASE("depends on itself → stream PROTOCOL_ERROR (§5.3.1)") {
    check_error(hex("000005 02 00 00000009 | 00000009 | 07"), H2Error::ProtocolError,
                ErrorScope::Stream);
  }
}

TEST_CASE("§6.4 RST_STREAM") {
  const auto& f = frame_as<RstStreamFrame>(decode(hex("000004 03 00 00000005 | 00000008")));
  CHECK(f.stream_id == 5);
  CHECK(f.error_code == H2Error::Cancel);
  // §7: unknown codes are kept verbatim.
  CHECK(frame_as<RstStreamFrame>(decode(hex("000004 03 00 00000005 | 0000abcd"))).error_code ==
        static_cast<H2Error>(0xabcd));
  check_error(hex("000004 03 00 00000000 | 00000008"), H2Error::ProtocolError,
              ErrorScope::Connection);
  check_error(hex("000005 03 00 00000005 | 0000000800"), H2Error::FrameSizeError,
              ErrorScope::Connection);
}

TEST_CASE("§6.5 SETTINGS") {
  SUBCASE("entries in order; unknown identifiers kept and left to be ignored (§6.5.2)") {
    auto r = decode(hex("000012 04 00 00000000 | 0001 00002000 | 00ff 12345678 | 0003 00001388"));
    const auto& f = frame_as<SettingsFrame>(r);
    CHECK(!f.ack);
    REQUIRE(f.settings.size() == 3);
    CHECK(f.settings[0].id == 1);
    CHECK(f.settings[0].value == 8192);
    CHECK(f.settings[1].id == 0xff);
    CHECK(f.settings[2].value == 5000);
  }
  SUBCASE("ACK") { CHECK(frame_as<SettingsFrame>(decode(hex("000000 04 01 00000000"))).ack); }
  SUBCASE("ACK with a payload → FRAME_SIZE_ERROR") {
    check_error(hex("000006 04 01 00000000 | 0001 00002000"), H2Error::FrameSizeError,
                ErrorScope::Connection);
  }
  SUBCASE("length not a multiple of 6 → FRAME_SIZE_ERROR") {
    check_error(hex("000005 04 00 00000000 | 0001 000020"), H2Error::FrameSizeError,
                ErrorScope::Connection);
  }
  SUBCASE("not on stream 0 → PROTOCOL_ERROR") {
    check_error(hex("000000 04 00 00000001"), H2Error::ProtocolError, ErrorScope::Connection);
  }
  SUBCASE("§6.5.2 ENABLE_PUSH other than 0/1 → PROTOCOL_ERROR") {
    CHECK(decode(hex("000006 04 00 00000000 | 0002 00000001")).ok());
    check_error(hex("000006 04 00 00000000 | 0002 00000002"), H2Error::ProtocolError,
                ErrorScope::Connection);
  }
  SUBCASE("§6.5.2 INITIAL_WINDOW_SIZE above 2^31-1 → FLOW_CONTROL_ERROR") {
    CHECK(decode(hex("000006 04 00 00000000 | 0004 7fffffff")).ok());
    check_error(hex("000006 04 00 00000000 | 0004 80000000"), H2Error::FlowControlError,
                ErrorScope::Connection);
  }
  SUBCASE("§6.5.2 MAX_FRAME_SIZE outside 16384..2^24-1 → PROTOCOL_ERROR") {
    CHECK(decode(hex("000006 04 00 00000000 | 0005 00004000")).ok());
    CHECK(decode(hex("000006 04 00 00000000 | 0005 00ffffff")).ok());
    check_error(hex("000006 04 00 00000000 | 0005 00003fff"), H2Error::ProtocolError,
                ErrorScope::Connection);
    check_error(hex("000006 04 00 00000000 | 0005 01000000"), H2Error::ProtocolError,
                ErrorScope::Connection);
  }
  SUBCASE("RFC 8441 §3 / RFC 9218 §2.1 boolean settings other than 0/1 → PROTOCOL_ERROR") {
    check_error(hex("000006 04 00 00000000 | 0008 00000002"), H2Error::ProtocolError,
                ErrorScope::Connection);
    check_error(hex("000006 04 00 00000000 | 0009 00000002"), H2Error::ProtocolError,
                ErrorScope::Connection);
  }
}

TEST_CASE("§6.6 PUSH_PROMISE") {
  SUBCASE("fields, padding stripped") {
    auto b = hex("000008 05 0c 0000000a | 01 | 0000000c | 8286 | 00");
    const auto& f = frame_as<PushPromiseFrame>(decode(b));
    CHECK(f.stream_id == 10);
    CHECK(f.promised_stream_id == 12);
    CHECK(f.fragment.size() == 2);
    CHECK(f.end_headers);
  }
  SUBCASE("promised id zero or odd → PROTOCOL_ERROR (§5.1.1: server ids are even)") {
    check_error(hex("000004 05 00 00000001 | 00000000"), H2Error::ProtocolError,
                ErrorScope::Connection);
    check_error(hex("000004 05 00 00000001 | 00000003"), H2Error::ProtocolError,
                ErrorScope::Connection);
  }
  SUBCASE("shorter than the promised id → FRAME_SIZE_ERROR") {
    check_error(hex("000003 05 00 00000001 | 000000"), H2Error::FrameSizeError,
                ErrorScope::Connection);
  }
  SUBCASE("stream 0 → PROTOCOL_ERROR") {
    check_error(hex("000004 05 00 00000000 | 00000002"), H2Error::ProtocolError,
                ErrorScope::Connection);
  }
}

TEST_CASE("§6.7 PING") {
  const auto& f = frame_as<PingFrame>(decode(hex("000008 06 01 00000000 | 0102030405060708")));
  CHECK(f.ack);
  CHECK(f.opaque[7] == std::byte{8});
  check_error(hex("000007 06 00 00000000 | 01020304050607"), H2Error::FrameSizeError,
              ErrorScope::Connection);
  check_error(hex("000008 06 00 00000001 | 0102030405060708"), H2Error::ProtocolError,
              ErrorScope::Connection);
}

TEST_CASE("§6.8 GOAWAY") {
  auto r = decode(hex("00000a 07 00 00000000 | 8000001e | 00000009 | 6869"));
  const auto& f = frame_as<GoawayFrame>(r);
  CHECK(f.last_stream_id == 30);  // reserved bit ignored
  CHECK(f.error_code == H2Error::CompressionError);
  CHECK(as_text(f.debug_data) == "hi");
  check_error(hex("000007 07 00 00000000 | 00000001 | 000000"), H2Error::FrameSizeError,
              ErrorScope::Connection);
  check_error(hex("000008 07 00 00000003 | 00000001 | 00000000"), H2Error::ProtocolError,
              ErrorScope::Connection);
}

TEST_CASE("§6.9 WINDOW_UPDATE") {
  const auto& f = frame_as<WindowUpdateFrame>(decode(hex("000004 08 00 00000032 | 800003e8")));
  CHECK(f.stream_id == 50);
  CHECK(f.increment == 1000);  // reserved bit ignored
  SUBCASE("increment 0 on a stream → stream PROTOCOL_ERROR") {
    auto r = decode(hex("000004 08 00 00000001 | 00000000"));
    REQUIRE(r.is_error());
    CHECK(r.error().code == H2Error::ProtocolError);
    CHECK(r.error().scope == ErrorScope::Stream);
    CHECK(r.error().stream_id == 1);
  }
  SUBCASE("increment 0 on the connection → connection PROTOCOL_ERROR") {
    check_error(hex("000004 08 00 00000000 | 00000000"), H2Error::ProtocolError,
                ErrorScope::Connection);
  }
  SUBCASE("length not 4 → connection FRAME_SIZE_ERROR") {
    check_error(hex("000003 08 00 00000001 | 000001"), H2Error::FrameSizeError,
                ErrorScope::Connection);
  }
}

TEST_CASE("§6.10 CONTINUATION") {
  const auto& f = frame_as<ContinuationFrame>(decode(hex("000002 09 04 00000032 | 8286")));
  CHECK(f.end_headers);
  CHECK(f.stream_id == 50);
  check_error(hex("000000 09 04 00000000"), H2Error::ProtocolError, ErrorScope::Connection);
}

TEST_CASE("RFC 9218 §7.1 PRIORITY_UPDATE") {
  const auto& f =
      frame_as<PriorityUpdateFrame>(decode(hex("000009 10 00 00000000 | 00000005 | 753d322c69")));
  CHECK(f.prioritized_stream_id == 5);
  CHECK(f.field_value == "u=2,i");
  check_error(hex("000004 10 00 00000001 | 00000005"), H2Error::ProtocolError,
              ErrorScope::Connection);
  check_error(hex("000003 10 00 00000000 | 000005"), H2Error::FrameSizeError,
              ErrorScope::Connection);
  check_error(hex("000004 10 00 00000000 | 00000000"), H2Error::ProtocolError,
              ErrorScope::Connection);
}
