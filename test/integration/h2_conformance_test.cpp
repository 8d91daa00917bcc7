// HTTP/2 conformance of the proxy's HTTP/2 frontend, case by case in the order of an h2spec
// run: every server-testable MUST of RFC 9113 and RFC 7541, spoken frame by frame over real
// 127.0.0.1 sockets to an in-process Proxy with a real origin behind it. Each case asserts the
// exact reaction docs/http2.md documents: the GOAWAY code (then the close), the RST_STREAM
// code (and that the connection goes on), or a normal response.
// Cleartext with prior knowledge on an HTTP listener by default; with KAKEHI_TEST_H2_TLS=1 every
// case runs over TLS (ALPN "h2") on an HTTPS listener instead (a self-signed certificate made
// with the openssl CLI).
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rig.hpp"
#include "support/h2_raw_client.hpp"

using namespace kakehi::test;
using namespace kakehi;
using http2::H2Error;
using http2::SettingId;

namespace {

namespace flag = http2::flag;

// Frame types by number (RFC 9113 §6), for raw frames.
constexpr uint8_t kData = 0x0, kHeaders = 0x1, kPriority = 0x2, kRstStream = 0x3, kSettings = 0x4,
                  kPushPromise = 0x5, kPing = 0x6, kGoaway = 0x7, kWindowUpdate = 0x8,
                  kContinuation = 0x9;
constexpr uint8_t kPriorityUpdate = 0x10;  // RFC 9218 §7.1
constexpr uint8_t kUnknownType = 0xfa;

constexpr uint16_t setting(SettingId id) { return static_cast<uint16_t>(id); }

Bytes bytes(std::initializer_list<int> v) {
  Bytes b;
  for (int x : v) b.push_back(std::byte(x));
  return b;
}
Bytes u32be(uint32_t v) {
  return bytes({int(v >> 24), int(v >> 16 & 0xff), int(v >> 8 & 0xff), int(v & 0xff)});
}
Bytes zeros(size_t n) { return Bytes(n, std::byte{0}); }

// A PRIORITY frame's (or HEADERS PRIORITY flag's) 5 bytes (RFC 9113 §6.3).
Bytes priority_fields(uint32_t dependency, uint8_t weight, bool exclusive = false) {
  return cat({u32be(dependency | (exclusive ? 0x80000000u : 0)), bytes({weight})});
}
Bytes priority_frame(uint32_t id, uint32_t dependency, uint8_t weight = 15,
                     bool exclusive = false) {
  return raw_frame(kPriority, 0, id, priority_fields(dependency, weight, exclusive));
}

Bytes continuation(uint32_t id, const Bytes& fragment, bool end_headers) {
  Bytes b;
  http2::encode_continuation(b, id, fragment, end_headers);
  return b;
}

// HPACK (RFC 7541) by hand, for blocks the library's encoder would never produce.
// An integer with an N-bit prefix (§5.1); `first` carries the representation's high bits.
Bytes hpack_int(uint8_t first, int prefix_bits, uint32_t v) {
  const uint32_t max = (1u << prefix_bits) - 1;
  if (v < max) return bytes({first | int(v)});
  Bytes b = bytes({first | int(max)});
  v -= max;
  while (v >= 128) {
    b.push_back(std::byte((v & 0x7f) | 0x80));
    v >>= 7;
  }
  b.push_back(std::byte(v));
  return b;
}
// A string literal without Huffman coding (§5.2).
Bytes hpack_str(std::string_view s) { return cat({hpack_int(0, 7, uint32_t(s.size())), ascii(s)}); }
// Literal header field without indexing, new name (§6.2.2): leaves the dynamic table alone.
Bytes lit(std::string_view name, std::string_view value) {
  return cat({bytes({0x00}), hpack_str(name), hpack_str(value)});
}
// Literal header field without indexing, indexed name (§6.2.2).
Bytes lit_indexed_name(uint32_t index, std::string_view value) {
  return cat({hpack_int(0x00, 4, index), hpack_str(value)});
}
// A GET / for app.test from static-table entries and literals only (no table change).
Bytes plain_get_block(std::string_view path = "/bytes/100") {
  return cat({bytes({0x82, 0x86}), lit_indexed_name(4, path), lit_indexed_name(1, "app.test")});
}
Bytes headers_raw(uint32_t id, const Bytes& block, uint8_t flags) {
  return raw_frame(kHeaders, flags, id, block);
}

h2::FieldList post(std::string_view path = "/upload", std::string_view content_length = {}) {
  h2::FieldList f{
      {":method", "POST"}, {":scheme", "http"}, {":authority", "app.test"}, {":path", path}};
  if (!content_length.empty()) f.add("content-length", content_length);
  return f;
}

// `body` in DATA frames of at most 2^14 bytes, the last one with END_STREAM.
Bytes body_frames(uint32_t id, const std::string& body) {
  Bytes out;
  size_t at = 0;
  do {
    const size_t n = std::min<size_t>(16384, body.size() - at);
    out = cat({out, data_frame(id, body.substr(at, n), at + n == body.size())});
    at += n;
  } while (at < body.size());
  return out;
}

// What the origin's /upload answers for pattern bytes [0, n).
std::string upload_answer(size_t n) { return std::to_string(n) + " " + hex64(pattern_fnv(n)); }

bool over_tls() {
  const char* v = std::getenv("KAKEHI_TEST_H2_TLS");
  return v && std::string_view(v) == "1";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A self-signed certificate for app.test (ECDSA P-256), made once per run.
struct TestCertificate {
  std::string chain_pem, key_pem;
};
const TestCertificate& test_certificate() {
  static const TestCertificate cert = [] {
    char tmpl[] = "/tmp/kakehi-h2conf-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string dir = tmpl;
    auto r = run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-nodes", "-keyout", dir + "/app.key", "-out", dir + "/app.pem", "-subj",
                  "/CN=app.test", "-addext", "subjectAltName=DNS:app.test", "-days", "2"},
                 20s);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    TestCertificate c{slurp(dir + "/app.pem"), slurp(dir + "/app.key")};
    std::filesystem::remove_all(dir);
    return c;
  }();
  return cert;
}

// A proxy with one worker, an HTTP (or, over_tls(), HTTPS) listener with `h2` settings, one
// origin "o" behind app.test.
struct Conf {
  Rig rig;
  HttpOrigin origin{"o"};
  std::shared_ptr<const tls::ClientContext> client_tls;
  explicit Conf(const config::Http2Settings& h2 = {}) {
    config::Listener l = http_listener("127.0.0.1:1");
    l.http2 = h2;
    if (over_tls()) l.kind = config::ListenerKind::Https;
    rig.add_listener(l);
    if (over_tls()) {
      config::Certificate cert;
      cert.id = "app";
      cert.listener = rig.listener;
      cert.certificate_chain_pem = test_certificate().chain_pem;
      cert.key_pem = test_certificate().key_pem;
      Diff d;
      d(config::AddCertificate{cert});
      rig.apply(d);
      client_tls = h2_tls_context("app.test");
    }
    rig.add_cluster("c", {&origin});
  }
  /// Where H2Clients connect.
  H2Endpoint endpoint() const { return {rig.port, client_tls}; }
};

// What every frame the proxy sent so far must respect, whatever the case:
//  - §5.1: nothing but WINDOW_UPDATE on a stream after its END_STREAM, nothing after its
//    RST_STREAM; DATA only after a HEADERS; no stream the client did not open (§8.4: no push);
//  - §4.3: a header block is a contiguous run of HEADERS/CONTINUATION frames;
//  - §6.5.2: SETTINGS values in range, SETTINGS_ENABLE_PUSH absent or 0 from a server;
//  - §6.9: WINDOW_UPDATE increments in [1, 2^31-1];
//  - §6.8: the last stream id of successive GOAWAYs never increases.
void check_server_frames(const H2Client& c) {
  using T = http2::FrameType;
  std::map<uint32_t, int> state;  // 1 head seen, 2 ended, 3 reset
  uint32_t block = 0;             // stream of an unfinished header block
  uint32_t last_goaway = kMaxWindow;
  for (size_t i = 0; i < c.frames.size(); ++i) {
    const OutFrame& f = c.frames[i];
    const uint32_t id = f.h.stream_id;
    CAPTURE(i);
    CAPTURE(int(f.h.type));
    CAPTURE(id);
    if (block != 0) {
      CHECK((f.type() == T::Continuation && id == block));
      if (f.h.has(flag::kEndHeaders)) block = 0;
      continue;
    }
    CHECK(f.type() != T::Continuation);
    if (id != 0) CHECK(id % 2 == 1);
    int& st = state[id];
    switch (f.type()) {
      case T::Headers:
      case T::Data:
        CHECK(st < 2);
        if (f.type() == T::Data) CHECK(st == 1);
        st = f.h.has(flag::kEndStream) ? 2 : 1;
        if (f.type() == T::Headers && !f.h.has(flag::kEndHeaders)) block = id;
        break;
      case T::RstStream:
        CHECK(st < 3);
        st = 3;
        break;
      case T::WindowUpdate: {
        const uint32_t inc = f.u32(0) & kMaxWindow;
        CHECK(inc >= 1);
        if (id != 0) CHECK(st < 3);
        break;
      }
      case T::Settings:
        if (f.h.has(flag::kAck)) break;
        for (size_t at = 0; at + 6 <= f.payload.size(); at += 6) {
          const auto sid = uint16_t(uint16_t(f.payload[at]) << 8 | uint16_t(f.payload[at + 1]));
          const uint32_t v = f.u32(at + 2);
          CAPTURE(sid);
          if (sid == setting(SettingId::EnablePush)) CHECK(v == 0);
          if (sid == setting(SettingId::InitialWindowSize)) CHECK(v <= kMaxWindow);
          if (sid == setting(SettingId::MaxFrameSize)) CHECK((v >= 16384 && v <= 16777215));
        }
        break;
      case T::Goaway:
        CHECK((f.u32(0) & kMaxWindow) <= last_goaway);
        last_goaway = f.u32(0) & kMaxWindow;
        break;
      default:
        break;
    }
  }
}

// A connection error: GOAWAY with `code`, then the proxy closes the connection (§5.4.1).
void expect_connection_error(H2Client& c, H2Error code) {
  auto g = c.wait_goaway();
  REQUIRE_MESSAGE(g, "no GOAWAY");
  CHECK(g->code == code);
  CHECK(c.wait_closed());
  REQUIRE_FALSE(c.frames.empty());
  CHECK(c.frames.back().type() == http2::FrameType::Goaway);
  check_server_frames(c);
}

// The last PING ACK's opaque data, if any.
std::optional<Bytes> last_ping_ack(const H2Client& c) {
  for (auto it = c.frames.rbegin(); it != c.frames.rend(); ++it)
    if (it->type() == http2::FrameType::Ping && it->h.has(flag::kAck)) return it->payload;
  return std::nullopt;
}

// The opaque data of ping(n).
Bytes ping_payload(uint8_t n) { return cat({zeros(7), bytes({n})}); }

