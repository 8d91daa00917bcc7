// Seeded random generator of valid configuration states over small id pools, so that two
// generated states overlap (same keys with equal or different content) and diffs are rich.
#pragma once

#include <random>
#include <string>

#include "kakehi/config/model.hpp"

namespace kakehi::config::test {

class StateGenerator {
 public:
  explicit StateGenerator(uint64_t seed) : rng_(seed) {}

  State next() {
    State s;
    add_listeners(s);
    add_clusters(s);
    add_backends(s);
    add_frontends(s);
    add_certificates(s);
    return s;
  }

 private:
  uint64_t below(uint64_t n) { return rng_() % n; }
  bool chance(unsigned percent) { return below(100) < percent; }
  template <class T, std::size_t N>
  const T& pick(const T (&a)[N]) {
    return a[below(N)];
  }

  void add_listeners(State& s) {
    static const char* kAddrs[] = {"127.0.0.1:8080", "127.0.0.1:8081", "0.0.0.0:8443",
                                   "[::1]:9000"};
    for (const char* a : kAddrs) {
      if (!chance(70)) continue;
      Listener l;
      l.address = a;
      l.kind = static_cast<ListenerKind>(below(3));
      l.timeouts.connect_ms = static_cast<uint32_t>(1 + below(3) * 1000);
      l.limits.max_body_bytes = below(2) * 1024;
      if (chance(30)) l.answers[404] = "HTTP/1.1 404 Not Found\r\n\r\nnope";
      l.active = chance(80);
      if (l.kind == ListenerKind::Https && chance(50)) {
        l.tls.min_version = "1.3";
        l.tls.groups = {"x25519"};
        l.tls.default_certificate = "cert-a";
        l.tls.reject_unknown_sni = chance(50);
        l.tls.handshake_timeout_ms = 2500;
      }
      if (l.kind != ListenerKind::Tcp && chance(40)) {
        l.http2.enabled = chance(50);
        l.http2.max_concurrent_streams = static_cast<uint32_t>(1 + below(200));
        l.http2.max_frame_size = 16384 << below(3);
        l.http2.max_pings_per_second = static_cast<uint32_t>(1 + below(10));
      }
      l.accept_proxy_protocol = chance(20);
      s.listeners.emplace(l.address, l);
    }
  }
  void add_clusters(State& s) {
    for (int i = 0; i < 4; ++i) {
      if (!chance(70)) continue;
      Cluster c;
      c.id = "c" + std::to_string(i);
      c.lb = static_cast<LbAlgorithm>(below(4));
      c.sticky_session = chance(30);
      c.https_redirect = chance(20);
      c.max_connections_per_backend = static_cast<uint32_t>(below(3) * 50);
      if (chance(30)) c.answers[503] = "busy \"quoted\"\n";
      if (chance(30)) {
        c.backend_tls.enabled = true;
        c.backend_tls.verify = chance(50);
        c.backend_tls.server_name = "origin.example";
        c.backend_tls.alpn = {"http/1.1"};
      }
      if (chance(30)) {
        c.backend_protocol = BackendProtocol::Http2;
        if (c.backend_tls.enabled) c.backend_tls.alpn = {"h2"};
      }
      if (c.backend_protocol == BackendProtocol::Http1 && chance(20))
        c.send_proxy_protocol = chance(50) ? ProxyProtocolVersion::V1 : ProxyProtocolVersion::V2;
      s.clusters.emplace(c.id, c);
    }
  }
  void add_backends(State& s) {
    for (const auto& [cid, c] : s.clusters)
      for (int i = 0; i < 4; ++i) {
        if (!chance(50)) continue;
        Backend b;
        b.cluster = cid;
        b.id = "b" + std::to_string(i);
        b.address = "10.0.0." + std::to_string(1 + below(3)) + ":" + std::to_string(80 + i);
        b.weight = static_cast<uint32_t>(below(3) * 50);
        b.backup = chance(20);
        if (chance(30)) b.sticky_id = "s" + std::to_string(i);
        s.backends.emplace(BackendKey{cid, b.id}, b);
      }
  }
  std::string cluster_of(const State& s) {
    auto it = s.clusters.begin();
    std::advance(it, static_cast<long>(below(s.clusters.size())));
    return it->first;
  }
  void add_frontends(State& s) {
    if (s.clusters.empty()) return;
    static const char* kHosts[] = {"a.com", "*.a.com", "~^x+\\.com$", "b.com"};
    static const char* kPaths[] = {"/", "/api", "/api/v1"};
    for (const auto& [addr, l] : s.listeners) {
      if (l.kind == ListenerKind::Tcp) {
        if (chance(60)) s.tcp_frontends.emplace(addr, TcpFrontend{addr, cluster_of(s), {}});
        continue;
      }
      for (int i = 0; i < 3; ++i) {
        if (!chance(60)) continue;
        HttpFrontend f;
        f.id = "f" + std::to_string(below(6));
        f.listener = addr;
        f.cluster = cluster_of(s);
        f.hostname = pick(kHosts);
        f.path.kind = static_cast<PathKind>(below(2));
        f.path.value = pick(kPaths);
        if (chance(20)) f.path = {PathKind::Regex, "^/r/[0-9]+$"};
        if (chance(30)) f.method = "GET";
        f.position = static_cast<Position>(below(3));
        if (chance(30)) f.tags["owner"] = "team" + std::to_string(below(2));
        if (route_free(s, f)) s.http_frontends.emplace(f.id, f);
      }
    }
  }
  static bool route_free(const State& s, const HttpFrontend& f) {
    for (const auto& [id, o] : s.http_frontends)
      if (o.listener == f.listener && o.hostname == f.hostname && o.path == f.path &&
          o.method == f.method && o.position == f.position)
        return false;
    return true;
  }
  void add_certificates(State& s) {
    for (const auto& [addr, l] : s.listeners) {
      if (l.kind != ListenerKind::Https || !chance(60)) continue;
      Certificate c;
      c.id = "cert" + std::to_string(below(3));
      c.listener = addr;
      c.certificate_chain_pem = "-----BEGIN CERTIFICATE-----\n" + std::to_string(below(9)) + "\n";
      c.key_pem = "-----BEGIN PRIVATE KEY-----\nx\n";
      c.names = {"a.com"};
      if (chance(50)) c.names.push_back("*.a.com");
      s.certificates.emplace(c.id, c);
    }
  }

  std::mt19937_64 rng_;
};

}  // namespace kakehi::config::test
