// The shared message model (lib/kakehi/http): HTTP/1.1 ↔ HTTP/2 field-list conversions and their
// round trips (RFC 9113 §8.2–8.3). Lives with the http1 tests until lib/kakehi/http gets its own
// test binary.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "kakehi/buffer/buffer_pool.hpp"
#include "kakehi/http/h2_fields.hpp"
#include "kakehi/http1/serializer.hpp"

using namespace kakehi;
using namespace kakehi::http;
using kakehi::http1::RequestParser;

namespace {

std::vector<Field> h2_of(const Request& r, StringArena& a) {
  std::vector<Field> out;
  to_h2_fields(r, a, out);
  return out;
}

/// Parses one h1 request head, keeping the input alive in `keep`.
Request& parse_head(RequestParser& p, const std::string& keep) {
  auto s = p.feed(keep);
  REQUIRE(s.event == http1::Event::Head);
  return p.message();
}

}  // namespace

TEST_CASE("h1 → h2: pseudo-headers, lower-case names, hop-by-hop removed, cookies split") {
  std::string in =
      "POST /p?q HTTP/1.1\r\nHost: ex.com\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
      "Keep-Alive: timeout=5\r\nTE: trailers, deflate\r\nUpgrade: foo\r\n"
      "Cookie: a=1; b=2;c=3\r\nContent-Length: 2\r\nAccept: */*\r\n\r\nhi";
  RequestParser p({}, "https");
  Request& r = parse_head(p, in);
  StringArena a;
  auto h2 = h2_of(r, a);
  std::vector<Field> want = {{":method", "POST"}, {":scheme", "https"}, {":authority", "ex.com"},
                             {":path", "/p?q"},   {"te", "trailers"},   {"cookie", "a=1"},
                             {"cookie", "b=2"},   {"cookie", "c=3"},    {"content-length", "2"},
                             {"accept", "*/*"}};
  CHECK(h2 == want);
}

TEST_CASE("h1 → h2: te without trailers and transfer-encoding are dropped") {
  std::string in =
      "POST / HTTP/1.1\r\nHost: a\r\nTE: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
  RequestParser p;
  Request& r = parse_head(p, in);
  StringArena a;
  auto h2 = h2_of(r, a);
  REQUIRE(h2.size() == 4);
  CHECK(h2.back().name == ":path");
}

TEST_CASE("h2 → model: validation (RFC 9113 §8.2–8.3)") {
  Request r;
  auto bad = [&](std::vector<Field> f) {
    auto res = from_h2_fields(f, true, r);
    return res ? H2FieldError{} : res.error();
  };
  std::vector<Field> base = {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}};
  CHECK(from_h2_fields(base, true, r).has_value());
  CHECK(r.authority.empty());
  auto with = [&](Field f) {
    auto v = base;
    v.push_back(f);
    return v;
  };
  CHECK(bad(with({"Accept", "x"})) == H2FieldError::UppercaseName);
  CHECK(bad(with({"connection", "close"})) == H2FieldError::ConnectionSpecific);
  CHECK(bad(with({"transfer-encoding", "chunked"})) == H2FieldError::ConnectionSpecific);
  CHECK(bad(with({"te", "gzip"})) == H2FieldError::TeNotTrailers);
  CHECK(bad(with({":foo", "x"})) == H2FieldError::UnknownPseudo);
  CHECK(bad({{":method", "GET"}, {"a", "b"}, {":path", "/"}}) == H2FieldError::PseudoAfterRegular);
  CHECK(bad({{":method", "GET"}, {":method", "GET"}, {":scheme", "h"}, {":path", "/"}}) ==
        H2FieldError::DuplicatePseudo);
  CHECK(bad({{":method", "GET"}, {":scheme", "https"}}) == H2FieldError::MissingPseudo);
  CHECK(bad({{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":status", "200"}}) ==
        H2FieldError::PseudoInResponse);
  CHECK(bad(with({"content-length", "x"})) == H2FieldError::BadContentLength);
  auto mism = base;
  mism.push_back({":authority", "a"});
  mism.push_back({"host", "b"});
  CHECK(bad(mism) == H2FieldError::HostMismatch);
  CHECK(from_h2_fields(with({"host", "h.example"}), true, r).has_value());
  CHECK(r.authority == "h.example");
  CHECK(std::string_view(reason(H2FieldError::HostMismatch)).find("authority") !=
        std::string_view::npos);
}

