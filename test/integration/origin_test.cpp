// The test origins and the harness checked directly (no proxy): if these fail, a proxy test
// failure says nothing about the proxy.
#include <doctest/doctest.h>

// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside Beast's parser
// (a boost::optional in basic_parser::do_field); the suppression covers Boost's headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#pragma GCC diagnostic pop
#include <thread>

#include "harness.hpp"
#include "support/origin.hpp"

using namespace kakehi::test;

TEST_CASE("origin: /id echoes its name and the seen request fields") {
  HttpOrigin o("alpha");
  auto r = curl_get(o.port(), "/id?x=1", "example.com", {"-H", "X-Forwarded-For: 10.0.0.1"});
  CHECK(r.status == 200);
  CHECK(r.body == "alpha");
  CHECK(r.header("x-origin") == "alpha");
  CHECK(r.header("x-seen-host") == "example.com");
  CHECK(r.header("x-seen-path") == "/id?x=1");
  CHECK(r.header("x-seen-forwarded-for") == "10.0.0.1");
  CHECK(o.requests() == 1);
  CHECK(o.connections() == 1);
}

TEST_CASE("origin: bytes, chunked and upload checksums agree with the pattern") {
  HttpOrigin o("o");
  for (uint64_t n : {0ull, 1ull, 65535ull, 1000000ull}) {
    auto r = curl_get(o.port(), "/bytes/" + std::to_string(n));
    REQUIRE(r.status == 200);
    CHECK(r.header("content-length") == std::to_string(n));
    Fnv64 f;
    f.update(r.body.data(), r.body.size());
    CHECK(r.body.size() == n);
    CHECK(f.h == pattern_fnv(n));
    auto c = curl_get(o.port(), "/chunked/" + std::to_string(n));
    REQUIRE(c.status == 200);
    CHECK(c.header("transfer-encoding") == "chunked");
    CHECK(c.body == r.body);
  }
  std::string up(300000, '\0');
  fill_pattern(0, up);
  auto u =
      curl({"--data-binary", "@-", "http://127.0.0.1:" + std::to_string(o.port()) + "/upload"});
  // curl reads stdin from /dev/null in curl(): an empty body.
  CHECK(u.body == "0 " + hex64(Fnv64{}.h));
  ProcResult p = run({"curl", "-sS", "--max-time", "10", "--data-binary", "@-",
                      "http://127.0.0.1:" + std::to_string(o.port()) + "/upload"},
                     15s, up);
  CHECK(p.exit_code == 0);
  CHECK(p.out == std::to_string(up.size()) + " " + hex64(pattern_fnv(up.size())));
}

TEST_CASE("origin: keep-alive, status, cookie, close and pipelining on a raw socket") {
  HttpOrigin o("o");
  RawClient c(o.port());
  REQUIRE(c.connected());
  REQUIRE(
      c.send_all("GET /status/201 HTTP/1.1\r\nHost: a\r\n\r\n"
                 "GET /cookie/SID=42 HTTP/1.1\r\nHost: a\r\n\r\n"
                 "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                 "HEAD /bytes/10 HTTP/1.1\r\nHost: a\r\n\r\n"
                 "GET /close HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r1 = c.read_response();
  CHECK(r1.status == 201);
  CHECK(r1.body == "status 201");
  auto r2 = c.read_response();
  CHECK(r2.status == 200);
  CHECK(r2.headers.find("set-cookie")->second == "SID=42; Path=/");
  auto r3 = c.read_response();
  Fnv64 f;
  f.update("abc", 3);
  CHECK(r3.body == "3 " + hex64(f.h));
  auto r4 = c.read_response(10s, true);
  CHECK(r4.status == 200);
  CHECK(r4.body.empty());
  CHECK(c.recv_until_close(5s).empty());
  CHECK(c.eof());
  CHECK(o.connections() == 1);
  CHECK(o.requests() == 5);
}

TEST_CASE("origin: slow answers after the delay; stop ends a slow request") {
  HttpOrigin o("o");
  auto t0 = Clock::now();
  auto r = curl_get(o.port(), "/slow/300");
  CHECK(r.status == 200);
  CHECK(Clock::now() - t0 >= 300ms);
  RawClient c(o.port());
  REQUIRE(c.send_all("GET /slow/60000 HTTP/1.1\r\nHost: a\r\n\r\n"));
  for (int i = 0; i < 200 && o.in_flight() == 0; ++i) std::this_thread::sleep_for(5ms);
  CHECK(o.in_flight() == 1);
  auto t1 = Clock::now();
  o.stop();
  CHECK(Clock::now() - t1 < 2s);
  CHECK(c.recv_until_close(2s).empty());
  CHECK(connect_refused(o.port()));
}

TEST_CASE("origin: websocket echo") {
  namespace asio = boost::asio;
  namespace websocket = boost::beast::websocket;
  HttpOrigin o("o");
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), o.port()});
  websocket::stream<asio::ip::tcp::socket&> ws(s);
  ws.handshake("localhost", "/ws");
  ws.text(true);
  ws.write(asio::buffer(std::string("hello")));
  boost::beast::flat_buffer b;
  ws.read(b);
  CHECK(boost::beast::buffers_to_string(b.data()) == "hello");
  ws.close(websocket::close_code::normal);
}

TEST_CASE("origin: tcp echo with half-close") {
  TcpEchoOrigin e;
  RawClient c(e.port());
  REQUIRE(c.connected());
  std::string data(200000, '\0');
  fill_pattern(7, data);
  REQUIRE(c.send_all(data));
  c.shutdown_write();
  std::string back = c.recv_until_close(5s);
  CHECK(back.size() == data.size());
  CHECK(back == data);
  for (int i = 0; i < 200 && e.half_closes() == 0; ++i) std::this_thread::sleep_for(5ms);
  CHECK(e.half_closes() == 1);
}

TEST_CASE("harness: free ports, refused connects, process timeouts") {
  uint16_t p = free_port();
  CHECK(p != 0);
  CHECK(connect_refused(p));
  auto t0 = Clock::now();
  ProcResult r = run({"sleep", "30"}, 300ms);
  CHECK(r.timed_out);
  CHECK(Clock::now() - t0 < 5s);
  ProcResult ok = run({"sh", "-c", "cat; echo err >&2; exit 3"}, 5s, "in");
  CHECK(ok.exit_code == 3);
  CHECK(ok.out == "in");
  CHECK(ok.err == "err\n");
}
