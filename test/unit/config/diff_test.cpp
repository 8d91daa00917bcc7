#include "kakehi/config/diff.hpp"

#include <doctest/doctest.h>

#include "fixtures.hpp"
#include "generator.hpp"

using namespace kakehi::config;
using namespace kakehi::config::test;

TEST_CASE("diff from the empty state adds parents before dependents") {
  State s = *kakehi::config::apply(State{}, basic_setup());
  auto d = diff(State{}, s, "x");
  REQUIRE(d.size() == 5);
  CHECK(d[0].id == "x1");
  CHECK(std::holds_alternative<AddListener>(d[0].body));
  CHECK(std::holds_alternative<AddCluster>(d[1].body));
  CHECK(std::holds_alternative<AddBackend>(d[2].body));
  CHECK(std::holds_alternative<AddHttpFrontend>(d[4].body));
  auto back = diff(s, State{});
  REQUIRE(back.size() == 5);
  CHECK(std::holds_alternative<RemoveHttpFrontend>(back[0].body));
  CHECK(std::holds_alternative<RemoveBackend>(back[1].body));
  CHECK(std::holds_alternative<RemoveCluster>(back[3].body));
  CHECK(std::holds_alternative<RemoveListener>(back[4].body));
  CHECK(*kakehi::config::apply(s, back) == State{});
  CHECK(diff(s, s).empty());
}

TEST_CASE("HTTP/2 settings and the backend protocol change by update, not remove and add") {
  State a = *kakehi::config::apply(State{}, basic_setup());
  State b = a;
  b.listeners.at("127.0.0.1:8080").http2.max_concurrent_streams = 10;
  b.clusters.at("c1").backend_protocol = BackendProtocol::Http2;
  auto d = diff(a, b);
  REQUIRE(d.size() == 2);
  CHECK(std::holds_alternative<UpdateListener>(d[0].body));
  CHECK(std::holds_alternative<UpdateCluster>(d[1].body));
  CHECK(*kakehi::config::apply(a, d) == b);
}

TEST_CASE("diff moves a frontend to a new cluster while the old one is removed") {
  State a = *kakehi::config::apply(State{}, basic_setup());
  State b = a;
  b.backends.clear();
  b.clusters.erase("c1");
  b.clusters.emplace("c2", cluster("c2"));
  b.http_frontends.at("f1").cluster = "c2";
  auto d = diff(a, b);
  auto r = kakehi::config::apply(a, d);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  CHECK(*r == b);
  b.backends.emplace(BackendKey{"c2", "b1"}, backend("c2", "b1", "10.1.1.1:80", 7));
  b.backends.emplace(BackendKey{"c2", "b2"}, backend("c2", "b2", "10.1.1.2:80"));
  CHECK(*kakehi::config::apply(a, diff(a, b)) == b);
  // Swapping the routes of two frontends needs remove-then-add (updates would conflict).
  State c = *kakehi::config::apply(
      a, {req("1", AddHttpFrontend{frontend("f2", "127.0.0.1:8080", "c1", "other.com")})});
  State e = c;
  std::swap(e.http_frontends.at("f1").hostname, e.http_frontends.at("f2").hostname);
  CHECK(*kakehi::config::apply(c, diff(c, e)) == e);
}

TEST_CASE("apply(old, diff(old, new)) == new over generated states") {
  StateGenerator gen(0x6b616b65);
  int non_empty = 0;
  std::size_t http = 0, tcp = 0, certs = 0, backends = 0;
  for (int i = 0; i < 400; ++i) {
    State a = gen.next();
    State b = gen.next();
    REQUIRE_MESSAGE(validate(a).has_value(), (validate(a) ? "" : validate(a).error()));
    auto d = diff(a, b);
    non_empty += !d.empty();
    http += a.http_frontends.size();
    tcp += a.tcp_frontends.size();
    certs += a.certificates.size();
    backends += a.backends.size();
    auto r = kakehi::config::apply(a, d);
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
    REQUIRE(*r == b);
    CHECK(diff(b, b).empty());
  }
  CHECK(non_empty > 350);
  // The generator really exercises every entity kind.
  CHECK(http > 400);
  CHECK(tcp > 100);
  CHECK(certs > 100);
  CHECK(backends > 800);
}

TEST_CASE("validate catches a state whose keys and ids disagree") {
  State s = *kakehi::config::apply(State{}, basic_setup());
  CHECK(validate(s).has_value());
  State bad = s;
  auto node = bad.clusters.extract("c1");
  node.key() = "c7";
  bad.clusters.insert(std::move(node));
  CHECK_FALSE(validate(bad).has_value());
  bad = s;
  bad.http_frontends.at("f1").cluster = "nope";
  auto v = validate(bad);
  REQUIRE_FALSE(v.has_value());
  CHECK(v.error().find("cluster \"nope\" does not exist") != std::string::npos);
}
