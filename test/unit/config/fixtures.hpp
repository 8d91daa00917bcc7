// Small builders for configuration tests: one valid entity of each kind, wrapped requests.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "kakehi/config/request.hpp"

namespace kakehi::config::test {

inline Listener listener(std::string addr, ListenerKind k = ListenerKind::Http) {
  Listener l;
  l.address = std::move(addr);
  l.kind = k;
  return l;
}
inline Cluster cluster(std::string id, LbAlgorithm lb = LbAlgorithm::RoundRobin) {
  Cluster c;
  c.id = std::move(id);
  c.lb = lb;
  return c;
}
inline HttpFrontend frontend(std::string id, std::string listener, std::string cluster,
                             std::string host, PathRule path = {}) {
  HttpFrontend f;
  f.id = std::move(id);
  f.listener = std::move(listener);
  f.cluster = std::move(cluster);
  f.hostname = std::move(host);
  f.path = std::move(path);
  return f;
}
inline Backend backend(std::string cluster, std::string id, std::string addr, uint32_t w = 100) {
  Backend b;
  b.cluster = std::move(cluster);
  b.id = std::move(id);
  b.address = std::move(addr);
  b.weight = w;
  return b;
}
inline Request req(std::string id, RequestBody b) { return Request{std::move(id), std::move(b)}; }

/// One HTTP listener, cluster "c1" with two backends, one frontend "f1" for example.com.
inline std::vector<Request> basic_setup() {
  return {req("r1", AddListener{listener("127.0.0.1:8080")}), req("r2", AddCluster{cluster("c1")}),
          req("r3", AddBackend{backend("c1", "b1", "127.0.0.1:9001")}),
          req("r4", AddBackend{backend("c1", "b2", "127.0.0.1:9002")}),
          req("r5", AddHttpFrontend{frontend("f1", "127.0.0.1:8080", "c1", "example.com")})};
}

}  // namespace kakehi::config::test
