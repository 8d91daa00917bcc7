#include "kakehi/proxy/router.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "kakehi/config/request.hpp"
#include "support/alloc_counter.hpp"

using namespace kakehi::config;
using kakehi::proxy::Router;
using kakehi::proxy::RouterPtr;

namespace {

constexpr const char* kL = "127.0.0.1:80";

struct F {
  const char* id;
  const char* host;
  PathKind kind;
  const char* path;
  const char* method = nullptr;
  Position position = Position::Tree;
  const char* listener = kL;
};

/// A state with one cluster per frontend, named after it ("c:" + id).
RouterPtr router_of(const std::vector<F>& fronts) {
  std::vector<Request> d;
  Listener l;
  l.address = kL;
  d.push_back({"l", AddListener{l}});
  l.address = "127.0.0.1:81";
  d.push_back({"l2", AddListener{l}});
  for (const auto& f : fronts) {
    Cluster c;
    c.id = std::string("c:") + f.id;
    d.push_back({"c", AddCluster{c}});
    HttpFrontend h;
    h.id = f.id;
    h.listener = f.listener;
    h.cluster = c.id;
    h.hostname = f.host;
    h.path = {f.kind, f.path};
    if (f.method) h.method = f.method;
    h.position = f.position;
    d.push_back({f.id, AddHttpFrontend{h}});
  }
  auto s = kakehi::config::apply(State{}, d);
  REQUIRE_MESSAGE(s.has_value(), (s ? "" : s.error().message()));
  return Router::build(*s, kL);
}

std::string route(const RouterPtr& r, std::string_view host, std::string_view path,
                  std::string_view method = "GET") {
  auto found = r->lookup(host, path, method);
  if (!found) return "none";
  CHECK(found.cluster == "c:" + std::string(found.frontend));
  return std::string(found.frontend);
}

}  // namespace

TEST_CASE("host precedence: exact > wildcard > regex, falling through when no path matches") {
  auto r = router_of({{"exact", "a.example.com", PathKind::Prefix, "/"},
                      {"wild", "*.example.com", PathKind::Prefix, "/"},
                      {"re", "~^[a-z]+\\.example\\.com$", PathKind::Prefix, "/"},
                      {"exact-api", "b.example.com", PathKind::Prefix, "/api"}});
  CHECK(route(r, "a.example.com", "/x") == "exact");
  CHECK(route(r, "z.example.com", "/x") == "wild");
  CHECK(route(r, "b.example.com", "/api/1") == "exact-api");
  CHECK(route(r, "b.example.com", "/other") == "wild");  // exact host has no matching path
  auto r2 = router_of({{"re", "~^[a-z]+\\.example\\.com$", PathKind::Prefix, "/"},
                       {"re2", "~^.*$", PathKind::Prefix, "/"}});
  CHECK(route(r2, "abc.example.com", "/") == "re");
  CHECK(route(r2, "a1.example.com", "/") == "re2");  // first regex does not match, second does
}

TEST_CASE("path precedence: exact > regex > longest prefix") {
  auto r = router_of({{"p", "a.com", PathKind::Prefix, "/"},
                      {"papi", "a.com", PathKind::Prefix, "/api"},
                      {"papiv1", "a.com", PathKind::Prefix, "/api/v1"},
                      {"re", "a.com", PathKind::Regex, "^/api/v1/[0-9]+$"},
                      {"ex", "a.com", PathKind::Exact, "/api/v1/42"}});
  CHECK(route(r, "a.com", "/api/v1/42") == "ex");
  CHECK(route(r, "a.com", "/api/v1/43") == "re");
  CHECK(route(r, "a.com", "/api/v1/x") == "papiv1");
  CHECK(route(r, "a.com", "/api/v2") == "papi");
  CHECK(route(r, "a.com", "/apix") == "papi");  // prefixes are byte prefixes
  CHECK(route(r, "a.com", "/") == "p");
  CHECK(route(r, "a.com", "") == "p");  // empty path is "/"
}

TEST_CASE("method-specific beats any-method at the same level, never across levels") {
  auto r = router_of({{"any", "a.com", PathKind::Prefix, "/api"},
                      {"get", "a.com", PathKind::Prefix, "/api", "GET"},
                      {"post-root", "a.com", PathKind::Prefix, "/", "POST"},
                      {"ex-any", "a.com", PathKind::Exact, "/e"},
                      {"ex-put", "a.com", PathKind::Exact, "/e", "PUT"},
                      {"re-any", "a.com", PathKind::Regex, "^/r$"},
                      {"re-del", "a.com", PathKind::Regex, "^/r$", "DELETE"}});
  CHECK(route(r, "a.com", "/api/x", "GET") == "get");
  CHECK(route(r, "a.com", "/api/x", "POST") == "any");  // longer prefix wins over method
  CHECK(route(r, "a.com", "/zzz", "POST") == "post-root");
  CHECK(route(r, "a.com", "/zzz", "GET") == "none");
  CHECK(route(r, "a.com", "/api/x", "get") == "any");  // methods are case-sensitive
  CHECK(route(r, "a.com", "/e", "PUT") == "ex-put");
  CHECK(route(r, "a.com", "/e", "GET") == "ex-any");
  CHECK(route(r, "a.com", "/r", "DELETE") == "re-del");
  CHECK(route(r, "a.com", "/r", "GET") == "re-any");
}

