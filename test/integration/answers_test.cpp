// Every answer the proxy synthesizes, provoked by a real client: 400, 404, 408, 413, 414, 431,
// 502, 503, 504 and the https_redirect 301, plus answer templates.
#include "rig.hpp"

using namespace kakehi::test;
using namespace kakehi;

namespace {

// A rig whose listener has short timeouts and small limits, with cluster "c" (one origin)
// behind app.test.
struct AnswersRig {
  Rig rig;
  HttpOrigin origin{"o"};
  AnswersRig() {
    auto l = http_listener("127.0.0.1:1");
    l.timeouts.request_head_ms = 300;
    l.timeouts.backend_response_ms = 500;
    l.timeouts.connect_ms = 500;
    l.limits.max_body_bytes = 1000;
    l.limits.max_header_bytes = 4096;
    l.limits.max_header_count = 20;
    rig.add_listener(l);
    rig.add_cluster("c", {&origin});
  }
  uint16_t port() const { return rig.port; }
};

RawClient::Response raw_exchange(uint16_t port, const std::string& bytes) {
  RawClient c(port);
  REQUIRE(c.connected());
  REQUIRE(c.send_all(bytes));
  return c.read_response(5s);
}

}  // namespace

TEST_CASE("answers: 400 for a malformed request line, then the connection closes") {
  AnswersRig a;
  for (const char* bad : {"GARBAGE\r\n\r\n", "GET / HTTP/1.1 extra\r\nHost: app.test\r\n\r\n",
                          "GET  / HTTP/1.1\r\nHost: app.test\r\n\r\n",
                          "GET / HTTP/1.1\r\nHost: app.test\r\nBad Header: x\r\n\r\n"}) {
    CAPTURE(bad);
    RawClient c(a.port());
    REQUIRE(c.send_all(bad));
    auto r = c.read_response(5s);
    CHECK(r.status == 400);
    CHECK_FALSE(r.keep_alive);
    c.recv_until_close(3s);
    CHECK(c.eof());
  }
  CHECK(a.origin.requests() == 0);
}

