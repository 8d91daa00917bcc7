// Client-role engine tests with byte-level input from a scripted server: responses and their
// validation (§8.3.2, §8.1), informational responses, HEAD, REFUSED_STREAM (§8.7), GOAWAY
// handling (§6.8: which streams may be retried), PRIORITY_UPDATE (RFC 9218 §7.1).
#include <doctest/doctest.h>

#include "kakehi/http2/connection.hpp"
#include "support/h2_harness.hpp"

using namespace kakehi::http2;
using namespace kakehi::test;

namespace {

struct Client {
  EngineDriver d;
  hpack::Encoder enc;  // the scripted server's encoder
  Client() : d(config()) {
    auto out = d.output();
    REQUIRE(out.size() >= 1);
    CHECK(out[0].type() == FrameType::Settings);
    (void)d.feed(cat({settings_frame(), settings_ack()}));
    d.output();
    d.rec.events.clear();
  }
  static ConnectionConfig config() {
    ConnectionConfig c;
    c.role = Role::Client;
    return c;
  }
  void feed(const Bytes& b) { (void)d.feed(b); }
  Bytes response(uint32_t id, const FieldList& f, bool end) {
    return headers_frame(enc, id, f, end);
  }
  uint32_t request(bool end = true) {
    auto r = d.conn.submit_request(get_request(), end);
    REQUIRE(r);
    d.output();
    return *r;
  }
};

}  // namespace

TEST_CASE("§3.4 client: magic, SETTINGS with ENABLE_PUSH=0, connection WINDOW_UPDATE") {
  EngineDriver d(Client::config());
  auto raw = d.conn.next_output();
  REQUIRE(raw.size() > kClientPrefaceSize);
  CHECK(as_text(raw.first(kClientPrefaceSize)) == kClientPreface);
  auto out = d.output();
  REQUIRE(out.size() == 2);
  CHECK(out[0].type() == FrameType::Settings);
  CHECK((out[0].u32(0) >> 16) == 0x2u);  // ENABLE_PUSH first
  CHECK(out[1].type() == FrameType::WindowUpdate);
  CHECK(out[1].u32(0) == (1u << 24) - 65535);
}

TEST_CASE("client: stream ids are odd and increasing; response, body, trailers") {
  Client c;
  CHECK(c.request(false) == 1);
  CHECK(c.request(true) == 3);
  c.feed(c.response(1, {{":status", "200"}, {"content-length", "2"}}, false));
  c.feed(data_frame(1, "ok", false));
  c.feed(c.response(1, {{"x-checksum", "abc"}}, true));
  auto h = c.d.rec.of(Event::Headers);
  REQUIRE(h.size() == 2);
  CHECK(h[0].head == HeadKind::Response);
  CHECK(h[1].head == HeadKind::Trailers);
  CHECK(c.d.conn.stream_state(1) == StreamState::HalfClosedRemote);  // request body not ended
  REQUIRE(c.d.conn.submit_data(1, {}, true));
  c.d.output();
  CHECK(!c.d.conn.stream_state(1));
}

TEST_CASE("§8.1 informational responses precede the final one") {
  Client c;
  c.request();
  c.feed(c.response(1, {{":status", "103"}, {"link", "</a>"}}, false));
  c.feed(c.response(1, {{":status", "200"}}, true));
  auto h = c.d.rec.of(Event::Headers);
  REQUIRE(h.size() == 2);
  CHECK(h[0].head == HeadKind::Informational);
  CHECK(h[1].head == HeadKind::Response);
  CHECK(c.d.rec.of(Event::Closed).size() == 1);
}

TEST_CASE("§8.1 1xx with END_STREAM and 101 are malformed") {
  for (const char* status : {"100", "101"}) {
    Client c;
    c.request();
    c.feed(c.response(1, {{":status", status}}, std::string_view(status) == "100"));
    auto out = c.d.output();
    REQUIRE(out.size() == 1);
    CHECK(out[0].type() == FrameType::RstStream);
    CHECK(out[0].code() == H2Error::ProtocolError);
  }
}

