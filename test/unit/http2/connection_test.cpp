// Server-role engine tests with byte-level input: preface and SETTINGS (§3.4, §6.5), stream
// states (§5.1) and the exact error for frames in the wrong state, concurrency (§5.1.2),
// header blocks (§6.10), message validation (§8.1), PING (§6.7), flow control (§6.9).
#include "kakehi/http2/connection.hpp"

#include <doctest/doctest.h>

#include "support/h2_harness.hpp"

using namespace kakehi::http2;
using namespace kakehi::test;

namespace {

ConnectionConfig server_config() {
  ConnectionConfig c;
  c.role = Role::Server;
  c.local.max_concurrent_streams = 4;
  c.window.connection_window = 65535;  // no initial WINDOW_UPDATE: exact window tests
  return c;
}

/// A server engine past the preface and SETTINGS exchange, with an HPACK encoder for input.
struct Server {
  EngineDriver d;
  hpack::Encoder enc;
  explicit Server(const ConnectionConfig& c = server_config()) : d(c) {
    REQUIRE(d.feed(cat({client_magic(), settings_frame()})));
    d.output();
    REQUIRE(d.feed(settings_ack()));
    d.rec.events.clear();
  }
  void feed(const Bytes& b) { (void)d.feed(b); }
  Bytes request(uint32_t id, const FieldList& f, bool end) {
    return headers_frame(enc, id, f, end);
  }
  /// The only frame written, checked to be of `type`.
  OutFrame single(FrameType type) {
    auto out = d.output();
    REQUIRE(out.size() == 1);
    CHECK(out[0].type() == type);
    return out[0];
  }
  void expect_goaway(H2Error code) {
    auto f = single(FrameType::Goaway);
    CHECK(f.code() == code);
    CHECK(d.rec.of(Event::ConnError).size() == 1);
  }
  void expect_rst(uint32_t id, H2Error code) {
    auto f = single(FrameType::RstStream);
    CHECK(f.h.stream_id == id);
    CHECK(f.code() == code);
  }
};

}  // namespace

TEST_CASE("§3.4 server: SETTINGS first, then ACK of the client's SETTINGS") {
  EngineDriver d(server_config());
  auto out = d.output();
  REQUIRE(out.size() == 1);
  CHECK(out[0].type() == FrameType::Settings);
  CHECK(out[0].h.length == 6 * 2);  // MAX_CONCURRENT_STREAMS, MAX_HEADER_LIST_SIZE
  auto magic = client_magic();
  // The preface may arrive byte by byte.
  for (std::byte b : magic) REQUIRE(d.feed(Bytes{b}));
  REQUIRE(d.feed(settings_frame({{4, 1000}})));
  out = d.output();
  REQUIRE(out.size() == 1);
  CHECK(out[0].type() == FrameType::Settings);
  CHECK(out[0].h.flags == flag::kAck);
  CHECK(d.conn.peer_settings().initial_window_size == 1000);
  CHECK(d.rec.of(Event::SettingsEv).size() == 1);
}

TEST_CASE("§3.4 invalid preface → PROTOCOL_ERROR") {
  EngineDriver d(server_config());
  d.output();
  CHECK(!d.feed(ascii("GET / HTTP/1.1\r\n\r\n")));
  auto out = d.output();
  REQUIRE(out.size() == 1);
  CHECK(out[0].type() == FrameType::Goaway);
  CHECK(out[0].code() == H2Error::ProtocolError);
  CHECK(d.conn.is_closed());
}

TEST_CASE("§3.4 the first frame after the magic must be SETTINGS") {
  EngineDriver d(server_config());
  d.output();
  Bytes ping;
  encode_ping(ping, {}, false);
  CHECK(!d.feed(cat({client_magic(), ping})));
  CHECK(d.output().back().code() == H2Error::ProtocolError);
}

TEST_CASE("§6.5.3 SETTINGS not acknowledged in time → SETTINGS_TIMEOUT") {
  auto cfg = server_config();
  cfg.settings_timeout = Millis{100};
  EngineDriver d(cfg);
  REQUIRE(d.feed(cat({client_magic(), settings_frame()})));
  d.output();
  REQUIRE(d.conn.next_deadline() == Millis{100});
  d.conn.tick(Millis{99});
  CHECK(d.output().empty());
  d.conn.tick(Millis{100});
  auto out = d.output();
  REQUIRE(out.size() == 1);
  CHECK(out[0].code() == H2Error::SettingsTimeout);
}