// The connection is still up: a PING is answered with its own payload, no GOAWAY came, and a
// new stream `next_id` is served.
void expect_alive(H2Client& c, uint32_t next_id) {
  const uint32_t acks = c.ping_acks;
  REQUIRE(c.send(ping(0x5a)));
  REQUIRE(c.wait_for([&] { return c.ping_acks > acks; }));
  CHECK(last_ping_ack(c) == ping_payload(0x5a));
  CHECK(c.goaways.empty());
  REQUIRE(c.headers(next_id, h2c_get("/bytes/100")));
  REQUIRE(c.wait_done(next_id));
  CHECK(c.streams[next_id].status == 200);
  CHECK(c.streams[next_id].body == pattern(100));
  CHECK_FALSE(c.streams[next_id].reset);
  CHECK(c.goaways.empty());
  check_server_frames(c);
}

// A stream error: RST_STREAM with `code` on `id`, no response, the connection goes on
// (`next_id` is served).
void expect_stream_error(H2Client& c, uint32_t id, H2Error code, uint32_t next_id) {
  REQUIRE(c.wait_done(id));
  CHECK(c.streams[id].reset == code);
  CHECK(c.streams[id].status == 0);
  expect_alive(c, next_id);
}

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// Opens stream `id` with a request whose response takes a while (the stream stays open on
// the proxy's side: half-closed (remote) when `end_stream`).
void open_slow(H2Client& c, uint32_t id, bool end_stream = true) {
  REQUIRE(c.headers(id, end_stream ? h2c_get("/slow/500") : post("/slow/500"), end_stream));
}

}  // namespace

// ---- RFC 9113 §3.4: HTTP/2 connection preface ----

TEST_CASE("h2 conformance §3.4: the server preface is a SETTINGS frame; ours is acknowledged") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE_FALSE(c.frames.empty());
  CHECK(c.frames.front().type() == http2::FrameType::Settings);
  CHECK_FALSE(c.frames.front().h.has(flag::kAck));
  CHECK(c.frames.front().h.stream_id == 0);
  CHECK(c.settings_acks == 1);
  expect_alive(c, 1);
}

TEST_CASE("h2 conformance §3.4: a preface followed by a frame other than SETTINGS") {
  Conf r;
  SUBCASE("HEADERS") {
    H2Client c(r.endpoint(), H2Client::NoPreface{});
    Bytes b = cat({client_magic(), headers_frame(c.enc, 1, h2c_get("/id"), true)});
    REQUIRE(c.send(b));
    expect_connection_error(c, H2Error::ProtocolError);
  }
  SUBCASE("a SETTINGS ACK") {
    H2Client c(r.endpoint(), H2Client::NoPreface{});
    REQUIRE(c.send(cat({client_magic(), settings_ack()})));
    expect_connection_error(c, H2Error::ProtocolError);
  }
  CHECK(r.origin.requests() == 0);
}

TEST_CASE("h2 conformance §3.4: an invalid connection preface ends the connection") {
  Conf r;
  H2Client c(r.endpoint(), H2Client::NoPreface{});
  REQUIRE(c.send(ascii("INVALID CONNECTION PREFACE\r\n\r\n")));
  // Over TLS (ALPN h2): GOAWAY PROTOCOL_ERROR. In cleartext the listener takes it for HTTP/1.1
  // and answers that way before closing.
  CHECK(c.wait_closed());
  if (!c.goaways.empty()) CHECK(c.goaways.front().code == H2Error::ProtocolError);
  CHECK(r.origin.requests() == 0);
}

// ---- §9.2: TLS (over_tls() only) ----

TEST_CASE("h2 conformance §9.2: h2 over TLS 1.2 with an AEAD ECDHE suite") {
  if (!over_tls()) return;  // a TLS case: cleartext runs have nothing to check
  Conf r;
  tls::ClientOptions o;
  o.verify = false;
  o.server_name = "app.test";
  o.alpn = {"h2"};
  o.resume = false;
  o.max_version = tls::TlsVersion::Tls12;
  o.cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256";
  auto ctx = tls::ClientContext::create(std::move(o));
  REQUIRE(ctx);
  H2Client c(H2Endpoint{r.rig.port, std::move(ctx).value()});
  c.handshake();
  expect_alive(c, 1);
}

// ---- §4.1: frame format ----

TEST_CASE("h2 conformance §4.1: frames of unknown types are ignored") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  Bytes b = cat({raw_frame(kUnknownType, 0, 0, ascii("on the connection")),
                 raw_frame(kUnknownType, 0xff, 3, ascii("on an idle stream"))});
  REQUIRE(c.send(b));
  expect_alive(c, 1);
  // On an open stream, between its HEADERS and its DATA.
  REQUIRE(c.headers(3, post("/upload"), false));
  REQUIRE(
      c.send(cat({raw_frame(kUnknownType, 0, 3, ascii("x")), data_frame(3, pattern(10), true)})));
  REQUIRE(c.wait_done(3));
  CHECK(c.streams[3].body == upload_answer(10));
  expect_alive(c, 5);
}

TEST_CASE("h2 conformance §4.1: undefined flags are ignored") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  // PING with every flag but ACK: still a PING to answer.
  Bytes p = raw_frame(kPing, 0xfe, 0, bytes({1, 2, 3, 4, 5, 6, 7, 8}));
  REQUIRE(c.send(p));
  REQUIRE(c.wait_for([&] { return c.ping_acks == 1; }));
  CHECK(last_ping_ack(c) == bytes({1, 2, 3, 4, 5, 6, 7, 8}));
  // HEADERS with undefined flags (0x02, 0x10, 0x40, 0x80) besides END_STREAM | END_HEADERS.
  REQUIRE(c.send(headers_raw(1, plain_get_block(), 0xd3 | flag::kEndHeaders)));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == pattern(100));
  expect_alive(c, 3);
}

TEST_CASE("h2 conformance §4.1: the reserved bit of the stream identifier is ignored") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(raw_frame(kPing, 0, 0x80000000u, bytes({8, 7, 6, 5, 4, 3, 2, 1}))));
  REQUIRE(c.wait_for([&] { return c.ping_acks == 1; }));
  CHECK(last_ping_ack(c) == bytes({8, 7, 6, 5, 4, 3, 2, 1}));
  REQUIRE(
      c.send(headers_raw(0x80000001u, plain_get_block(), flag::kEndStream | flag::kEndHeaders)));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  // And the reserved bit of a WINDOW_UPDATE increment.
  REQUIRE(c.send(raw_frame(kWindowUpdate, 0, 0, u32be(0x80000000u | 1000))));
  expect_alive(c, 3);
}

// ---- §4.2: frame size ----

TEST_CASE("h2 conformance §4.2: a DATA frame of 2^14 bytes is accepted") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, post("/upload"), false));
  REQUIRE(c.send(data_frame(1, pattern(16384), true)));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == upload_answer(16384));
  expect_alive(c, 3);
}

TEST_CASE("h2 conformance §4.2: DATA over SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, post("/upload"), false));
  REQUIRE(c.send(data_frame(1, pattern(16385), true)));
  expect_connection_error(c, H2Error::FrameSizeError);
}

TEST_CASE("h2 conformance §4.2: HEADERS over SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  Bytes block = cat({plain_get_block(), lit("x-big", std::string(16400, 'a'))});
  REQUIRE(c.send(headers_raw(1, block, flag::kEndStream | flag::kEndHeaders)));
  expect_connection_error(c, H2Error::FrameSizeError);
  CHECK(r.origin.requests() == 0);
}

TEST_CASE(
    "h2 conformance §4.2: response DATA frames respect the client's SETTINGS_MAX_FRAME_SIZE") {
  Conf r;
  SUBCASE("the default, 2^14") {
    H2Client c(r.endpoint());
    c.handshake();
    REQUIRE(c.headers(1, h2c_get("/bytes/100000")));
    REQUIRE(c.wait_done(1));
    CHECK(c.streams[1].body == pattern(100000));
    for (const auto& f : c.frames) CHECK(f.h.length <= 16384u);
  }
  SUBCASE("a larger one, 2^20") {
    H2Client c(r.endpoint(), {{setting(SettingId::MaxFrameSize), 1u << 20},
                              {setting(SettingId::InitialWindowSize), 1u << 24}});
    c.handshake();
    REQUIRE(c.send(window_update(0, 1u << 24)));
    REQUIRE(c.headers(1, h2c_get("/bytes/1000000")));
    REQUIRE(c.wait_done(1));
    CHECK(c.streams[1].body == pattern(1000000));
    for (const auto& f : c.frames) CHECK(f.h.length <= (1u << 20));
  }
}

// ---- §4.3: header compression and decompression ----

TEST_CASE("h2 conformance §4.3: an undecodable header block is a COMPRESSION_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  // A literal whose value length runs past the end of the block.
  Bytes block =
      cat({plain_get_block(), bytes({0x00, 0x03}), ascii("x-a"), bytes({0x10}), ascii("short")});
  REQUIRE(c.send(headers_raw(1, block, flag::kEndStream | flag::kEndHeaders)));
  expect_connection_error(c, H2Error::CompressionError);
  CHECK(r.origin.requests() == 0);
}

TEST_CASE("h2 conformance §4.3: a PRIORITY frame inside a header block is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(cat({headers_raw(1, plain_get_block(), flag::kEndStream), priority_frame(1, 0)})));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §4.3: HEADERS of another stream inside a header block") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(cat({headers_raw(1, plain_get_block(), flag::kEndStream),
                      headers_raw(3, plain_get_block(), flag::kEndStream | flag::kEndHeaders)})));
  expect_connection_error(c, H2Error::ProtocolError);
  CHECK(r.origin.requests() == 0);
}

// ---- §5.1: stream states ----

TEST_CASE("h2 conformance §5.1 idle: DATA is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(data_frame(1, "x", true)));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §5.1 idle: RST_STREAM is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(rst(1, H2Error::Cancel)));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §5.1 idle: WINDOW_UPDATE is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(window_update(1, 100)));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §5.1 idle: CONTINUATION is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(continuation(1, plain_get_block(), true)));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §5.1 idle: PRIORITY is accepted and leaves the stream idle") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  // PRIORITY on idle streams 3 and 5 opens neither: stream 1 may still be opened after them.
  REQUIRE(c.send(cat({priority_frame(3, 0, 200), priority_frame(5, 3, 10, true)})));
  REQUIRE(c.headers(1, h2c_get("/bytes/100")));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  expect_alive(c, 3);
}

TEST_CASE("h2 conformance §5.1 half-closed (remote): DATA gets RST_STREAM STREAM_CLOSED") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  open_slow(c, 1);
  REQUIRE(c.send(data_frame(1, "late", true)));
  expect_stream_error(c, 1, H2Error::StreamClosed, 3);
}

TEST_CASE("h2 conformance §5.1 half-closed (remote): HEADERS get RST_STREAM STREAM_CLOSED") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  open_slow(c, 1);
  REQUIRE(c.send(headers_raw(1, lit("x-trailer", "1"), flag::kEndStream | flag::kEndHeaders)));
  expect_stream_error(c, 1, H2Error::StreamClosed, 3);
}