TEST_CASE("§8.1.1 response to HEAD may carry content-length without a body") {
  Client c;
  REQUIRE(c.d.conn.submit_request(
      {{":method", "HEAD"}, {":scheme", "https"}, {":authority", "a"}, {":path", "/"}}, true));
  c.d.output();
  c.feed(c.response(1, {{":status", "200"}, {"content-length", "1000"}}, true));
  CHECK(c.d.output().empty());
  CHECK(c.d.rec.of(Event::Closed).size() == 1);
}

TEST_CASE("§8.1 DATA before the response head → stream PROTOCOL_ERROR") {
  Client c;
  c.request();
  c.feed(data_frame(1, "x", true));
  auto out = c.d.output();
  REQUIRE(out.size() == 1);
  CHECK(out[0].code() == H2Error::ProtocolError);
}

TEST_CASE("§5.1.1 a server HEADERS on an idle stream → PROTOCOL_ERROR") {
  Client c;
  c.feed(c.response(2, {{":status", "200"}}, true));
  auto out = c.d.output();
  REQUIRE(out.size() == 1);
  CHECK(out[0].type() == FrameType::Goaway);
  CHECK(out[0].code() == H2Error::ProtocolError);
}

TEST_CASE("§8.7 RST_STREAM(REFUSED_STREAM) marks the request retryable") {
  Client c;
  c.request();
  c.request();
  Bytes b;
  encode_rst_stream(b, 1, H2Error::RefusedStream);
  encode_rst_stream(b, 3, H2Error::Cancel);
  c.feed(b);
  auto r = c.d.rec.of(Event::Reset);
  REQUIRE(r.size() == 2);
  CHECK(r[0].retryable);
  CHECK(r[0].origin == ResetOrigin::Remote);
  CHECK(!r[1].retryable);
}

TEST_CASE("§6.8 GOAWAY: streams above the last id are retryable, the others finish") {
  Client c;
  for (int i = 0; i < 3; ++i) c.request();  // 1, 3, 5
  Bytes b;
  encode_goaway(b, 3, H2Error::NoError);
  c.feed(b);
  auto g = c.d.rec.of(Event::Goaway);
  REQUIRE(g.size() == 1);
  CHECK(g[0].stream == 3);
  auto r = c.d.rec.of(Event::Reset);
  REQUIRE(r.size() == 1);
  CHECK(r[0].stream == 5);
  CHECK(r[0].retryable);
  CHECK(r[0].origin == ResetOrigin::Goaway);
  CHECK(c.d.conn.submit_request(get_request(), true).error() == SubmitError::GoingAway);
  CHECK(!c.d.conn.is_closed());
  c.feed(c.response(1, {{":status", "200"}}, true));
  c.feed(c.response(3, {{":status", "200"}}, true));
  CHECK(c.d.conn.is_closed());
}

TEST_CASE("§5.1.2 the peer's MAX_CONCURRENT_STREAMS limits submit_request") {
  Client c;
  c.feed(settings_frame({{3, 1}}));
  c.d.output();
  c.request(true);
  CHECK(c.d.conn.submit_request(get_request(), true).error() == SubmitError::ConcurrencyLimit);
  c.feed(c.response(1, {{":status", "204"}}, true));
  CHECK(c.d.conn.submit_request(get_request(), true));
}

TEST_CASE("RFC 9218 §7.1 PRIORITY_UPDATE received by a client → PROTOCOL_ERROR") {
  Client c;
  Bytes b;
  encode_priority_update(b, 1, "u=1");
  c.feed(b);
  auto out = c.d.output();
  REQUIRE(out.size() == 1);
  CHECK(out[0].code() == H2Error::ProtocolError);
}

TEST_CASE("RFC 9218 §7.1 client set_priority sends PRIORITY_UPDATE") {
  Client c;
  c.request(false);
  c.d.conn.set_priority(1, {1, true});
  auto out = c.d.output();
  REQUIRE(out.size() == 1);
  CHECK(out[0].type() == FrameType::PriorityUpdate);
  CHECK(out[0].u32(0) == 1);
  CHECK(as_text(std::span(out[0].payload).subspan(4)) == "u=1, i");
}
