// RequestParser / ResponseParser behaviour: heads, bodies, chunked with extensions and trailers,
// pipelining, HEAD/1xx/204/304, Expect, upgrade, CONNECT, close-delimited bodies, limits, and
// the zero-copy contract (views point into the input).
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace kakehi::http1;
using namespace kakehi::http1::test;
using kakehi::http::BodyKind;

TEST_CASE("request head: fields are views into the input, Host becomes the authority") {
  std::string in = "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n";
  RequestParser p;
  Step s = p.feed(in);
  REQUIRE(s.event == Event::Head);
  CHECK(s.consumed == in.size());
  auto& m = p.message();
  CHECK(m.method == "GET");
  CHECK(m.path == "/a?b=1");
  CHECK(m.authority == "example.com");
  CHECK(m.scheme == "http");
  CHECK(m.version == 11);
  REQUIRE(m.fields.size() == 1);
  CHECK(m.fields[0].name == "User-Agent");
  CHECK(m.fields[0].value.data() >= in.data());
  CHECK(m.fields[0].value.data() < in.data() + in.size());
  CHECK(m.framing.kind == BodyKind::None);
  CHECK(p.info().keep_alive);
  CHECK(p.feed(std::string_view(in).substr(s.consumed)).event == Event::Complete);
  CHECK(p.idle());
}

TEST_CASE("content-length body comes out as sub-ranges of the input") {
  std::string in = "POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET";
  RequestParser p;
  Step h = p.feed(in);
  REQUIRE(h.event == Event::Head);
  CHECK(p.message().framing == kakehi::http::Framing{BodyKind::ContentLength, 5});
  Step b = p.feed(std::string_view(in).substr(h.consumed));
  REQUIRE(b.event == Event::Body);
  CHECK(b.data == "hello");
  CHECK(b.data.data() == in.data() + h.consumed);
  CHECK(p.feed(std::string_view(in).substr(h.consumed + b.consumed)).event == Event::Complete);
}

TEST_CASE("every split point gives the same result") {
  std::string in =
      "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
      "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
  for (size_t piece : {0, 1, 2, 3, 7, 13}) {
    CAPTURE(piece);
    Run r = parse_request(in, piece);
    REQUIRE(r.ok());
    REQUIRE(r.msgs.size() == 2);
    CHECK(r.msgs[0].body == "hello world");
    CHECK(r.msgs[0].framing.kind == BodyKind::Chunked);
    REQUIRE(r.msgs[0].trailers.size() == 1);
    CHECK(r.msgs[0].trailers[0].first == "X-Trailer");
    CHECK(r.msgs[0].trailers[0].second == "t");
    CHECK(r.msgs[0].chunk_exts.front() == ";ext=1");
    CHECK(r.msgs[1].path == "/next");
    CHECK(r.msgs[1].complete);
  }
}

TEST_CASE("pipelined requests and leading empty lines") {
  Run r = parse_request(
      "\r\nGET /1 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: a\r\n\r\n"
      "\r\nDELETE /3 HTTP/1.0\r\n\r\n");
  REQUIRE(r.ok());
  REQUIRE(r.msgs.size() == 3);
  CHECK(r.msgs[1].method == "HEAD");
  CHECK(r.msgs[2].method == "DELETE");
  CHECK(r.msgs[2].version == 10);
  CHECK(r.msgs[2].authority.empty());
  CHECK_FALSE(r.msgs[2].info.keep_alive);
}

TEST_CASE("absolute-form target gives scheme, authority and path") {
  Run r = parse_request("GET https://Example.com:8443 HTTP/1.1\r\nHost: example.com:8443\r\n\r\n");
  REQUIRE(r.ok());
  CHECK(r.msgs[0].scheme == "https");
  CHECK(r.msgs[0].authority == "Example.com:8443");
  CHECK(r.msgs[0].path == "/");
  CHECK(parse_request("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").msgs.at(0).path == "*");
  CHECK(parse_request("GET * HTTP/1.1\r\nHost: a\r\n\r\n").error == Outcome::BadTarget);
  CHECK(parse_request("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n").error == Outcome::BadTarget);
  CHECK(parse_request("GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n").error == Outcome::BadTarget);
  CHECK(parse_request("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n").error == Outcome::BadTarget);
}

