// Load balancing and sticky sessions through the running proxy, observed by which origin
// answers (its name is the body). One worker, so a balancer's state is the one we observe.
#include <unistd.h>

#include <map>
#include <memory>
#include <set>

#include "rig.hpp"

using namespace kakehi::test;
using namespace kakehi;

namespace {

// One keep-alive GET on `c`; returns the body ("" on failure).
std::string raw_get(RawClient& c, const std::string& path, const std::string& host = "app.test") {
  if (!c.send_all("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")) return {};
  auto r = c.read_response();
  return r.status == 200 ? r.body : std::string("status ") + std::to_string(r.status);
}

std::map<std::string, int> tally(uint16_t port, int n) {
  std::map<std::string, int> m;
  RawClient c(port);
  for (int i = 0; i < n; ++i) ++m[raw_get(c, "/id")];
  return m;
}

}  // namespace

TEST_CASE("balancing: round_robin alternates exactly") {
  Rig rig;
  rig.add_http_listener();
  HttpOrigin a("a"), b("b"), c("c");
  rig.add_cluster("rr", {&a, &b, &c});
  // New connections each time (curl), then many requests on one keep-alive connection.
  std::vector<std::string> seq;
  for (int i = 0; i < 6; ++i) seq.push_back(curl_get(rig.port, "/id", "app.test").body);
  RawClient cl(rig.port);
  for (int i = 0; i < 30; ++i) seq.push_back(raw_get(cl, "/id"));
  REQUIRE(seq.size() == 36);
  CHECK(std::set<std::string>(seq.begin(), seq.begin() + 3) ==
        std::set<std::string>{"a", "b", "c"});
  for (size_t i = 3; i < seq.size(); ++i) {
    CAPTURE(i);
    CHECK(seq[i] == seq[i - 3]);
  }
  CHECK(a.requests() == 12);
  CHECK(b.requests() == 12);
  CHECK(c.requests() == 12);
}

TEST_CASE("balancing: random follows the weights") {
  Rig rig;
  rig.add_http_listener();
  HttpOrigin heavy("heavy"), light("light"), drained("drained");
  Diff d;
  d(config::AddCluster{cluster("rnd", config::LbAlgorithm::Random)});
  d(config::AddBackend{backend("rnd", "h", heavy, 100)});
  d(config::AddBackend{backend("rnd", "l", light, 25)});
  d(config::AddBackend{backend("rnd", "d", drained, 0)});
  d(config::AddHttpFrontend{frontend("f", rig.listener, "rnd", "app.test")});
  rig.apply(d);
  auto m = tally(rig.port, 600);
  CAPTURE(m["heavy"]);
  CAPTURE(m["light"]);
  CHECK(m["heavy"] + m["light"] == 600);
  // Expected 480 / 120 (sd ~ 10): wide bounds.
  CHECK(m["heavy"] >= 420);
  CHECK(m["heavy"] <= 540);
  CHECK(m["drained"] == 0);
  CHECK(drained.requests() == 0);
}

