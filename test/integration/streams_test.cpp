// Bodies and connections through the proxy: chunked both ways, Expect: 100-continue, HEAD,
// pipelining on one raw socket, keep-alive reuse of backend connections, WebSocket echo.
// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside Beast's parser
// (a boost::optional in basic_parser::do_field); the suppression covers Boost's headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#pragma GCC diagnostic pop
#include <cstdio>
#include <thread>

#include "rig.hpp"

using namespace kakehi::test;
using namespace kakehi;

namespace {

std::string url(uint16_t port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

std::string upload_answer(uint64_t n) { return std::to_string(n) + " " + hex64(pattern_fnv(n)); }

struct StreamRig {
  Rig rig;
  HttpOrigin origin{"o"};
  StreamRig() {
    rig.add_http_listener();
    rig.add_cluster("c", {&origin});
  }
  uint16_t port() const { return rig.port; }
};

}  // namespace

TEST_CASE("streams: downloads with Content-Length and chunked keep their bytes") {
  StreamRig s;
  for (uint64_t n : {0ull, 1ull, 16383ull, 16384ull, 16385ull, 1000000ull, 8ull << 20}) {
    CAPTURE(n);
    for (const char* kind : {"/bytes/", "/chunked/"}) {
      CAPTURE(kind);
      auto d = curl_download(url(s.port(), kind + std::to_string(n)), {"-H", "Host: app.test"}, 30);
      CHECK(d.curl_exit == 0);
      CHECK(d.bytes == n);
      CHECK(d.fnv == pattern_fnv(n));
    }
  }
  // The chunked framing reaches an HTTP/1.1 client as chunked (HTTP/2 has DATA frames).
  auto r = curl_get(s.port(), "/chunked/70000", "app.test");
  if (!client_h2()) CHECK(r.header("transfer-encoding") == "chunked");
  CHECK(r.body.size() == 70000);
}

TEST_CASE("streams: uploads with Content-Length and chunked reach the origin intact") {
  StreamRig s;
  for (uint64_t n : {1ull, 16385ull, 1000000ull, 8ull << 20}) {
    CAPTURE(n);
    for (bool chunked : {false, true}) {
      CAPTURE(chunked);
      auto r = curl_upload(url(s.port(), "/upload"), {"-H", "Host: app.test"}, n, chunked, 30);
      CHECK(r.exit_code == 0);
      CHECK(r.out == upload_answer(n));
    }
  }
  // Expect: 100-continue is answered and the body follows.
  auto e = curl_upload(url(s.port(), "/upload"),
                       {"-H", "Host: app.test", "-H", "Expect: 100-continue"}, 200000, false, 30);
  CHECK(e.exit_code == 0);
  CHECK(e.out == upload_answer(200000));
}

// A backend that answers before reading the body and closes (the origin's /reject/413): the
// proxy's next body write fails, and the client still gets the backend's answer, not a 502.
// With KAKEHI_TEST_BACKEND=h2 the backend is the origin's nginx front, which cannot relay that
// answer when its own body write to the origin fails first (`writev() failed (104)`): it
// resets the stream, and the proxy answers 502 (failed once in CI; with curl straight to such
// an nginx, 293 of 300 uploads of 300000 bytes got no answer). There the early answer is
// nginx's own 413 for a body over /limited/'s 1 KiB.
TEST_CASE("streams: an answer the backend sends before reading the body is relayed") {
  StreamRig s;
  const char* path = backend_h2() ? "/limited/upload" : "/reject/413";
  for (uint64_t n : {300000ull, 8ull << 20}) {
    CAPTURE(n);
    for (bool chunked : {false, true}) {
      CAPTURE(chunked);
      auto r = curl_upload(url(s.port(), path),
                           {"-H", "Host: app.test", "-H", "Expect:", "-w", "\n%{http_code}"}, n,
                           chunked, 30);
      CAPTURE(r.err);
      CHECK(r.out.ends_with("\n413"));
    }
  }
  // The proxy goes on (the backend connection that was cut is not pooled).
  auto ok = curl_get(s.port(), "/id", "app.test");
  CHECK(ok.status == 200);
  CHECK(ok.body == "o");
}

TEST_CASE("streams: chunked request with trailers and HEAD on a raw socket") {
  StreamRig s;
  RawClient c(s.port());
  // nginx 1.22 (the h2 front with KAKEHI_TEST_BACKEND=h2) answers a request's trailers (a
  // second HEADERS frame) with a connection error, so that variant sends none.
  const std::string trailer = backend_h2() ? "" : "X-Trailer: t\r\n";
  REQUIRE(
      c.send_all("POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n" +
                 trailer + "\r\n"));
  auto r = c.read_response();
  Fnv64 f;
  f.update("hello world", 11);
  CHECK(r.status == 200);
  CHECK(r.body == "11 " + hex64(f.h));
  REQUIRE(c.send_all("HEAD /bytes/12345 HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  auto h = c.read_response(5s, true);
  CHECK(h.status == 200);
  CHECK(h.body.empty());
  auto cl = h.headers.find("content-length");
  CHECK((cl != h.headers.end() && cl->second == "12345"));
  // The connection is still in sync after the HEAD.
  REQUIRE(c.send_all("GET /id HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  CHECK(c.read_response().body == "o");
}

TEST_CASE("streams: pipelined requests are answered in order") {
  StreamRig s;
  RawClient c(s.port());
  std::string batch =
      "GET /status/201 HTTP/1.1\r\nHost: app.test\r\n\r\n"
      "POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello"
      "GET /bytes/100000 HTTP/1.1\r\nHost: app.test\r\n\r\n"
      "GET /nowhere HTTP/1.1\r\nHost: nowhere.test\r\n\r\n"
      "GET /chunked/5000 HTTP/1.1\r\nHost: app.test\r\n\r\n"
      "GET /status/204 HTTP/1.1\r\nHost: app.test\r\n\r\n"
      "GET /slow/50 HTTP/1.1\r\nHost: app.test\r\n\r\n"
      "GET /id HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n";
  REQUIRE(c.send_all(batch));
  auto r1 = c.read_response();
  CHECK(r1.status == 201);
  auto r2 = c.read_response();
  Fnv64 f;
  f.update("hello", 5);
  CHECK(r2.body == "5 " + hex64(f.h));
  auto r3 = c.read_response();
  CHECK(r3.body.size() == 100000);
  Fnv64 f3;
  f3.update(r3.body.data(), r3.body.size());
  CHECK(f3.h == pattern_fnv(100000));
  CHECK(c.read_response().status == 404);
  auto r5 = c.read_response();
  CHECK(r5.body.size() == 5000);
  CHECK(c.read_response().status == 204);
  CHECK(c.read_response().body == "o");
  auto last = c.read_response();
  CHECK(last.status == 200);
  CHECK_FALSE(last.keep_alive);
  CHECK(c.recv_until_close(3s).empty());
  CHECK(c.eof());
  CHECK(s.origin.requests() == 7);
}

TEST_CASE("streams: backend connections are kept alive and reused") {
  StreamRig s;
  for (int i = 0; i < 20; ++i) CHECK(curl_get(s.port(), "/id", "app.test").body == "o");
  CHECK(s.origin.requests() == 20);
  // An h2 backend is nginx, which opens an HTTP/1.1 connection to the origin per request.
  if (!backend_h2()) CHECK(s.origin.connections() < 5);
  auto st = s.rig.proxy.stats();
  CHECK(st.backend_reuses >= 15);
  CHECK(st.accepted == 20);
}

TEST_CASE("streams: websocket echo through the proxy") {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace websocket = beast::websocket;
  // An upgrade needs an HTTP/1.1 backend connection; nginx 1.22 (the h2 front with
  // KAKEHI_TEST_BACKEND=h2) has no RFC 8441 extended CONNECT to carry it over HTTP/2.
  if (backend_h2()) return;
  StreamRig s;
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  sock.connect({asio::ip::make_address("127.0.0.1"), s.port()});
  // A watchdog bounds the blocking client: it shuts the socket down at the deadline.
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    auto end = Clock::now() + 20s;
    while (!done.load() && Clock::now() < end) std::this_thread::sleep_for(10ms);
    if (!done.load()) ::shutdown(sock.native_handle(), SHUT_RDWR);
  });
  try {
    websocket::stream<asio::ip::tcp::socket&> ws(sock);
    websocket::response_type res;
    ws.handshake(res, "app.test", "/ws");
    CHECK(res[beast::http::field::upgrade] == "websocket");
    CHECK(res["X-Origin"] == "o");
    beast::flat_buffer b;
    ws.text(true);
    for (int i = 0; i < 50; ++i) {
      std::string msg = "message " + std::to_string(i);
      ws.write(asio::buffer(msg));
      ws.read(b);
      CHECK(ws.got_text());
      CHECK(beast::buffers_to_string(b.data()) == msg);
      b.consume(b.size());
    }
    std::string big(1 << 20, '\0');
    fill_pattern(3, big);
    ws.binary(true);
    ws.write(asio::buffer(big));
    ws.read(b);
    CHECK_FALSE(ws.got_text());
    CHECK(beast::buffers_to_string(b.data()) == big);
    ws.close(websocket::close_code::normal);
  } catch (const std::exception& e) {
    FAIL_CHECK("websocket: " << e.what());
  }
  done = true;
  watchdog.join();
  CHECK(s.rig.proxy.stats().upgrades == 1);
}

TEST_CASE("streams: HTTP/1.0 clients get their answer and the close") {
  StreamRig s;
  auto r = curl_get(s.port(), "/bytes/3000", "app.test", {"--http1.0"});
  CHECK(r.status == 200);
  CHECK(r.body.size() == 3000);
  RawClient c(s.port());
  REQUIRE(c.send_all("GET /id HTTP/1.0\r\nHost: app.test\r\n\r\n"));
  auto res = c.read_response();
  CHECK(res.status == 200);
  CHECK(res.body == "o");
  CHECK_FALSE(res.keep_alive);
  c.recv_until_close(3s);
  CHECK(c.eof());
  // HTTP/1.0 with keep-alive asked: the connection may stay open for a second request.
  RawClient k(s.port());
  REQUIRE(k.send_all("GET /id HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\n\r\n"));
  auto first = k.read_response();
  CHECK(first.body == "o");
  if (first.keep_alive) {
    REQUIRE(k.send_all("GET /id HTTP/1.0\r\nHost: app.test\r\n\r\n"));
    CHECK(k.read_response().body == "o");
  }
}

TEST_CASE("streams: a refused request's body is never parsed as the next request") {
  StreamRig s;
  // The body of a request answered 404 looks like a request of its own: it must be skipped
  // (or the connection closed), never answered.
  const std::string inner = "GET /status/299 HTTP/1.1\r\nHost: app.test\r\n\r\n";
  RawClient c(s.port());
  REQUIRE(c.send_all(
      "POST /x HTTP/1.1\r\nHost: nowhere.test\r\nContent-Length: " + std::to_string(inner.size()) +
      "\r\n\r\n" + inner + "GET /id HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  CHECK(c.read_response().status == 404);
  auto next = c.read_response(3s);
  CHECK(next.status != 299);
  if (next.status != 0) {
    CHECK(next.status == 200);
    CHECK(next.body == "o");
  }
  // Same with a chunked body.
  RawClient k(s.port());
  char size[16];
  std::snprintf(size, sizeof size, "%zx", inner.size());
  REQUIRE(k.send_all(std::string("POST /x HTTP/1.1\r\nHost: nowhere.test\r\n") +
                     "Transfer-Encoding: chunked\r\n\r\n" + size + "\r\n" + inner +
                     "\r\n0\r\n\r\nGET /id HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  CHECK(k.read_response().status == 404);
  auto next2 = k.read_response(3s);
  CHECK(next2.status != 299);
  if (next2.status != 0) CHECK(next2.body == "o");
  CHECK(s.origin.requests() <= 2);
}

TEST_CASE("streams: the origin's own Set-Cookie survives next to the sticky cookie") {
  Rig rig;
  rig.add_http_listener();
  HttpOrigin a("a");
  Diff d;
  auto c = cluster("st");
  c.sticky_session = true;
  d(config::AddCluster{c});
  d(config::AddBackend{backend("st", "ba", a)});
  d(config::AddHttpFrontend{frontend("f", rig.listener, "st", "app.test")});
  rig.apply(d);
  auto r = curl_get(rig.port, "/cookie/SID=42", "app.test");
  CHECK(r.status == 200);
  CHECK(r.header_count("set-cookie") == 2);
  bool origin_cookie = false, sticky_cookie = false;
  for (auto [it, end] = r.headers.equal_range("set-cookie"); it != end; ++it) {
    origin_cookie = origin_cookie || it->second == "SID=42; Path=/";
    sticky_cookie = sticky_cookie || it->second.rfind("KAKEHI_STICKY=ba", 0) == 0;
  }
  CHECK(origin_cookie);
  CHECK(sticky_cookie);
}
