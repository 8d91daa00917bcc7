// Header list validation (RFC 9113 §8.2, §8.3, §8.5): one case per rule.
#include "kakehi/http2/header_validation.hpp"

#include <doctest/doctest.h>

using namespace kakehi::http2;

namespace {

FieldList req(std::initializer_list<hpack::HeaderField> extra = {}) {
  FieldList f{
      {":method", "GET"}, {":scheme", "https"}, {":authority", "a.example"}, {":path", "/"}};
  for (const auto& e : extra) f.add(e.name, e.value);
  return f;
}

}  // namespace

TEST_CASE("§8.3.1 a complete request is valid") {
  auto r = validate_request(req({{"accept", "*/*"}, {"content-length", "0"}}));
  REQUIRE(r);
  CHECK(r->content_length == 0);
  CHECK(!r->is_head);
  CHECK(validate_request({{":method", "HEAD"}, {":scheme", "http"}, {":path", "/x"}})->is_head);
  CHECK(validate_request({{":method", "OPTIONS"}, {":scheme", "https"}, {":path", "*"}}));
}

TEST_CASE("§8.3.1 missing, empty, duplicate and unknown pseudo-headers") {
  CHECK(!validate_request({{":scheme", "https"}, {":path", "/"}}));
  CHECK(!validate_request({{":method", "GET"}, {":path", "/"}}));
  CHECK(!validate_request({{":method", "GET"}, {":scheme", "https"}}));
  CHECK(!validate_request({{":method", "GET"}, {":scheme", "https"}, {":path", ""}}));
  CHECK(!validate_request(req({{":path", "/again"}})));  // also after a regular field below
  CHECK(!validate_request({{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":x", "1"}}));
  CHECK(!validate_request(
      {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":status", "200"}}));
  CHECK(!validate_request({{":method", "GET"}, {":scheme", "https"}, {":path", "x"}}));
}

TEST_CASE("§8.3 pseudo-headers must precede regular fields") {
  CHECK(!validate_request(
      {{":method", "GET"}, {"accept", "*/*"}, {":scheme", "https"}, {":path", "/"}}));
}

TEST_CASE("§8.2.1 field names: lowercase, no separators or controls; values: no CR/LF/NUL") {
  CHECK(!validate_request(req({{"Accept", "x"}})));
  CHECK(!validate_request(req({{"a b", "x"}})));
  CHECK(!validate_request(req({{"a:b", "x"}})));
  CHECK(!validate_request(req({{"x", "a\r\nb"}})));
  CHECK(!validate_request(req({{"x", std::string_view("a\0b", 3)}})));
  CHECK(!validate_request(req({{"x", " padded"}})));
  CHECK(validate_request(req({{"x", "inner space ok"}})));
}

TEST_CASE("§8.2.2 connection-specific fields; te only with trailers") {
  for (const char* n :
       {"connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade"})
    CHECK(!validate_request(req({{n, "x"}})));
  CHECK(validate_request(req({{"te", "trailers"}})));
  CHECK(!validate_request(req({{"te", "trailers, deflate"}})));
}

TEST_CASE("content-length: digits, identical lists, conflicts") {
  CHECK(validate_request(req({{"content-length", "42"}}))->content_length == 42);
  CHECK(validate_request(req({{"content-length", "7, 7"}}))->content_length == 7);
  CHECK(!validate_request(req({{"content-length", "7, 8"}})));
  CHECK(!validate_request(req({{"content-length", "-1"}})));
  CHECK(!validate_request(req({{"content-length", ""}})));
  CHECK(!validate_request(req({{"content-length", "1"}, {"content-length", "2"}})));
}

TEST_CASE("§8.5 CONNECT has :authority and no :scheme/:path; :protocol needs RFC 8441") {
  CHECK(validate_request({{":method", "CONNECT"}, {":authority", "a:443"}})->is_connect);
  CHECK(!validate_request({{":method", "CONNECT"}, {":authority", "a:443"}, {":path", "/"}}));
  CHECK(!validate_request({{":method", "CONNECT"}}));
  FieldList ws{{":method", "CONNECT"},
               {":protocol", "websocket"},
               {":scheme", "https"},
               {":path", "/chat"},
               {":authority", "a"}};
  CHECK(!validate_request(ws));
  CHECK(validate_request(ws, ValidationOptions{true}));
}

TEST_CASE("§8.3.1 host must agree with :authority") {
  CHECK(validate_request(req({{"host", "a.example"}})));
  CHECK(!validate_request(req({{"host", "b.example"}})));
}

TEST_CASE("§8.3.2 responses: one three-digit :status, nothing else") {
  CHECK(validate_response({{":status", "200"}, {"content-length", "3"}})->status == 200);
  CHECK(validate_response({{":status", "103"}})->status == 103);
  CHECK(!validate_response({{"x", "1"}}));
  CHECK(!validate_response({{":status", "20"}}));
  CHECK(!validate_response({{":status", "2x0"}}));
  CHECK(!validate_response({{":status", "200"}, {":status", "200"}}));
  CHECK(!validate_response({{":status", "200"}, {":path", "/"}}));
}

TEST_CASE("§8.1 trailers: no pseudo-headers") {
  CHECK(validate_trailers({{"grpc-status", "0"}}));
  CHECK(!validate_trailers({{":status", "200"}}));
  CHECK(!validate_trailers({{"Bad", "1"}}));
}