TEST_CASE("§6.5.3 an ACK clears the SETTINGS deadline; an unsolicited ACK → PROTOCOL_ERROR") {
  Server s;
  CHECK(!s.d.conn.next_deadline());
  s.feed(settings_ack());
  s.expect_goaway(H2Error::ProtocolError);
}

TEST_CASE("request, response and body through the engine") {
  Server s;
  s.feed(s.request(1, get_request("/a"), true));
  auto h = s.d.rec.of(Event::Headers);
  REQUIRE(h.size() == 1);
  CHECK(h[0].stream == 1);
  CHECK(h[0].head == HeadKind::Request);
  CHECK(h[0].end_stream);
  CHECK(h[0].field(":path") == "/a");
  CHECK(s.d.conn.stream_state(1) == StreamState::HalfClosedRemote);
  REQUIRE(s.d.conn.submit_response(1, {{":status", "200"}}, false));
  REQUIRE(s.d.conn.submit_data(1, ascii("hello"), true));
  auto out = s.d.output();
  REQUIRE(out.size() == 2);
  CHECK(out[0].type() == FrameType::Headers);
  CHECK(out[0].h.flags == flag::kEndHeaders);
  CHECK(out[1].type() == FrameType::Data);
  CHECK(out[1].h.flags == flag::kEndStream);
  CHECK(as_text(out[1].payload) == "hello");
  CHECK(!s.d.conn.stream_state(1));  // closed both ways
  CHECK(s.d.rec.of(Event::Closed).size() == 1);
}

TEST_CASE("§5.1 idle: DATA, RST_STREAM, WINDOW_UPDATE → connection PROTOCOL_ERROR") {
  SUBCASE("DATA") {
    Server s;
    s.feed(data_frame(1, "x", false));
    s.expect_goaway(H2Error::ProtocolError);
  }
  SUBCASE("RST_STREAM") {
    Server s;
    Bytes b;
    encode_rst_stream(b, 3, H2Error::Cancel);
    s.feed(b);
    s.expect_goaway(H2Error::ProtocolError);
  }
  SUBCASE("WINDOW_UPDATE") {
    Server s;
    Bytes b;
    encode_window_update(b, 5, 10);
    s.feed(b);
    s.expect_goaway(H2Error::ProtocolError);
  }
  SUBCASE("PRIORITY on an idle stream is allowed and ignored (§5.1, §5.3.2)") {
    Server s;
    Bytes b;
    encode_priority(b, 7, {0, 15, false});
    s.feed(b);
    CHECK(s.d.output().empty());
    s.feed(s.request(7, get_request(), true));
    CHECK(s.d.rec.of(Event::Headers).size() == 1);
  }
}

TEST_CASE("§5.1.1 a client opening an even-numbered stream → PROTOCOL_ERROR") {
  Server s;
  s.feed(s.request(2, get_request(), true));
  s.expect_goaway(H2Error::ProtocolError);
}

TEST_CASE("§5.1 half-closed (remote): DATA → stream error STREAM_CLOSED") {
  Server s;
  s.feed(s.request(1, get_request(), true));
  s.d.output();
  s.feed(data_frame(1, "late", false));
  s.expect_rst(1, H2Error::StreamClosed);
  auto r = s.d.rec.of(Event::Reset);
  REQUIRE(r.size() == 1);
  CHECK(r[0].origin == ResetOrigin::Local);
}

TEST_CASE("§5.1 half-closed (remote): HEADERS → stream error STREAM_CLOSED") {
  Server s;
  s.feed(s.request(1, post_request(), true));
  s.feed(s.request(1, {{"x-trailer", "1"}}, true));
  s.expect_rst(1, H2Error::StreamClosed);
}