TEST_CASE("pre and post rules bracket the tree, in frontend id order") {
  auto r = router_of({{"tree", "a.com", PathKind::Prefix, "/"},
                      {"pre-b", "~^.*$", PathKind::Prefix, "/admin", nullptr, Position::Pre},
                      {"pre-a", "a.com", PathKind::Prefix, "/admin/x", nullptr, Position::Pre},
                      {"post", "*.a.com", PathKind::Prefix, "/", nullptr, Position::Post},
                      {"post-any", "~^.*$", PathKind::Prefix, "/", nullptr, Position::Post}});
  CHECK(route(r, "a.com", "/admin/x") == "pre-a");  // id order: "pre-a" < "pre-b"
  CHECK(route(r, "a.com", "/admin/y") == "pre-b");
  CHECK(route(r, "a.com", "/x") == "tree");
  CHECK(route(r, "x.a.com", "/x") == "post");
  CHECK(route(r, "other.org", "/x") == "post-any");
}

TEST_CASE("tricky hosts") {
  auto r = router_of({{"w", "*.a.com", PathKind::Prefix, "/"},
                      {"e", "b.com", PathKind::Prefix, "/"},
                      {"re", "~^c[0-9]+\\.com$", PathKind::Prefix, "/"}});
  struct Case {
    const char* host;
    const char* want;
  };
  for (const Case& c :
       {Case{"x.a.com", "w"},     Case{"a.com", "none"},     Case{"x.y.a.com", "none"},
        Case{".a.com", "none"},   Case{"X.A.COM", "w"},      Case{"x.a.com:8080", "w"},
        Case{"x.a.com.", "w"},    Case{"x.a.com.:80", "w"},  Case{"B.Com", "e"},
        Case{"b.com:", "e"},      Case{"b.comm", "none"},    Case{"bb.com", "none"},
        Case{"c12.com", "re"},    Case{"c12.com:443", "re"}, Case{"xc12.com", "none"},
        Case{"c12.comx", "none"}, Case{"c.com", "none"},     Case{"", "none"},
        Case{"[::1]:80", "none"}, Case{"b.com..", "none"}})
    CHECK_MESSAGE(route(r, c.host, "/") == c.want, c.host);
  CHECK(route(r, std::string(300, 'a') + ".b.com", "/") == "none");
}

TEST_CASE("query strings and fragments are not part of the path; regex anchors hold") {
  auto r = router_of(
      {{"ex", "a.com", PathKind::Exact, "/e"}, {"re", "a.com", PathKind::Regex, "^/r/[a-z]+$"}});
  CHECK(route(r, "a.com", "/e?x=1") == "ex");
  CHECK(route(r, "a.com", "/e#f") == "ex");
  CHECK(route(r, "a.com", "/e/") == "none");
  CHECK(route(r, "a.com", "/r/abc?q") == "re");
  CHECK(route(r, "a.com", "/r/abc/") == "none");
  CHECK(route(r, "a.com", "/x/r/abc") == "none");
}

TEST_CASE("a snapshot covers one listener and outlives the state it was built from") {
  RouterPtr r;
  {
    r = router_of(
        {{"here", "a.com", PathKind::Prefix, "/"},
         {"there", "b.com", PathKind::Prefix, "/", nullptr, Position::Tree, "127.0.0.1:81"}});
  }
  CHECK(r->rule_count() == 1);
  RouterPtr held = r;
  r = router_of({});
  CHECK(route(held, "a.com", "/") == "here");
  CHECK(route(held, "b.com", "/") == "none");
  CHECK(route(r, "a.com", "/") == "none");
}

TEST_CASE("normalize_host") {
  std::array<char, 16> buf;
  CHECK(Router::normalize_host("EXAMPLE.com:80", buf) == "example.com");
  CHECK(Router::normalize_host("[::1]:443", buf) == "[::1]");
  CHECK(Router::normalize_host("a.b.", buf) == "a.b");
  CHECK(Router::normalize_host("0123456789abcdefg", buf).empty());
}

TEST_CASE("lookup does not allocate") {
  auto r = router_of({{"e", "a.com", PathKind::Exact, "/e"},
                      {"p", "a.com", PathKind::Prefix, "/p", "GET"},
                      {"w", "*.a.com", PathKind::Regex, "^/(x|y)+$"},
                      {"re", "~^[a-z]+\\.org$", PathKind::Prefix, "/"},
                      {"pre", "~^pre\\..*$", PathKind::Prefix, "/", nullptr, Position::Pre},
                      {"post", "*.net", PathKind::Prefix, "/", nullptr, Position::Post}});
  const std::size_t before = allocation_count_for_test();
  int found = 0;
  for (int i = 0; i < 100; ++i) {
    found += static_cast<bool>(r->lookup("A.COM:80", "/e?q=1", "GET"));
    found += static_cast<bool>(r->lookup("a.com", "/p/long/path", "GET"));
    found += static_cast<bool>(r->lookup("x.a.com", "/xyxy", "POST"));
    found += static_cast<bool>(r->lookup("abc.org.", "/", "GET"));
    found += static_cast<bool>(r->lookup("pre.x", "/", "GET"));
    found += static_cast<bool>(r->lookup("z.net", "/", "GET"));
    found += static_cast<bool>(r->lookup(std::string_view("nothing.example.com"), "", "GET"));
  }
  CHECK(allocation_count_for_test() == before);
  auto probe = std::make_unique<int>(1);  // the counter does see allocations
  CHECK(allocation_count_for_test() == before + 1);
  CHECK(found == 600);
}
