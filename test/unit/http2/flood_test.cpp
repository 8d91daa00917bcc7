// Flood and abuse limits (issue 3; CVE-2023-44487 rapid reset, CVE-2024-27316 CONTINUATION
// flood, PING/SETTINGS/WINDOW_UPDATE/empty DATA floods, unread control answers): each limit
// trips GOAWAY(ENHANCE_YOUR_CALM) exactly past its configured value, and is counted.
#include <doctest/doctest.h>

#include "kakehi/http2/connection.hpp"
#include "support/h2_harness.hpp"

using namespace kakehi::http2;
using namespace kakehi::test;

namespace {

ConnectionConfig config(FloodLimits f) {
  ConnectionConfig c;
  c.role = Role::Server;
  c.local.max_concurrent_streams = 1000;
  c.flood = f;
  return c;
}

struct Server {
  EngineDriver d;
  hpack::Encoder enc;
  explicit Server(FloodLimits f) : d(config(f)) {
    REQUIRE(d.feed(cat({client_magic(), settings_frame(), settings_ack()})));
    d.output();
  }
  /// Feeds `b` `times` times at `now`; returns the number of feeds that succeeded.
  int feed_n(const Bytes& b, int times, int64_t now = 0) {
    for (int i = 0; i < times; ++i)
      if (!d.feed(b, now)) return i;
    return times;
  }
  bool calmed() {
    auto out = d.output();
    return !out.empty() && out.back().type() == FrameType::Goaway &&
           out.back().code() == H2Error::EnhanceYourCalm;
  }
};

Bytes ping() {
  Bytes b;
  encode_ping(b, {}, false);
  return b;
}

}  // namespace

TEST_CASE("rapid reset (CVE-2023-44487): streams opened and reset past the rate") {
  FloodLimits f;
  f.max_resets_per_window = 10;
  Server s(f);
  uint32_t id = 1;
  auto open_and_reset = [&] {
    Bytes b = headers_frame(s.enc, id, post_request(), false);
    encode_rst_stream(b, id, H2Error::Cancel);
    id += 2;
    return b;
  };
  for (int i = 0; i < 10; ++i) REQUIRE(s.d.feed(open_and_reset()));
  CHECK(s.d.conn.flood_stats().resets_received == 10);
  CHECK(!s.calmed());
  CHECK(!s.d.feed(open_and_reset()));
  CHECK(s.calmed());
  CHECK(std::string(s.d.conn.flood_stats().tripped) == "rapid reset");
}

TEST_CASE("the rate window restarts with time") {
  FloodLimits f;
  f.max_pings_per_window = 5;
  f.window = Millis{1000};
  Server s(f);
  CHECK(s.feed_n(ping(), 5, 0) == 5);
  CHECK(s.feed_n(ping(), 5, 1000) == 5);  // a new window
  CHECK(s.feed_n(ping(), 1, 1500) == 0);  // sixth in the second window
  CHECK(s.calmed());
}

TEST_CASE("PING flood") {
  FloodLimits f;
  f.max_pings_per_window = 20;
  Server s(f);
  CHECK(s.feed_n(ping(), 100) == 20);
  CHECK(s.calmed());
  CHECK(s.d.conn.flood_stats().pings_received == 21);
}

TEST_CASE("SETTINGS flood") {
  FloodLimits f;
  f.max_settings_per_window = 5;
  Server s(f);  // the client's first SETTINGS counted once already
  CHECK(s.feed_n(settings_frame(), 100) == 4);
  CHECK(s.calmed());
}

TEST_CASE("WINDOW_UPDATE flood") {
  FloodLimits f;
  f.max_window_updates_per_window = 30;
  Server s(f);
  Bytes b;
  encode_window_update(b, 0, 1);
  CHECK(s.feed_n(b, 100) == 30);
  CHECK(s.calmed());
}

