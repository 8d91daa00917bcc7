// HTTP/2 towards backends, end to end against a real h2 origin: nginx (support/nginx_h2.hpp;
// cleartext h2c, or h2 over TLS with a certificate made here by the openssl CLI) proxying to a
// Beast HttpOrigin, so every origin endpoint works through it.
// `X-H2-Conn` (nginx's $connection) names the HTTP/2 connection a request came on. Clients
// speak HTTP/1.1 to the proxy. Skipped with a message when nginx is not installed.
#include <stdlib.h>
#include <unistd.h>
#include <atomic>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "rig.hpp"
#include "support/nginx_h2.hpp"

using namespace kakehi::test;
using namespace kakehi;

namespace {

constexpr const char* kNginx = "/usr/sbin/nginx";

bool have_nginx() { return ::access(kNginx, X_OK) == 0; }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A temp dir with a test CA and a leaf for "backend.test" it signed (ECDSA P-256).
struct Certs {
  std::string dir;
  Certs() {
    char tmpl[] = "/tmp/kakehi-h2b-pki-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", at("ca.key"), "-out", at("ca.pem"), "-subj", "/CN=kakehi h2 test CA",
             "-days", "2"});
    openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             at("leaf.key"), "-out", at("leaf.csr"), "-subj", "/CN=backend.test"});
    std::ofstream(at("leaf.ext")) << "subjectAltName=DNS:backend.test\n";
    openssl({"x509", "-req", "-in", at("leaf.csr"), "-CA", at("ca.pem"), "-CAkey", at("ca.key"),
             "-CAcreateserial", "-out", at("leaf.pem"), "-days", "2", "-extfile", at("leaf.ext")});
  }
  ~Certs() { std::filesystem::remove_all(dir); }
  std::string at(const std::string& name) const { return dir + "/" + name; }
  void openssl(std::vector<std::string> args) const {
    args.insert(args.begin(), "openssl");
    auto r = run(args, 20s);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  }
};

const Certs& certs() {
  static const Certs c;
  return c;
}

NginxOptions tls_options(bool http2 = true) {
  return {.tls_cert = certs().at("leaf.pem"), .tls_key = certs().at("leaf.key"), .http2 = http2};
}

config::Cluster h2_cluster(const std::string& id, bool tls = false) {
  config::Cluster c = cluster(id);
  c.backend_protocol = config::BackendProtocol::Http2;
  if (tls) {
    c.backend_tls.enabled = true;
    c.backend_tls.verify = true;
    c.backend_tls.ca_pem = slurp(certs().at("ca.pem"));
    c.backend_tls.server_name = "backend.test";
  }
  return c;
}

// A proxy with an HTTP listener whose host "app.test" goes to an HTTP/2 cluster of `backends`.
struct H2Rig {
  Rig rig;
  explicit H2Rig(const std::vector<std::string>& backends, bool tls = false,
                 proxy::ProxyOptions o = rig_options())
      : rig(std::move(o)) {
    rig.add_http_listener();
    Diff d;
    d(config::AddCluster{h2_cluster("c", tls)});
    for (size_t i = 0; i < backends.size(); ++i)
      d(config::AddBackend{backend("c", "b" + std::to_string(i), backends[i])});
    d(config::AddHttpFrontend{frontend("f", rig.listener, "c", "app.test")});
    rig.apply(d);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(rig.port) + path;
  }
};

std::string upload_answer(uint64_t n) { return std::to_string(n) + " " + hex64(pattern_fnv(n)); }

struct Outcome {
  int status = 0;
  std::string conn;  // X-H2-Conn
};

// One keep-alive client sending `n` GETs of `path` in sequence.
std::vector<Outcome> get_many(uint16_t port, const std::string& path, int n) {
  std::vector<Outcome> out;
  RawClient c(port);
  if (!c.connected()) return out;
  for (int i = 0; i < n; ++i) {
    if (!c.send_all("GET " + path + " HTTP/1.1\r\nHost: app.test\r\n\r\n")) break;
    auto r = c.read_response(10s);
    auto it = r.headers.find("x-h2-conn");
    out.push_back({r.status, it == r.headers.end() ? "" : it->second});
    if (r.status == 0 || !r.keep_alive) break;
  }
  return out;
}