TEST_CASE("§5.1 closed streams: DATA → STREAM_CLOSED, HEADERS → connection STREAM_CLOSED") {
  SUBCASE("DATA after the stream closed normally") {
    Server s;
    s.feed(s.request(1, get_request(), true));
    REQUIRE(s.d.conn.submit_response(1, {{":status", "204"}}, true));
    s.d.output();
    s.feed(data_frame(1, "x", true));
    s.expect_rst(1, H2Error::StreamClosed);
  }
  SUBCASE("HEADERS on a closed stream") {
    Server s;
    s.feed(s.request(1, get_request(), true));
    REQUIRE(s.d.conn.submit_response(1, {{":status", "204"}}, true));
    s.d.output();
    s.feed(s.request(1, get_request(), true));
    s.expect_goaway(H2Error::StreamClosed);
  }
  SUBCASE("§5.1.1 a new stream id lower than a previous one → PROTOCOL_ERROR") {
    Server s;
    s.feed(s.request(5, get_request(), true));
    s.d.output();
    s.feed(s.request(3, get_request(), true));
    s.expect_goaway(H2Error::ProtocolError);
  }
  SUBCASE("HEADERS on a stream the peer reset → STREAM_CLOSED") {
    Server s;
    s.feed(s.request(1, post_request(), false));
    Bytes b;
    encode_rst_stream(b, 1, H2Error::Cancel);
    s.feed(b);
    s.d.output();
    s.feed(s.request(1, {{"x", "1"}}, true));
    s.expect_goaway(H2Error::StreamClosed);
  }
  SUBCASE("frames on a stream we reset are ignored; WINDOW_UPDATE/RST on closed too") {
    Server s;
    s.feed(s.request(1, post_request(), false));
    REQUIRE(s.d.conn.reset_stream(1, H2Error::Cancel));
    s.expect_rst(1, H2Error::Cancel);
    s.feed(data_frame(1, "in flight", false));
    Bytes b;
    encode_window_update(b, 1, 100);
    encode_rst_stream(b, 1, H2Error::Cancel);
    s.feed(b);
    s.feed(s.request(1, {{"x", "y"}}, true));  // trailers in flight: decoded, ignored
    auto out = s.d.output();
    // Only connection-level credit for the discarded DATA may be written, never an error.
    for (auto& f : out) CHECK(f.type() == FrameType::WindowUpdate);
    CHECK(s.d.rec.of(Event::ConnError).empty());
  }
}

TEST_CASE("§5.1.2 streams beyond MAX_CONCURRENT_STREAMS → REFUSED_STREAM") {
  Server s;  // limit 4
  for (uint32_t id = 1; id <= 7; id += 2) s.feed(s.request(id, post_request(), false));
  CHECK(s.d.output().empty());
  s.feed(s.request(9, post_request(), false));
  s.expect_rst(9, H2Error::RefusedStream);
  CHECK(s.d.conn.active_streams() == 4);
  // Once one finishes, a new stream is accepted.
  REQUIRE(s.d.conn.reset_stream(1, H2Error::Cancel));
  s.d.output();
  s.feed(s.request(11, get_request(), true));
  CHECK(s.d.conn.active_streams() == 4);
  CHECK(s.d.output().empty());
}

TEST_CASE("§6.10 HEADERS + CONTINUATION assembly") {
  Server s;
  auto block = block_of(s.enc, get_request("/split"));
  REQUIRE(block.size() > 4);
  Bytes b;
  std::span<const std::byte> all = block;
  encode_headers(b, 1, all.first(2), true, false);
  encode_continuation(b, 1, all.subspan(2, 2), false);
  encode_continuation(b, 1, all.subspan(4), true);
  // Fed in odd-sized pieces.
  for (size_t i = 0; i < b.size(); i += 5)
    s.feed(Bytes(b.begin() + static_cast<long>(i),
                 b.begin() + static_cast<long>(std::min(b.size(), i + 5))));
  auto h = s.d.rec.of(Event::Headers);
  REQUIRE(h.size() == 1);
  CHECK(h[0].field(":path") == "/split");
}

TEST_CASE("§6.10 another frame inside a header block → PROTOCOL_ERROR") {
  SUBCASE("a PING") {
    Server s;
    Bytes b;
    encode_headers(b, 1, block_of(s.enc, get_request()), true, false);
    encode_ping(b, {}, false);
    s.feed(b);
    s.expect_goaway(H2Error::ProtocolError);
  }
  SUBCASE("CONTINUATION on another stream") {
    Server s;
    Bytes b;
    encode_headers(b, 1, block_of(s.enc, get_request()), true, false);
    encode_continuation(b, 3, {}, true);
    s.feed(b);
    s.expect_goaway(H2Error::ProtocolError);
  }
  SUBCASE("CONTINUATION with no open block") {
    Server s;
    Bytes b;
    encode_continuation(b, 1, {}, true);
    s.feed(b);
    s.expect_goaway(H2Error::ProtocolError);
  }
}