TEST_CASE("h2 conformance §5.1 half-closed (remote): CONTINUATION is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  open_slow(c, 1);
  REQUIRE(c.send(continuation(1, lit("x-more", "1"), true)));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §5.1 half-closed (remote): WINDOW_UPDATE and PRIORITY are accepted") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  open_slow(c, 1);
  REQUIRE(c.send(cat({window_update(1, 1000), priority_frame(1, 0, 100)})));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == "o");
  expect_alive(c, 3);
}

TEST_CASE("h2 conformance §5.1 half-closed (remote): RST_STREAM closes the stream only") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  open_slow(c, 1);
  REQUIRE(c.send(rst(1, H2Error::Cancel)));
  expect_alive(c, 3);
  c.idle(700ms);  // past the origin's answer: nothing more comes on stream 1
  CHECK(c.streams[1].status == 0);
  CHECK_FALSE(c.streams[1].ended);
  CHECK_FALSE(c.streams[1].reset);  // §5.4.2: no RST_STREAM in answer to a RST_STREAM
  CHECK(c.goaways.empty());
}

TEST_CASE("h2 conformance §5.1 closed: DATA after our RST_STREAM gets STREAM_CLOSED") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  open_slow(c, 1, false);
  REQUIRE(c.send(rst(1, H2Error::Cancel)));
  REQUIRE(c.send(data_frame(1, "late", true)));
  expect_stream_error(c, 1, H2Error::StreamClosed, 3);
}

TEST_CASE("h2 conformance §5.1 closed: HEADERS after our RST_STREAM is a STREAM_CLOSED") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  open_slow(c, 1);
  REQUIRE(c.send(rst(1, H2Error::Cancel)));
  REQUIRE(c.send(headers_raw(1, plain_get_block(), flag::kEndStream | flag::kEndHeaders)));
  expect_connection_error(c, H2Error::StreamClosed);
}

TEST_CASE("h2 conformance §5.1 closed: CONTINUATION after our RST_STREAM is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  open_slow(c, 1);
  REQUIRE(c.send(rst(1, H2Error::Cancel)));
  REQUIRE(c.send(continuation(1, lit("x-more", "1"), true)));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §5.1 closed: DATA after both END_STREAMs gets STREAM_CLOSED") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/bytes/10")));
  REQUIRE(c.wait_done(1));
  REQUIRE(c.streams[1].status == 200);
  REQUIRE(c.send(data_frame(1, "late", true)));
  REQUIRE(c.wait_for([&] { return c.streams[1].reset.has_value(); }));
  CHECK(c.streams[1].reset == H2Error::StreamClosed);
  expect_alive(c, 3);
}

TEST_CASE("h2 conformance §5.1 closed: HEADERS after both END_STREAMs is a STREAM_CLOSED") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/bytes/10")));
  REQUIRE(c.wait_done(1));
  REQUIRE(c.send(headers_raw(1, plain_get_block(), flag::kEndStream | flag::kEndHeaders)));
  expect_connection_error(c, H2Error::StreamClosed);
  CHECK(r.origin.requests() == 1);
}

TEST_CASE("h2 conformance §5.1 closed: CONTINUATION after both END_STREAMs") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/bytes/10")));
  REQUIRE(c.wait_done(1));
  REQUIRE(c.send(continuation(1, lit("x-more", "1"), true)));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §5.1 closed: PRIORITY, WINDOW_UPDATE and RST_STREAM are ignored") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/bytes/10")));
  REQUIRE(c.wait_done(1));
  REQUIRE(c.send(cat({priority_frame(1, 0), window_update(1, 100), rst(1, H2Error::Cancel)})));
  expect_alive(c, 3);
}

// ---- §5.1.1: stream identifiers ----

TEST_CASE("h2 conformance §5.1.1: an even stream identifier from the client") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(2, h2c_get("/id")));
  expect_connection_error(c, H2Error::ProtocolError);
  CHECK(r.origin.requests() == 0);
}

TEST_CASE("h2 conformance §5.1.1: a stream identifier below a previous one") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(5, h2c_get("/bytes/10")));
  REQUIRE(c.wait_done(5));
  CHECK(c.streams[5].status == 200);
  REQUIRE(c.headers(3, h2c_get("/bytes/10")));
  expect_connection_error(c, H2Error::ProtocolError);
  CHECK(c.goaways.front().last == 5);
}

TEST_CASE("h2 conformance §5.1.1: skipped identifiers are closed implicitly") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/bytes/10")));
  REQUIRE(c.headers(7, h2c_get("/bytes/10")));
  REQUIRE(c.wait_done(1));
  REQUIRE(c.wait_done(7));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[7].status == 200);
  // Stream 5 was skipped: it is closed, not idle.
  REQUIRE(c.headers(5, h2c_get("/bytes/10")));
  expect_connection_error(c, H2Error::ProtocolError);
}

// ---- §5.1.2: stream concurrency ----

TEST_CASE("h2 conformance §5.1.2: streams over SETTINGS_MAX_CONCURRENT_STREAMS are refused") {
  config::Http2Settings h2;
  h2.max_concurrent_streams = 3;
  Conf r(h2);
  H2Client c(r.endpoint());
  c.handshake();
  // The limit is advertised in the server's first SETTINGS.
  const OutFrame* s = c.first(http2::FrameType::Settings);
  REQUIRE(s);
  bool advertised = false;
  for (size_t at = 0; at + 6 <= s->payload.size(); at += 6)
    if (((uint16_t(s->payload[at]) << 8) | uint16_t(s->payload[at + 1])) ==
        setting(SettingId::MaxConcurrentStreams))
      advertised = s->u32(at + 2) == 3;
  CHECK(advertised);
  for (uint32_t id = 1; id <= 5; id += 2) open_slow(c, id);
  REQUIRE(c.headers(7, h2c_get("/bytes/10")));
  REQUIRE(c.wait_done(7));
  CHECK(c.streams[7].reset == H2Error::RefusedStream);
  for (uint32_t id = 1; id <= 5; id += 2) {
    CAPTURE(id);
    REQUIRE(c.wait_done(id));
    CHECK(c.streams[id].status == 200);
  }
  expect_alive(c, 9);
}

TEST_CASE("h2 conformance §5.1.2: the default limit, 128 streams, in one burst") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  // One more HEADERS than the limit, in one write: the proxy has answered none of them yet
  // when the last one arrives.
  Bytes b;
  for (uint32_t i = 0; i <= 128; ++i)
    b = cat({b, headers_frame(c.enc, 1 + 2 * i, h2c_get("/slow/300"), true)});
  REQUIRE(c.send(b));
  REQUIRE(c.wait_done(257));
  CHECK(c.streams[257].reset == H2Error::RefusedStream);
  REQUIRE(c.wait_for(
      [&] {
        uint32_t done = 0;
        for (const auto& [id, s] : c.streams) done += s.ended || s.reset;
        return done == 129;
      },
      30000ms));
  uint32_t served = 0;
  for (const auto& [id, s] : c.streams) served += s.status == 200 && s.body == "o";
  CHECK(served == 128);
  expect_alive(c, 259);
}

TEST_CASE("h2 conformance §5.1.2: streams kept open by a zero window, one more than the limit") {
  Conf r;
  // As h2spec does it: INITIAL_WINDOW_SIZE 0 keeps every response from ending; the same
  // header block bytes for every stream; one write per HEADERS frame.
  H2Client c(r.endpoint(), {{setting(SettingId::InitialWindowSize), 0}});
  c.auto_window = false;
  c.handshake();
  const Bytes block = block_of(c.enc, h2c_get("/bytes/100"));
  for (uint32_t i = 0; i <= 128; ++i)
    REQUIRE(c.send(headers_raw(1 + 2 * i, block, flag::kEndStream | flag::kEndHeaders)));
  REQUIRE(c.wait_done(257));
  CHECK(c.streams[257].reset == H2Error::RefusedStream);
  CHECK(c.wait_for([&] {
    uint32_t heads = 0;
    for (const auto& [id, st] : c.streams) heads += st.status == 200;
    return heads == 128;
  }));
  CHECK(c.data_bytes == 0);
  CHECK(c.goaways.empty());
}

// ---- §5.3: priority (RFC 9113 deprecates the scheme; its frames must still parse) ----

TEST_CASE("h2 conformance §5.3: PRIORITY frames and HEADERS priority fields are accepted") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  // HEADERS with the PRIORITY flag: exclusive on stream 0, weight 256.
  Bytes b = headers_raw(1, cat({priority_fields(0, 255, true), plain_get_block()}),
                        flag::kEndStream | flag::kEndHeaders | flag::kPriority);
  // Weight 1 on an idle stream depending on an open one; a default-like one on stream 0.
  b = cat({b, priority_frame(9, 1, 0), priority_frame(11, 0, 15)});
  REQUIRE(c.send(b));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == pattern(100));
  expect_alive(c, 13);
}

TEST_CASE("h2 conformance §5.3.1: HEADERS depending on its own stream get PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(headers_raw(1, cat({priority_fields(1, 15), plain_get_block()}),
                             flag::kEndStream | flag::kEndHeaders | flag::kPriority)));
  expect_stream_error(c, 1, H2Error::ProtocolError, 3);
  CHECK(r.origin.requests() == 1);  // only the check's own request
}

TEST_CASE("h2 conformance §5.3.1: PRIORITY depending on its own stream") {
  Conf r;
  SUBCASE("on an open stream: RST_STREAM PROTOCOL_ERROR") {
    H2Client c(r.endpoint());
    c.handshake();
    open_slow(c, 1);
    REQUIRE(c.send(priority_frame(1, 1)));
    expect_stream_error(c, 1, H2Error::ProtocolError, 3);
  }
  SUBCASE("on an idle stream: GOAWAY PROTOCOL_ERROR (documented widening)") {
    H2Client c(r.endpoint());
    c.handshake();
    REQUIRE(c.send(priority_frame(1, 1)));
    expect_connection_error(c, H2Error::ProtocolError);
  }
}

// ---- §5.4.1: connection error handling ----

TEST_CASE("h2 conformance §5.4.1: a connection error sends GOAWAY, then closes") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/bytes/10")));
  REQUIRE(c.wait_done(1));
  REQUIRE(c.send(raw_frame(kPing, 0, 0, zeros(6))));  // an invalid PING
  expect_connection_error(c, H2Error::FrameSizeError);
  CHECK(c.goaways.size() == 1);
  CHECK(c.goaways.front().last == 1);  // the last stream the proxy processed
}

// ---- §5.5: extending HTTP/2 ----

TEST_CASE("h2 conformance §5.5: an unknown extension frame inside a header block") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(cat({headers_raw(1, plain_get_block(), flag::kEndStream),
                      raw_frame(kUnknownType, 0, 1, ascii("ext"))})));
  expect_connection_error(c, H2Error::ProtocolError);
}

