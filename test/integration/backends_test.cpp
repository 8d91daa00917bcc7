// Backend connection handling through the proxy: a pooled keep-alive connection the backend
// closed while idle is never answered 502 (the request goes out again on a fresh connection),
// and a backend that refuses connections is skipped for another one, then marked down.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "rig.hpp"

using namespace kakehi;
using namespace kakehi::test;

namespace {

// An origin that answers exactly one request per connection with a keep-alive response, then
// closes the connection shortly after (as a backend's idle timeout would), without saying so.
class OneShotOrigin {
 public:
  OneShotOrigin() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(fd_, 64) == 0);
    socklen_t len = sizeof sa;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotOrigin() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string address() const { return local(port_); }
  int connections() const { return connections_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++connections_;
      std::string in;
      char buf[4096];
      for (int i = 0; i < 100 && in.find("\r\n\r\n") == std::string::npos; ++i) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 50) <= 0) continue;
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
      }
      static constexpr std::string_view kAnswer =
          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";
      (void)!::send(c, kAnswer.data(), kAnswer.size(), MSG_NOSIGNAL);
      ::usleep(30'000);  // then the "idle timeout" closes it
      ::close(c);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("backends: a pooled connection closed by the backend is never a 502") {
  OneShotOrigin origin;
  Rig rig;
  rig.add_http_listener();
  Diff d;
  d(config::AddCluster{cluster("c")});
  d(config::AddBackend{backend("c", "b0", backend_address(origin.address()))});
  d(config::AddHttpFrontend{frontend("f", rig.listener, "c", "app.test")});
  rig.apply(d);
  constexpr int kRequests = 10;
  for (int i = 0; i < kRequests; ++i) {
    HttpResponse r = curl_get(rig.port, "/", "app.test");
    CHECK_MESSAGE(r.status == 200, "request " << i << ": " << r.status << " " << r.curl_err);
    CHECK(r.body == "ok");
    std::this_thread::sleep_for(80ms);  // the origin has closed the pooled connection by now
  }
  const proxy::ProxyStats s = rig.proxy.stats();
  CHECK(s.responses[5] == 0);
  CHECK(origin.connections() == kRequests);  // every request needed a fresh connection
  // An HTTP/1.1 pool needs a connection per request here; an h2 backend multiplexes one.
  if (!backend_h2()) CHECK(s.backend_connects + s.stale_retries >= kRequests);
}

TEST_CASE("backends: a refusing backend is skipped, then marked down") {
  auto live = std::make_unique<HttpOrigin>("live");
  const uint16_t dead_port = free_port();  // nothing listens there
  REQUIRE(connect_refused(dead_port));
  proxy::ProxyOptions o = rig_options();
  o.failures_before_down = 2;
  o.backoff_base_ms = 60'000;  // stays down for the rest of the test
  Rig rig(o);
  rig.add_http_listener();
  Diff d;
  d(config::AddCluster{cluster("c")});
  d(config::AddBackend{backend("c", "a-dead", local(dead_port))});
  d(config::AddBackend{backend("c", "b-live", *live)});
  d(config::AddHttpFrontend{frontend("f", rig.listener, "c", "app.test")});
  rig.apply(d);
  constexpr int kRequests = 20;
  for (int i = 0; i < kRequests; ++i) {
    HttpResponse r = curl_get(rig.port, "/id", "app.test");
    CHECK_MESSAGE(r.status == 200, "request " << i << ": " << r.status << " " << r.curl_err);
    CHECK(r.body.rfind("live", 0) == 0);
  }
  const proxy::ProxyStats s = rig.proxy.stats();
  CHECK(s.responses[5] == 0);
  // Round robin sends every other request to the dead backend until it is marked down after
  // two consecutive failures; after that it is not tried again.
  CHECK(s.connect_failures == 2);

  // With every backend refusing, the answer is 503.
  live.reset();
  HttpResponse r = curl_get(rig.port, "/id", "app.test");
  // With KAKEHI_TEST_BACKEND=h2 the live backend is its nginx front, which still accepts and
  // answers 502 itself: no backend refuses.
  if (!backend_h2()) CHECK(r.status == 503);
}

TEST_CASE("listeners: an HTTP listener turned into a TCP listener on the same address") {
  HttpOrigin http("h");
  TcpEchoOrigin echo;
  Rig rig;
  rig.add_http_listener();
  Diff d;
  d(config::AddCluster{cluster("web")});
  d(config::AddBackend{backend("web", "b0", http)});
  d(config::AddHttpFrontend{frontend("f", rig.listener, "web", "app.test")});
  rig.apply(d);
  CHECK(curl_get(rig.port, "/id", "app.test").status == 200);

  // One diff: the HTTP frontend goes, the listener becomes TCP, a TCP frontend comes.
  config::Listener tcp = tcp_listener(rig.listener);
  Diff change;
  change(config::RemoveHttpFrontend{"f"});
  change(config::UpdateListener{tcp});
  change(config::AddCluster{cluster("echo")});
  change(config::AddBackend{backend("echo", "e0", echo.address())});
  change(config::AddTcpFrontend{config::TcpFrontend{rig.listener, "echo", {}}});
  rig.apply(change);

  bool echoed = eventually([&] {
    RawClient c(rig.port);
    if (!c.connected() || !c.send_all("ping")) return false;
    return c.recv_some(1000ms) == "ping";
  });
  CHECK(echoed);
  // The tunnels end with their clients (the proxy is stopped with no pipe open).
  CHECK(eventually([&] { return rig.proxy.stats().active_sessions == 0; }));
}

TEST_CASE("reconfig: a keep-alive connection's next request follows the new configuration") {
  HttpOrigin a("a"), b("b");
  Rig rig;
  rig.add_http_listener();
  rig.add_cluster("ca", {&a});
  RawClient c(rig.port);
  REQUIRE(c.send_all("GET /id HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  auto r1 = c.read_response();
  CHECK(r1.status == 200);
  CHECK(r1.body.rfind("a", 0) == 0);
  REQUIRE(r1.keep_alive);
  // While the connection is idle: a new cluster takes /new, and the old cluster's backend moves.
  Diff d;
  d(config::AddCluster{cluster("cb")});
  d(config::AddBackend{backend("cb", "b0", b)});
  d(config::AddHttpFrontend{frontend("f-new", rig.listener, "cb", "app.test",
                                     config::PathRule{config::PathKind::Prefix, "/new"})});
  rig.apply(d);
  REQUIRE(c.send_all("GET /new/id HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  auto r2 = c.read_response();
  CHECK(r2.status == 200);
  CHECK(r2.body.rfind("b", 0) == 0);
  REQUIRE(c.send_all("GET /id HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  auto r3 = c.read_response();
  CHECK(r3.status == 200);
  CHECK(r3.body.rfind("a", 0) == 0);
}