namespace {

// Holds one backend busy with /slow, then checks that every other request avoids it.
void check_prefers_idle(config::LbAlgorithm lb, int backends) {
  Rig rig;
  rig.add_http_listener();
  std::vector<std::unique_ptr<HttpOrigin>> os;
  std::vector<const HttpOrigin*> ptrs;
  for (int i = 0; i < backends; ++i) {
    os.push_back(std::make_unique<HttpOrigin>("o" + std::to_string(i)));
    ptrs.push_back(os.back().get());
  }
  rig.add_cluster("c", ptrs, lb);
  RawClient slow(rig.port);
  REQUIRE(slow.send_all("GET /slow/3000 HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  const HttpOrigin* busy = nullptr;
  REQUIRE(eventually([&] {
    for (const auto& o : os)
      if (o->in_flight() > 0) busy = o.get();
    return busy != nullptr;
  }));
  CAPTURE(busy->name());
  auto m = tally(rig.port, 40);
  CHECK(m[busy->name()] == 0);
  int total = 0;
  for (const auto& [name, n] : m) total += n;
  CHECK(total == 40);
  auto done = slow.read_response(10s);
  CHECK(done.status == 200);
  CHECK(done.body == busy->name());
}

}  // namespace

TEST_CASE("balancing: least_connections avoids the busy backend") {
  check_prefers_idle(config::LbAlgorithm::LeastConnections, 2);
  check_prefers_idle(config::LbAlgorithm::LeastConnections, 3);
}

TEST_CASE("balancing: power_of_two avoids the busy backend") {
  // With two backends both are always drawn, so the idle one must win every time.
  check_prefers_idle(config::LbAlgorithm::PowerOfTwo, 2);
}

TEST_CASE("balancing: sticky sessions by cookie") {
  Rig rig;
  rig.add_http_listener();
  HttpOrigin a("a"), b("b");
  Diff d;
  auto c = cluster("st");
  c.sticky_session = true;
  d(config::AddCluster{c});
  d(config::AddBackend{backend("st", "ba", a)});
  d(config::AddBackend{backend("st", "bb", b)});
  d(config::AddHttpFrontend{frontend("f", rig.listener, "st", "app.test")});
  rig.apply(d);

  // No cookie: the proxy picks a backend and names it in a cookie.
  auto first = curl_get(rig.port, "/id", "app.test");
  REQUIRE(first.status == 200);
  const std::string set = first.header("set-cookie");
  CAPTURE(set);
  const std::string id = first.body == "a" ? "ba" : "bb";
  CHECK(set.rfind("KAKEHI_STICKY=" + id, 0) == 0);

  // With the cookie every request stays there (round robin would alternate), and the cookie is
  // not set again.
  for (int i = 0; i < 10; ++i) {
    auto r = curl_get(rig.port, "/id", "app.test", {"-H", "Cookie: x=1; KAKEHI_STICKY=" + id});
    CHECK(r.body == first.body);
    CHECK(r.header("set-cookie").empty());
    CHECK(r.header("x-seen-cookie").find("KAKEHI_STICKY=" + id) != std::string::npos);
  }
  // The other backend's cookie sends there.
  const std::string other = id == "ba" ? "bb" : "ba";
  for (int i = 0; i < 4; ++i) {
    auto r = curl_get(rig.port, "/id", "app.test", {"-H", "Cookie: KAKEHI_STICKY=" + other});
    CHECK(r.body == (other == "ba" ? "a" : "b"));
  }
  // An unknown id falls back to the balancer and gets a fresh cookie.
  auto unknown = curl_get(rig.port, "/id", "app.test", {"-H", "Cookie: KAKEHI_STICKY=nope"});
  CHECK(unknown.status == 200);
  CHECK(unknown.header("set-cookie").rfind("KAKEHI_STICKY=", 0) == 0);

  // curl's own cookie jar: the first answer sets it, the next ones stay.
  std::string jar = "/tmp/kakehi-it-jar-" + std::to_string(rig.port);
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i)
    names.push_back(curl_get(rig.port, "/id", "app.test", {"-c", jar, "-b", jar}).body);
  ::unlink(jar.c_str());
  for (const auto& n : names) CHECK(n == names.front());
}

TEST_CASE("balancing: a backup backend serves only while no primary is up") {
  Rig rig;
  rig.add_http_listener();
  HttpOrigin primary("primary"), spare("spare");
  Diff d;
  d(config::AddCluster{cluster("bk")});
  d(config::AddBackend{backend("bk", "p", primary)});
  auto b = backend("bk", "s", spare);
  b.backup = true;
  d(config::AddBackend{b});
  d(config::AddHttpFrontend{frontend("f", rig.listener, "bk", "app.test")});
  rig.apply(d);
  for (int i = 0; i < 6; ++i) CHECK(curl_get(rig.port, "/id", "app.test").body == "primary");
  CHECK(spare.requests() == 0);
  // The primary goes away: its connect failures mark it down and the backup takes over.
  primary.stop();
  std::vector<std::string> seen;
  for (int i = 0; i < 6; ++i) seen.push_back(curl_get(rig.port, "/id", "app.test").body);
  // With KAKEHI_TEST_BACKEND=h2 the primary backend is the origin's nginx front, which stays up
  // (answering 502 itself), so the primary never fails to connect.
  if (!backend_h2())
    for (const auto& s : seen) CHECK(s == "spare");
}

TEST_CASE("balancing: weight 0 drains a backend but keeps its sticky sessions") {
  Rig rig;
  rig.add_http_listener();
  HttpOrigin a("a"), b("b");
  Diff d;
  auto c = cluster("st");
  c.sticky_session = true;
  d(config::AddCluster{c});
  d(config::AddBackend{backend("st", "ba", a)});
  d(config::AddBackend{backend("st", "bb", b)});
  d(config::AddHttpFrontend{frontend("f", rig.listener, "st", "app.test")});
  rig.apply(d);
  Diff drain;
  drain(config::UpdateBackend{backend("st", "ba", a, 0)});
  rig.apply(drain);
  for (int i = 0; i < 4; ++i) CHECK(curl_get(rig.port, "/id", "app.test").body == "b");
  for (int i = 0; i < 4; ++i)
    CHECK(curl_get(rig.port, "/id", "app.test", {"-H", "Cookie: KAKEHI_STICKY=ba"}).body == "a");
}

TEST_CASE("balancing: max_connections_per_backend skips a full backend") {
  Rig rig;
  rig.add_http_listener();
  HttpOrigin a("a"), b("b");
  Diff d;
  auto c = cluster("lim");
  c.max_connections_per_backend = 1;
  d(config::AddCluster{c});
  d(config::AddBackend{backend("lim", "ba", a)});
  d(config::AddHttpFrontend{frontend("f", rig.listener, "lim", "app.test")});
  rig.apply(d);
  RawClient slow(rig.port);
  REQUIRE(slow.send_all("GET /slow/1500 HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  REQUIRE(eventually([&] { return a.in_flight() > 0; }));
  // The only backend is at its limit: no backend for this request.
  CHECK(curl_get(rig.port, "/id", "app.test").status == 503);
  // With a second backend the request goes there.
  Diff more;
  more(config::AddBackend{backend("lim", "bb", b)});
  rig.apply(more);
  CHECK(curl_get(rig.port, "/id", "app.test").body == "b");
  auto r = slow.read_response(5s);
  CHECK(r.body == "a");
  // Freed: the first backend takes requests again.
  std::set<std::string> seen;
  for (int i = 0; i < 4; ++i) seen.insert(curl_get(rig.port, "/id", "app.test").body);
  CHECK(seen.count("a") == 1);
}
