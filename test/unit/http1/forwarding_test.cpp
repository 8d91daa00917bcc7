// Proxy header editing: hop-by-hop removal, X-Forwarded-*, RFC 7239 Forwarded, request ids,
// Via and per-frontend rules.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "kakehi/http1/forwarding.hpp"

using namespace kakehi;
using namespace kakehi::http1;

namespace {

std::string get(const http::FieldList& f, std::string_view name) {
  const http::Field* x = f.find(name);
  return x ? std::string(x->value) : std::string("<none>");
}

class CountingIds : public RequestIdGenerator {
 public:
  std::string_view next(http::StringArena& arena) override {
    ++n;
    return arena.store("id-" + std::to_string(n));
  }
  int n = 0;
};

}  // namespace

TEST_CASE("hop-by-hop removal includes fields named in Connection") {
  http::FieldList f;
  f.add("Connection", "close, X-Secret");
  f.add("X-Secret", "1");
  f.add("Keep-Alive", "timeout=5");
  f.add("Proxy-Connection", "keep-alive");
  f.add("TE", "trailers");
  f.add("Upgrade", "websocket");
  f.add("Accept", "*/*");
  remove_hop_by_hop(f);
  REQUIRE(f.size() == 1);
  CHECK(f[0].name == "Accept");
  http::FieldList u;
  u.add("Connection", "Upgrade");
  u.add("Upgrade", "websocket");
  remove_hop_by_hop(u, true);
  REQUIRE(u.size() == 1);
  CHECK(u[0].name == "Upgrade");
}

TEST_CASE("hop-by-hop removal: options across several Connection fields, and many options") {
  http::FieldList f;
  f.add("Connection", "keep-alive");
  f.add("X-A", "1");
  f.add("connection", " x-b ,, X-C ");
  f.add("X-B", "2");
  f.add("X-C", "3");
  f.add("X-CC", "kept: same prefix, longer name");
  remove_hop_by_hop(f);
  REQUIRE(f.size() == 2);
  CHECK(f[0].name == "X-A");
  CHECK(f[1].name == "X-CC");

  // More options than the fast path holds: the ones past it are still honoured.
  http::FieldList m;
  std::string list;
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back("X-Opt-" + std::to_string(i));
  for (const std::string& n : names) list += n + ",";
  m.add("Connection", list);
  for (const std::string& n : names) m.add(n, "v");
  m.add("Accept", "*/*");
  remove_hop_by_hop(m);
  REQUIRE(m.size() == 1);
  CHECK(m[0].name == "Accept");
}

TEST_CASE("X-Forwarded-* and Forwarded for IPv4") {
  std::string in =
      "GET / HTTP/1.1\r\nHost: ex.com\r\nX-Forwarded-For: 10.0.0.1\r\n"
      "X-Forwarded-For: 10.0.0.2\r\nX-Forwarded-Proto: gopher\r\n"
      "Forwarded: for=10.0.0.1\r\n\r\n";
  RequestParser p;
  REQUIRE(p.feed(in).event == Event::Head);
  auto& r = p.message();
  Peer peer{"192.0.2.7", 4711, "https", 443, {}};
  ForwardingOptions o;
  std::string_view id = edit_request(r, peer, o);
  CHECK(id.empty());
  CHECK(r.fields.count("X-Forwarded-For") == 1);
  CHECK(get(r.fields, "X-Forwarded-For") == "10.0.0.1, 10.0.0.2, 192.0.2.7");
  CHECK(get(r.fields, "X-Forwarded-Proto") == "https");
  CHECK(get(r.fields, "X-Forwarded-Port") == "443");
  CHECK(get(r.fields, "X-Forwarded-Host") == "ex.com");
  CHECK(get(r.fields, "Forwarded") ==
        "for=10.0.0.1, for=\"192.0.2.7:4711\";host=ex.com;proto=https");
}