TEST_CASE("h2 → model: framing from END_STREAM and content-length") {
  Request r;
  std::vector<Field> f = {{":method", "POST"}, {":scheme", "http"}, {":path", "/"}};
  REQUIRE(from_h2_fields(f, true, r));
  CHECK(r.framing.kind == BodyKind::None);
  REQUIRE(from_h2_fields(f, false, r));
  CHECK(r.framing.kind == BodyKind::Close);  // unknown length: re-chunked towards HTTP/1.1
  f.push_back({"content-length", "12"});
  REQUIRE(from_h2_fields(f, false, r));
  CHECK(r.framing == Framing{BodyKind::ContentLength, 12});
}

TEST_CASE("round trip h1 → h2 → h1: everything that survives is preserved") {
  std::string in =
      "GET /r?x=1 HTTP/1.1\r\nHost: ex.com:8080\r\nAccept: text/html\r\nCookie: a=1; b=2\r\n"
      "Connection: close\r\nX-Multi: 1\r\nX-Multi: 2\r\n\r\n";
  RequestParser p;
  Request& r1 = parse_head(p, in);
  StringArena a;
  auto h2 = h2_of(r1, a);
  Request r2;
  REQUIRE(from_h2_fields(h2, true, r2));
  buffer::BufferPool pool(4, 4096);
  auto head = http1::write_request_head(pool, r2, http1::outgoing_framing(r2.framing, 11));
  REQUIRE(head);
  std::string wire(head->view());
  CHECK(wire ==
        "GET /r?x=1 HTTP/1.1\r\nHost: ex.com:8080\r\naccept: text/html\r\ncookie: a=1; b=2\r\n"
        "x-multi: 1\r\nx-multi: 2\r\n\r\n");
  // And parsing that again gives the same h2 list.
  RequestParser p2;
  Request& r3 = parse_head(p2, wire);
  StringArena a2;
  CHECK(h2_of(r3, a2) == h2);
}

TEST_CASE("round trip h2 → h1 → h2") {
  std::vector<Field> h2 = {{":method", "PUT"}, {":scheme", "http"},     {":authority", "[::1]:81"},
                           {":path", "/u"},    {"cookie", "s=1"},       {"accept-encoding", "gzip"},
                           {"cookie", "t=2"},  {"content-length", "3"}, {"te", "trailers"}};
  Request r;
  REQUIRE(from_h2_fields(h2, false, r));
  buffer::BufferPool pool(4, 4096);
  auto head = http1::write_request_head(pool, r, http1::outgoing_framing(r.framing, 11));
  REQUIRE(head);
  std::string wire = std::string(head->view()) + "abc";
  RequestParser p;
  auto run = http1::test::run(p, wire);
  REQUIRE(run.ok());
  REQUIRE(run.msgs.size() == 1);
  CHECK(run.msgs[0].body == "abc");
  RequestParser p2;
  Request& back = parse_head(p2, wire);
  StringArena a;
  auto again = h2_of(back, a);
  // Cookies come back joined then split again (same pairs, adjacent); the serializer writes the
  // framing field last.
  std::vector<Field> want = {
      {":method", "PUT"},     {":scheme", "http"}, {":authority", "[::1]:81"},  {":path", "/u"},
      {"cookie", "s=1"},      {"cookie", "t=2"},   {"accept-encoding", "gzip"}, {"te", "trailers"},
      {"content-length", "3"}};
  CHECK(again == want);
}

TEST_CASE("responses: :status round trip and reason phrases") {
  std::vector<Field> h2 = {{":status", "404"}, {"content-type", "text/plain"}};
  Response res;
  REQUIRE(from_h2_fields(h2, true, res));
  CHECK(res.status == 404);
  buffer::BufferPool pool(2, 1024);
  auto head = http1::write_response_head(pool, res, res.framing);
  REQUIRE(head);
  CHECK(head->view() == "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\n\r\n");
  auto parsed = http1::test::parse_response(std::string(head->view()), "GET", 0, true);
  REQUIRE(parsed.ok());
  http1::ResponseParser rp;
  rp.start("GET");
  std::string wire(head->view());
  REQUIRE(rp.feed(wire).event == http1::Event::Head);
  StringArena a;
  std::vector<Field> back;
  to_h2_fields(rp.message(), a, back);
  CHECK(back == h2);
  Response bad;
  CHECK(from_h2_fields(std::vector<Field>{{":status", "20"}}, true, bad).error() ==
        H2FieldError::BadStatus);
  CHECK(from_h2_fields(std::vector<Field>{{":path", "/"}}, true, bad).error() ==
        H2FieldError::PseudoInResponse);
}
