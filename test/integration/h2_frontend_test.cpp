// HTTP/2 frontends with real clients: curl (prior knowledge, many streams multiplexed with
// --parallel, uploads), nghttp and h2load against an HTTP listener that serves HTTP/1.1 and h2c
// on the same port, forwarding to an HTTP/1.1 origin. Raw-frame abuse cases are in
// h2_abuse_test.cpp; the curl-based suites also run with HTTP/2 clients (KAKEHI_TEST_CLIENT=h2).
#include "rig.hpp"

using namespace kakehi::test;
using namespace kakehi;

namespace {

struct H2Rig {
  HttpOrigin origin{"o"};
  Rig rig;
  explicit H2Rig(config::Listener l = http_listener("127.0.0.1:1")) {
    rig.add_listener(l);
    rig.add_cluster("c", {&origin});
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(rig.port) + path;
  }
};

const std::vector<std::string> kH2 = {"--http2-prior-knowledge", "-H", "Host: app.test"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string first(const HttpResponse& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string{} : it->second;
}

}  // namespace

TEST_CASE("h2c: prior knowledge beside HTTP/1.1 on one port; fields, HEAD, answers") {
  H2Rig h;
  auto r = curl(with(kH2, {"-w", "\n%{http_version}", h.url("/id")}));
  REQUIRE_MESSAGE(r.status == 200, r.curl_err);
  CHECK(r.body == "o\n2");  // the origin's name, then curl's report: HTTP/2
  CHECK(first(r, "x-seen-host") == "app.test");
  CHECK(first(r, "x-seen-forwarded-proto") == "http");
  CHECK(first(r, "x-seen-forwarded-for") == "127.0.0.1");
  // The same port still speaks HTTP/1.1.
  auto h1 = curl({"--http1.1", "-H", "Host: app.test", "-w", "\n%{http_version}", h.url("/id")});
  CHECK(h1.status == 200);
  CHECK(h1.body == "o\n1.1");

  auto head = curl(with(kH2, {"-I", h.url("/bytes/1000")}));
  CHECK(head.status == 200);
  CHECK(first(head, "content-length") == "1000");
  CHECK(head.body.empty());

  auto none = curl({"--http2-prior-knowledge", "-H", "Host: nobody.test", h.url("/id")});
  CHECK(none.status == 404);
  auto st = curl(with(kH2, {h.url("/status/204")}));
  CHECK(st.status == 204);
  auto ck = curl(with(kH2, {"-H", "Cookie: a=1", "-H", "Cookie: b=2", h.url("/id")}));
  CHECK(ck.status == 200);
  CHECK(first(ck, "x-seen-cookie") == "a=1; b=2");  // RFC 9113 §8.2.3: joined for HTTP/1.1
  const proxy::ProxyStats s = h.rig.proxy.stats();
  CHECK(s.h2_connections >= 5);
  CHECK(s.h2_streams >= 5);
}

TEST_CASE("h2c: 64 streams multiplexed on one connection") {
  H2Rig h;
  // nghttp sends every URI at once on one connection and acknowledges every DATA frame with
  // WINDOW_UPDATEs on 64 KiB windows (not a flood). Its -s table has one line per stream.
  // (Bodies are checked byte for byte in h2_abuse_test's raw client and the curl tests.)
  constexpr int kStreams = 64;
  std::vector<std::string> argv = {"nghttp", "-ns", "-H", ":authority: app.test"};
  for (int i = 0; i < kStreams; ++i) {
    const uint64_t size = 1000 + uint64_t(i) * 37'000;  // up to ~2.3 MB
    argv.push_back(h.url((i % 2 ? "/chunked/" : "/bytes/") + std::to_string(size)));
  }
  ProcResult p = run(argv, 60s);
  REQUIRE_MESSAGE(p.exit_code == 0, p.err);
  int ok = 0;
  for (size_t at = p.out.find(" 200 "); at != std::string::npos; at = p.out.find(" 200 ", at + 1))
    ++ok;
  CHECK_MESSAGE(ok == kStreams, p.out);
  const proxy::ProxyStats s = h.rig.proxy.stats();
  CHECK(s.h2_connections == 1);
  CHECK(s.h2_streams == kStreams);
  CHECK(s.h2_flood_trips == 0);
}

TEST_CASE("h2c: uploads (known and unknown length) reach the origin intact") {
  H2Rig h;
  for (bool chunked : {false, true}) {
    constexpr uint64_t kSize = 5'000'000;
    ProcResult p =
        curl_upload(h.url("/upload"), with(kH2, {"--http2-prior-knowledge"}), kSize, chunked, 60);
    CAPTURE(chunked);
    REQUIRE_MESSAGE(p.exit_code == 0, p.err);
    CHECK(p.out == std::to_string(kSize) + " " + hex64(pattern_fnv(kSize)));
  }
}

TEST_CASE("h2c: nghttp and h2load (100 streams per connection)") {
  H2Rig h;
  ProcResult n = run({"nghttp", "-ns", "-H", ":authority: app.test", h.url("/bytes/100000"),
                      h.url("/id"), h.url("/status/404")},
                     20s);
  CHECK_MESSAGE(n.exit_code == 0, n.err);
  ProcResult l = run({"h2load", "-n", "4000", "-c", "4", "-m", "100", "-H", ":authority: app.test",
                      h.url("/bytes/2000")},
                     60s);
  REQUIRE_MESSAGE(l.exit_code == 0, l.err);
  CHECK_MESSAGE(l.out.find("4000 succeeded, 0 failed, 0 errored, 0 timeout") != std::string::npos,
                l.out);
  CHECK(l.out.find("status codes: 4000 2xx") != std::string::npos);
}

TEST_CASE("h2c: a preface received byte by byte; HTTP/1.1 requests starting like it") {
  H2Rig h;
  {  // "P" then "OST ...": HTTP/1.1 once the bytes leave the preface.
    RawClient c(h.rig.port);
    REQUIRE(c.send_all("P"));
    std::this_thread::sleep_for(50ms);
    REQUIRE(c.send_all("OST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: 0\r\n\r\n"));
    auto r = c.read_response();
    CHECK(r.status == 200);
  }
  {  // The preface in pieces: answered with the server's SETTINGS (a frame of type 4).
    RawClient c(h.rig.port);
    const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    for (size_t i = 0; i < preface.size(); i += 5) {
      REQUIRE(c.send_all(preface.substr(i, 5)));
      std::this_thread::sleep_for(10ms);
    }
    REQUIRE(c.send_all(std::string("\0\0\0\x04\0\0\0\0\0", 9)));  // empty SETTINGS
    std::string got = c.recv_some(3000ms);
    REQUIRE(got.size() >= 9);
    CHECK(static_cast<uint8_t>(got[3]) == 0x4);
  }
  {  // HTTP/2 off: the preface is an HTTP/1.1 request line with version 2.0, refused.
    config::Listener l = http_listener("127.0.0.1:1");
    l.http2.enabled = false;
    H2Rig off(l);
    auto r = curl({"--http2-prior-knowledge", "-H", "Host: app.test", off.url("/id")});
    CHECK(r.status != 200);
    CHECK(off.rig.proxy.stats().h2_connections == 0);
  }
}
