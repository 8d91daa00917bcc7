// apply(): one visitor per request kind working on a private copy of the state. Each handler
// checks the entity's own fields, then its references, then mutates the copy; the first failure
// stops the diff and the caller's state is never touched (all or nothing).
#include "kakehi/config/request.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <utility>

namespace kakehi::config {

namespace {

struct Fail {
  DiffErrorCode code;
  std::string field;
  std::string reason;
};
using Check = std::optional<Fail>;

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

Check invalid(std::string field, std::string reason) {
  return Fail{DiffErrorCode::InvalidField, std::move(field), std::move(reason)};
}

Check check_answers(const Answers& a) {
  for (const auto& [status, body] : a)
    if (status < 100 || status > 599)
      return invalid("answers", "status " + std::to_string(status) + " is not in 100..599");
  return std::nullopt;
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

Check check_listener_tls(const ListenerTls& t) {
  for (const std::string* v : {&t.min_version, &t.max_version})
    if (!one_of(*v, {"1.2", "1.3"}))
      return invalid("tls." + std::string(v == &t.min_version ? "min_version" : "max_version"),
                     quoted(*v) + " is not \"1.2\" or \"1.3\"");
  if (t.min_version > t.max_version) return invalid("tls.min_version", "is above max_version");
  for (const std::string& g : t.groups)
    if (!one_of(g, {"x25519", "p256", "p384"}))
      return invalid("tls.groups", quoted(g) + " is not x25519, p256 or p384");
  if (t.alpn.empty()) return invalid("tls.alpn", "must name at least one protocol");
  for (const std::string& a : t.alpn)
    if (a != "http/1.1" && a != "h2")
      return invalid("tls.alpn", quoted(a) + " is not served (\"h2\" or \"http/1.1\")");
  if (t.default_certificate && t.default_certificate->empty())
    return invalid("tls.default_certificate", "must not be empty");
  if (t.handshake_timeout_ms == 0) return invalid("tls.handshake_timeout_ms", "must be > 0 ms");
  return std::nullopt;
}

/// `http2.<name>` must lie in lo..hi.
Check in_range(std::string_view name, uint64_t v, uint64_t lo, uint64_t hi) {
  if (v >= lo && v <= hi) return std::nullopt;
  return invalid("http2." + std::string(name), std::to_string(v) + " is not in " +
                                                   std::to_string(lo) + ".." + std::to_string(hi));
}

// Checked for every listener kind, although only HTTP and HTTPS listeners use them: a kind
// change by update must not bring out-of-range settings into use.
Check check_http2(const Http2Settings& h) {
  constexpr uint64_t kMaxWindow = (uint64_t{1} << 31) - 1;  // RFC 9113 §6.9.1
  constexpr uint64_t kU32 = UINT32_MAX;
  if (auto c = in_range("max_concurrent_streams", h.max_concurrent_streams, 1, kMaxWindow))
    return c;
  if (auto c = in_range("initial_window_size", h.initial_window_size, 1, kMaxWindow)) return c;
  // Below 65535 the connection window would be smaller than the one the protocol opens with.
  if (auto c = in_range("connection_window", h.connection_window, 65535, kMaxWindow)) return c;
  // RFC 9113 §6.5.2: SETTINGS_MAX_FRAME_SIZE lies in 2^14..2^24-1.
  if (auto c = in_range("max_frame_size", h.max_frame_size, 16384, 16777215)) return c;
  // At least one maximum-size DATA frame of the default frame size fits.
  if (auto c = in_range("stream_buffer_bytes", h.stream_buffer_bytes, 16384, 64ull << 20)) return c;
  if (auto c = in_range("max_header_list_size", h.max_header_list_size, 1024, kU32)) return c;
  const std::pair<std::string_view, uint32_t> floods[] = {
      {"max_resets_per_second", h.max_resets_per_second},
      {"max_pings_per_second", h.max_pings_per_second},
      {"max_settings_per_second", h.max_settings_per_second},
      {"max_window_updates_per_second", h.max_window_updates_per_second},
      {"max_empty_data_per_second", h.max_empty_data_per_second},
      {"max_stream_errors_per_second", h.max_stream_errors_per_second},
      {"max_continuations_per_block", h.max_continuations_per_block},
      {"max_header_block_bytes", h.max_header_block_bytes},
      {"max_queued_control_frames", h.max_queued_control_frames}};
  for (const auto& [name, v] : floods)
    if (v == 0) return invalid("http2." + std::string(name), "a flood limit must be > 0");
  return std::nullopt;
}

Check check_backend_tls(const BackendTls& t) {
  if (!t.enabled) return std::nullopt;
  for (const std::string& a : t.alpn)
    if (a.empty() || a.size() > 255)
      return invalid("backend_tls.alpn", "a protocol name is 1..255 bytes");
  if (!t.server_name.empty()) {
    std::string why;
    auto k = classify_hostname(t.server_name, &why);
    const bool ip = valid_ipv4(t.server_name) || valid_ipv6(t.server_name);
    if (!ip && (!k || *k != HostKind::Exact))
      return invalid("backend_tls.server_name",
                     quoted(t.server_name) + " is not a DNS name or an IP address");
  }
  return std::nullopt;
}

/// An HTTP/2 cluster over TLS must be able to negotiate "h2" (an empty list: the proxy offers it).
Check check_cluster_protocol(const Cluster& c) {
  if (c.backend_protocol == BackendProtocol::Http2 &&
      c.send_proxy_protocol != ProxyProtocolVersion::None)
    return invalid("send_proxy_protocol",
                   "needs backend_protocol \"http1\": an HTTP/2 backend connection carries the "
                   "requests of many clients, a PROXY header names one");
  const BackendTls& t = c.backend_tls;
  if (c.backend_protocol != BackendProtocol::Http2 || !t.enabled || t.alpn.empty())
    return std::nullopt;
  if (std::find(t.alpn.begin(), t.alpn.end(), "h2") == t.alpn.end())
    return invalid("backend_tls.alpn", "backend_protocol \"http2\" needs \"h2\" in the list");
  return std::nullopt;
}

Check check_listener_fields(const Listener& l) {
  if (!valid_socket_address(l.address))
    return invalid("address", quoted(l.address) + " is not ip:port (IPv4 or [IPv6])");
  const Timeouts& t = l.timeouts;
  if (t.front_idle_ms == 0 || t.request_head_ms == 0 || t.connect_ms == 0 ||
      t.backend_response_ms == 0)
    return invalid("timeouts", "every timeout must be > 0 ms");
  if (l.limits.max_header_bytes == 0 || l.limits.max_header_count == 0)
    return invalid("limits", "max_header_bytes and max_header_count must be > 0");
  if (l.kind == ListenerKind::Https)
    if (auto c = check_listener_tls(l.tls)) return c;
  if (auto c = check_http2(l.http2)) return c;
  return check_answers(l.answers);
}

Check check_id(std::string_view field, const std::string& id) {
  if (id.empty()) return invalid(std::string(field), "must not be empty");
  return std::nullopt;
}

Check need_cluster(const State& s, const std::string& id) {
  if (!s.clusters.contains(id))
    return Fail{DiffErrorCode::MissingReference, "cluster",
                "cluster " + quoted(id) + " does not exist"};
  return std::nullopt;
}

/// The listener must exist and be one of the two accepted kinds.
Check need_listener(const State& s, const std::string& addr, ListenerKind a, ListenerKind b) {
  auto it = s.listeners.find(addr);
  if (it == s.listeners.end())
    return Fail{DiffErrorCode::MissingReference, "listener",
                "listener " + quoted(addr) + " does not exist"};
  if (it->second.kind != a && it->second.kind != b)
    return invalid("listener",
                   "listener " + quoted(addr) + " is " + std::string(to_string(it->second.kind)));
  return std::nullopt;
}

Check check_http_frontend(const State& s, const HttpFrontend& f) {
  if (auto c = check_id("id", f.id)) return c;
  std::string why;
  if (!classify_hostname(f.hostname, &why)) return invalid("hostname", why);
  if (auto p = check_path_rule(f.path); !p.empty()) return invalid("path", p);
  if (f.method && !valid_method(*f.method)) return invalid("method", "not an HTTP method token");
  if (auto c = need_listener(s, f.listener, ListenerKind::Http, ListenerKind::Https)) return c;
  if (auto c = need_cluster(s, f.cluster)) return c;
  for (const auto& [id, o] : s.http_frontends)
    if (id != f.id && o.listener == f.listener && o.hostname == f.hostname && o.path == f.path &&
        o.method == f.method && o.position == f.position)
      return Fail{DiffErrorCode::Conflict, "hostname",
                  "same route as frontend " + quoted(id) + " on this listener"};
  return std::nullopt;
}

Check check_tcp_frontend(const State& s, const TcpFrontend& f) {
  if (auto c = need_listener(s, f.listener, ListenerKind::Tcp, ListenerKind::Tcp)) return c;
  return need_cluster(s, f.cluster);
}

Check check_backend(const State& s, const Backend& b) {
  if (auto c = check_id("id", b.id)) return c;
  if (!valid_socket_address(b.address))
    return invalid("address", quoted(b.address) + " is not ip:port (IPv4 or [IPv6])");
  if (b.weight > 100) return invalid("weight", std::to_string(b.weight) + " is not in 0..100");
  if (b.sticky_id && b.sticky_id->empty()) return invalid("sticky_id", "must not be empty");
  return need_cluster(s, b.cluster);
}

Check check_certificate(const State& s, const Certificate& c) {
  if (auto e = check_id("id", c.id)) return e;
  if (c.certificate_chain_pem.empty()) return invalid("certificate_chain_pem", "must not be empty");
  if (c.key_pem.empty()) return invalid("key_pem", "must not be empty");
  for (const auto& n : c.names) {
    std::string why;
    auto k = classify_hostname(n, &why);
    if (!k || *k == HostKind::Regex) return invalid("names", quoted(n) + " is not a DNS name");
  }
  return need_listener(s, c.listener, ListenerKind::Https, ListenerKind::Https);
}

/// What still refers to the listener (for removal, or for a kind change on update).
Check listener_users(const State& s, const std::string& addr, const Listener* replacement) {
  auto in_use = [&](std::string what) {
    return Fail{DiffErrorCode::InUse, "address",
                "listener " + quoted(addr) + " is still used by " + std::move(what)};
  };
  const bool http_ok = replacement && replacement->kind != ListenerKind::Tcp;
  const bool tcp_ok = replacement && replacement->kind == ListenerKind::Tcp;
  const bool tls_ok = replacement && replacement->kind == ListenerKind::Https;
  for (const auto& [id, f] : s.http_frontends)
    if (f.listener == addr && !http_ok) return in_use("http frontend " + quoted(id));
  if (s.tcp_frontends.contains(addr) && !tcp_ok) return in_use("a tcp frontend");
  for (const auto& [id, c] : s.certificates)
    if (c.listener == addr && !tls_ok) return in_use("certificate " + quoted(id));
  return std::nullopt;
}

Check cluster_users(const State& s, const std::string& id) {
  auto in_use = [&](std::string what) {
    return Fail{DiffErrorCode::InUse, "id", "cluster " + quoted(id) + " is still used by " + what};
  };
  for (const auto& [fid, f] : s.http_frontends)
    if (f.cluster == id) return in_use("http frontend " + quoted(fid));
  for (const auto& [addr, f] : s.tcp_frontends)
    if (f.cluster == id) return in_use("the tcp frontend of " + quoted(addr));
  for (const auto& [key, b] : s.backends)
    if (key.first == id) return in_use("backend " + quoted(key.second));
  return std::nullopt;
}

template <class Map, class Key, class Value>
Check add_entity(Map& m, const Key& key, const Value& v, std::string_view field) {
  auto it = m.find(key);
  if (it == m.end()) {
    m.emplace(key, v);
    return std::nullopt;
  }
  if (it->second == v) return std::nullopt;  // identical re-add: ok, nothing changes
  return Fail{DiffErrorCode::AlreadyExists, std::string(field),
              "already exists with different settings (use update)"};
}

template <class Map, class Key>
Check need_existing(const Map& m, const Key& key, std::string_view field) {
  if (m.contains(key)) return std::nullopt;
  return Fail{DiffErrorCode::NotFound, std::string(field), "does not exist"};
}

/// One handler per request kind; mutates `s` only after every check passed.
struct Applier {
  State& s;

  Check operator()(const AddListener& r) {
    if (auto c = check_listener_fields(r.listener)) return c;
    return add_entity(s.listeners, r.listener.address, r.listener, "address");
  }
  Check operator()(const UpdateListener& r) {
    if (auto c = check_listener_fields(r.listener)) return c;
    if (auto c = need_existing(s.listeners, r.listener.address, "address")) return c;
    if (auto c = listener_users(s, r.listener.address, &r.listener)) return c;
    s.listeners[r.listener.address] = r.listener;
    return std::nullopt;
  }
  Check operator()(const RemoveListener& r) {
    if (auto c = need_existing(s.listeners, r.address, "address")) return c;
    if (auto c = listener_users(s, r.address, nullptr)) return c;
    s.listeners.erase(r.address);
    return std::nullopt;
  }
  Check operator()(const AddCluster& r) {
    if (auto c = check_id("id", r.cluster.id)) return c;
    if (auto c = check_answers(r.cluster.answers)) return c;
    if (auto c = check_backend_tls(r.cluster.backend_tls)) return c;
    if (auto c = check_cluster_protocol(r.cluster)) return c;
    return add_entity(s.clusters, r.cluster.id, r.cluster, "id");
  }
  Check operator()(const UpdateCluster& r) {
    if (auto c = check_answers(r.cluster.answers)) return c;
    if (auto c = check_backend_tls(r.cluster.backend_tls)) return c;
    if (auto c = check_cluster_protocol(r.cluster)) return c;
    if (auto c = need_existing(s.clusters, r.cluster.id, "id")) return c;
    s.clusters[r.cluster.id] = r.cluster;
    return std::nullopt;
  }
  Check operator()(const RemoveCluster& r) {
    if (auto c = need_existing(s.clusters, r.id, "id")) return c;
    if (auto c = cluster_users(s, r.id)) return c;
    s.clusters.erase(r.id);
    return std::nullopt;
  }
  Check operator()(const AddHttpFrontend& r) {
    if (auto c = check_http_frontend(s, r.frontend)) return c;
    return add_entity(s.http_frontends, r.frontend.id, r.frontend, "id");
  }
  Check operator()(const UpdateHttpFrontend& r) {
    if (auto c = need_existing(s.http_frontends, r.frontend.id, "id")) return c;
    if (auto c = check_http_frontend(s, r.frontend)) return c;
    s.http_frontends[r.frontend.id] = r.frontend;
    return std::nullopt;
  }
  Check operator()(const RemoveHttpFrontend& r) {
    if (auto c = need_existing(s.http_frontends, r.id, "id")) return c;
    s.http_frontends.erase(r.id);
    return std::nullopt;
  }
  Check operator()(const AddTcpFrontend& r) {
    if (auto c = check_tcp_frontend(s, r.frontend)) return c;
    return add_entity(s.tcp_frontends, r.frontend.listener, r.frontend, "listener");
  }
  Check operator()(const UpdateTcpFrontend& r) {
    if (auto c = need_existing(s.tcp_frontends, r.frontend.listener, "listener")) return c;
    if (auto c = check_tcp_frontend(s, r.frontend)) return c;
    s.tcp_frontends[r.frontend.listener] = r.frontend;
    return std::nullopt;
  }
  Check operator()(const RemoveTcpFrontend& r) {
    if (auto c = need_existing(s.tcp_frontends, r.listener, "listener")) return c;
    s.tcp_frontends.erase(r.listener);
    return std::nullopt;
  }
  Check operator()(const AddBackend& r) {
    if (auto c = check_backend(s, r.backend)) return c;
    return add_entity(s.backends, BackendKey{r.backend.cluster, r.backend.id}, r.backend, "id");
  }
  Check operator()(const UpdateBackend& r) {
    BackendKey key{r.backend.cluster, r.backend.id};
    if (auto c = check_backend(s, r.backend)) return c;
    if (auto c = need_existing(s.backends, key, "id")) return c;
    s.backends[key] = r.backend;
    return std::nullopt;
  }
  Check operator()(const RemoveBackend& r) {
    if (auto c = need_existing(s.backends, BackendKey{r.cluster, r.id}, "id")) return c;
    s.backends.erase(BackendKey{r.cluster, r.id});
    return std::nullopt;
  }
  Check operator()(const AddCertificate& r) {
    if (auto c = check_certificate(s, r.certificate)) return c;
    return add_entity(s.certificates, r.certificate.id, r.certificate, "id");
  }
  Check operator()(const UpdateCertificate& r) {
    if (auto c = need_existing(s.certificates, r.certificate.id, "id")) return c;
    if (auto c = check_certificate(s, r.certificate)) return c;
    s.certificates[r.certificate.id] = r.certificate;
    return std::nullopt;
  }
  Check operator()(const RemoveCertificate& r) {
    if (auto c = need_existing(s.certificates, r.id, "id")) return c;
    s.certificates.erase(r.id);
    return std::nullopt;
  }
  Check operator()(const QueryCluster& r) { return need_existing(s.clusters, r.id, "id"); }
  template <class Q>
  Check operator()(const Q&) {
    return std::nullopt;  // list queries
  }
};

DiffError make_error(std::size_t index, const Request& r, Fail f) {
  return DiffError{index, r.id, f.code, describe(r.body), std::move(f.field), std::move(f.reason)};
}

}  // namespace

bool is_query(const RequestBody& b) noexcept {
  return std::holds_alternative<ListListeners>(b) || std::holds_alternative<ListClusters>(b) ||
         std::holds_alternative<ListFrontends>(b) || std::holds_alternative<ListBackends>(b) ||
         std::holds_alternative<QueryCluster>(b);
}

std::string DiffError::message() const {
  return "request " + quoted(request_id) + ": " + entity + ": " + reason;
}

Result<State, DiffError> apply(const State& state, std::span<const Request> diff) {
  State copy = state;
  for (std::size_t i = 0; i < diff.size(); ++i)
    if (auto f = std::visit(Applier{copy}, diff[i].body))
      return Unexpected(make_error(i, diff[i], std::move(*f)));
  return copy;
}

}  // namespace kakehi::config