TEST_CASE("WINDOW_UPDATEs crediting the DATA we sent are not a flood") {
  FloodLimits f;
  f.max_window_updates_per_window = 30;
  Server s(f);
  REQUIRE(s.d.feed(headers_frame(s.enc, 1, get_request(), true)));
  REQUIRE(s.d.conn.submit_response(1, FieldList{{":status", "200"}}, false));
  const std::vector<std::byte> body(16384, std::byte{'x'});
  Bytes credit;
  encode_window_update(credit, 1, 16384);
  encode_window_update(credit, 0, 16384);
  // 200 frames, each answered by a stream and a connection WINDOW_UPDATE: 400 in one window.
  for (int i = 0; i < 200; ++i) {
    REQUIRE(s.d.conn.submit_data(1, body, false));
    auto out = s.d.output();
    REQUIRE(!out.empty());
    REQUIRE(out.back().type() == FrameType::Data);
    REQUIRE(s.d.feed(credit));
  }
  CHECK(s.d.conn.flood_stats().trips == 0);
  // Unearned ones still count.
  Bytes extra;
  encode_window_update(extra, 0, 1);
  CHECK(s.feed_n(extra, 100) == 30);
  CHECK(s.calmed());
}

TEST_CASE("empty DATA flood") {
  FloodLimits f;
  f.max_empty_data_per_window = 10;
  Server s(f);
  REQUIRE(s.d.feed(headers_frame(s.enc, 1, post_request(), false)));
  CHECK(s.feed_n(data_frame(1, "", false), 100) == 10);
  CHECK(s.calmed());
}

TEST_CASE("CONTINUATION flood (CVE-2024-27316): frames per block and block bytes") {
  SUBCASE("too many CONTINUATION frames") {
    FloodLimits f;
    f.max_continuations_per_block = 8;
    Server s(f);
    Bytes b;
    encode_headers(b, 1, {}, true, false);
    REQUIRE(s.d.feed(b));
    Bytes c;
    encode_continuation(c, 1, {}, false);
    CHECK(s.feed_n(c, 100) == 8);
    CHECK(s.calmed());
    CHECK(s.d.conn.flood_stats().continuations_received == 9);
  }
  SUBCASE("too many header block bytes, never decoded") {
    FloodLimits f;
    f.max_header_block_bytes = 40000;
    Server s(f);
    Bytes b;
    Bytes junk(16000, std::byte{0x40});
    encode_headers(b, 1, junk, true, false);
    REQUIRE(s.d.feed(b));
    Bytes c;
    encode_continuation(c, 1, junk, false);
    CHECK(s.feed_n(c, 10) == 1);
    CHECK(s.calmed());
  }
}

TEST_CASE("stream errors caused by the peer are rate limited too") {
  FloodLimits f;
  f.max_stream_errors_per_window = 5;
  Server s(f);
  Bytes bad;
  for (uint32_t id = 1; id <= 11; id += 2) {
    bad = headers_frame(s.enc, id, {{":method", "GET"}}, true);  // malformed → RST
    if (!s.d.feed(bad)) break;
  }
  CHECK(s.d.conn.flood_stats().stream_errors_sent == 6);
  CHECK(s.calmed());
}

TEST_CASE("control answers the peer does not read are bounded") {
  FloodLimits f;
  f.max_pings_per_window = 1000000;
  f.max_queued_control_frames = 50;
  Server s(f);
  // The peer sends PINGs but never reads: ACKs pile up in the output queue.
  CHECK(s.feed_n(ping(), 1000) == 50);
  CHECK(s.calmed());
}

TEST_CASE("control answers that are written do not count") {
  FloodLimits f;
  f.max_pings_per_window = 1000000;
  f.max_queued_control_frames = 50;
  Server s(f);
  std::vector<std::byte> taken;
  for (int i = 0; i < 500; ++i) {
    REQUIRE(s.d.feed(ping()));
    if (i % 2 == 0) {
      auto out = s.d.conn.next_output();
      s.d.conn.consume_output(out.size());
    } else {
      s.d.conn.take_output(taken);  // taken counts as written
      CHECK(taken.size() == 17);
    }
  }
  CHECK(s.d.conn.flood_stats().trips == 0);
}
