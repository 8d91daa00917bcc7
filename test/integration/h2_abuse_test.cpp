// HTTP/2 abuse and edge cases against the proxy's h2c frontend (prior knowledge), spoken frame
// by frame over real 127.0.0.1 sockets: floods (rapid reset, CONTINUATION, PING, SETTINGS,
// empty DATA, stream errors), too many concurrent streams, a client that never opens its
// windows, an HPACK bomb, a bad preface, frames in the wrong stream state, client cancels, RFC
// 9218 priorities and the graceful drain. Each case checks the exact error the engine documents
// (docs/http2.md), the h2 counters, and that the worker still serves other clients afterwards.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <map>
#include <optional>
#include <thread>

#include "rig.hpp"
#include "support/h2_raw_client.hpp"

using namespace kakehi::test;
using namespace kakehi;
using http2::H2Error;

namespace {

// Bytes the kernel holds on 127.0.0.1 TCP sockets to or from `port` (/proc/net/tcp): what a
// stalled transfer keeps in socket buffers rather than in the proxy's memory.
struct SocketQueues {
  uint64_t unread_by_clients = 0;  // receive queues of sockets whose peer is `port`
  uint64_t unsent_by_server = 0;   // send queues of sockets bound to `port`
};
SocketQueues socket_queues(uint16_t port) {
  SocketQueues q;
  std::FILE* f = std::fopen("/proc/net/tcp", "r");
  if (!f) return q;
  char line[512];
  (void)std::fgets(line, sizeof line, f);  // the header
  while (std::fgets(line, sizeof line, f)) {
    unsigned sl, lip, lport, rip, rport, st;
    unsigned long tx, rx;
    if (std::sscanf(line, " %u: %x:%x %x:%x %x %lx:%lx", &sl, &lip, &lport, &rip, &rport, &st, &tx,
                    &rx) != 8)
      continue;
    if (rport == port) q.unread_by_clients += rx;
    if (lport == port) q.unsent_by_server += tx;
  }
  std::fclose(f);
  return q;
}

// A proxy with one worker, an HTTP listener with `h2` settings, and one origin behind
// app.test.
struct H2Rig {
  Rig rig;
  HttpOrigin origin{"o"};
  explicit H2Rig(const config::Http2Settings& h2 = {}) {
    config::Listener l = http_listener("127.0.0.1:1");
    l.http2 = h2;
    rig.add_listener(l);
    rig.add_cluster("c", {&origin});
  }
  uint16_t port() const { return rig.port; }
  proxy::ProxyStats stats() { return rig.proxy.stats(); }

  /// Another client on a new connection is served: over HTTP/1.1 and over HTTP/2.
  void still_serving() {
    auto r = curl_get(port(), "/id", "app.test");
    CHECK(r.status == 200);
    CHECK(r.body == "o");
    H2Client c(port());
    REQUIRE(c.headers(1, h2c_get("/bytes/20000")));
    REQUIRE(c.wait_done(1));
    CHECK(c.streams[1].status == 200);
    CHECK(c.streams[1].body == pattern(20000));
    CHECK_FALSE(c.streams[1].reset);
  }
};

// An HTTP/1.1 backend that reads one request head and never answers; it notes when the proxy
// closes the connection (what a cancelled stream must do to its backend).
class SilentBackend {
 public:
  SilentBackend() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~SilentBackend() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string address() const { return local(port_); }
  std::atomic<bool> got_head{false};
  std::atomic<bool> closed{false};
  Clock::time_point closed_at;  // valid once `closed`

