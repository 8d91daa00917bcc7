// Reconfiguration while traffic flows: 500 diffs applied while wrk drives a route that stays
// configured (zero errors allowed), a backend removed under an in-flight 100 MiB download (it
// completes intact), a listener removed under an in-flight slow request (it stops accepting,
// the request completes).
#include <atomic>
#include <future>
#include <thread>

#include "rig.hpp"

using namespace kakehi::test;
using namespace kakehi;

namespace {

std::string url(uint16_t port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

// Generates the 500 diffs: each touches other routes, or the loaded cluster's extra backends
// (its backend "keep" is never touched).
class Churn {
 public:
  Churn(Rig& rig, const HttpOrigin& m1, const HttpOrigin& m2) : rig_(rig), m1_(m1), m2_(m2) {}

  /// Applies diff number `k`; returns "" or the failure.
  std::string step(int k) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      Diff d;
      build(k, d);
      auto answers = rig_.proxy.apply(d.take());
      std::string f = failures(answers);
      if (f.empty()) {
        commit(k);
        return {};
      }
      // Only a listener port taken meanwhile is worth another try (with another port).
      if (f.find("listen on") == std::string::npos) return f;
      pending_port_ = 0;
    }
    return "listener port kept failing";
  }

 private:
  void build(int k, Diff& d) {
    using config::LbAlgorithm;
    switch (k % 6) {
      case 0:  // add an extra backend to the loaded cluster
        d(config::AddBackend{backend("main", "x" + std::to_string(k), (k / 6) % 2 ? m1_ : m2_)});
        break;
      case 1:  // remove the oldest extra backend (if any) and change "o2"'s backend weight
        if (!extras_.empty()) d(config::RemoveBackend{"main", extras_.front()});
        d(config::UpdateBackend{backend("o2", "b", *o2_, 10 + (k % 90))});
        break;
      case 2:  // a second listener with a frontend comes and goes
        if (l2_.empty()) {
          if (pending_port_ == 0) pending_port_ = free_port();
          d(config::AddListener{http_listener(local(pending_port_))});
          d(config::AddHttpFrontend{frontend("f-l2", local(pending_port_), "o2", "app.test")});
        } else {
          d(config::RemoveHttpFrontend{"f-l2"});
          d(config::RemoveListener{l2_});
        }
        break;
      case 3: {  // swap a frontend between clusters
        auto f = frontend("f-swap", rig_.listener, swap_to_o1_ ? "o2" : "o1", "swap.test");
        d(config::UpdateHttpFrontend{f});
        break;
      }
      case 4:  // a frontend on the loaded listener comes and goes
        if (other_) {
          d(config::RemoveHttpFrontend{"f-other"});
        } else {
          d(config::AddHttpFrontend{frontend("f-other", rig_.listener, "o1", "other.test",
                                             config::PathRule{config::PathKind::Prefix, "/x"})});
        }
        break;
      default: {  // change another cluster's algorithm; its extra backend comes and goes
        auto c = cluster("o1", static_cast<LbAlgorithm>(k / 6 % 4));
        d(config::UpdateCluster{c});
        if (o1_extra_) {
          d(config::RemoveBackend{"o1", "extra"});
        } else {
          d(config::AddBackend{backend("o1", "extra", m1_)});
        }
        break;
      }
    }
  }
  void commit(int k) {
    switch (k % 6) {
      case 0:
        extras_.push_back("x" + std::to_string(k));
        break;
      case 1:
        if (!extras_.empty()) extras_.erase(extras_.begin());
        break;
      case 2:
        if (l2_.empty()) {
          l2_ = local(pending_port_);
        } else {
          l2_.clear();
        }
        pending_port_ = 0;
        break;
      case 3:
        swap_to_o1_ = !swap_to_o1_;
        break;
      case 4:
        other_ = !other_;
        break;
      default:
        o1_extra_ = !o1_extra_;
        break;
    }
  }

 public:
  const HttpOrigin* o2_ = nullptr;
  bool swap_to_o1_ = true;  ///< f-swap currently points at o1

 private:
  Rig& rig_;
  const HttpOrigin& m1_;
  const HttpOrigin& m2_;
  std::vector<std::string> extras_;
  std::string l2_;
  uint16_t pending_port_ = 0;
  bool other_ = false;
  bool o1_extra_ = false;
};

}  // namespace