// ---- §6.1: DATA ----

TEST_CASE("h2 conformance §6.1: DATA on stream 0 is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(data_frame(0, "x", false)));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.1: padded DATA is accepted, the padding dropped") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, post("/upload"), false));
  const std::string body = pattern(1000);
  Bytes padded = raw_frame(kData, flag::kPadded, 1,
                           cat({bytes({200}), ascii(body.substr(0, 500)), zeros(200)}));
  Bytes last = raw_frame(kData, flag::kPadded | flag::kEndStream, 1,
                         cat({bytes({0}), ascii(body.substr(500))}));
  REQUIRE(c.send(cat({padded, last})));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == upload_answer(1000));
  expect_alive(c, 3);
}

TEST_CASE("h2 conformance §6.1: DATA padding as long as the payload is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, post("/upload"), false));
  // Pad Length 6 in a payload of 6 bytes: §6.1 wants padding < the payload length.
  REQUIRE(c.send(
      raw_frame(kData, flag::kPadded | flag::kEndStream, 1, cat({bytes({6}), ascii("abcde")}))));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.1: DATA made only of padding is legal") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, post("/upload"), false));
  REQUIRE(c.send(data_frame(1, pattern(10), false)));
  // Pad Length 5 in a payload of 6 bytes: no data, five bytes of padding.
  REQUIRE(
      c.send(raw_frame(kData, flag::kPadded | flag::kEndStream, 1, cat({bytes({5}), zeros(5)}))));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == upload_answer(10));
  expect_alive(c, 3);
}

// ---- §6.2: HEADERS ----

TEST_CASE("h2 conformance §6.2: HEADERS on stream 0 is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(headers_raw(0, plain_get_block(), flag::kEndStream | flag::kEndHeaders)));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.2: padded HEADERS are accepted") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  Bytes payload = cat({bytes({16}), priority_fields(0, 15), plain_get_block(), zeros(16)});
  REQUIRE(c.send(headers_raw(
      1, payload, flag::kPadded | flag::kPriority | flag::kEndStream | flag::kEndHeaders)));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == pattern(100));
  expect_alive(c, 3);
}

TEST_CASE("h2 conformance §6.2: HEADERS padding as long as the payload is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  Bytes block = plain_get_block();
  // Padding as long as the payload (its Pad Length byte included): §6.2 wants it shorter.
  Bytes payload = cat({bytes({int(block.size()) + 1}), block});
  REQUIRE(c.send(headers_raw(1, payload, flag::kPadded | flag::kEndStream | flag::kEndHeaders)));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.2: HEADERS made only of padding carry an empty, malformed request") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  Bytes block = plain_get_block();
  Bytes payload = cat({bytes({int(block.size())}), block});
  REQUIRE(c.send(headers_raw(1, payload, flag::kPadded | flag::kEndStream | flag::kEndHeaders)));
  expect_stream_error(c, 1, H2Error::ProtocolError, 3);
}

// ---- §6.3: PRIORITY ----

TEST_CASE("h2 conformance §6.3: PRIORITY on stream 0 is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(priority_frame(0, 1)));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.3: PRIORITY of a length other than 5 is a FRAME_SIZE_ERROR") {
  Conf r;
  SUBCASE("on an open stream: RST_STREAM") {
    H2Client c(r.endpoint());
    c.handshake();
    open_slow(c, 1);
    REQUIRE(c.send(raw_frame(kPriority, 0, 1, zeros(4))));
    expect_stream_error(c, 1, H2Error::FrameSizeError, 3);
  }
  SUBCASE("on an idle stream: GOAWAY (documented widening)") {
    H2Client c(r.endpoint());
    c.handshake();
    REQUIRE(c.send(raw_frame(kPriority, 0, 1, zeros(6))));
    expect_connection_error(c, H2Error::FrameSizeError);
  }
}

// ---- §6.4: RST_STREAM ----

TEST_CASE("h2 conformance §6.4: RST_STREAM on stream 0 is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(rst(0, H2Error::Cancel)));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.4: RST_STREAM on an idle stream is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/bytes/10")));
  REQUIRE(c.wait_done(1));
  REQUIRE(c.send(rst(3, H2Error::Cancel)));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.4: RST_STREAM of a length other than 4 is a FRAME_SIZE_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  open_slow(c, 1);
  REQUIRE(c.send(raw_frame(kRstStream, 0, 1, zeros(3))));
  expect_connection_error(c, H2Error::FrameSizeError);
}

// ---- §6.5: SETTINGS ----

TEST_CASE("h2 conformance §6.5: SETTINGS ACK with a payload is a FRAME_SIZE_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(raw_frame(kSettings, flag::kAck, 0, cat({bytes({0, 4}), u32be(100)}))));
  expect_connection_error(c, H2Error::FrameSizeError);
}

TEST_CASE("h2 conformance §6.5: SETTINGS on a stream is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(raw_frame(kSettings, 0, 1, cat({bytes({0, 4}), u32be(100)}))));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.5: SETTINGS whose length is not a multiple of 6") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(raw_frame(kSettings, 0, 0, bytes({0, 4, 0}))));
  expect_connection_error(c, H2Error::FrameSizeError);
}

TEST_CASE("h2 conformance §6.5.2: SETTINGS_ENABLE_PUSH other than 0 or 1") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(settings_frame({{setting(SettingId::EnablePush), 2}})));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.5.2: SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(settings_frame({{setting(SettingId::InitialWindowSize), 0x80000000u}})));
  expect_connection_error(c, H2Error::FlowControlError);
}

TEST_CASE("h2 conformance §6.5.2: SETTINGS_MAX_FRAME_SIZE out of [2^14, 2^24-1]") {
  Conf r;
  for (uint32_t v : {16383u, 1u << 24}) {
    CAPTURE(v);
    H2Client c(r.endpoint());
    c.handshake();
    REQUIRE(c.send(settings_frame({{setting(SettingId::MaxFrameSize), v}})));
    expect_connection_error(c, H2Error::ProtocolError);
  }
}

TEST_CASE("h2 conformance §6.5.2: unknown settings are ignored") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(settings_frame({{0xff, 1}, {0x7777, 0xffffffffu}})));
  REQUIRE(c.wait_for([&] { return c.settings_acks == 2; }));
  expect_alive(c, 1);
}

TEST_CASE("h2 conformance §6.5.2: a small SETTINGS_HEADER_TABLE_SIZE is honoured") {
  Conf r;
  H2Client c(r.endpoint(), {{setting(SettingId::HeaderTableSize), 64}});
  c.decoder_table_size(64);  // our decoder refuses entries the proxy may not have kept
  c.handshake();
  for (uint32_t id = 1; id <= 7; id += 2) {
    REQUIRE(c.headers(id, h2c_get(id % 4 == 1 ? "/bytes/100" : "/cookie/k=v")));
    REQUIRE(c.wait_done(id));
    CHECK(c.streams[id].status == 200);
    CHECK(c.streams[id].field("x-origin") == "o");
  }
  CHECK(c.streams[3].field("set-cookie") == "k=v; Path=/");
  expect_alive(c, 9);
}

TEST_CASE("h2 conformance §6.5.2: a SETTINGS_HEADER_TABLE_SIZE above the default") {
  Conf r;
  H2Client c(r.endpoint(), {{setting(SettingId::HeaderTableSize), 65536}});
  c.decoder_table_size(65536);
  c.handshake();
  const std::string value(500, 'v');
  for (uint32_t id = 1; id <= 41; id += 2) {
    const std::string cookie = "k" + std::to_string(id) + "=" + value;
    REQUIRE(c.headers(id, h2c_get("/cookie/" + cookie)));
    REQUIRE(c.wait_done(id));
    CHECK(c.streams[id].status == 200);
    const bool same = c.streams[id].field("set-cookie") == cookie + "; Path=/";
    CHECK(same);
  }
  expect_alive(c, 43);
}

TEST_CASE("h2 conformance §6.5.2: every defined setting at a valid value is acknowledged") {
  Conf r;
  H2Client c(r.endpoint(), {{setting(SettingId::HeaderTableSize), 0},
                            {setting(SettingId::EnablePush), 0},
                            {setting(SettingId::MaxConcurrentStreams), 100},
                            {setting(SettingId::InitialWindowSize), 100000},
                            {setting(SettingId::MaxFrameSize), 16777215},
                            {setting(SettingId::MaxHeaderListSize), 100000}});
  // A table size of 0: the proxy's encoder must open its first block with a size update.
  c.decoder_table_size(0);
  c.handshake();
  for (uint32_t id = 1; id <= 5; id += 2) {
    REQUIRE(c.headers(id, h2c_get("/bytes/100")));
    REQUIRE(c.wait_done(id));
    CHECK(c.streams[id].status == 200);
    CHECK(c.streams[id].field("x-origin") == "o");
  }
  expect_alive(c, 7);
}

TEST_CASE("h2 conformance §6.5: a SETTINGS ACK with nothing outstanding is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();  // the proxy's SETTINGS is acknowledged (by the client, in handshake)
  expect_alive(c, 1);
  REQUIRE(c.send(settings_ack()));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.5.3: each SETTINGS is acknowledged") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(
      cat({settings_frame({{setting(SettingId::MaxHeaderListSize), 8192}}), settings_frame({})})));
  REQUIRE(c.wait_for([&] { return c.settings_acks == 3; }));
  for (const auto& f : c.frames)
    if (f.type() == http2::FrameType::Settings && f.h.has(flag::kAck)) CHECK(f.h.length == 0);
  expect_alive(c, 1);
}

TEST_CASE("h2 conformance §6.5.3: of several values in one SETTINGS the last one holds") {
  Conf r;
  H2Client c(r.endpoint(), {{setting(SettingId::InitialWindowSize), 100},
                            {setting(SettingId::InitialWindowSize), 1}});
  c.auto_window = false;
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/bytes/100")));
  REQUIRE(c.wait_for([&] { return c.data_bytes > 0; }));
  c.idle(300ms);
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].data_frames == std::vector<size_t>{1});
  CHECK(c.streams[1].body == pattern(1));
}

// ---- §6.7: PING ----

TEST_CASE("h2 conformance §6.7: PING is answered with an ACK carrying the same payload") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(raw_frame(kPing, 0, 0, bytes({'h', '2', 's', 'p', 'e', 'c', 0, 0xff}))));
  REQUIRE(c.wait_for([&] { return c.ping_acks == 1; }));
  const OutFrame* p = c.first(http2::FrameType::Ping);
  REQUIRE(p);
  CHECK(p->h.has(flag::kAck));
  CHECK(p->h.stream_id == 0);
  CHECK(p->payload == bytes({'h', '2', 's', 'p', 'e', 'c', 0, 0xff}));
}

TEST_CASE("h2 conformance §6.7: a PING with ACK is not answered") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(cat({ping(1, true), ping(2)})));
  REQUIRE(c.wait_for([&] { return c.ping_acks >= 1; }));
  c.idle(200ms);
  CHECK(c.ping_acks == 1);
  CHECK(last_ping_ack(c) == ping_payload(2));
  CHECK(c.goaways.empty());
}