TEST_CASE("§4.3 a broken header block → COMPRESSION_ERROR") {
  Server s;
  Bytes b;
  encode_headers(b, 1, hex("ff ff ff ff ff"), true, true);  // integer overflow
  s.feed(b);
  s.expect_goaway(H2Error::CompressionError);
}

TEST_CASE("§8.1.1 malformed requests → stream PROTOCOL_ERROR, connection survives") {
  const FieldList bad[] = {
      {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"Upper", "x"}},
      {{":method", "GET"}, {":scheme", "https"}},
      {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"connection", "close"}},
      {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"te", "gzip"}},
      {{":method", "GET"}, {"x", "1"}, {":scheme", "https"}, {":path", "/"}},
      {{":method", "GET"}, {":method", "GET"}, {":scheme", "https"}, {":path", "/"}},
      {{":status", "200"}},
  };
  for (const auto& f : bad) {
    Server s;
    s.feed(s.request(1, f, true));
    s.expect_rst(1, H2Error::ProtocolError);
    CHECK(s.d.rec.of(Event::Headers).empty());
    s.feed(s.request(3, get_request(), true));  // the connection still works
    CHECK(s.d.rec.of(Event::Headers).size() == 1);
  }
}

TEST_CASE("§8.1.1 content-length must match the DATA received") {
  SUBCASE("more DATA than announced") {
    Server s;
    auto req = post_request();
    req.add("content-length", "3");
    s.feed(s.request(1, req, false));
    s.feed(data_frame(1, "abcd", true));
    s.expect_rst(1, H2Error::ProtocolError);
    CHECK(s.d.rec.of(Event::Data).empty());
  }
  SUBCASE("less DATA than announced at END_STREAM") {
    Server s;
    auto req = post_request();
    req.add("content-length", "5");
    s.feed(s.request(1, req, false));
    s.feed(data_frame(1, "ab", false));
    s.feed(data_frame(1, "c", true));
    s.expect_rst(1, H2Error::ProtocolError);
    CHECK(s.d.rec.of(Event::Data).size() == 1);
  }
  SUBCASE("exact") {
    Server s;
    auto req = post_request();
    req.add("content-length", "3");
    s.feed(s.request(1, req, false));
    s.feed(data_frame(1, "ab", false));
    s.feed(data_frame(1, "c", true));
    CHECK(s.d.rec.of(Event::Data).size() == 2);
    CHECK(s.d.rec.of(Event::Reset).empty());
  }
}

TEST_CASE("§8.1 trailers end the stream; trailers without END_STREAM are malformed") {
  SUBCASE("valid") {
    Server s;
    s.feed(s.request(1, post_request(), false));
    s.feed(data_frame(1, "body", false));
    s.feed(s.request(1, {{"grpc-status", "0"}}, true));
    auto h = s.d.rec.of(Event::Headers);
    REQUIRE(h.size() == 2);
    CHECK(h[1].head == HeadKind::Trailers);
    CHECK(h[1].field("grpc-status") == "0");
    CHECK(s.d.conn.stream_state(1) == StreamState::HalfClosedRemote);
  }
  SUBCASE("no END_STREAM") {
    Server s;
    s.feed(s.request(1, post_request(), false));
    s.feed(s.request(1, {{"x", "1"}}, false));
    s.expect_rst(1, H2Error::ProtocolError);
  }
  SUBCASE("pseudo-header in trailers") {
    Server s;
    s.feed(s.request(1, post_request(), false));
    s.feed(s.request(1, {{":path", "/"}}, true));
    s.expect_rst(1, H2Error::ProtocolError);
  }
}

TEST_CASE("§5.3.1 HEADERS depending on itself → stream PROTOCOL_ERROR after HPACK") {
  Server s;
  Bytes b;
  encode_headers(b, 1, block_of(s.enc, get_request()), true, true, PrioritySpec{1, 15, false});
  s.feed(b);
  s.expect_rst(1, H2Error::ProtocolError);
  s.feed(s.request(3, get_request("/next"), true));  // HPACK state still in sync
  auto h = s.d.rec.of(Event::Headers);
  REQUIRE(h.size() == 1);
  CHECK(h[0].field(":path") == "/next");
}