TEST_CASE("Expect: 100-continue and upgrade are reported") {
  Run r = parse_request(
      "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx");
  REQUIRE(r.ok());
  CHECK(r.msgs[0].info.expect_continue);
  Run u = parse_request(
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: "
      "websocket\r\n\r\n");
  REQUIRE(u.ok());
  CHECK(u.msgs[0].info.upgrade);
  CHECK(u.msgs[0].upgrade_protocol == "websocket");
  Run n = parse_request("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n");
  CHECK_FALSE(n.msgs.at(0).info.upgrade);  // Upgrade without Connection: upgrade is not one
}

TEST_CASE("CONNECT is refused with 501") {
  Run r = parse_request("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  CHECK(r.error == Outcome::ConnectRefused);
  CHECK(status(r.error) == 501);
}

TEST_CASE("a failed parser stays failed") {
  RequestParser p;
  CHECK(p.feed("GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n").event == Event::Error);
  Step s = p.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(s.event == Event::Error);
  CHECK(s.error == Outcome::BadHeaderName);
}

TEST_CASE("limits: 414 for a long request line, 431 for large or many headers, 413 for bodies") {
  Limits l;
  l.max_request_line = 64;
  l.max_header_bytes = 256;
  l.max_header_count = 4;
  l.max_body = 10;
  std::string longline = "GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
  CHECK(parse_request(longline, 0, l).error == Outcome::UriTooLong);
  CHECK(status(Outcome::UriTooLong) == 414);
  // Incomplete but already too long: refused without waiting for the end of the line.
  CHECK(parse_request(longline.substr(0, 80), 0, l).error == Outcome::UriTooLong);
  std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(300, 'v') + "\r\n\r\n";
  CHECK(parse_request(big, 0, l).error == Outcome::HeaderTooLarge);
  CHECK(parse_request(big.substr(0, 260), 0, l).error == Outcome::HeaderTooLarge);
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n";
  CHECK(parse_request(many, 0, l).error == Outcome::TooManyHeaders);
  CHECK(status(Outcome::TooManyHeaders) == 431);
  CHECK(parse_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", 0, l).error ==
        Outcome::BodyTooLarge);
  CHECK(parse_request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nb\r\nhello",
                      0, l)
            .error == Outcome::BodyTooLarge);
  std::string trailers = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
  for (int i = 0; i < 5; ++i) trailers += "T: x\r\n";
  CHECK(parse_request(trailers + "\r\n", 0, l).error == Outcome::TooManyHeaders);
  CHECK(parse_request(trailers + std::string(300, 'x'), 0, l).error == Outcome::HeaderTooLarge);
}

TEST_CASE("EOF inside a request is an error, between requests a clean end") {
  RequestParser p;
  CHECK(p.feed_eof().event == Event::NeedMore);
  CHECK(p.feed("GET / HTTP/1.1\r\nHo").event == Event::NeedMore);
  Step s = p.feed_eof();
  CHECK(s.event == Event::Error);
  CHECK(s.error == Outcome::UnexpectedEof);
}