TEST_CASE("h2 conformance §6.7: PING on a stream is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(raw_frame(kPing, 0, 1, zeros(8))));
  expect_connection_error(c, H2Error::ProtocolError);
  CHECK(c.ping_acks == 0);
}

TEST_CASE("h2 conformance §6.7: PING of a length other than 8 is a FRAME_SIZE_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(raw_frame(kPing, 0, 0, zeros(9))));
  expect_connection_error(c, H2Error::FrameSizeError);
  CHECK(c.ping_acks == 0);
}

// ---- §6.8: GOAWAY ----

TEST_CASE("h2 conformance §6.8: GOAWAY on a stream is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(raw_frame(kGoaway, 0, 1, cat({u32be(0), u32be(0)}))));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.8: the client's GOAWAY with nothing in flight closes the connection") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/bytes/10")));
  REQUIRE(c.wait_done(1));
  Bytes g;
  http2::encode_goaway(g, 0, H2Error::NoError, ascii("bye"));
  REQUIRE(c.send(g));
  // Within h2spec's default timeout.
  CHECK(c.wait_closed(2000ms));
  check_server_frames(c);
}

TEST_CASE("h2 conformance §6.8: after the client's GOAWAY its open streams are still answered") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  open_slow(c, 1);
  Bytes g;
  http2::encode_goaway(g, 0, H2Error::NoError, {});
  REQUIRE(c.send(g));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == "o");
  CHECK_FALSE(c.streams[1].reset);
}

// ---- §6.9: WINDOW_UPDATE ----

TEST_CASE("h2 conformance §6.9: a WINDOW_UPDATE of 0 on the connection is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(raw_frame(kWindowUpdate, 0, 0, u32be(0))));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.9: a WINDOW_UPDATE of 0 on a stream gets RST_STREAM PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  open_slow(c, 1);
  REQUIRE(c.send(raw_frame(kWindowUpdate, 0, 1, u32be(0))));
  expect_stream_error(c, 1, H2Error::ProtocolError, 3);
}

TEST_CASE("h2 conformance §6.9: WINDOW_UPDATE of a length other than 4 is a FRAME_SIZE_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(raw_frame(kWindowUpdate, 0, 0, zeros(3))));
  expect_connection_error(c, H2Error::FrameSizeError);
}

TEST_CASE("h2 conformance §6.9.1: WINDOW_UPDATEs taking the connection window past 2^31-1") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(cat({window_update(0, kMaxWindow - 65535), window_update(0, 1)})));
  expect_connection_error(c, H2Error::FlowControlError);
}

TEST_CASE("h2 conformance §6.9.1: WINDOW_UPDATEs taking a stream window past 2^31-1") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  open_slow(c, 1);
  REQUIRE(c.send(cat({window_update(1, kMaxWindow - 65535), window_update(1, 1)})));
  expect_stream_error(c, 1, H2Error::FlowControlError, 3);
}

TEST_CASE("h2 conformance §6.9.1: SETTINGS_INITIAL_WINDOW_SIZE 1 lets one byte of DATA out") {
  Conf r;
  H2Client c(r.endpoint(), {{setting(SettingId::InitialWindowSize), 1}});
  c.auto_window = false;
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/bytes/1000")));
  REQUIRE(c.wait_for([&] { return c.data_bytes > 0; }));
  c.idle(300ms);
  CHECK(c.streams[1].data_frames == std::vector<size_t>{1});
  // The rest once the stream window opens.
  REQUIRE(c.send(window_update(1, 999)));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].body == pattern(1000));
  CHECK_FALSE(c.streams[1].reset);
}

TEST_CASE("h2 conformance §6.9.1: response DATA stops at the connection window") {
  Conf r;
  H2Client c(r.endpoint(), {{setting(SettingId::InitialWindowSize), 1u << 20}});
  c.auto_window = false;
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/bytes/200000")));
  REQUIRE(c.wait_for([&] { return c.data_bytes >= 65535; }));
  c.idle(300ms);
  CHECK(c.data_bytes == 65535);
  REQUIRE(c.send(window_update(0, 200000)));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].body == pattern(200000));
}

TEST_CASE("h2 conformance §6.9.2: SETTINGS_INITIAL_WINDOW_SIZE raised after the HEADERS") {
  Conf r;
  H2Client c(r.endpoint(), {{setting(SettingId::InitialWindowSize), 0}});
  c.auto_window = false;
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/bytes/100")));
  REQUIRE(c.wait_for([&] { return c.streams[1].status == 200; }));
  c.idle(200ms);
  CHECK(c.data_bytes == 0);
  REQUIRE(c.send(settings_frame({{setting(SettingId::InitialWindowSize), 1}})));
  REQUIRE(c.wait_for([&] { return c.data_bytes > 0; }));
  c.idle(300ms);
  CHECK(c.streams[1].data_frames == std::vector<size_t>{1});
}

TEST_CASE("h2 conformance §6.9.2: a stream window driven negative by SETTINGS") {
  Conf r;
  H2Client c(r.endpoint(), {{setting(SettingId::InitialWindowSize), 5}});
  c.auto_window = false;
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/bytes/100")));
  REQUIRE(c.wait_for([&] { return c.data_bytes == 5; }));
  c.idle(200ms);
  CHECK(c.data_bytes == 5);
  // 3 - 5: the window is -2; 3 more bytes of credit leave room for one byte.
  REQUIRE(c.send(settings_frame({{setting(SettingId::InitialWindowSize), 3}})));
  REQUIRE(c.wait_for([&] { return c.settings_acks == 2; }));
  c.idle(200ms);
  CHECK(c.data_bytes == 5);
  REQUIRE(c.send(window_update(1, 3)));
  REQUIRE(c.wait_for([&] { return c.data_bytes > 5; }));
  c.idle(300ms);
  CHECK(c.data_bytes == 6);
  CHECK(c.streams[1].body == pattern(6));
  // One frame per opening of the window, as h2spec counts them.
  CHECK(c.streams[1].data_frames == std::vector<size_t>{5, 1});
}

TEST_CASE("h2 conformance §6.9.2: SETTINGS_INITIAL_WINDOW_SIZE overflowing a stream window") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  open_slow(c, 1);
  REQUIRE(c.send(window_update(1, kMaxWindow - 65535)));  // the stream window is 2^31-1
  REQUIRE(c.send(settings_frame({{setting(SettingId::InitialWindowSize), 65536}})));
  expect_connection_error(c, H2Error::FlowControlError);
}

// ---- §6.10: CONTINUATION ----

TEST_CASE("h2 conformance §6.10: a header block over HEADERS and several CONTINUATIONs") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  Bytes block = cat(
      {plain_get_block(), lit("x-a", std::string(100, 'a')), lit("x-b", std::string(100, 'b'))});
  const auto part = [&](size_t from, size_t to) {
    return Bytes(block.begin() + long(from), block.begin() + long(std::min(to, block.size())));
  };
  REQUIRE(c.send(
      cat({headers_raw(1, part(0, 10), flag::kEndStream), continuation(1, part(10, 20), false),
           continuation(1, {}, false), continuation(1, part(20, block.size()), true)})));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == pattern(100));
  expect_alive(c, 3);
}

TEST_CASE("h2 conformance §6.10: a frame other than CONTINUATION after a CONTINUATION") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(cat({headers_raw(1, plain_get_block(), 0), continuation(1, lit("x", "1"), false),
                      data_frame(1, "x", true)})));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.10: CONTINUATION on stream 0") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(cat({headers_raw(1, plain_get_block(), flag::kEndStream),
                      continuation(0, lit("x", "1"), true)})));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.10: CONTINUATION of another stream inside a header block") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(cat({headers_raw(1, plain_get_block(), flag::kEndStream),
                      continuation(3, lit("x", "1"), true)})));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.10: CONTINUATION after HEADERS with END_HEADERS") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  open_slow(c, 1);
  REQUIRE(c.send(continuation(1, lit("x", "1"), true)));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.10: CONTINUATION after a CONTINUATION with END_HEADERS") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(
      c.send(cat({headers_raw(1, plain_get_block("/slow/500"), flag::kEndStream),
                  continuation(1, lit("x", "1"), true), continuation(1, lit("y", "2"), true)})));
  expect_connection_error(c, H2Error::ProtocolError);
}

TEST_CASE("h2 conformance §6.10: CONTINUATION after DATA") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, post("/upload"), false));
  REQUIRE(c.send(cat({data_frame(1, "x", false), continuation(1, lit("x", "1"), true)})));
  expect_connection_error(c, H2Error::ProtocolError);
}

// ---- §7: error codes ----

TEST_CASE("h2 conformance §7: unknown error codes trigger nothing special") {
  Conf r;
  SUBCASE("RST_STREAM with an unknown code: the stream ends, the connection goes on") {
    H2Client c(r.endpoint());
    c.handshake();
    REQUIRE(c.headers(1, post("/upload"), false));
    REQUIRE(c.send(raw_frame(kRstStream, 0, 1, u32be(0xff))));
    expect_alive(c, 3);
    CHECK_FALSE(c.streams[1].reset);
  }
  SUBCASE("GOAWAY with an unknown code: the connection closes") {
    H2Client c(r.endpoint());
    c.handshake();
    REQUIRE(c.send(raw_frame(kGoaway, 0, 0, cat({u32be(0), u32be(0xff)}))));
    CHECK(c.wait_closed(2000ms));
    check_server_frames(c);
  }
}

// ---- §8.1: HTTP message framing ----

TEST_CASE("h2 conformance §8.1: GET, HEAD and POST exchanges") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/bytes/100")));
  h2::FieldList head{{":method", "HEAD"},
                     {":scheme", "http"},
                     {":authority", "app.test"},
                     {":path", "/bytes/100"}};
  REQUIRE(c.headers(3, head));
  REQUIRE(c.headers(5, post("/upload", "50000"), false));
  const std::string body = pattern(50000);
  for (size_t at = 0; at < body.size(); at += 16384)
    REQUIRE(c.send(data_frame(5, body.substr(at, 16384), at + 16384 >= body.size())));
  for (uint32_t id : {1u, 3u, 5u}) {
    CAPTURE(id);
    REQUIRE(c.wait_done(id));
    CHECK(c.streams[id].status == 200);
    CHECK_FALSE(c.streams[id].reset);
  }
  CHECK(c.streams[1].body == pattern(100));
  CHECK(c.streams[3].body.empty());
  CHECK(c.streams[3].field("content-length") == "100");
  CHECK(c.streams[5].body == upload_answer(50000));
  expect_alive(c, 7);
}

TEST_CASE("h2 conformance §8.1: a request with trailers is forwarded whole") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  h2::FieldList f = post("/upload");
  f.add("te", "trailers");
  f.add("trailer", "x-checksum");
  REQUIRE(c.headers(1, f, false));
  REQUIRE(c.send(data_frame(1, pattern(300), false)));
  REQUIRE(c.headers(1, {{"x-checksum", "abc"}}, true));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == upload_answer(300));
  expect_alive(c, 3);
}