TEST_CASE("§6.7 PING is answered with the same opaque data") {
  Server s;
  Bytes b;
  std::array<std::byte, 8> data{};
  data[3] = std::byte{0x42};
  encode_ping(b, data, false);
  s.feed(b);
  auto f = s.single(FrameType::Ping);
  CHECK(f.h.flags == flag::kAck);
  CHECK(f.payload[3] == std::byte{0x42});
}

TEST_CASE("§8.4 PUSH_PROMISE received by a server → PROTOCOL_ERROR") {
  Server s;
  Bytes b;
  encode_push_promise(b, 1, 2, {}, true);
  s.feed(b);
  s.expect_goaway(H2Error::ProtocolError);
}

TEST_CASE("§5.5 unknown frame types are ignored, even with a payload") {
  Server s;
  s.feed(raw_frame(0xee, 0xff, 1, hex("0102")));
  CHECK(s.d.output().empty());
  CHECK(s.d.rec.events.empty());
}

TEST_CASE("§6.9.1 flow control on receive") {
  SUBCASE("DATA beyond the stream window → stream FLOW_CONTROL_ERROR") {
    auto cfg = server_config();
    cfg.local.initial_window_size = 16;
    cfg.window.connection_window = 1 << 20;
    Server s(cfg);
    s.d.output();
    s.feed(s.request(1, post_request(), false));
    s.feed(data_frame(1, std::string(17, 'x'), false));
    auto out = s.d.output();
    REQUIRE(!out.empty());
    CHECK(out.back().type() == FrameType::RstStream);
    CHECK(out.back().code() == H2Error::FlowControlError);
  }
  SUBCASE("DATA beyond the connection window → connection FLOW_CONTROL_ERROR") {
    auto cfg = server_config();
    cfg.window.auto_update = false;
    Server s(cfg);
    for (uint32_t id = 1; id <= 5; id += 2) s.feed(s.request(id, post_request(), false));
    Bytes chunk(16384, std::byte{'a'});
    Bytes b;
    for (int i = 0; i < 4; ++i) encode_data(b, 1 + 2 * (i % 3), chunk, false);  // 65536 > 65535
    s.feed(b);
    auto out = s.d.output();
    REQUIRE(!out.empty());
    CHECK(out.back().type() == FrameType::Goaway);
    CHECK(out.back().code() == H2Error::FlowControlError);
  }
  SUBCASE("padding counts against the window and is credited at once") {
    auto cfg = server_config();
    cfg.window.update_threshold_percent = 1;  // send WINDOW_UPDATE for any credit ≥ 655
    Server s(cfg);
    s.feed(s.request(1, post_request(), false));
    Bytes b;
    encode_data(b, 1, ascii("x"), false, uint8_t{255});
    for (int i = 0; i < 3; ++i) s.feed(b);
    auto out = s.d.output();
    REQUIRE(!out.empty());
    CHECK(out[0].type() == FrameType::WindowUpdate);
  }
}

TEST_CASE("§6.9 automatic WINDOW_UPDATE once half a window is consumed") {
  Server s;
  s.feed(s.request(1, post_request(), false));
  std::string half(16384, 'y');
  s.feed(data_frame(1, half, false));
  CHECK(s.d.output().empty());  // 16384 < 32767
  s.feed(data_frame(1, half, false));
  auto out = s.d.output();
  REQUIRE(out.size() == 2);
  CHECK(out[0].h.stream_id == 0);
  CHECK(out[0].u32(0) == 32768);
  CHECK(out[1].h.stream_id == 1);
  CHECK(out[1].u32(0) == 32768);
  CHECK(s.d.conn.connection_recv_window() == 65535);
}

TEST_CASE("§6.9 manual policy: credit only through consume()") {
  auto cfg = server_config();
  cfg.window.auto_update = false;
  Server s(cfg);
  s.feed(s.request(1, post_request(), false));
  s.feed(data_frame(1, std::string(40000, 'z').substr(0, 16000), false));
  s.feed(data_frame(1, std::string(16000, 'z'), false));
  s.feed(data_frame(1, std::string(16000, 'z'), false));
  CHECK(s.d.output().empty());
  s.d.conn.consume(1, 48000);
  auto out = s.d.output();
  REQUIRE(out.size() == 2);
  CHECK(out[0].u32(0) == 48000);
}

