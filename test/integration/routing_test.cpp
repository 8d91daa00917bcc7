// Router precedence through the running proxy (docs/config.md "Router precedence"): each row
// of the table is one curl request whose answer names the origin (= cluster) that served it.
#include <map>
#include <memory>

#include "rig.hpp"

using namespace kakehi::test;
using namespace kakehi;

namespace {

struct Row {
  const char* method;
  const char* host;
  const char* path;
  const char* expect;  ///< origin name, or "404"
};

}  // namespace

TEST_CASE("routing: precedence table through the proxy") {
  Rig rig;
  rig.add_http_listener();
  const std::string L = rig.listener;
  using config::PathKind;
  struct Fe {
    const char* id;
    const char* host;
    PathKind kind;
    const char* path;
    const char* method;  // nullptr: any
    config::Position pos;
  };
  const Fe fes[] = {
      // host levels
      {"exact-host", "a.test", PathKind::Prefix, "/", nullptr, config::Position::Tree},
      {"wild-host", "*.test", PathKind::Prefix, "/", nullptr, config::Position::Tree},
      {"regex-host", "~^.*\\.test$", PathKind::Prefix, "/", nullptr, config::Position::Tree},
      // a host level with no matching path falls through to the next level
      {"only", "q.test", PathKind::Exact, "/only", nullptr, config::Position::Tree},
      // paths within one host
      {"path-exact", "p.test", PathKind::Exact, "/exact", nullptr, config::Position::Tree},
      {"path-regex", "p.test", PathKind::Regex, "^/ex.*$", nullptr, config::Position::Tree},
      {"prefix-ex", "p.test", PathKind::Prefix, "/ex", nullptr, config::Position::Tree},
      {"prefix-e", "p.test", PathKind::Prefix, "/e", nullptr, config::Position::Tree},
      {"prefix-root", "p.test", PathKind::Prefix, "/", nullptr, config::Position::Tree},
      // methods
      {"m-any", "p.test", PathKind::Exact, "/m", nullptr, config::Position::Tree},
      {"m-post", "p.test", PathKind::Exact, "/m", "POST", config::Position::Tree},
      {"api-any", "p.test", PathKind::Prefix, "/api", nullptr, config::Position::Tree},
      {"api-delete", "p.test", PathKind::Prefix, "/api", "DELETE", config::Position::Tree},
      {"api-v2", "p.test", PathKind::Prefix, "/api/v2", nullptr, config::Position::Tree},
      // pre and post rules
      {"pre", "a.test", PathKind::Prefix, "/pre", nullptr, config::Position::Pre},
      {"post", "post.example", PathKind::Prefix, "/", nullptr, config::Position::Post},
  };
  std::vector<std::unique_ptr<HttpOrigin>> origins;
  Diff d;
  for (const Fe& f : fes) {
    origins.push_back(std::make_unique<HttpOrigin>(f.id));
    d(config::AddCluster{cluster(f.id)});
    d(config::AddBackend{backend(f.id, "b", *origins.back())});
    auto fe = frontend(f.id, L, f.id, f.host, config::PathRule{f.kind, f.path},
                       f.method ? std::optional<std::string>(f.method) : std::nullopt);
    fe.position = f.pos;
    d(config::AddHttpFrontend{fe});
  }
  rig.apply(d);

  const Row rows[] = {
      // exact host > wildcard > regex host
      {"GET", "a.test", "/", "exact-host"},
      {"GET", "A.TEST:8080", "/x", "exact-host"},  // port stripped, lowercased
      {"GET", "a.test.", "/x", "exact-host"},      // one trailing dot
      {"GET", "b.test", "/", "wild-host"},
      {"GET", "c.d.test", "/", "regex-host"},  // the wildcard matches one label only
      {"GET", "q.test", "/only", "only"},
      {"GET", "q.test", "/other", "wild-host"},  // q.test has no match for /other: fall through
      // exact path > regex path > longest prefix
      {"GET", "p.test", "/exact", "path-exact"},
      {"GET", "p.test", "/exa", "path-regex"},
      {"GET", "p.test", "/exact/more", "path-regex"},
      {"GET", "p.test", "/eabc", "prefix-e"},
      {"GET", "p.test", "/zzz", "prefix-root"},
      {"GET", "p.test", "/exact?q=1", "path-exact"},  // the query is not part of the path
      // method-specific beats any-method at the same level
      {"GET", "p.test", "/m", "m-any"},
      {"POST", "p.test", "/m", "m-post"},
      {"GET", "p.test", "/api/x", "api-any"},
      {"DELETE", "p.test", "/api/x", "api-delete"},
      {"DELETE", "p.test", "/api/v2/x", "api-v2"},  // a longer prefix beats method-specific
      // pre before the tree, post after it
      {"GET", "a.test", "/pre/x", "pre"},
      {"GET", "post.example", "/anything", "post"},
      // no route
      {"GET", "other.example", "/", "404"},
      {"GET", "test", "/", "404"},
  };
  for (const Row& r : rows) {
    CAPTURE(r.method);
    CAPTURE(r.host);
    CAPTURE(r.path);
    auto res = curl_get(rig.port, r.path, r.host, {"-X", r.method});
    if (std::string(r.expect) == "404") {
      CHECK(res.status == 404);
      CHECK(res.header("x-origin").empty());
    } else {
      CHECK(res.status == 200);
      CHECK(res.body == r.expect);
      CHECK(res.header("x-seen-method") == r.method);
    }
  }
}

TEST_CASE("routing: forwarding headers reach the origin") {
  Rig rig;
  rig.add_http_listener();
  HttpOrigin o("o");
  rig.add_cluster("c", {&o});
  auto r = curl_get(rig.port, "/id?a=b", "app.test");
  REQUIRE(r.status == 200);
  CHECK(r.header("x-seen-host") == "app.test");
  CHECK(r.header("x-seen-path") == "/id?a=b");
  CHECK(r.header("x-seen-forwarded-for") == "127.0.0.1");
  CHECK(r.header("x-seen-forwarded-proto") == "http");
  // RFC 7239: for= carries the client address (quoted with its port), proto= the scheme.
  const std::string fwd = r.header("x-seen-forwarded");
  CAPTURE(fwd);
  CHECK(fwd.find("for=") != std::string::npos);
  CHECK(fwd.find("127.0.0.1") != std::string::npos);
  CHECK(fwd.find("proto=http") != std::string::npos);
  // An X-Forwarded-For from the client is extended, not replaced.
  auto r2 = curl_get(rig.port, "/id", "app.test", {"-H", "X-Forwarded-For: 10.1.2.3"});
  CHECK(r2.header("x-seen-forwarded-for") == "10.1.2.3, 127.0.0.1");
}