TEST_CASE("Forwarded nodes: IPv6 bracketed and quoted, host with port quoted (RFC 7239 §6)") {
  http::StringArena a;
  CHECK(forwarded_node("192.0.2.43", 0, a) == "192.0.2.43");
  CHECK(forwarded_node("2001:db8:cafe::17", 0, a) == "\"[2001:db8:cafe::17]\"");
  CHECK(forwarded_node("2001:db8:cafe::17", 4711, a) == "\"[2001:db8:cafe::17]:4711\"");
  http::Request r;
  r.authority = "ex.com:8080";
  Peer peer{"2001:db8::1", 0, "http", 0, "_proxy1"};
  ForwardingOptions o;
  o.x_forwarded_port = false;
  edit_request(r, peer, o);
  CHECK(get(r.fields, "Forwarded") ==
        "for=\"[2001:db8::1]\";host=\"ex.com:8080\";proto=http;by=_proxy1");
  CHECK(get(r.fields, "X-Forwarded-For") == "2001:db8::1");
  CHECK(get(r.fields, "X-Forwarded-Port") == "<none>");
}

TEST_CASE("request id: kept when present, generated otherwise, echoed in the response") {
  CountingIds ids;
  ForwardingOptions o;
  o.request_id = &ids;
  http::Request with;
  with.fields.add("x-request-id", "abc");
  CHECK(edit_request(with, {}, o) == "abc");
  CHECK(ids.n == 0);
  http::Request without;
  std::string_view id = edit_request(without, {}, o);
  CHECK(id == "id-1");
  CHECK(get(without.fields, "X-Request-Id") == "id-1");
  http::Response res;
  edit_response(res, o, id);
  CHECK(get(res.fields, "X-Request-Id") == "id-1");
  ForwardingOptions none;
  none.request_id_header = {};
  http::Request q;
  CHECK(edit_request(q, {}, none).empty());
  CHECK(q.fields.find("X-Request-Id") == nullptr);
}

TEST_CASE("Via is optional and appended") {
  ForwardingOptions o;
  o.via = "kakehi";
  http::Request r;
  r.version = 10;
  r.fields.add("Via", "1.1 other");
  edit_request(r, {}, o);
  CHECK(get(r.fields, "Via") == "1.1 other, 1.0 kakehi");
  http::Response res;
  edit_response(res, o, {});
  CHECK(get(res.fields, "Via") == "1.1 kakehi");
  http::Request plain;
  edit_request(plain, {}, ForwardingOptions{});
  CHECK(plain.fields.find("Via") == nullptr);
}

TEST_CASE("per-frontend rules for requests and responses") {
  const HeaderRule req_rules[] = {{RuleAction::Set, "X-Env", "prod"},
                                  {RuleAction::Delete, "Cookie", {}},
                                  {RuleAction::Add, "X-Tag", "a"},
                                  {RuleAction::Add, "X-Tag", "b"}};
  const HeaderRule res_rules[] = {{RuleAction::Delete, "Server", {}},
                                  {RuleAction::Set, "Strict-Transport-Security", "max-age=1"}};
  ForwardingOptions o;
  o.request_rules = req_rules;
  o.response_rules = res_rules;
  http::Request r;
  r.fields.add("X-Env", "dev");
  r.fields.add("cookie", "s=1");
  edit_request(r, {}, o);
  CHECK(get(r.fields, "X-Env") == "prod");
  CHECK(r.fields.count("X-Env") == 1);
  CHECK(r.fields.find("Cookie") == nullptr);
  CHECK(r.fields.count("X-Tag") == 2);
  http::Response res;
  res.fields.add("Server", "origin/1.0");
  res.fields.add("Connection", "close");
  edit_response(res, o, {});
  CHECK(res.fields.find("Server") == nullptr);
  CHECK(res.fields.find("Connection") == nullptr);
  CHECK(get(res.fields, "Strict-Transport-Security") == "max-age=1");
}