TEST_CASE("§6.9.1 WINDOW_UPDATE overflow") {
  SUBCASE("connection → FLOW_CONTROL_ERROR") {
    Server s;
    Bytes b;
    encode_window_update(b, 0, 0x7fffffff);
    s.feed(b);
    s.expect_goaway(H2Error::FlowControlError);
  }
  SUBCASE("stream → RST_STREAM FLOW_CONTROL_ERROR") {
    Server s;
    s.feed(s.request(1, get_request(), true));
    Bytes b;
    encode_window_update(b, 1, 0x7fffffff);
    s.feed(b);
    s.expect_rst(1, H2Error::FlowControlError);
  }
}

TEST_CASE("§6.9.2 INITIAL_WINDOW_SIZE changes apply to open streams") {
  Server s;
  s.feed(s.request(1, get_request(), true));
  s.feed(s.request(3, get_request(), true));
  REQUIRE(s.d.conn.submit_response(1, {{":status", "200"}}, false));
  REQUIRE(s.d.conn.submit_data(1, Bytes(70000, std::byte{'q'}), true));
  s.d.output();
  CHECK(s.d.conn.stream_for_test(1)->send_window == 0);  // 65535 sent, capped by both windows
  s.feed(settings_frame({{4, 65535 + 100}}));
  CHECK(s.d.conn.stream_for_test(1)->send_window == 100);
  CHECK(s.d.conn.stream_for_test(3)->send_window == 65635);
  s.feed(settings_frame({{4, 10}}));  // may go negative
  CHECK(s.d.conn.stream_for_test(1)->send_window == -65525);
  SUBCASE("overflow above 2^31-1 → connection FLOW_CONTROL_ERROR") {
    Bytes b;
    encode_window_update(b, 3, 0x7fffffff - 10);
    s.feed(b);
    s.d.output();
    s.feed(settings_frame({{4, 11}}));
    s.expect_goaway(H2Error::FlowControlError);
  }
}

TEST_CASE("§6.9 DATA waits for the connection window and resumes on WINDOW_UPDATE") {
  Server s;
  s.feed(s.request(1, get_request(), true));
  REQUIRE(s.d.conn.submit_response(1, {{":status", "200"}}, false));
  REQUIRE(s.d.conn.submit_data(1, Bytes(70000, std::byte{'q'}), true));
  size_t sent = 0;
  for (auto& f : s.d.output())
    if (f.type() == FrameType::Data) sent += f.h.length;
  CHECK(sent == 65535);
  Bytes b;
  encode_window_update(b, 0, 10000);
  encode_window_update(b, 1, 10000);
  s.feed(b);
  auto out = s.d.output();
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.length == 70000 - 65535);
  CHECK(out[0].h.flags == flag::kEndStream);
}

TEST_CASE("a stream that never drains fully holds what is pending, not its whole body") {
  Server s;
  s.feed(s.request(1, get_request(), true));
  REQUIRE(s.d.conn.submit_response(1, {{":status", "200"}}, false));
  const Bytes chunk(16384, std::byte{'z'});
  REQUIRE(s.d.conn.submit_data(1, chunk, false));
  REQUIRE(s.d.conn.submit_data(1, chunk, false));
  uint64_t sent = 0;
  for (int i = 0; i < 300; ++i) {  // ~4.9 MB through, 32 KiB or so always pending
    for (auto& f : s.d.output())
      if (f.type() == FrameType::Data) sent += f.h.length;
    REQUIRE(s.d.conn.submit_data(1, chunk, false));
    Bytes credit;
    encode_window_update(credit, 0, 16384);
    encode_window_update(credit, 1, 16384);
    s.feed(credit);
    CHECK(s.d.conn.queued_data(1) <= 4 * chunk.size());
    CHECK(s.d.conn.stream_for_test(1)->out.size() <= 8 * chunk.size());
  }
  CHECK(sent > 4'000'000);
}

TEST_CASE("§6.5.2 peer MAX_FRAME_SIZE bounds our DATA and header frames") {
  Server s;
  s.feed(s.request(1, get_request(), true));
  FieldList big{{":status", "200"}, {"x-big", std::string(20000, '~')}};
  REQUIRE(s.d.conn.submit_response(1, big, false));
  auto out = s.d.output();
  REQUIRE(out.size() == 2);
  CHECK(out[0].type() == FrameType::Headers);
  CHECK(out[0].h.length == 16384);
  CHECK(out[1].type() == FrameType::Continuation);
  CHECK(out[1].h.flags == flag::kEndHeaders);
}

