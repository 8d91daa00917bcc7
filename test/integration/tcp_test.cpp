// The TCP proxy: a TCP listener and its TCP frontend forwarding bytes to an echo origin, with
// half-close carried both ways; curl through a TCP listener to an HTTP origin. Also the
// listeners' socket behaviour: an HTTP listener's delayed first ACK.
#include <linux/tcp.h>  // tcp_info with tcpi_segs_in (glibc's lacks it)
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <optional>
#include <thread>

#include "rig.hpp"

using namespace kakehi::test;
using namespace kakehi;

namespace {

// A TCP listener whose frontend sends to cluster "t" with `addresses` as backends.
struct TcpRig {
  Rig rig;
  explicit TcpRig(const std::vector<std::string>& addresses) {
    rig.add_listener(tcp_listener("127.0.0.1:1"));
    Diff d;
    d(config::AddCluster{cluster("t")});
    for (size_t i = 0; i < addresses.size(); ++i)
      d(config::AddBackend{backend("t", "b" + std::to_string(i), addresses[i])});
    config::TcpFrontend f;
    f.listener = rig.listener;
    f.cluster = "t";
    d(config::AddTcpFrontend{f});
    rig.apply(d);
  }
  uint16_t port() const { return rig.port; }
};

}  // namespace

TEST_CASE("tcp: bytes are echoed and the client's half-close reaches the origin") {
  TcpEchoOrigin echo;
  TcpRig t({echo.address()});
  RawClient c(t.port());
  REQUIRE(c.connected());
  std::string data(3 << 20, '\0');
  fill_pattern(11, data);
  // Write and read at the same time (the proxy must not need the whole stream buffered).
  std::string back;
  std::thread reader([&] { back = c.recv_until_close(20s); });
  REQUIRE(c.send_all(data, 20s));
  c.shutdown_write();
  reader.join();
  CHECK(back.size() == data.size());
  CHECK(back == data);
  CHECK(c.eof());
  CHECK(eventually([&] { return echo.half_closes() == 1; }));
  CHECK(t.rig.proxy.stats().tcp_sessions == 1);
}

TEST_CASE("tcp: after the client's half-close the origin can still answer") {
  TcpEchoOrigin echo;
  TcpRig t({echo.address()});
  RawClient c(t.port());
  REQUIRE(c.send_all("ping"));
  // Turn by turn: the echo comes back before the client closes anything.
  std::string got;
  for (int i = 0; i < 100 && got.size() < 4; ++i) got += c.recv_some(100ms);
  CHECK(got == "ping");
  REQUIRE(c.send_all("last words"));
  c.shutdown_write();
  // The origin reads EOF only after "last words": it echoes them, then shuts down.
  CHECK(c.recv_until_close(5s) == "last words");
  CHECK(c.eof());
}

TEST_CASE("tcp: parallel connections stay separate") {
  TcpEchoOrigin echo;
  TcpRig t({echo.address()});
  constexpr int kClients = 16;
  std::atomic<int> good{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < kClients; ++i) {
    ts.emplace_back([&, i] {
      RawClient c(t.port());
      std::string data(256 * 1024, '\0');
      fill_pattern(static_cast<uint64_t>(i) * 7919, data);
      std::string back;
      std::thread reader([&] { back = c.recv_until_close(20s); });
      bool sent = c.send_all(data, 20s);
      c.shutdown_write();
      reader.join();
      if (sent && back == data) ++good;
    });
  }
  for (auto& th : ts) th.join();
  CHECK(good.load() == kClients);
  CHECK(echo.connections() == kClients);
}

TEST_CASE("tcp: curl through a TCP listener to an HTTP origin") {
  HttpOrigin o("http-behind-tcp");
  TcpRig t({o.address()});
  auto r = curl_get(t.port(), "/id", "whatever.test");
  CHECK(r.status == 200);
  CHECK(r.body == "http-behind-tcp");
  // Bytes are not edited: no forwarding headers on a TCP listener.
  CHECK(r.header("x-seen-forwarded-for").empty());
  auto d = curl_download("http://127.0.0.1:" + std::to_string(t.port()) + "/bytes/5000000", {}, 30);
  CHECK(d.curl_exit == 0);
  CHECK(d.bytes == 5000000);
  CHECK(d.fnv == pattern_fnv(5000000));
}

TEST_CASE("tcp: no reachable backend closes the client connection") {
  TcpRig t({local(free_port())});
  RawClient c(t.port());
  REQUIRE(c.connected());
  c.send_all("hello");
  CHECK(c.recv_until_close(10s).empty());
  CHECK(c.eof());
}

// Under LeakSanitizer (scripts/test --sanitize) this fails if a pump's coroutine frame outlives
// the worker that ran it.
TEST_CASE("tcp: stopping the proxy with a tunnel open frees the tunnel and closes the client") {
  TcpEchoOrigin echo;
  std::optional<RawClient> c;
  {
    TcpRig t({echo.address()});
    c.emplace(t.port());
    REQUIRE(c->send_all("ping"));
    std::string got;
    for (int i = 0; i < 100 && got.size() < 4; ++i) got += c->recv_some(100ms);
    REQUIRE(got == "ping");
    t.rig.proxy.stop();
  }
  CHECK(c->recv_until_close(10s).empty());
  CHECK(c->eof());
}

TEST_CASE("listeners: an HTTP client's first request is acknowledged by the answer") {
  HttpOrigin o("o");
  Rig rig;
  rig.add_listener(http_listener("127.0.0.1:1"));
  Diff d;
  d(config::AddCluster{cluster("c")});
  d(config::AddBackend{backend("c", "b0", o.address())});
  d(config::AddHttpFrontend{frontend("f", rig.listener, "c", "~^.*$")});
  rig.apply(d);
  // The segments the client receives: SYN-ACK, the answer and FIN; a pure ACK of the request
  // before the answer made four (accepted sockets started in quick-ACK mode). A turn slower
  // than the delayed-ACK timer (40 ms) would send that ACK anyway: the fewest of five counts.
  uint32_t fewest = UINT32_MAX;
  for (int i = 0; i < 5; ++i) {
    RawClient c(rig.port);
    REQUIRE(c.send_all("GET /id HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
    const std::string got = c.recv_until_close(5s);
    REQUIRE(got.starts_with("HTTP/1.1 200"));
    tcp_info ti{};
    socklen_t len = sizeof ti;
    REQUIRE(::getsockopt(c.fd(), IPPROTO_TCP, TCP_INFO, &ti, &len) == 0);
    fewest = std::min(fewest, ti.tcpi_segs_in);
  }
  CHECK(fewest == 3);
}