TEST_CASE("h2 conformance §8.1: a second HEADERS without END_STREAM is malformed") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, post("/upload"), false));
  REQUIRE(c.headers(1, {{"x-trailer", "1"}}, false));
  expect_stream_error(c, 1, H2Error::ProtocolError, 3);
}

TEST_CASE("h2 conformance §8.1: trailers with a pseudo-header are malformed") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, post("/upload"), false));
  REQUIRE(c.send(data_frame(1, "abc", false)));
  REQUIRE(c.headers(1, {{":method", "POST"}, {"x-trailer", "1"}}, true));
  expect_stream_error(c, 1, H2Error::ProtocolError, 3);
}

TEST_CASE("h2 conformance §8.1: DATA after the request's END_STREAM gets STREAM_CLOSED") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, post("/slow/500", "0"), true));
  REQUIRE(c.send(data_frame(1, "after the end", true)));
  expect_stream_error(c, 1, H2Error::StreamClosed, 3);
}

TEST_CASE("h2 conformance §8.1.1: content-length other than the DATA received is malformed") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  SUBCASE("less DATA than announced, in one frame") {
    REQUIRE(c.headers(1, post("/upload", "10"), false));
    REQUIRE(c.send(data_frame(1, "12345", true)));
  }
  SUBCASE("less DATA than announced, over several frames") {
    REQUIRE(c.headers(1, post("/upload", "10"), false));
    REQUIRE(c.send(
        cat({data_frame(1, "123", false), data_frame(1, "456", false), data_frame(1, "", true)})));
  }
  SUBCASE("more DATA than announced") {
    REQUIRE(c.headers(1, post("/upload", "4"), false));
    REQUIRE(c.send(data_frame(1, "12345", false)));
  }
  SUBCASE("a content-length with END_STREAM on the HEADERS") {
    REQUIRE(c.headers(1, post("/upload", "4"), true));
  }
  expect_stream_error(c, 1, H2Error::ProtocolError, 3);
}

// ---- §8.2: HTTP fields ----

TEST_CASE("h2 conformance §8.2: malformed field names and values") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  const std::pair<std::string, std::string> bad[] = {{"X-Upper", "1"},
                                                     {"x-sp ace", "1"},
                                                     {"x-colon:", "1"},
                                                     {"", "1"},
                                                     {"x-nul", std::string("a\0b", 3)},
                                                     {"x-crlf", "a\r\nx-injected: 1"},
                                                     {"x-del\x7f", "1"},
                                                     {"x-\xc3\xa9", "1"},
                                                     {"x-lead", " a"},
                                                     {"x-trail", "a\t"}};
  uint32_t id = 1;
  for (const auto& [name, value] : bad) {
    CAPTURE(name);
    h2::FieldList f = h2c_get("/id");
    f.add(name, value);
    REQUIRE(c.headers(id, f));
    REQUIRE(c.wait_done(id));
    CHECK(c.streams[id].reset == H2Error::ProtocolError);
    id += 2;
  }
  expect_alive(c, id);
  CHECK(r.origin.requests() == 1);
}

TEST_CASE("h2 conformance §8.2.2: connection-specific fields are malformed") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  const std::pair<const char*, const char*> bad[] = {{"connection", "keep-alive"},
                                                     {"keep-alive", "timeout=5"},
                                                     {"proxy-connection", "keep-alive"},
                                                     {"transfer-encoding", "chunked"},
                                                     {"upgrade", "websocket"},
                                                     {"te", "gzip"},
                                                     {"te", "trailers, gzip"}};
  uint32_t id = 1;
  for (auto [name, value] : bad) {
    CAPTURE(name);
    CAPTURE(value);
    h2::FieldList f = h2c_get("/id");
    f.add(name, value);
    REQUIRE(c.headers(id, f));
    REQUIRE(c.wait_done(id));
    CHECK(c.streams[id].reset == H2Error::ProtocolError);
    id += 2;
  }
  // TE: trailers is the one allowed.
  h2::FieldList f = h2c_get("/bytes/10");
  f.add("te", "trailers");
  REQUIRE(c.headers(id, f));
  REQUIRE(c.wait_done(id));
  CHECK(c.streams[id].status == 200);
  expect_alive(c, id + 2);
  CHECK(r.origin.requests() == 2);
}

// ---- §8.3: HTTP control data (pseudo-header fields) ----

TEST_CASE("h2 conformance §8.3: malformed request pseudo-headers") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  const h2::FieldList bad[] = {
      // missing
      {{":scheme", "http"}, {":authority", "app.test"}, {":path", "/id"}},
      {{":method", "GET"}, {":authority", "app.test"}, {":path", "/id"}},
      {{":method", "GET"}, {":scheme", "http"}, {":authority", "app.test"}},
      // duplicated
      {{":method", "GET"}, {":method", "GET"}, {":scheme", "http"}, {":path", "/id"}},
      {{":method", "GET"}, {":scheme", "http"}, {":scheme", "http"}, {":path", "/id"}},
      {{":method", "GET"}, {":scheme", "http"}, {":path", "/id"}, {":path", "/id"}},
      // unknown, response-only, after a regular field
      {{":method", "GET"}, {":scheme", "http"}, {":path", "/id"}, {":foo", "bar"}},
      {{":method", "GET"}, {":scheme", "http"}, {":path", "/id"}, {":status", "200"}},
      {{":method", "GET"}, {":scheme", "http"}, {"x-a", "1"}, {":path", "/id"}},
      // :protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §4)
      {{":method", "GET"},
       {":scheme", "http"},
       {":authority", "app.test"},
       {":path", "/id"},
       {":protocol", "websocket"}},
      // an empty :path
      {{":method", "GET"}, {":scheme", "http"}, {":authority", "app.test"}, {":path", ""}},
      // Host other than :authority
      {{":method", "GET"},
       {":scheme", "http"},
       {":authority", "app.test"},
       {":path", "/id"},
       {"host", "other.test"}},
  };
  uint32_t id = 1;
  for (const auto& f : bad) {
    CAPTURE(id);
    REQUIRE(c.headers(id, f));
    REQUIRE(c.wait_done(id));
    CHECK(c.streams[id].reset == H2Error::ProtocolError);
    CHECK(c.streams[id].status == 0);
    id += 2;
  }
  expect_alive(c, id);
  CHECK(r.origin.requests() == 1);
}

TEST_CASE("h2 conformance §8.4: PUSH_PROMISE from a client is a PROTOCOL_ERROR") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  open_slow(c, 1);
  REQUIRE(
      c.send(raw_frame(kPushPromise, flag::kEndHeaders, 1, cat({u32be(2), plain_get_block()}))));
  expect_connection_error(c, H2Error::ProtocolError);
}

// ---- §8.2 / §8.3: the proxy's translation between HTTP/2 and its HTTP/1.1 backends ----

TEST_CASE("h2 conformance §8.2: responses carry lowercase names, no connection fields") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  const char* paths[] = {"/bytes/1000", "/chunked/70000", "/id", "/cookie/a=b"};
  uint32_t id = 1;
  for (const char* path : paths) {
    CAPTURE(path);
    REQUIRE(c.headers(id, h2c_get(path)));
    REQUIRE(c.wait_done(id));
    const Received& s = c.streams[id];
    CHECK(s.status == 200);
    REQUIRE_FALSE(s.head.empty());
    CHECK(s.head.front().first == ":status");  // §8.3.2: the one pseudo-header, first
    for (size_t i = 1; i < s.head.size(); ++i) CHECK(s.head[i].first[0] != ':');
    for (const auto& [name, value] : s.head) {
      CAPTURE(name);
      CHECK(name == lower(name));
      for (const char* banned :
           {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"})
        CHECK(name != banned);
    }
    // §8.1.1: a content-length, when given, is what the DATA frames carry.
    if (!s.field("content-length").empty())
      CHECK(s.field("content-length") == std::to_string(s.body.size()));
    id += 2;
  }
  CHECK(c.streams[3].body == pattern(70000));
  expect_alive(c, id);
}

TEST_CASE("h2 conformance §8.1.1: 204, 304 and HEAD responses carry no content") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  h2::FieldList head{{":method", "HEAD"},
                     {":scheme", "http"},
                     {":authority", "app.test"},
                     {":path", "/bytes/5000"}};
  REQUIRE(c.headers(1, h2c_get("/status/204")));
  REQUIRE(c.headers(3, h2c_get("/status/304")));
  REQUIRE(c.headers(5, head));
  const std::pair<uint32_t, int> want[] = {{1, 204}, {3, 304}, {5, 200}};
  for (auto [id, status] : want) {
    CAPTURE(id);
    REQUIRE(c.wait_done(id));
    CHECK(c.streams[id].status == status);
    CHECK_FALSE(c.streams[id].reset);
    CHECK(c.streams[id].body.empty());
    for (size_t n : c.streams[id].data_frames) CHECK(n == 0);
  }
  CHECK(c.streams[5].field("content-length") == "5000");
  expect_alive(c, 7);
}

// No upgrade can have been asked for an HTTP/2 request (RFC 9113 §8.6; RFC 9110 §15.2.2: a
// server must not switch unasked): a backend's 101 ends the stream at once with 502.
TEST_CASE("h2 conformance §8.6: a backend's 101 is never sent to an HTTP/2 client") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/status/101")));
  REQUIRE(c.wait_done(1, 3000ms));
  CHECK(c.streams[1].informational.empty());
  CHECK(c.streams[1].status == 502);
  expect_alive(c, 3);
}

TEST_CASE("h2 conformance §8.1: an interim 100 before the final response (expect)") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  h2::FieldList f = post("/upload", "10");
  f.add("expect", "100-continue");
  REQUIRE(c.headers(1, f, false));
  REQUIRE(c.wait_for([&] { return !c.streams[1].informational.empty(); }, 3000ms));
  CHECK(c.streams[1].informational == std::vector<int>{100});
  REQUIRE(c.send(data_frame(1, pattern(10), true)));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == upload_answer(10));
  expect_alive(c, 3);
}

TEST_CASE("h2 conformance §8.1: bodiless exchanges the HTTP/1.1 side frames differently") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  // HEAD of a chunked resource: a head only, whatever framing the backend announces.
  h2::FieldList head{{":method", "HEAD"},
                     {":scheme", "http"},
                     {":authority", "app.test"},
                     {":path", "/chunked/1000"}};
  REQUIRE(c.headers(1, head));
  // A POST ended by its HEADERS: an empty body for the backend.
  REQUIRE(c.headers(3, post("/upload"), true));
  // A backend that closes without answering: 502, the connection goes on.
  REQUIRE(c.headers(5, h2c_get("/close")));
  for (uint32_t id : {1u, 3u, 5u}) {
    CAPTURE(id);
    REQUIRE(c.wait_done(id, 5000ms));
    CHECK_FALSE(c.streams[id].reset);
  }
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body.empty());
  CHECK(c.streams[3].status == 200);
  CHECK(c.streams[3].body == upload_answer(0));
  CHECK(c.streams[5].status == 502);
  expect_alive(c, 7);
}