 private:
  void run() {
    const auto end = Clock::now() + 20s;
    int c = -1;
    std::string head;
    while (!stop_ && Clock::now() < end) {
      pollfd p{c >= 0 ? c : fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      if (c < 0) {
        c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        continue;
      }
      char b[4096];
      ssize_t n = ::recv(c, b, sizeof b, 0);
      if (n <= 0) {
        closed_at = Clock::now();
        closed = true;
        break;
      }
      head.append(b, static_cast<size_t>(n));
      if (head.find("\r\n\r\n") != std::string::npos) got_head = true;
    }
    if (c >= 0) ::close(c);
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("h2 abuse: rapid reset trips ENHANCE_YOUR_CALM over max_resets_per_second") {
  config::Http2Settings h2;
  h2.max_resets_per_second = 20;
  H2Rig r(h2);
  H2Client c(r.port());
  c.handshake();
  // One pair more than the limit, in one write: each stream is opened and reset at once.
  Bytes burst;
  for (uint32_t i = 0; i < 21; ++i) {
    const uint32_t id = 1 + 2 * i;
    auto h = headers_frame(c.enc, id, h2c_get("/slow/300"), true);
    burst.insert(burst.end(), h.begin(), h.end());
    auto x = rst(id, H2Error::Cancel);
    burst.insert(burst.end(), x.begin(), x.end());
  }
  REQUIRE(c.send(burst));
  auto g = c.wait_goaway();
  REQUIRE(g);
  CHECK(g->code == H2Error::EnhanceYourCalm);
  CHECK(g->last == 41);
  CHECK(c.wait_closed());
  auto st = r.stats();
  CHECK(st.h2_connections == 1);
  CHECK(st.h2_streams == 21);
  CHECK(st.h2_client_resets == 21);
  CHECK(st.h2_flood_trips == 1);
  CHECK(st.h2_protocol_errors == 0);
  // Nothing is left running towards the origin.
  CHECK(eventually([&] { return r.origin.in_flight() == 0; }));
  r.still_serving();
}

TEST_CASE("h2 abuse: resets at max_resets_per_second, window after window, are not a flood") {
  config::Http2Settings h2;
  h2.max_resets_per_second = 20;
  H2Rig r(h2);
  H2Client c(r.port());
  c.handshake();
  uint32_t id = 1;
  for (int round = 0; round < 2; ++round) {
    Bytes burst;
    for (int i = 0; i < 20; ++i, id += 2) {
      auto h = headers_frame(c.enc, id, h2c_get("/slow/100"), true);
      burst.insert(burst.end(), h.begin(), h.end());
      auto x = rst(id, H2Error::Cancel);
      burst.insert(burst.end(), x.begin(), x.end());
    }
    REQUIRE(c.send(burst));
    c.idle(1100ms);  // the next burst falls in the next window
  }
  CHECK(c.goaways.empty());
  REQUIRE(c.headers(id, h2c_get("/bytes/100")));
  REQUIRE(c.wait_done(id));
  CHECK(c.streams[id].status == 200);
  auto st = r.stats();
  CHECK(st.h2_client_resets == 40);
  CHECK(st.h2_flood_trips == 0);
  CHECK(eventually([&] { return r.origin.in_flight() == 0; }));
}

TEST_CASE("h2 abuse: CONTINUATION floods end the connection with ENHANCE_YOUR_CALM") {
  H2Rig r;  // defaults: 64 CONTINUATIONs per block, 256 KiB per block
  SUBCASE("more CONTINUATIONs than max_continuations_per_block") {
    H2Client c(r.port());
    c.handshake();
    Bytes b;
    http2::encode_headers(b, 1, block_of(c.enc, h2c_get("/id")), true, false);
    for (int i = 0; i < 65; ++i) http2::encode_continuation(b, 1, {}, false);
    REQUIRE(c.send(b));
    auto g = c.wait_goaway();
    REQUIRE(g);
    CHECK(g->code == H2Error::EnhanceYourCalm);
    CHECK(g->last == 0);
  }
  SUBCASE("a header block that never ends (16 KiB CONTINUATIONs past 256 KiB)") {
    H2Client c(r.port());
    c.handshake();
    const Bytes chunk(16384, std::byte{'a'});
    Bytes b;
    http2::encode_headers(b, 1, chunk, true, false);
    // 16 frames are exactly 256 KiB; the 17th goes over (no HPACK work is done on any).
    for (int i = 0; i < 16; ++i) http2::encode_continuation(b, 1, chunk, false);
    REQUIRE(c.send(b));
    auto g = c.wait_goaway();
    REQUIRE(g);
    CHECK(g->code == H2Error::EnhanceYourCalm);
  }
  auto st = r.stats();
  CHECK(st.h2_flood_trips == 1);
  CHECK(st.h2_streams == 0);
  r.still_serving();
}

TEST_CASE("h2 abuse: a body in 1-byte DATA frames shares pool buffers and arrives intact") {
  H2Rig r;
  H2Client c(r.port());
  c.handshake();
  constexpr size_t kFrames = 60000;  // within the stream window (256 KiB): no credit needed
  const h2::FieldList post{{":method", "POST"},
                           {":scheme", "http"},
                           {":authority", "app.test"},
                           {":path", "/upload"},
                           {"content-length", std::to_string(kFrames)}};
  Bytes b = headers_frame(c.enc, 1, post, false);
  std::string body;
  for (size_t i = 0; i < kFrames; ++i) {
    const std::string one(1, static_cast<char>('a' + i % 26));
    body += one;
    auto d = data_frame(1, one, i + 1 == kFrames);
    b.insert(b.end(), d.begin(), d.end());
  }
  REQUIRE(c.send(b));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  Fnv64 f;
  f.update(body.data(), body.size());
  CHECK(c.streams[1].body == std::to_string(kFrames) + " " + hex64(f.h));
  CHECK(c.goaways.empty());
  r.still_serving();
}

TEST_CASE("h2 abuse: empty DATA and stream-error floods end the connection") {
  H2Rig r;  // defaults: 100 empty DATA frames, 200 stream errors per second
  SUBCASE("empty DATA frames without END_STREAM") {
    H2Client c(r.port());
    c.handshake();
    h2::FieldList post{
        {":method", "POST"}, {":scheme", "http"}, {":authority", "app.test"}, {":path", "/upload"}};
    Bytes b = headers_frame(c.enc, 1, post, false);
    for (int i = 0; i < 101; ++i) {
      auto d = data_frame(1, "", false);
      b.insert(b.end(), d.begin(), d.end());
    }
    REQUIRE(c.send(b));
    auto g = c.wait_goaway();
    REQUIRE(g);
    CHECK(g->code == H2Error::EnhanceYourCalm);
    CHECK(c.wait_closed());
  }
  SUBCASE("malformed requests, each answered with RST_STREAM") {
    H2Client c(r.port());
    c.handshake();
    Bytes b;
    // No :path: a malformed request (RFC 9113 §8.3.1), a stream error each time.
    const h2::FieldList bad{{":method", "GET"}, {":scheme", "http"}, {":authority", "app.test"}};
    for (uint32_t i = 0; i < 201; ++i) {
      auto h = headers_frame(c.enc, 1 + 2 * i, bad, true);
      b.insert(b.end(), h.begin(), h.end());
    }
    REQUIRE(c.send(b));
    auto g = c.wait_goaway();
    REQUIRE(g);
    CHECK(g->code == H2Error::EnhanceYourCalm);
    CHECK(c.wait_closed());
    uint32_t refused = 0;
    for (const auto& [id, s] : c.streams) refused += s.reset == H2Error::ProtocolError;
    CHECK(refused == 201);  // the one over the limit is reset too, then the GOAWAY follows
    CHECK(r.stats().h2_streams == 0);
  }
  CHECK(r.stats().h2_flood_trips == 1);
  r.still_serving();
}

TEST_CASE("h2 abuse: streams beyond MAX_CONCURRENT_STREAMS are refused, the rest served") {
  config::Http2Settings h2;
  h2.max_concurrent_streams = 4;
  H2Rig r(h2);
  H2Client c(r.port());
  c.handshake();
  Bytes b;
  for (uint32_t id = 1; id <= 9; id += 2) {
    auto h = headers_frame(c.enc, id, h2c_get("/slow/300"), true);
    b.insert(b.end(), h.begin(), h.end());
  }
  REQUIRE(c.send(b));
  REQUIRE(c.wait_done(9));
  CHECK(c.streams[9].reset == H2Error::RefusedStream);
  for (uint32_t id = 1; id <= 7; id += 2) {
    CAPTURE(id);
    REQUIRE(c.wait_done(id));
    CHECK(c.streams[id].status == 200);
    CHECK_FALSE(c.streams[id].reset);
  }
  // Once they are done, a new stream fits again.
  REQUIRE(c.headers(11, h2c_get("/bytes/100")));
  REQUIRE(c.wait_done(11));
  CHECK(c.streams[11].status == 200);
  CHECK(c.goaways.empty());
  CHECK(r.stats().h2_streams == 5);
  r.still_serving();
}

// A cancelled stream leaves the response parser of its (reused) stream object mid-body:
// ResponseParser::start() must forget it, or the next stream takes its backend's answer as body.
TEST_CASE("h2 abuse: a client cancelling in the middle of a large body frees its backend") {
  H2Rig r;
  H2Client c(r.port());
  c.handshake();
  constexpr size_t kSize = 50'000'000;
  REQUIRE(c.headers(1, h2c_get("/bytes/" + std::to_string(kSize))));
  REQUIRE(c.wait_for([&] { return c.streams[1].body.size() >= 1'000'000; }, 10000ms));
  REQUIRE(c.send(rst(1, H2Error::Cancel)));
  // The origin's write fails once the proxy closes the backend connection.
  CHECK(eventually([&] { return r.origin.in_flight() == 0; }, 3000ms));
  const size_t got = c.streams[1].body.size();
  CHECK(got < kSize);
  CHECK(c.streams[1].body == pattern(kSize).substr(0, got));
  REQUIRE(c.headers(3, h2c_get("/bytes/1000")));
  REQUIRE(c.wait_done(3));
  CHECK(c.streams[3].status == 200);
  CHECK(c.streams[3].body == pattern(1000));
  CHECK_FALSE(c.streams[1].ended);
  CHECK(c.goaways.empty());
  CHECK(r.stats().h2_client_resets == 1);
  r.still_serving();
}

TEST_CASE("h2 abuse: PING and SETTINGS floods end the connection with ENHANCE_YOUR_CALM") {
  H2Rig r;  // defaults: 100 PINGs and 100 SETTINGS per second
  SUBCASE("PING") {
    H2Client c(r.port());
    c.handshake();
    Bytes b;
    for (int i = 0; i < 101; ++i) {
      auto p = ping(static_cast<uint8_t>(i));
      b.insert(b.end(), p.begin(), p.end());
    }
    REQUIRE(c.send(b));
    auto g = c.wait_goaway();
    REQUIRE(g);
    CHECK(g->code == H2Error::EnhanceYourCalm);
    CHECK(c.ping_acks == 100);  // the ones within the limit were answered
    CHECK(c.wait_closed());
  }
  SUBCASE("SETTINGS") {
    H2Client c(r.port());  // its first SETTINGS counts too
    c.handshake();
    Bytes b;
    for (int i = 0; i < 100; ++i) {
      auto s = settings_frame({{static_cast<uint16_t>(http2::SettingId::MaxFrameSize), 16384}});
      b.insert(b.end(), s.begin(), s.end());
    }
    REQUIRE(c.send(b));
    auto g = c.wait_goaway();
    REQUIRE(g);
    CHECK(g->code == H2Error::EnhanceYourCalm);
    CHECK(c.settings_acks == 100);
    CHECK(c.wait_closed());
  }
  auto st = r.stats();
  CHECK(st.h2_flood_trips == 1);
  CHECK(st.h2_protocol_errors == 0);
  r.still_serving();
}

namespace {

// The zero-window client: INITIAL_WINDOW_SIZE 0, `kStallStreams` requests for large bodies,
// no WINDOW_UPDATE until release_windows().
constexpr uint32_t kStallStreams = 50;
constexpr size_t kStallSize = 1000000;

void open_stalled_streams(H2Client& c) {
  c.auto_window = false;
  c.handshake();
  Bytes b;
  for (uint32_t i = 0; i < kStallStreams; ++i) {
    auto h = headers_frame(c.enc, 1 + 2 * i, h2c_get("/bytes/" + std::to_string(kStallSize)), true);
    b.insert(b.end(), h.begin(), h.end());
  }
  REQUIRE(c.send(b));
}

uint32_t heads_received(const H2Client& c) {
  uint32_t n = 0;
  for (const auto& [id, s] : c.streams) n += s.status == 200;
  return n;
}

// Opens every window; each body must then arrive whole.
void release_windows(H2Rig& r, H2Client& c) {
  Bytes open = settings_frame(
      {{static_cast<uint16_t>(http2::SettingId::InitialWindowSize), uint32_t{16} << 20}});
  auto w = window_update(0, kMaxWindow - 65535);
  open.insert(open.end(), w.begin(), w.end());
  REQUIRE(c.send(open));
  REQUIRE(c.wait_for(
      [&] {
        uint32_t done = 0;
        for (const auto& [id, s] : c.streams) done += s.ended || s.reset;
        return done == kStallStreams;
      },
      60000ms));
  const std::string want = pattern(kStallSize);
  for (uint32_t i = 0; i < kStallStreams; ++i) {
    const Received& s = c.streams[1 + 2 * i];
    CAPTURE(1 + 2 * i);
    CHECK_FALSE(s.reset);
    CHECK(s.status == 200);
    CHECK(s.body.size() == kStallSize);
    CHECK(s.body == want);
  }
  CHECK(eventually([&] { return r.origin.in_flight() == 0; }));
}

}  // namespace

TEST_CASE("h2 abuse: a client that never opens its windows gets every body once it does") {
  H2Rig r;
  H2Client c(r.port(), {{static_cast<uint16_t>(http2::SettingId::InitialWindowSize), 0}});
  open_stalled_streams(c);
  c.idle(1000ms);
  CHECK(c.data_bytes == 0);  // no window, no DATA
  CHECK(c.goaways.empty());
  CHECK(r.stats().h2_streams == kStallStreams);
  release_windows(r, c);
  r.still_serving();
}

// While a zero-window client stalls 50 streams of 1 MB, what the proxy holds per stream stays
// near stream_buffer_bytes (the streams' backend connections read one pool buffer at a time;
// the rest waits in the kernel), and other connections on the worker are still served.
TEST_CASE("h2 abuse: a zero-window client holds bounded memory and does not starve others") {
  H2Rig r;
  H2Client c(r.port(), {{static_cast<uint16_t>(http2::SettingId::InitialWindowSize), 0}});
  open_stalled_streams(c);
  // Every head arrives (HEADERS need no window).
  CHECK(c.wait_for([&] { return heads_received(c) == kStallStreams; }));
  c.idle(1000ms);
  CHECK(c.data_bytes == 0);
  // What the proxy took from its backends and still holds: the bodies minus what the kernel
  // holds on both sides of the backend connections.
  const SocketQueues q = socket_queues(r.origin.port());
  const uint64_t held =
      uint64_t{kStallStreams} * kStallSize - q.unread_by_clients - q.unsent_by_server;
  const uint64_t bound = config::Http2Settings{}.stream_buffer_bytes + 8 * 16384 + 64 * 1024;
  MESSAGE("the proxy holds " << held / kStallStreams << " bytes per stalled stream");
  CHECK(held <= uint64_t{kStallStreams} * bound);
  // Another client on the same worker is served meanwhile.
  auto other = curl_get(r.port(), "/bytes/100000", "app.test", {"--max-time", "5"});
  CHECK(other.status == 200);
  CHECK(other.body == pattern(100000));
  release_windows(r, c);
  r.still_serving();
}

TEST_CASE("h2 abuse: an HPACK bomb is refused on its stream; the connection goes on") {
  H2Rig r;  // max_header_list_size 64 KiB, 100 header fields (+8 for pseudo-headers)
  H2Client c(r.port());
  c.handshake();
  // One 2000-byte field enters the dynamic table, then each repetition costs one byte on the
  // wire and 2038 bytes of header list: 60 of them are ~120 KiB, 5000 ~10 MiB.
  const std::string big(2000, 'a');
  const std::pair<uint32_t, int> bombs[] = {{1, 60}, {3, 5000}};
  for (auto [id, copies] : bombs) {
    CAPTURE(id);
    h2::FieldList f = h2c_get("/id");
    for (int i = 0; i < copies; ++i) f.add("x-bomb", big);
    Bytes block = block_of(c.enc, f);
    CHECK(block.size() < 2000 + size_t(copies) + 64);
    Bytes frame;
    http2::encode_headers(frame, id, block, true, true);
    REQUIRE(c.send(frame));
    REQUIRE(c.wait_done(id));
    CHECK(c.streams[id].reset == H2Error::ProtocolError);
    CHECK(c.streams[id].status == 0);
  }
  // The HPACK state stayed in step: the next request on the connection is served.
  REQUIRE(c.headers(5, h2c_get("/bytes/100")));
  REQUIRE(c.wait_done(5));
  CHECK(c.streams[5].status == 200);
  CHECK(c.streams[5].body == pattern(100));
  CHECK(c.goaways.empty());
  auto st = r.stats();
  CHECK(st.h2_streams == 1);
  CHECK(st.h2_flood_trips == 0);
  CHECK(st.h2_protocol_errors == 0);
  CHECK(r.origin.requests() == 1);
  r.still_serving();
}

TEST_CASE("h2 abuse: a broken preface is not HTTP/2; HTTP/1.1 on the listener still works") {
  H2Rig r;
  SUBCASE("the magic goes wrong after its request line") {
    RawClient c(r.port());
    REQUIRE(c.send_all("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"));
    std::string got = c.recv_until_close(5000ms);
    CHECK(c.eof());
    // Not taken for HTTP/2 (no SETTINGS): the HTTP/1.1 session refuses the version.
    CHECK(got.rfind("HTTP/1.1 505 ", 0) == 0);
    CHECK(r.stats().h2_connections == 0);
  }
  SUBCASE("the whole magic, then something other than SETTINGS") {
    RawClient c(r.port());
    REQUIRE(c.send_all(as_text(cat({client_magic(), ping(1)}))));
    std::string got = c.recv_until_close(5000ms);
    CHECK(c.eof());
    auto frames = split_frames(std::as_bytes(std::span(got.data(), got.size())));
    REQUIRE_FALSE(frames.empty());
    CHECK(frames.back().type() == http2::FrameType::Goaway);
    CHECK(frames.back().code() == H2Error::ProtocolError);
    auto st = r.stats();
    CHECK(st.h2_connections == 1);
    CHECK(st.h2_protocol_errors == 1);
  }
  RawClient h1(r.port());
  REQUIRE(h1.send_all("GET /id HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  auto res = h1.read_response();
  CHECK(res.status == 200);
  CHECK(res.body == "o");
  r.still_serving();
}

// A client that sends the start of the preface and stops is cut after request_head_ms, like
// the start of an HTTP/1.1 request.
TEST_CASE("h2 abuse: a preface that stops half-way is cut after request_head_ms") {
  config::Listener l = http_listener("127.0.0.1:1");
  l.timeouts.request_head_ms = 1000;
  l.timeouts.front_idle_ms = 20000;
  Rig rig;
  rig.add_listener(l);
  RawClient h1(rig.port);
  REQUIRE(h1.send_all("GET /id HTTP/1.1\r\nHost: app.test\r\n"));
  RawClient h2c(rig.port);
  REQUIRE(h2c.send_all("PRI * HTTP/2.0\r\n"));
  const auto start = Clock::now();
  (void)h1.recv_until_close(4000ms);
  CHECK(h1.eof());
  (void)h2c.recv_until_close(4000ms - std::chrono::duration_cast<ms>(Clock::now() - start));
  CHECK(h2c.eof());
}

TEST_CASE("h2 abuse: frames in the wrong stream state get the documented error") {
  H2Rig r;
  SUBCASE("DATA after END_STREAM: RST_STREAM STREAM_CLOSED, the connection goes on") {
    H2Client c(r.port());
    c.handshake();
    // Stream 1 is closed (both sides ended); stream 3 is half-closed (remote), still waiting.
    REQUIRE(c.headers(1, h2c_get("/bytes/10")));
    REQUIRE(c.wait_done(1));
    REQUIRE(c.streams[1].status == 200);
    REQUIRE(c.send(data_frame(1, "late", false)));
    REQUIRE(c.wait_for([&] { return c.streams[1].reset.has_value(); }));
    CHECK(c.streams[1].reset == H2Error::StreamClosed);
    REQUIRE(c.headers(3, h2c_get("/slow/300")));
    REQUIRE(c.send(data_frame(3, "late", false)));
    REQUIRE(c.wait_done(3));
    CHECK(c.streams[3].reset == H2Error::StreamClosed);
    REQUIRE(c.headers(5, h2c_get("/bytes/100")));
    REQUIRE(c.wait_done(5));
    CHECK(c.streams[5].status == 200);
    CHECK(c.streams[5].body == pattern(100));
    CHECK(c.goaways.empty());
    CHECK(r.stats().h2_protocol_errors == 0);
  }
  SUBCASE("HEADERS on an even stream id: GOAWAY PROTOCOL_ERROR") {
    H2Client c(r.port());
    c.handshake();
    REQUIRE(c.headers(2, h2c_get("/id")));
    auto g = c.wait_goaway();
    REQUIRE(g);
    CHECK(g->code == H2Error::ProtocolError);
    CHECK(c.wait_closed());
    CHECK(r.stats().h2_protocol_errors == 1);
    CHECK(r.stats().h2_streams == 0);
  }
  SUBCASE("WINDOW_UPDATE past 2^31-1 on the connection: GOAWAY FLOW_CONTROL_ERROR") {
    H2Client c(r.port());
    c.handshake();
    REQUIRE(c.send(window_update(0, kMaxWindow)));  // 65535 + 2^31-1
    auto g = c.wait_goaway();
    REQUIRE(g);
    CHECK(g->code == H2Error::FlowControlError);
    CHECK(c.wait_closed());
    CHECK(r.stats().h2_protocol_errors == 1);
  }
  SUBCASE("another frame inside a header block: GOAWAY PROTOCOL_ERROR") {
    H2Client c(r.port());
    c.handshake();
    Bytes b;
    http2::encode_headers(b, 1, block_of(c.enc, h2c_get("/id")), true, false);
    auto p = ping(1);
    b.insert(b.end(), p.begin(), p.end());
    REQUIRE(c.send(b));
    auto g = c.wait_goaway();
    REQUIRE(g);
    CHECK(g->code == H2Error::ProtocolError);
    CHECK(c.wait_closed());
    CHECK(r.stats().h2_protocol_errors == 1);
  }
  SUBCASE("a frame over SETTINGS_MAX_FRAME_SIZE: GOAWAY FRAME_SIZE_ERROR") {
    H2Client c(r.port());
    c.handshake();
    // Only the header is sent: the length alone must be refused, before any payload.
    Bytes b = raw_frame(0x0, 0, 1, {}, 16385);
    REQUIRE(c.send(b));
    auto g = c.wait_goaway();
    REQUIRE(g);
    CHECK(g->code == H2Error::FrameSizeError);
    CHECK(c.wait_closed());
  }
  SUBCASE("RST_STREAM on an idle stream: GOAWAY PROTOCOL_ERROR") {
    H2Client c(r.port());
    c.handshake();
    REQUIRE(c.send(rst(7, H2Error::Cancel)));
    auto g = c.wait_goaway();
    REQUIRE(g);
    CHECK(g->code == H2Error::ProtocolError);
    CHECK(c.wait_closed());
    CHECK(r.stats().h2_client_resets == 0);
  }
  SUBCASE("WINDOW_UPDATE past 2^31-1 on a stream: RST_STREAM FLOW_CONTROL_ERROR") {
    H2Client c(r.port());
    c.handshake();
    REQUIRE(c.headers(1, h2c_get("/slow/300")));
    REQUIRE(c.send(window_update(1, kMaxWindow)));
    REQUIRE(c.wait_done(1));
    CHECK(c.streams[1].reset == H2Error::FlowControlError);
    REQUIRE(c.headers(3, h2c_get("/bytes/100")));
    REQUIRE(c.wait_done(3));
    CHECK(c.streams[3].status == 200);
    CHECK(c.goaways.empty());
  }
  CHECK(r.stats().h2_flood_trips == 0);
  r.still_serving();
}

TEST_CASE("h2 abuse: a client's RST_STREAM(CANCEL) closes the stream's backend connection") {
  H2Rig r;
  // The origin's /slow sleeps without watching its socket (its in_flight count drops only when
  // the sleep ends), so the cancelled stream goes to a backend that sees the close at once.
  SilentBackend silent;
  {
    Diff d;
    d(config::AddCluster{cluster("s")});
    d(config::AddBackend{backend("s", "b0", silent.address())});
    d(config::AddHttpFrontend{frontend("f-s", r.rig.listener, "s", "silent.test")});
    r.rig.apply(d);
  }
  H2Client c(r.port());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/wait", "silent.test")));
  REQUIRE(c.headers(3, h2c_get("/slow/500")));
  REQUIRE(eventually([&] { return silent.got_head.load(); }, 3000ms));
  c.idle(100ms);
  REQUIRE_FALSE(silent.closed.load());  // only the cancel may end it
  const auto cancelled = Clock::now();
  REQUIRE(c.send(rst(1, H2Error::Cancel)));
  REQUIRE(eventually([&] { return silent.closed.load(); }, 3000ms));
  const auto took = std::chrono::duration_cast<ms>(silent.closed_at - cancelled);
  MESSAGE("backend connection closed " << took.count() << " ms after the cancel");
  CHECK(took >= 0ms);
  CHECK(took < 500ms);
  // The other stream on the connection is untouched.
  REQUIRE(c.wait_done(3));
  CHECK(c.streams[3].status == 200);
  CHECK(c.streams[3].body == "o");
  CHECK_FALSE(c.streams[1].ended);
  CHECK(c.goaways.empty());
  auto st = r.stats();
  CHECK(st.h2_client_resets == 1);
  CHECK(st.h2_streams == 2);
  r.still_serving();
}

TEST_CASE("h2 abuse: RFC 9218 urgency orders two large bodies on a narrow connection window") {
  H2Rig r;
  // Stream windows are wide; the connection window (65535) opens only as DATA is read.
  H2Client c(r.port(), {{static_cast<uint16_t>(http2::SettingId::InitialWindowSize), 1u << 30}});
  c.handshake();
  constexpr size_t kSize = 2000000;
  Bytes b = headers_frame(c.enc, 1, h2c_get("/bytes/2000000", "app.test", "u=7"), true);
  auto h = headers_frame(c.enc, 3, h2c_get("/bytes/2000000", "app.test", "u=0"), true);
  b.insert(b.end(), h.begin(), h.end());
  // The client is the bottleneck: it opens the connection window 64 KiB at a time, and only
  // after the previous grant arrived and the backends had a moment to refill the proxy's
  // per-stream buffers. Each grant then finds both responses queued, so the order is the
  // scheduler's alone, not a race between the backends' speeds (which no scheduler can change).
  c.auto_window = false;  // stream windows are 1 GiB: only the connection window gates DATA
  REQUIRE(c.send(b));
  constexpr uint32_t kGrant = 65535;
  auto received = [&] { return c.streams[1].body.size() + c.streams[3].body.size(); };
  std::optional<size_t> background_at_end;  // u=7 bytes received when u=0 ended
  auto note_end = [&] {
    if (c.streams[3].ended && !background_at_end) background_at_end = c.streams[1].body.size();
  };
  size_t granted = kGrant;  // the connection's initial window
  for (int step = 0; step < 2 * static_cast<int>(kSize / kGrant) + 8; ++step) {
    REQUIRE(c.wait_for(
        [&] {
          note_end();
          return received() >= std::min(granted, 2 * kSize);
        },
        10000ms));
    if (c.streams[1].ended && c.streams[3].ended) break;
    c.idle(10ms);
    note_end();
    REQUIRE(c.send(window_update(0, kGrant)));
    granted += kGrant;
  }
  REQUIRE(c.wait_for(
      [&] {
        note_end();
        return c.streams[1].ended && c.streams[3].ended;
      },
      10000ms));
  MESSAGE("the u=7 stream had " << *background_at_end << " bytes when the u=0 stream ended");
  CHECK(*background_at_end < kSize / 4);
  CHECK(c.streams[3].end_order == 0);
  CHECK(c.streams[1].end_order == 1);
  CHECK(c.streams[1].body == pattern(kSize));
  CHECK(c.streams[3].body == pattern(kSize));
  r.still_serving();
}

TEST_CASE("h2 abuse: drain sends two GOAWAYs, finishes the stream in flight, serves no new one") {
  H2Rig r;
  H2Client c(r.port());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/slow/500")));
  REQUIRE(eventually([&] { return r.origin.in_flight() == 1; }, 3000ms));
  auto drained = std::async(std::launch::async, [&] { return r.rig.proxy.drain(5000ms); });
  // The PING after the first GOAWAY is answered (auto_ping_ack): the final one follows.
  REQUIRE(c.wait_for([&] { return c.goaways.size() >= 2; }));
  CHECK(c.goaways[0].last == kMaxWindow);
  CHECK(c.goaways[0].code == H2Error::NoError);
  CHECK(c.goaways[1].last == 1);
  CHECK(c.goaways[1].code == H2Error::NoError);
  CHECK_FALSE(c.streams[1].ended);  // the next stream is opened while stream 1 is in flight
  REQUIRE(c.headers(3, h2c_get("/bytes/10")));
  CHECK(c.wait_closed(5000ms));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == "o");
  CHECK(c.streams[1].ended);
  CHECK(c.streams.count(3) == 0);  // neither answered nor reset
  CHECK(drained.get() == 0);
  auto st = r.stats();
  CHECK(st.h2_streams == 1);
  CHECK(r.origin.requests() == 1);
}

TEST_CASE("h2 abuse: during the drain's round trip new streams are still served") {
  H2Rig r;
  H2Client c(r.port());
  c.auto_ping_ack = false;
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/slow/500")));
  REQUIRE(eventually([&] { return r.origin.in_flight() == 1; }, 3000ms));
  auto drained = std::async(std::launch::async, [&] { return r.rig.proxy.drain(5000ms); });
  // GOAWAY(2^31-1) refuses nothing: a stream opened before the PING is answered is processed.
  REQUIRE(c.wait_for([&] { return !c.goaways.empty() && c.pings_received > 0; }));
  CHECK(c.goaways[0].last == kMaxWindow);
  REQUIRE(c.headers(3, h2c_get("/bytes/10")));
  c.idle(100ms);
  c.ack_ping();
  REQUIRE(c.wait_for([&] { return c.goaways.size() >= 2; }));
  CHECK(c.goaways[1].last == 3);
  CHECK(c.goaways[1].code == H2Error::NoError);
  REQUIRE(c.headers(5, h2c_get("/bytes/10")));
  CHECK(c.wait_closed(5000ms));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].ended);
  CHECK(c.streams[3].status == 200);
  CHECK(c.streams[3].body == pattern(10));
  CHECK(c.streams.count(5) == 0);
  CHECK(drained.get() == 0);
  CHECK(r.stats().h2_streams == 2);
}