// `clients` concurrent keep-alive clients, `per_client` GETs each.
std::vector<Outcome> get_concurrently(uint16_t port, const std::string& path, int clients,
                                      int per_client) {
  std::vector<Outcome> all;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&] {
      auto got = get_many(port, path, per_client);
      std::lock_guard lock(mu);
      all.insert(all.end(), got.begin(), got.end());
    });
  for (auto& t : threads) t.join();
  return all;
}

// `clients` concurrent keep-alive clients, each uploading `per_client` bodies of `size` bytes
// (the origin's pattern) to /upload; the outcomes whose answer is the right checksum count.
size_t upload_concurrently(uint16_t port, int clients, int per_client, size_t size) {
  std::string body(size, '\0');
  fill_pattern(0, std::span<char>(body.data(), body.size()));
  const std::string request =
      "POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: " + std::to_string(size) +
      "\r\n\r\n" + body;
  std::atomic<size_t> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&] {
      RawClient c(port);
      for (int k = 0; k < per_client && c.connected(); ++k) {
        if (!c.send_all(request)) break;
        auto r = c.read_response(10s);
        if (r.status == 200 && r.body == upload_answer(size)) ++ok;
        if (r.status == 0 || !r.keep_alive) break;
      }
    });
  for (auto& t : threads) t.join();
  return ok.load();
}

size_t count_ok(const std::vector<Outcome>& v) {
  return static_cast<size_t>(
      std::count_if(v.begin(), v.end(), [](const Outcome& o) { return o.status == 200; }));
}
std::set<std::string> conns(const std::vector<Outcome>& v) {
  std::set<std::string> s;
  for (const auto& o : v) s.insert(o.conn);
  return s;
}

#define SKIP_WITHOUT_NGINX()                                                       \
  if (!have_nginx()) {                                                             \
    MESSAGE("skipped: " << kNginx << " is not installed (apt-get install nginx)"); \
    return;                                                                        \
  }

}  // namespace

TEST_CASE("h2 backend: bodies both ways through h2c, framing kept for HTTP/1.1 clients") {
  SKIP_WITHOUT_NGINX();
  HttpOrigin origin("o");
  Nginx nginx(origin.address());
  H2Rig h(std::vector<std::string>{nginx.address()});

  auto r = curl_get(h.rig.port, "/id", "app.test");
  CHECK(r.status == 200);
  CHECK(r.body == "o");
  CHECK(!r.header("x-h2-conn").empty());
  CHECK(r.header("x-seen-forwarded-for") == "127.0.0.1");

  for (uint64_t n : {0ull, 1ull, 16384ull, 16385ull, 300000ull, 8ull << 20}) {
    CAPTURE(n);
    for (const char* kind : {"/bytes/", "/chunked/"}) {
      CAPTURE(kind);
      auto d = curl_download(h.url(kind + std::to_string(n)), {"-H", "Host: app.test"}, 30);
      CHECK(d.curl_exit == 0);
      CHECK(d.bytes == n);
      CHECK(d.fnv == pattern_fnv(n));
    }
  }
  for (uint64_t n : {1ull, 16385ull, 1000000ull, 8ull << 20}) {
    CAPTURE(n);
    for (bool chunked : {false, true}) {
      CAPTURE(chunked);
      auto u = curl_upload(h.url("/upload"), {"-H", "Host: app.test"}, n, chunked, 30);
      CHECK(u.exit_code == 0);
      CHECK(u.out == upload_answer(n));
    }
  }
  auto e = curl_upload(h.url("/upload"), {"-H", "Host: app.test", "-H", "Expect: 100-continue"},
                       200000, false, 30);
  CHECK(e.out == upload_answer(200000));

  // A known length stays Content-Length; HEAD, 204 and 304 carry no body.
  auto cl = curl_get(h.rig.port, "/bytes/1000", "app.test");
  CHECK(cl.header("content-length") == "1000");
  CHECK(cl.body.size() == 1000);
  auto head = curl_get(h.rig.port, "/bytes/1000", "app.test", {"-I"});
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(curl_get(h.rig.port, "/status/204", "app.test").status == 204);
  CHECK(curl_get(h.rig.port, "/status/404", "app.test").status == 404);

  // Sequential requests share one HTTP/2 connection.
  auto seq = get_many(h.rig.port, "/id", 20);
  REQUIRE(seq.size() == 20);
  CHECK(count_ok(seq) == 20);
  CHECK(conns(seq).size() == 1);
}