TEST_CASE("§6.3/§6.9 stream-scoped frame errors: RST on a known stream, GOAWAY on an idle one") {
  SUBCASE("PRIORITY of the wrong length on an open stream → RST_STREAM FRAME_SIZE_ERROR") {
    Server s;
    s.feed(s.request(1, post_request(), false));
    s.feed(raw_frame(0x2, 0, 1, hex("00000000")));
    s.expect_rst(1, H2Error::FrameSizeError);
  }
  SUBCASE("WINDOW_UPDATE of 0 on an open stream → RST_STREAM PROTOCOL_ERROR") {
    Server s;
    s.feed(s.request(1, post_request(), false));
    s.feed(raw_frame(0x8, 0, 1, hex("00000000")));
    s.expect_rst(1, H2Error::ProtocolError);
  }
  SUBCASE("the same on an idle stream → connection error (§6.4: never RST an idle stream)") {
    Server s;
    s.feed(raw_frame(0x2, 0, 9, hex("00000000")));
    s.expect_goaway(H2Error::FrameSizeError);
  }
}

TEST_CASE("§6.5.2 header list above our MAX_HEADER_LIST_SIZE → RST_STREAM, HPACK stays in sync") {
  auto cfg = server_config();
  cfg.local.max_header_list_size = 200;
  Server s(cfg);
  auto big = get_request("/big");
  big.add("x-filler", std::string(300, 'f'));
  s.feed(s.request(1, big, true));
  s.expect_rst(1, H2Error::ProtocolError);
  CHECK(s.d.rec.of(Event::Headers).empty());
  s.feed(s.request(3, get_request("/small"), true));
  auto h = s.d.rec.of(Event::Headers);
  REQUIRE(h.size() == 1);
  CHECK(h[0].field(":path") == "/small");
}

TEST_CASE("§6.5.2 our HEADER_TABLE_SIZE applies to the decoder once acknowledged") {
  auto cfg = server_config();
  cfg.local.header_table_size = 0;
  EngineDriver d(cfg);
  auto out = d.output();
  REQUIRE(out.size() == 1);
  CHECK(out[0].u32(0) == 0x00010000u);  // HEADER_TABLE_SIZE = 0 is advertised
  REQUIRE(d.feed(cat({client_magic(), settings_frame(), settings_ack()})));
  d.output();
  // RFC 7541 §4.2: the next block must start with a table size update ≤ 0; one without it
  // is a decoding error (COMPRESSION_ERROR).
  hpack::Encoder enc;
  CHECK(!d.feed(headers_frame(enc, 1, get_request(), true)));
  out = d.output();
  REQUIRE(!out.empty());
  CHECK(out.back().code() == H2Error::CompressionError);
}

TEST_CASE("take_output hands over what next_output would return, and trades storage") {
  Server s;
  Bytes ping;
  encode_ping(ping, {}, false);
  s.feed(cat({ping, ping, ping}));
  const auto view = s.d.conn.next_output();
  const Bytes expected(view.begin(), view.end());
  REQUIRE(expected.size() == 3 * 17);  // three PING ACKs
  // After a partial write, the rest is handed over.
  s.d.conn.consume_output(5);
  std::vector<std::byte> mine;
  mine.reserve(4096);
  const std::byte* storage = mine.data();
  s.d.conn.take_output(mine);
  CHECK(mine == Bytes(expected.begin() + 5, expected.end()));
  CHECK(s.d.conn.next_output().empty());
  // With nothing partially written, the vectors trade places: the engine writes its next
  // output into the storage it was given, and the next taker receives it.
  s.feed(ping);
  s.d.conn.take_output(mine);
  CHECK(mine == Bytes(expected.begin(), expected.begin() + 17));
  s.feed(ping);
  std::vector<std::byte> other;
  s.d.conn.take_output(other);
  CHECK(other.data() == storage);
  CHECK(other == Bytes(expected.begin(), expected.begin() + 17));
  s.d.conn.take_output(other);
  CHECK(other.empty());
}