TEST_CASE("reconfig: 500 diffs under wrk load, zero errors") {
  Rig rig(rig_options(2));
  rig.add_http_listener();
  HttpOrigin m0("m0"), m1("m1"), m2("m2"), o1("o1"), o2("o2");
  {
    Diff d;
    d(config::AddCluster{cluster("main")});
    d(config::AddBackend{backend("main", "keep", m0)});
    d(config::AddHttpFrontend{frontend("f-main", rig.listener, "main", "app.test")});
    d(config::AddCluster{cluster("o1")});
    d(config::AddBackend{backend("o1", "b", o1)});
    d(config::AddCluster{cluster("o2")});
    d(config::AddBackend{backend("o2", "b", o2)});
    d(config::AddHttpFrontend{frontend("f-swap", rig.listener, "o1", "swap.test")});
    rig.apply(d);
  }
  constexpr int kSeconds = 20;
  constexpr int kDiffs = 500;
  auto load = std::async(std::launch::async, [&] {
    return wrk(url(rig.port, "/id"), 1, 64, kSeconds, {"-H", "Host: app.test"});
  });
  Churn churn(rig, m1, m2);
  churn.o2_ = &o2;
  std::vector<std::string> errors;
  const auto start = Clock::now() + 1s;  // let wrk connect first
  const auto pace = std::chrono::milliseconds((kSeconds - 4) * 1000 / kDiffs);
  int applied = 0;
  for (int k = 0; k < kDiffs; ++k) {
    std::this_thread::sleep_until(start + k * pace);
    std::string e = churn.step(k);
    if (e.empty()) {
      ++applied;
    } else if (errors.size() < 5) {
      errors.push_back("diff " + std::to_string(k) + ": " + e);
    }
  }
  const auto churn_took = Clock::now() - start;
  // The swapped frontend follows its last diff.
  auto swapped = curl_get(rig.port, "/id", "swap.test");
  CAPTURE(swapped.body);
  if (churn.swap_to_o1_) {
    CHECK((swapped.body == "o1" || swapped.body == "m1"));  // o1 may have its extra backend
  } else {
    CHECK(swapped.body == "o2");
  }
  WrkResult w = load.get();
  CAPTURE(w.proc.out);
  CAPTURE(w.proc.err);
  for (const auto& e : errors) FAIL_CHECK(e);
  CHECK(applied == kDiffs);
  CHECK(w.parsed);
  CHECK(w.requests > 1000);
  CHECK(w.non_2xx_3xx == 0);
  CHECK(w.socket_errors == 0);
  MESSAGE("wrk: " << w.requests << " requests in " << kSeconds << " s while applying " << applied
                  << " diffs in "
                  << std::chrono::duration_cast<std::chrono::milliseconds>(churn_took).count()
                  << " ms; served by m0/m1/m2: " << m0.requests() << "/" << m1.requests() << "/"
                  << m2.requests());
  CHECK(m1.requests() + m2.requests() > 0);  // the extra backends did take traffic
}

TEST_CASE("reconfig: removing the backend serving an in-flight download") {
  Rig rig;
  rig.add_http_listener();
  HttpOrigin a("a"), b("b");
  rig.add_cluster("dl", {&a, &b});
  constexpr uint64_t kSize = 100ull << 20;
  // Rate-limited so the removal lands mid-transfer (~4 s).
  auto dl = std::async(std::launch::async, [&] {
    return curl_download(url(rig.port, "/bytes/" + std::to_string(kSize)),
                         {"-H", "Host: app.test", "--limit-rate", "25M"}, 120);
  });
  const HttpOrigin* serving = nullptr;
  REQUIRE(eventually([&] {
    if (a.in_flight() > 0) serving = &a;
    if (b.in_flight() > 0) serving = &b;
    return serving != nullptr;
  }));
  std::this_thread::sleep_for(500ms);
  const std::string id = serving == &a ? "b0" : "b1";
  Diff d;
  d(config::RemoveBackend{"dl", id});
  rig.apply(d);
  // New requests go to the remaining backend at once.
  const std::string other = serving == &a ? "b" : "a";
  for (int i = 0; i < 5; ++i) CHECK(curl_get(rig.port, "/id", "app.test").body == other);
  CHECK(serving->in_flight() == 1);  // still streaming
  auto r = dl.get();
  CAPTURE(r.err);
  CHECK(r.curl_exit == 0);
  CHECK(r.bytes == kSize);
  CHECK(r.fnv == pattern_fnv(kSize));

  // Removing the last backend: in flight completes, new requests get 503.
  auto dl2 = std::async(std::launch::async, [&] {
    return curl_download(url(rig.port, "/bytes/" + std::to_string(kSize / 4)),
                         {"-H", "Host: app.test", "--limit-rate", "25M"}, 120);
  });
  const HttpOrigin& last = serving == &a ? b : a;
  REQUIRE(eventually([&] { return last.in_flight() > 0; }));
  Diff d2;
  d2(config::RemoveBackend{"dl", serving == &a ? "b1" : "b0"});
  rig.apply(d2);
  CHECK(curl_get(rig.port, "/id", "app.test").status == 503);
  auto r2 = dl2.get();
  CHECK(r2.curl_exit == 0);
  CHECK(r2.bytes == kSize / 4);
  CHECK(r2.fnv == pattern_fnv(kSize / 4));
}