// §8.1.1: a response whose DATA do not add up to its content-length is malformed; a backend
// that dies mid-body must end the stream with RST_STREAM, never with END_STREAM.
TEST_CASE("h2 conformance §8.1.1: a body cut by the backend is reset, not ended") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  constexpr size_t kSize = 50'000'000;
  std::string framing;
  SUBCASE("content-length") { framing = "/bytes/"; }
  SUBCASE("chunked") { framing = "/chunked/"; }
  REQUIRE(c.headers(1, h2c_get(framing + std::to_string(kSize))));
  REQUIRE(c.wait_for([&] { return c.streams[1].body.size() >= 1'000'000; }, 10000ms));
  r.origin.stop();
  REQUIRE(c.wait_done(1, 10000ms));
  CHECK(c.streams[1].status == 200);
  if (framing == "/bytes/") CHECK(c.streams[1].field("content-length") == std::to_string(kSize));
  CHECK_FALSE(c.streams[1].ended);
  CHECK(c.streams[1].reset == H2Error::InternalError);
  CHECK(c.streams[1].body.size() < kSize);
  CHECK(c.goaways.empty());
  check_server_frames(c);
}

TEST_CASE("h2 conformance §8.2.3: cookie crumbs reach the backend as one Cookie field") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  h2::FieldList f = h2c_get("/id");
  f.add("cookie", "a=1");
  f.add("cookie", "b=2");
  f.add("cookie", "c=3");
  REQUIRE(c.headers(1, f));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].field("x-seen-cookie") == "a=1; b=2; c=3");
}

TEST_CASE("h2 conformance §8.3.1: :authority becomes the backend's Host; Host alone is used") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/id")));
  REQUIRE(c.headers(
      3, {{":method", "GET"}, {":scheme", "http"}, {":path", "/id"}, {"host", "app.test"}}));
  for (uint32_t id : {1u, 3u}) {
    CAPTURE(id);
    REQUIRE(c.wait_done(id));
    CHECK(c.streams[id].status == 200);
    CHECK(c.streams[id].body == "o");
    CHECK(c.streams[id].field("x-seen-host") == "app.test");
  }
}

TEST_CASE("h2 conformance §8.3.1: OPTIONS with :path \"*\" is a valid request") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(
      1,
      {{":method", "OPTIONS"}, {":scheme", "http"}, {":authority", "app.test"}, {":path", "*"}}));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status >= 200);
  CHECK_FALSE(c.streams[1].reset);
  expect_alive(c, 3);
}

TEST_CASE("h2 conformance §8.1: a request announcing expect: 100-continue") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  h2::FieldList f = post("/upload", "100");
  f.add("expect", "100-continue");
  REQUIRE(c.headers(1, f, false));
  c.idle(100ms);  // an interim 100 may come (HEADERS without END_STREAM), or nothing
  CHECK_FALSE(c.streams[1].ended);
  CHECK_FALSE(c.streams[1].reset);
  REQUIRE(c.send(data_frame(1, pattern(100), true)));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == upload_answer(100));
  expect_alive(c, 3);
}

// §8.1: a server may answer before the request is complete; the stream is then half-closed
// (local) on its side, and the client may go on sending the body unless the server resets the
// stream with NO_ERROR.
TEST_CASE("h2 conformance §8.1: the rest of a body after an early response is accepted") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  // No frontend for this host: the proxy answers 404 at once, without waiting for the body.
  h2::FieldList f{
      {":method", "POST"}, {":scheme", "http"}, {":authority", "nowhere.test"}, {":path", "/"}};
  f.add("content-length", "100000");
  REQUIRE(c.headers(1, f, false));
  REQUIRE(c.send(data_frame(1, pattern(16384), false)));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 404);
  const std::string body = pattern(100000);
  for (size_t at = 16384; at < body.size(); at += 16384)
    REQUIRE(c.send(data_frame(1, body.substr(at, 16384), at + 16384 >= body.size())));
  c.idle(300ms);
  if (c.streams[1].reset) CHECK(c.streams[1].reset == H2Error::NoError);
  expect_alive(c, 3);
}

TEST_CASE("h2 conformance §8.3.1: :authority with a port, or in capitals, names the same host") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  const std::string with_port = "app.test:" + std::to_string(r.rig.port);
  REQUIRE(c.headers(1, h2c_get("/id", with_port)));
  REQUIRE(c.headers(3, h2c_get("/id", "APP.Test")));
  for (uint32_t id : {1u, 3u}) {
    CAPTURE(id);
    REQUIRE(c.wait_done(id));
    CHECK(c.streams[id].status == 200);
    CHECK(c.streams[id].body == "o");
  }
  CHECK(c.streams[1].field("x-seen-host") == with_port);
}

TEST_CASE("h2 conformance §8.5: a CONNECT request with :scheme or :path is malformed") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, {{":method", "CONNECT"},
                        {":scheme", "http"},
                        {":authority", "app.test:80"},
                        {":path", "/"}}));
  expect_stream_error(c, 1, H2Error::ProtocolError, 3);
}

// The response side cannot go over 16384 bytes through the proxy: a backend's response head
// must fit in one pool buffer (16 KiB, 502 above), and its HPACK block is smaller than that.
TEST_CASE("h2 conformance §4.3/§6.10: a large request block split over HEADERS+CONTINUATION") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  // A 6000-byte cookie in the path: the response repeats it (Set-Cookie, X-Seen-Path).
  const std::string value(6000, 'v');
  Bytes block = block_of(c.enc, h2c_get("/cookie/k=" + value));
  Bytes first(block.begin(), block.begin() + long(block.size() / 2));
  Bytes rest(block.begin() + long(block.size() / 2), block.end());
  REQUIRE(c.send(cat({headers_raw(1, first, flag::kEndStream), continuation(1, rest, true)})));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  const bool cookie_whole = c.streams[1].field("set-cookie") == "k=" + value + "; Path=/";
  CHECK(cookie_whole);
  bool contiguous = true;  // §4.3: nothing between a HEADERS without END_HEADERS and its end
  bool in_block = false;
  for (const auto& f : c.frames) {
    CHECK(f.h.length <= 16384u);
    const bool cont = f.type() == http2::FrameType::Continuation;
    if (in_block && !cont) contiguous = false;
    if (f.type() == http2::FrameType::Headers || cont) in_block = !f.h.has(flag::kEndHeaders);
  }
  CHECK(contiguous);
  expect_alive(c, 3);
}

TEST_CASE("h2 conformance §4.1: a request arriving one byte at a time") {
  Conf r;
  H2Client c(r.endpoint(), H2Client::NoPreface{});
  Bytes all =
      cat({client_magic(), settings_frame({}), headers_frame(c.enc, 1, post("/upload"), false),
           data_frame(1, pattern(100), true)});
  for (std::byte b : all) {
    REQUIRE(c.send(Bytes{b}));
    std::this_thread::sleep_for(1ms);
  }
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == upload_answer(100));
  expect_alive(c, 3);
}

TEST_CASE("h2 conformance §6.5.3: a smaller SETTINGS_MAX_FRAME_SIZE holds from its ACK on") {
  Conf r;
  H2Client c(r.endpoint(), {{setting(SettingId::MaxFrameSize), 1u << 20},
                            {setting(SettingId::InitialWindowSize), kMaxWindow}});
  c.handshake();
  REQUIRE(c.send(window_update(0, kMaxWindow - 65535)));
  REQUIRE(c.headers(1, h2c_get("/bytes/4000000")));
  REQUIRE(c.wait_for([&] { return c.streams[1].body.size() >= 200000; }, 10000ms));
  REQUIRE(c.send(settings_frame({{setting(SettingId::MaxFrameSize), 16384}})));
  REQUIRE(c.wait_done(1, 20000ms));
  CHECK(c.streams[1].body == pattern(4000000));
  uint32_t acks = 0;
  size_t after = 0;  // DATA frames after the ACK of the second SETTINGS
  for (const auto& f : c.frames) {
    if (f.type() == http2::FrameType::Settings && f.h.has(flag::kAck)) ++acks;
    if (acks >= 2 && f.type() == http2::FrameType::Data) {
      ++after;
      CHECK(f.h.length <= 16384u);
    }
  }
  CHECK(acks == 2);
  CHECK(after > 0);
}

TEST_CASE("h2 conformance §6.5.2: SETTINGS_HEADER_TABLE_SIZE lowered mid-connection") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  for (uint32_t id = 1; id <= 3; id += 2) {
    REQUIRE(c.headers(id, h2c_get("/cookie/a=b")));
    REQUIRE(c.wait_done(id));
  }
  // From the ACK on, the proxy's blocks must start with a size update to 0 (RFC 7541 §4.2),
  // or our decoder refuses them.
  c.decoder_table_size_on_ack(0);
  REQUIRE(c.send(settings_frame({{setting(SettingId::HeaderTableSize), 0}})));
  REQUIRE(c.wait_for([&] { return c.settings_acks == 2; }));
  for (uint32_t id = 5; id <= 9; id += 2) {
    REQUIRE(c.headers(id, h2c_get("/cookie/a=b")));
    REQUIRE(c.wait_done(id));
    CHECK(c.streams[id].status == 200);
    CHECK(c.streams[id].field("set-cookie") == "a=b; Path=/");
  }
}

TEST_CASE("h2 conformance RFC 9218 §7.1: PRIORITY_UPDATE frames") {
  Conf r;
  SUBCASE("for an idle stream, then opened: accepted") {
    H2Client c(r.endpoint());
    c.handshake();
    REQUIRE(c.send(raw_frame(kPriorityUpdate, 0, 0, cat({u32be(1), ascii("u=1, i")}))));
    REQUIRE(c.headers(1, h2c_get("/bytes/100")));
    REQUIRE(c.wait_done(1));
    CHECK(c.streams[1].status == 200);
    expect_alive(c, 3);
  }
  SUBCASE("on a stream other than 0: PROTOCOL_ERROR") {
    H2Client c(r.endpoint());
    c.handshake();
    REQUIRE(c.send(raw_frame(kPriorityUpdate, 0, 1, cat({u32be(1), ascii("u=1")}))));
    expect_connection_error(c, H2Error::ProtocolError);
  }
  SUBCASE("naming stream 0: PROTOCOL_ERROR") {
    H2Client c(r.endpoint());
    c.handshake();
    REQUIRE(c.send(raw_frame(kPriorityUpdate, 0, 0, cat({u32be(0), ascii("u=1")}))));
    expect_connection_error(c, H2Error::ProtocolError);
  }
}

// ---- RFC 7541 (HPACK) ----

namespace {

// Sends a request block whose HPACK is broken: the connection ends with COMPRESSION_ERROR.
void expect_compression_error(const Bytes& block) {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.send(headers_raw(1, block, flag::kEndStream | flag::kEndHeaders)));
  expect_connection_error(c, H2Error::CompressionError);
  CHECK(r.origin.requests() == 0);
}

}  // namespace