TEST_CASE("answers: 404 without a route, and the connection stays usable") {
  AnswersRig a;
  auto r = curl_get(a.port(), "/", "nowhere.test");
  CHECK(r.status == 404);
  RawClient c(a.port());
  REQUIRE(
      c.send_all("GET / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n"
                 "GET /id HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  CHECK(c.read_response().status == 404);
  auto ok = c.read_response();
  CHECK(ok.status == 200);
  CHECK(ok.body == "o");
}

// RFC 9112 §9.6: answered before its body was read, a request's connection is closed only
// after the client stops sending (bounded): closing at once would reset it, and a client that
// writes its whole body before reading would see only the reset. A 413 (the head names 8 MiB,
// over the limit) and a 404 (8 MiB chunked, no route) are answered while the client is still
// in one blocking write of the whole request.
TEST_CASE("answers: a body nobody reads is drained before the close (lingering close)") {
  AnswersRig a;
  const std::string body(8 << 20, 'b');
  const std::string chunked = "800000\r\n" + body + "\r\n0\r\n\r\n";
  const std::pair<std::string, int> cases[] = {
      {"POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body,
       413},
      {"POST /upload HTTP/1.1\r\nHost: nowhere.test\r\nTransfer-Encoding: chunked\r\n\r\n" +
           chunked,
       404}};
  for (const auto& [request, status] : cases) {
    CAPTURE(status);
    RawClient c(a.port());
    REQUIRE(c.connected());
    CHECK(c.send_all(request, 10s));  // no reset while the body was going out
    auto r = c.read_response(5s);
    CHECK(r.status == status);
    CHECK_FALSE(r.keep_alive);
    c.recv_until_close(3s);
    CHECK(c.eof());
  }
  CHECK(a.origin.requests() == 0);
}

TEST_CASE("answers: 408 when the request head does not complete in time") {
  AnswersRig a;
  RawClient c(a.port());
  REQUIRE(c.send_all("GET /id HTTP/1.1\r\nHost: app.test\r\n"));  // no blank line
  auto t0 = Clock::now();
  auto r = c.read_response(5s);
  auto took = Clock::now() - t0;
  CHECK(r.status == 408);
  CHECK(took >= 250ms);
  CHECK(took < 3s);
  c.recv_until_close(3s);
  CHECK(c.eof());
  CHECK(a.origin.requests() == 0);
}

TEST_CASE("answers: 413 when the body is over max_body_bytes") {
  AnswersRig a;
  // Declared by Content-Length: refused before anything reaches the origin.
  auto r = curl({"-H", "Host: app.test", "--data-binary", std::string(2000, 'x'),
                 "http://127.0.0.1:" + std::to_string(a.port()) + "/upload"});
  CHECK(r.status == 413);
  CHECK(a.origin.requests() == 0);
  // At the limit: forwarded.
  auto ok = curl({"-H", "Host: app.test", "--data-binary", std::string(1000, 'x'),
                  "http://127.0.0.1:" + std::to_string(a.port()) + "/upload"});
  CHECK(ok.status == 200);
  CHECK(ok.header("x-body-length") == "1000");
  // Chunked over the limit: 413 (the origin may have seen the head already).
  RawClient c(a.port());
  REQUIRE(
      c.send_all("POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3e8\r\n" +
                 std::string(1000, 'y') + "\r\n10\r\n" + std::string(16, 'z') + "\r\n0\r\n\r\n"));
  auto rc = c.read_response(5s);
  CHECK(rc.status == 413);
}

TEST_CASE("answers: 414 for a request line over the limit") {
  AnswersRig a;
  auto r = raw_exchange(a.port(),
                        "GET /" + std::string(5000, 'a') + " HTTP/1.1\r\nHost: app.test\r\n\r\n");
  CHECK(r.status == 414);
  CHECK(a.origin.requests() == 0);
}

TEST_CASE("answers: 431 for too many or too large header fields") {
  AnswersRig a;
  std::string many = "GET /id HTTP/1.1\r\nHost: app.test\r\n";
  for (int i = 0; i < 30; ++i) many += "X-F" + std::to_string(i) + ": v\r\n";
  CHECK(raw_exchange(a.port(), many + "\r\n").status == 431);
  CHECK(raw_exchange(a.port(), "GET /id HTTP/1.1\r\nHost: app.test\r\nX-Big: " +
                                   std::string(6000, 'b') + "\r\n\r\n")
            .status == 431);
  // curl too.
  auto r = curl_get(a.port(), "/id", "app.test", {"-H", "X-Big: " + std::string(6000, 'b')});
  CHECK(r.status == 431);
  CHECK(a.origin.requests() == 0);
}

TEST_CASE("answers: 502 when the backend closes without answering") {
  AnswersRig a;
  auto r = curl_get(a.port(), "/close", "app.test");
  CHECK(r.status == 502);
  CHECK(a.origin.requests() == 1);
  // The next request is served normally.
  CHECK(curl_get(a.port(), "/id", "app.test").body == "o");
}

TEST_CASE("answers: 503 with no backend, or every backend down") {
  AnswersRig a;
  Diff d;
  d(config::AddCluster{cluster("empty")});
  d(config::AddHttpFrontend{frontend("fe", a.rig.listener, "empty", "empty.test")});
  d(config::AddCluster{cluster("dead")});
  d(config::AddBackend{backend("dead", "d1", local(free_port()))});
  d(config::AddBackend{backend("dead", "d2", local(free_port()))});
  d(config::AddHttpFrontend{frontend("fd", a.rig.listener, "dead", "dead.test")});
  a.rig.apply(d);
  CHECK(curl_get(a.port(), "/", "empty.test").status == 503);
  for (int i = 0; i < 5; ++i) CHECK(curl_get(a.port(), "/", "dead.test").status == 503);
  // A stopped origin: 503 as well. (Not with KAKEHI_TEST_BACKEND=h2: the backend is the
  // origin's nginx front, which stays up and answers 502 itself.)
  a.origin.stop();
  if (!backend_h2()) CHECK(curl_get(a.port(), "/id", "app.test").status == 503);
}

TEST_CASE("answers: 504 when the backend does not answer in time") {
  AnswersRig a;
  auto t0 = Clock::now();
  auto r = curl_get(a.port(), "/slow/3000", "app.test");
  CHECK(r.status == 504);
  CHECK(Clock::now() - t0 < 2500ms);
}

TEST_CASE("answers: https_redirect answers 301 with the https Location") {
  AnswersRig a;
  Diff d;
  auto c = cluster("secure");
  c.https_redirect = true;
  d(config::AddCluster{c});
  d(config::AddBackend{backend("secure", "b", a.origin)});
  d(config::AddHttpFrontend{frontend("fs", a.rig.listener, "secure", "secure.test")});
  a.rig.apply(d);
  auto r = curl_get(a.port(), "/path/x?q=1", "secure.test:8080");
  CHECK(r.status == 301);
  CHECK(r.header("location") == "https://secure.test/path/x?q=1");
  CHECK(a.origin.requests() == 0);
}

TEST_CASE("answers: cluster and listener templates") {
  Rig rig;
  auto l = http_listener("127.0.0.1:1");
  l.answers[404] = "listener says no route\n";
  l.answers[503] = "listener 503\n";
  rig.add_listener(l);
  Diff d;
  auto c = cluster("c");
  c.answers[503] = "cluster 503\n";
  d(config::AddCluster{c});
  d(config::AddHttpFrontend{frontend("f", rig.listener, "c", "app.test")});
  d(config::AddCluster{cluster("c2")});
  d(config::AddHttpFrontend{frontend("f2", rig.listener, "c2", "two.test")});
  rig.apply(d);
  auto nf = curl_get(rig.port, "/", "x.test");
  CHECK(nf.status == 404);
  CHECK(nf.body == "listener says no route\n");
  auto un = curl_get(rig.port, "/", "app.test");
  CHECK(un.status == 503);
  CHECK(un.body == "cluster 503\n");
  auto un2 = curl_get(rig.port, "/", "two.test");
  CHECK(un2.status == 503);
  CHECK(un2.body == "listener 503\n");
}

TEST_CASE("answers: an idle keep-alive connection is closed after front_idle_ms") {
  Rig rig;
  auto l = http_listener("127.0.0.1:1");
  l.timeouts.front_idle_ms = 300;
  rig.add_listener(l);
  HttpOrigin o("o");
  rig.add_cluster("c", {&o});
  RawClient c(rig.port);
  REQUIRE(c.send_all("GET /id HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  CHECK(c.read_response().body == "o");
  auto t0 = Clock::now();
  CHECK(c.recv_until_close(5s).empty());  // closed without a response (nothing was asked)
  CHECK(c.eof());
  auto took = Clock::now() - t0;
  CHECK(took >= 200ms);
  CHECK(took < 3s);
}