namespace {

struct RemovedListenerOutcome {
  RawClient::Response in_flight;  ///< the slow response that was in flight at the removal
  bool in_flight_closed = false;  ///< its connection closed after it
  bool refused = false;           ///< connect to the removed listener's port refused
  bool idle_closed = false;       ///< an idle keep-alive connection on it closed
  std::string other_listener;     ///< /id through the remaining listener
};

// A second listener carries an in-flight /slow request and an idle keep-alive connection when
// it is removed (with its frontend).
RemovedListenerOutcome remove_listener_under_load() {
  RemovedListenerOutcome out;
  Rig rig;
  rig.add_http_listener();
  HttpOrigin o("o");
  rig.add_cluster("c", {&o});
  const uint16_t p2 = rig.add_listener(http_listener("127.0.0.1:1"));
  {
    Diff d;
    d(config::AddHttpFrontend{frontend("f2", local(p2), "c", "app.test")});
    rig.apply(d);
  }
  CHECK(curl_get(p2, "/id", "app.test").body == "o");
  RawClient slow(p2);
  REQUIRE(slow.send_all("GET /slow/1500 HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  REQUIRE(eventually([&] { return o.in_flight() > 0; }));
  RawClient idle(p2);
  REQUIRE(idle.send_all("GET /id HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  CHECK(idle.read_response().body == "o");
  Diff d;
  d(config::RemoveHttpFrontend{"f2"});
  d(config::RemoveListener{local(p2)});
  rig.apply(d);
  out.refused = eventually([&] { return connect_refused(p2); }, 2s);
  idle.recv_until_close(3s);
  out.idle_closed = idle.eof();
  out.in_flight = slow.read_response(5s);
  slow.recv_until_close(3s);
  out.in_flight_closed = slow.eof();
  out.other_listener = curl_get(rig.port, "/id", "app.test").body;
  return out;
}

}  // namespace

TEST_CASE("reconfig: a removed listener stops accepting, its in-flight request completes") {
  auto r = remove_listener_under_load();
  CHECK(r.refused);
  CHECK(r.idle_closed);
  CHECK(r.in_flight.status == 200);
  CHECK(r.in_flight.body == "o");
  CHECK(r.in_flight_closed);
  CHECK(r.other_listener == "o");  // the other listener is untouched
}

TEST_CASE("reconfig: the response in flight on a removed listener announces the close") {
  // The proxy closes that connection after the response, so the response should say
  // `Connection: close` (RFC 9112 §9.6) rather than look reusable.
  auto r = remove_listener_under_load();
  CHECK(r.in_flight.status == 200);
  CHECK_FALSE(r.in_flight.keep_alive);
}

namespace {

struct DrainOutcome {
  size_t left = 99;  ///< drain()'s result
  bool quick = false;
  bool refused = false;
  bool idle_closed = false;
  RawClient::Response in_flight;
};

// Two workers, an idle keep-alive connection and a /slow request in flight when drain() runs.
DrainOutcome drain_with_request_in_flight() {
  DrainOutcome out;
  Rig rig(rig_options(2));
  rig.add_http_listener();
  HttpOrigin o("o");
  rig.add_cluster("c", {&o});
  RawClient idle(rig.port);
  REQUIRE(idle.send_all("GET /id HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  CHECK(idle.read_response().body == "o");
  RawClient slow(rig.port);
  REQUIRE(slow.send_all("GET /slow/1000 HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  REQUIRE(eventually([&] { return o.in_flight() > 0; }));
  auto t0 = Clock::now();
  out.left = rig.proxy.drain(10s);
  out.quick = Clock::now() - t0 < 5s;
  out.refused = connect_refused(rig.port);
  out.in_flight = slow.read_response(3s);
  idle.recv_until_close(3s);
  out.idle_closed = idle.eof();
  return out;
}

}  // namespace

TEST_CASE("reconfig: drain waits for the request in flight and closes idle connections") {
  auto r = drain_with_request_in_flight();
  CHECK(r.left == 0);
  CHECK(r.quick);
  CHECK(r.refused);
  CHECK(r.idle_closed);
}

// Once intermittent (about 1 run in 3 after the 500-diff case in the same process): a drain
// shut down a session's fd number after the session had closed it and the number was reused.
TEST_CASE("reconfig: drain delivers the response in flight") {
  auto r = drain_with_request_in_flight();
  CHECK(r.in_flight.status == 200);
  CHECK(r.in_flight.body == "o");
  CHECK_FALSE(r.in_flight.keep_alive);
}