// RFC 9113 §8.1: a backend may answer before the request body ends (nginx's 413 for a body
// over the location's 1 KiB, then RST_STREAM NO_ERROR, or a window that never opens). The
// client gets that answer, not a 502 for the failed body write or a 504 for a body nobody
// reads; the rest of the body goes nowhere.
TEST_CASE("h2 backend: an answer before the end of the request body is relayed") {
  SKIP_WITHOUT_NGINX();
  HttpOrigin origin("o");
  Nginx nginx(origin.address());
  H2Rig h(std::vector<std::string>{nginx.address()});
  for (uint64_t n : {100'000ull, 8ull << 20}) {
    CAPTURE(n);
    for (bool chunked : {false, true}) {
      CAPTURE(chunked);
      auto u = curl_upload(h.url("/limited/upload"),
                           {"-H", "Host: app.test", "-H", "Expect:", "-w", "\n%{http_code}"}, n,
                           chunked, 30);
      CAPTURE(u.err);
      CHECK(u.out.ends_with("\n413"));
    }
  }
  // The stream's end freed what it held: the proxy and the backend connection go on.
  auto r = curl_get(h.rig.port, "/id", "app.test");
  CHECK(r.status == 200);
  CHECK(r.body == "o");
}

TEST_CASE("h2 backend: 32 concurrent clients are multiplexed on few connections") {
  SKIP_WITHOUT_NGINX();
  HttpOrigin origin("o");
  Nginx nginx(origin.address());
  H2Rig h(std::vector<std::string>{nginx.address()});
  auto all = get_concurrently(h.rig.port, "/slow/200", 32, 3);
  CHECK(all.size() == 96);
  CHECK(count_ok(all) == all.size());
  const size_t distinct = conns(all).size();
  CAPTURE(distinct);
  CHECK(distinct <= 2);
  CHECK(h.rig.proxy.stats().backend_connects <= 2);
}

TEST_CASE("h2 backend: the backend's MAX_CONCURRENT_STREAMS is respected") {
  SKIP_WITHOUT_NGINX();
  HttpOrigin origin("o");
  Nginx nginx(origin.address(), {.max_concurrent_streams = 4});
  H2Rig h(std::vector<std::string>{nginx.address()});
  auto all = get_concurrently(h.rig.port, "/slow/300", 16, 2);
  CHECK(all.size() == 32);
  CHECK(count_ok(all) == all.size());
  const size_t distinct = conns(all).size();
  CAPTURE(distinct);
  CHECK(distinct >= 4);  // 16 at once, 4 per connection
  CHECK(distinct <= 16);
}

// One stream per connection and at most 32 connections per backend (per worker): 48 slow
// requests at once leave 16 waiting for a slot; each gets one as an earlier stream ends.
TEST_CASE("h2 backend: streams beyond every connection's limit wait for a slot") {
  SKIP_WITHOUT_NGINX();
  HttpOrigin origin("o");
  Nginx nginx(origin.address(), {.max_concurrent_streams = 1});
  H2Rig h(std::vector<std::string>{nginx.address()});
  auto all = get_concurrently(h.rig.port, "/slow/300", 48, 1);
  CHECK(all.size() == 48);
  CHECK(count_ok(all) == 48);
  const size_t distinct = conns(all).size();
  CAPTURE(distinct);
  CHECK(distinct <= 32);
  CHECK(h.rig.proxy.stats().backend_connects <= 32);
}

TEST_CASE("h2 backend: streams above a GOAWAY's last stream id are retried on a new connection") {
  SKIP_WITHOUT_NGINX();
  HttpOrigin origin("o");
  Nginx nginx(origin.address(), {.keepalive_requests = 10});
  H2Rig h(std::vector<std::string>{nginx.address()});

  auto seq = get_many(h.rig.port, "/id", 100);
  REQUIRE(seq.size() == 100);
  CHECK(count_ok(seq) == 100);
  CHECK(conns(seq).size() >= 10);  // nginx ends each connection after 10 requests

  auto all = get_concurrently(h.rig.port, "/id", 10, 10);
  CHECK(all.size() == 100);
  CHECK(count_ok(all) == 100);
  auto slow = get_concurrently(h.rig.port, "/slow/20", 25, 4);
  CHECK(slow.size() == 100);
  CHECK(count_ok(slow) == 100);
  // Uploads too: a body that fits in what a stream keeps for a replay (64 KiB) is sent again.
  for (size_t size : {1ul, 2000ul, 65536ul}) {
    CAPTURE(size);
    CHECK(upload_concurrently(h.rig.port, 10, 20, size) == 200);
  }
  // The same from HTTP/2 clients (h2 -> h2): 400 POSTs of 2000 bytes, 10 streams at a time.
  const std::string body_file = std::filesystem::temp_directory_path() / "kakehi-h2b-post.bin";
  {
    std::string body(2000, '\0');
    fill_pattern(0, std::span<char>(body.data(), body.size()));
    std::ofstream(body_file, std::ios::binary) << body;
  }
  ProcResult l = run({"h2load", "-n", "400", "-c", "2", "-m", "10", "-d", body_file, "-H",
                      ":authority: app.test", h.url("/upload")},
                     60s);
  std::filesystem::remove(body_file);
  CHECK_MESSAGE(l.out.find("status codes: 400 2xx") != std::string::npos, l.out);
  MESSAGE("replayed streams: " << h.rig.proxy.stats().stale_retries);
}

TEST_CASE("h2 backend: over TLS with ALPN h2; a TLS backend without h2 is refused") {
  SKIP_WITHOUT_NGINX();
  HttpOrigin origin("o");
  Nginx nginx(origin.address(), tls_options());
  H2Rig h(std::vector<std::string>{nginx.address()}, true);
  auto r = curl_get(h.rig.port, "/id", "app.test");
  CHECK(r.status == 200);
  CHECK(r.body == "o");
  auto d = curl_download(h.url("/bytes/3000000"), {"-H", "Host: app.test"}, 30);
  CHECK(d.bytes == 3000000);
  CHECK(d.fnv == pattern_fnv(3000000));
  auto all = get_concurrently(h.rig.port, "/id", 8, 5);
  CHECK(count_ok(all) == 40);
  CHECK(conns(all).size() <= 2);
  CHECK(h.rig.proxy.stats().backend_tls_handshakes >= 1);

  // nginx without h2 on that port refuses the handshake (no protocol in common): as for any
  // TLS failure, 503.
  Nginx h1only(origin.address(), tls_options(false));
  H2Rig refused(std::vector<std::string>{h1only.address()}, true);
  CHECK(curl_get(refused.rig.port, "/id", "app.test").status == 503);

  // A TLS server that ignores ALPN completes the handshake without "h2": the connection is
  // dropped before the preface, 502.
  const uint16_t sport = free_port();
  Child s_server({"openssl", "s_server", "-accept", std::to_string(sport), "-cert",
                  certs().at("leaf.pem"), "-key", certs().at("leaf.key"), "-www"},
                 false);
  REQUIRE(eventually([&] { return !connect_refused(sport); }));
  H2Rig no_alpn(std::vector<std::string>{local(sport)}, true);
  CHECK(curl_get(no_alpn.rig.port, "/id", "app.test").status == 502);
  CHECK(curl_get(h.rig.port, "/id", "app.test").status == 200);
}

TEST_CASE("h2 backend: a backend that is down answers 503") {
  const uint16_t dead = free_port();
  REQUIRE(connect_refused(dead));
  H2Rig h(std::vector<std::string>{local(dead)});
  CHECK(curl_get(h.rig.port, "/id", "app.test").status == 503);
  CHECK(curl_get(h.rig.port, "/id", "app.test").status == 503);
  CHECK(h.rig.proxy.stats().connect_failures >= 2);
}

TEST_CASE("h2 backend: the connection killed mid-response ends the client's; the proxy goes on") {
  SKIP_WITHOUT_NGINX();
  HttpOrigin origin("o");
  Nginx nginx(origin.address());
  H2Rig h(std::vector<std::string>{nginx.address()});
  CHECK(curl_get(h.rig.port, "/id", "app.test").status == 200);

  // A slow reader keeps the response in flight; nginx dies under it.
  const uint64_t n = 64ull << 20;
  StreamResult d;
  std::thread reader([&] {
    d = curl_download(h.url("/bytes/" + std::to_string(n)),
                      {"-H", "Host: app.test", "--limit-rate", "2M"}, 30);
  });
  std::this_thread::sleep_for(1500ms);
  nginx.kill();
  reader.join();
  CHECK(d.bytes < n);
  CHECK(d.curl_exit != 0);
  CHECK(!d.timed_out);

  // With nginx gone, a 503; started again on the same port, served again.
  CHECK(curl_get(h.rig.port, "/id", "app.test").status == 503);
  nginx.restart();
  CHECK(eventually([&] { return curl_get(h.rig.port, "/id", "app.test").status == 200; }, 10s));
}

TEST_CASE("h2 backend: a client that stops reading holds back only its own stream") {
  SKIP_WITHOUT_NGINX();
  HttpOrigin origin("o");
  Nginx nginx(origin.address());
  H2Rig h(std::vector<std::string>{nginx.address()});
  RawClient stalled(h.rig.port);
  REQUIRE(stalled.send_all("GET /bytes/268435456 HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  REQUIRE(!stalled.recv_some(5s).empty());  // the response started; then nobody reads
  std::this_thread::sleep_for(300ms);

  // The other streams on the same connection go on at full speed.
  const auto t0 = Clock::now();
  auto all = get_concurrently(h.rig.port, "/bytes/100000", 8, 5);
  CHECK(count_ok(all) == 40);
  CHECK(Clock::now() - t0 < 5s);
  CHECK(conns(all).size() == 1);
  CHECK(h.rig.proxy.stats().backend_connects == 1);
}

TEST_CASE("h2 backend: an idle connection is closed after backend_idle_timeout_ms") {
  SKIP_WITHOUT_NGINX();
  HttpOrigin origin("o");
  Nginx nginx(origin.address());
  proxy::ProxyOptions o = rig_options();
  o.backend_idle_timeout_ms = 200;
  H2Rig h(std::vector<std::string>{nginx.address()}, false, std::move(o));
  auto first = get_many(h.rig.port, "/id", 3);
  REQUIRE(first.size() == 3);
  CHECK(conns(first).size() == 1);
  std::this_thread::sleep_for(2500ms);  // idle timeout + one housekeeping period
  auto second = get_many(h.rig.port, "/id", 1);
  REQUIRE(second.size() == 1);
  CHECK(second[0].status == 200);
  CHECK(second[0].conn != first[0].conn);
  CHECK(h.rig.proxy.stats().backend_connects == 2);
}

TEST_CASE("h2 backend: connections to a backend removed from the configuration are closed") {
  SKIP_WITHOUT_NGINX();
  HttpOrigin origin("o");
  Nginx nginx(origin.address());
  H2Rig h(std::vector<std::string>{nginx.address()});
  auto all = get_concurrently(h.rig.port, "/id", 4, 3);
  CHECK(count_ok(all) == 12);
  CHECK(nginx.active_connections() == 2);  // the proxy's and this query's
  Diff d;
  d(config::RemoveBackend{"c", "b0"});
  h.rig.apply(d);
  CHECK(eventually([&] { return nginx.active_connections() == 1; }, 5s));
  CHECK(curl_get(h.rig.port, "/id", "app.test").status == 503);
}

TEST_CASE("h2 backend: under load (wrk, 64 connections) every response is a 2xx") {
  SKIP_WITHOUT_NGINX();
  HttpOrigin origin("o");
  Nginx nginx(origin.address(), {.keepalive_requests = 500});  // GOAWAYs under load too
  H2Rig h(std::vector<std::string>{nginx.address()});
  auto r = wrk(h.url("/id"), 2, 64, 3, {"-H", "Host: app.test"});
  REQUIRE(r.parsed);
  MESSAGE("requests: " << r.requests << ", replayed: " << h.rig.proxy.stats().stale_retries
                       << ", backend connections: " << h.rig.proxy.stats().backend_connects);
  CHECK(r.requests > 1000);
  CHECK(r.non_2xx_3xx == 0);
  CHECK(r.socket_errors == 0);
  CHECK(curl_get(h.rig.port, "/id", "app.test").status == 200);
}