TEST_CASE("responses: length, chunked, close-delimited") {
  Run r = parse_response("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
  REQUIRE(r.ok());
  CHECK(r.msgs[0].status == 200);
  CHECK(r.msgs[0].reason == "OK");
  CHECK(r.msgs[0].body == "abc");
  CHECK(r.msgs[0].complete);
  Run c = parse_response("HTTP/1.1 200 OK\r\n\r\nuntil close", "GET", 4, true);
  REQUIRE(c.ok());
  CHECK(c.msgs[0].framing.kind == BodyKind::Close);
  CHECK(c.msgs[0].body == "until close");
  CHECK(c.msgs[0].complete);
  CHECK_FALSE(c.msgs[0].info.keep_alive);
  Run t = parse_response("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", "GET", 0, true);
  CHECK(t.error == Outcome::UnexpectedEof);
  CHECK(response_status(t.error) == 502);
}

TEST_CASE("responses without a body: HEAD, 1xx, 204, 304") {
  Run h = parse_response("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "HEAD");
  REQUIRE(h.ok());
  CHECK(h.msgs[0].complete);
  CHECK(h.msgs[0].framing.kind == BodyKind::None);
  for (const char* st : {"204 No Content", "304 Not Modified"}) {
    Run r = parse_response(std::string("HTTP/1.1 ") + st + "\r\nContent-Length: 7\r\n\r\n");
    REQUIRE(r.ok());
    CHECK(r.msgs[0].complete);
    CHECK(r.msgs[0].body.empty());
  }
  Run i = parse_response(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
      "POST", 5);
  REQUIRE(i.ok());
  REQUIRE(i.msgs.size() == 3);
  CHECK(i.msgs[0].status == 100);
  CHECK(i.msgs[1].status == 103);
  CHECK(i.msgs[2].body == "ok");
}

TEST_CASE("101 switches protocols: the rest belongs to the tunnel") {
  ResponseParser p;
  p.start("GET");
  std::string in = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello";
  Step s = p.feed(in);
  REQUIRE(s.event == Event::Head);
  CHECK(p.message().framing.kind == BodyKind::Upgrade);
  CHECK(p.info().upgrade);
  CHECK(p.feed(std::string_view(in).substr(s.consumed)).event == Event::Complete);
  CHECK(p.upgraded());
  Step after = p.feed(std::string_view(in).substr(s.consumed));
  CHECK(after.event == Event::NeedMore);
  CHECK(after.consumed == 0);
}

TEST_CASE("start() forgets a response cut in its body or head") {
  ResponseParser p;
  p.start("GET");
  std::string first = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart";
  Step s = p.feed(first);
  REQUIRE(s.event == Event::Head);
  s = p.feed(std::string_view(first).substr(s.consumed));
  REQUIRE(s.event == Event::Body);  // 4 of 100 bytes, then the exchange is abandoned
  p.start("GET");
  std::string second = "HTTP/1.1 204 No Content\r\n\r\n";
  s = p.feed(second);
  REQUIRE(s.event == Event::Head);
  CHECK(p.message().status == 204);
  p.start("GET");
  CHECK(p.feed("HTTP/1.1 20").event == Event::NeedMore);  // cut in the head
  p.start("HEAD");
  s = p.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
  REQUIRE(s.event == Event::Head);
  CHECK(p.message().status == 200);
}

TEST_CASE("response status line checks") {
  CHECK(parse_response("HTTP/1.1 600 X\r\n\r\n").error == Outcome::BadStatusLine);
  CHECK(parse_response("HTTP/1.1 20 X\r\n\r\n").error == Outcome::BadStatusLine);
  CHECK(parse_response("HTTP/2.0 200 OK\r\n\r\n").error == Outcome::BadStatusLine);
  CHECK(parse_response("HTTP/1.1 200\r\n\r\n").error == Outcome::BadStatusLine);
  Run r = parse_response("HTTP/1.0 200 \r\nContent-Length: 0\r\n\r\n");
  REQUIRE(r.ok());
  CHECK(r.msgs[0].version == 10);
  CHECK_FALSE(r.msgs[0].info.keep_alive);
}

TEST_CASE("every outcome has a status and a reason") {
  for (int o = 0; o <= static_cast<int>(Outcome::UnexpectedEof); ++o) {
    auto oc = static_cast<Outcome>(o);
    CHECK(std::string_view(reason(oc)) != "unknown");
    if (oc != Outcome::Ok) CHECK(status(oc) >= 400);
  }
}