TEST_CASE("hpack conformance §2.3.3: an indexed field beyond both tables") {
  // 61 static entries, an empty dynamic table: 62 is the first invalid index.
  expect_compression_error(cat({plain_get_block(), hpack_int(0x80, 7, 62)}));
}

TEST_CASE("hpack conformance §2.3.3: a literal whose name index is beyond both tables") {
  expect_compression_error(cat({plain_get_block(), hpack_int(0x00, 4, 70), hpack_str("v")}));
}

TEST_CASE("hpack conformance §4.2: a dynamic table size update at the end of a block") {
  expect_compression_error(cat({plain_get_block(), hpack_int(0x20, 5, 0)}));
}

TEST_CASE("hpack conformance §4.2: a dynamic table size update between two fields") {
  expect_compression_error(cat({bytes({0x82, 0x86}), hpack_int(0x20, 5, 100),
                                lit_indexed_name(4, "/id"), lit_indexed_name(1, "app.test")}));
}

TEST_CASE("hpack conformance §4.2/§6.3: size updates at the start of a block are accepted") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  // Two updates (the smallest first, as §4.2 allows), then an entry added at the new size.
  Bytes block = cat({hpack_int(0x20, 5, 0), hpack_int(0x20, 5, 200), plain_get_block(),
                     bytes({0x40}), hpack_str("x-indexed"), hpack_str("yes")});
  REQUIRE(c.send(headers_raw(1, block, flag::kEndStream | flag::kEndHeaders)));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  // The entry is at index 62 in the next block.
  REQUIRE(c.send(headers_raw(3, cat({plain_get_block(), hpack_int(0x80, 7, 62)}),
                             flag::kEndStream | flag::kEndHeaders)));
  REQUIRE(c.wait_done(3));
  CHECK(c.streams[3].status == 200);
  CHECK(c.goaways.empty());
}

TEST_CASE("hpack conformance §5.2: Huffman padding longer than 7 bits") {
  // 'a' is 00011 (5 bits): 0x1f pads it with three 1s; a whole extra 0xff byte is too much.
  expect_compression_error(
      cat({plain_get_block(), bytes({0x00, 0x03}), ascii("x-h"), bytes({0x82, 0x1f, 0xff})}));
}

TEST_CASE("hpack conformance §5.2: Huffman padding that is not a prefix of EOS") {
  expect_compression_error(
      cat({plain_get_block(), bytes({0x00, 0x03}), ascii("x-h"), bytes({0x81, 0x18})}));
}

TEST_CASE("hpack conformance §5.2: a Huffman string containing EOS") {
  expect_compression_error(cat({plain_get_block(), bytes({0x00, 0x03}), ascii("x-h"),
                                bytes({0x84, 0xff, 0xff, 0xff, 0xff})}));
}

TEST_CASE("hpack conformance §5.1: an integer past the decoder's limits") {
  // An index of about 2^42.
  expect_compression_error(
      cat({plain_get_block(), bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})}));
}

TEST_CASE("hpack conformance §5.2: a string length past the end of the block") {
  expect_compression_error(cat({plain_get_block(), bytes({0x00}), hpack_int(0x00, 7, 1u << 30)}));
}

TEST_CASE("hpack conformance §4.4: an entry larger than the table empties it") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  Bytes first = cat({plain_get_block("/id"), bytes({0x40}), hpack_str("x-small"), hpack_str("1"),
                     bytes({0x40}), hpack_str("x-huge"), hpack_str(std::string(5000, 'h'))});
  REQUIRE(c.send(headers_raw(1, first, flag::kEndStream | flag::kEndHeaders)));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  // Neither entry is left: index 62 is beyond both tables.
  REQUIRE(c.send(headers_raw(3, cat({plain_get_block(), hpack_int(0x80, 7, 62)}),
                             flag::kEndStream | flag::kEndHeaders)));
  expect_connection_error(c, H2Error::CompressionError);
}

TEST_CASE("hpack conformance §6.1: an indexed field with index 0") {
  expect_compression_error(cat({plain_get_block(), bytes({0x80})}));
}

TEST_CASE("hpack conformance §6.3: a size update above SETTINGS_HEADER_TABLE_SIZE") {
  // Our SETTINGS_HEADER_TABLE_SIZE is the default, 4096.
  expect_compression_error(cat({hpack_int(0x20, 5, 4097), plain_get_block()}));
}

TEST_CASE("hpack conformance: every field representation, Huffman strings, table eviction") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  // Huffman "a" = 0x1f, "aaa" = 0x18c7; new-name literals of each kind; a static entry with an
  // empty value; an indexed reference to the entry the first block adds; a 4050-byte entry that
  // evicts the others in the second block.
  Bytes first = cat({bytes({0x82, 0x86}), lit_indexed_name(4, "/id"), bytes({0x41}),
                     hpack_str("app.test"),                              // :authority, indexed
                     bytes({0x40}), hpack_str("x-inc"), hpack_str("1"),  // new name, indexed
                     bytes({0x10}), hpack_str("x-never"), hpack_str("2"),
                     bytes({0x00, 0x82, 0x18, 0xc7, 0x81, 0x1f}),  // "aaa": "a"
                     bytes({0xba})});  // static entry 58, user-agent with an empty value
  REQUIRE(c.send(headers_raw(1, first, flag::kEndStream | flag::kEndHeaders)));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].field("x-seen-host") == "app.test");
  // Dynamic table now: 62 x-inc: 1, 63 :authority: app.test.
  Bytes second = cat({bytes({0x82, 0x86}), lit_indexed_name(4, "/id"), hpack_int(0x80, 7, 63),
                      hpack_int(0x80, 7, 62), bytes({0x40}), hpack_str("x-big"),
                      hpack_str(std::string(4050, 'b'))});
  REQUIRE(c.send(headers_raw(3, second, flag::kEndStream | flag::kEndHeaders)));
  REQUIRE(c.wait_done(3));
  CHECK(c.streams[3].status == 200);
  CHECK(c.streams[3].field("x-seen-host") == "app.test");
  // The big entry evicted both: only index 62 (x-big) is left; 63 is invalid now.
  REQUIRE(c.send(headers_raw(5, cat({plain_get_block(), hpack_int(0x80, 7, 63)}),
                             flag::kEndStream | flag::kEndHeaders)));
  expect_connection_error(c, H2Error::CompressionError);
}

// ---- Reconfiguration under a live connection ----

TEST_CASE("h2 conformance: a cluster's backend replaced while a connection is open") {
  Conf r;
  HttpOrigin p("p");
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/id")));
  REQUIRE(c.wait_done(1));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == "o");
  Diff d;
  d(config::RemoveBackend{"c", "b0"});
  d(config::AddBackend{backend("c", "b1", p.address())});
  r.rig.apply(d);
  REQUIRE(c.headers(3, h2c_get("/id")));
  REQUIRE(c.wait_done(3));
  CHECK(c.streams[3].status == 200);
  CHECK(c.streams[3].body == "p");
  CHECK(c.goaways.empty());
  CHECK(r.origin.requests() == 1);
  CHECK(p.requests() == 1);
}

TEST_CASE("h2 conformance: a backend retired while a stream is in flight on it") {
  Conf r;
  HttpOrigin p("p");
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/slow/500")));
  REQUIRE(eventually([&] { return r.origin.in_flight() == 1; }, 3000ms));
  Diff d;
  d(config::RemoveBackend{"c", "b0"});
  d(config::AddBackend{backend("c", "b1", p.address())});
  r.rig.apply(d);
  REQUIRE(c.headers(3, h2c_get("/id")));
  REQUIRE(c.wait_done(3));
  CHECK(c.streams[3].body == "p");
  REQUIRE(c.wait_done(1));  // the retired backend finishes what it had
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == "o");
  CHECK(c.goaways.empty());
  CHECK(eventually([&] { return r.origin.active_connections() == 0; }, 3000ms));
}

TEST_CASE("h2 conformance: the listener removed under a connection drains it (§6.8)") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  REQUIRE(c.headers(1, h2c_get("/slow/500")));
  REQUIRE(eventually([&] { return r.origin.in_flight() == 1; }, 3000ms));
  Diff d;
  d(config::RemoveHttpFrontend{"f-c"});
  if (over_tls()) d(config::RemoveCertificate{"app"});
  d(config::RemoveListener{r.rig.listener});
  r.rig.apply(d);
  // GOAWAY(2^31-1), a PING (answered by the client), then GOAWAY naming stream 1.
  REQUIRE(c.wait_for([&] { return c.goaways.size() >= 2; }));
  CHECK(c.goaways[0].last == kMaxWindow);
  CHECK(c.goaways[0].code == H2Error::NoError);
  CHECK(c.goaways[1].last == 1);
  CHECK(c.goaways[1].code == H2Error::NoError);
  CHECK(c.wait_closed(5000ms));
  CHECK(c.streams[1].status == 200);
  CHECK(c.streams[1].body == "o");
}

// Finished streams' objects are reused by the session: a long mix of outcomes on one
// connection must leave nothing of one stream in the next.
TEST_CASE("h2 conformance: 300 streams of mixed outcomes on one connection") {
  Conf r;
  H2Client c(r.endpoint());
  c.handshake();
  const h2::FieldList malformed{{":method", "GET"}, {":scheme", "http"}, {":path", ""}};
  uint32_t id = 1;
  for (int round = 0; round < 60; ++round) {
    CAPTURE(round);
    const size_t n = 1 + size_t(round) * 977;
    // 1: a GET; 2: an upload; 3: a malformed request; 4: a HEAD; 5: a GET cancelled at once.
    h2::FieldList head{{":method", "HEAD"},
                       {":scheme", "http"},
                       {":authority", "app.test"},
                       {":path", "/bytes/" + std::to_string(n)}};
    Bytes b = cat({headers_frame(c.enc, id, h2c_get("/bytes/" + std::to_string(n)), true),
                   headers_frame(c.enc, id + 2, post("/upload"), false),
                   body_frames(id + 2, pattern(n)), headers_frame(c.enc, id + 4, malformed, true),
                   headers_frame(c.enc, id + 6, head, true),
                   headers_frame(c.enc, id + 8, h2c_get("/bytes/100000"), true),
                   rst(id + 8, H2Error::Cancel)});
    REQUIRE(c.send(b));
    for (uint32_t k = 0; k < 4; ++k) REQUIRE(c.wait_done(id + 2 * k));
    CHECK(c.streams[id].body == pattern(n));
    CHECK(c.streams[id + 2].body == upload_answer(n));
    CHECK(c.streams[id + 4].reset == H2Error::ProtocolError);
    CHECK(c.streams[id + 6].status == 200);
    CHECK(c.streams[id + 6].body.empty());
    CHECK(c.streams[id + 6].field("content-length") == std::to_string(n));
    id += 10;
  }
  expect_alive(c, id);
  CHECK(r.rig.proxy.stats().h2_flood_trips == 0);
}
