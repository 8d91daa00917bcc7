// JSON <-> model. Writers build boost::json values field by field; readers walk an object with a
// `Fields` helper that tracks the path for error messages, applies defaults for missing optional
// fields and rejects unknown ones. The only translation unit compiling Boost.JSON's sources.
#include "kakehi/config/json.hpp"

// GCC 12 with -fsanitize=address reports false -Warray-bounds/-Wstringop-overflow inside
// Boost.JSON's array::relocate (a memmove of zero elements); the suppression covers Boost's code
// only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#pragma GCC diagnostic ignored "-Wrestrict"
#include <boost/json/src.hpp>
#pragma GCC diagnostic pop

#include "kakehi/config/json_entities.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace kakehi::config {

namespace json = boost::json;

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::invalid_argument(where + ": " + what);
}

// ---------------------------------------------------------------- writers

json::value to_value(const std::optional<std::string>& s) {
  return s ? json::value(json::string(*s)) : json::value(nullptr);
}
json::value to_value(const Answers& a) {
  json::object o;
  for (const auto& [status, body] : a) o[std::to_string(status)] = body;
  return o;
}
json::value to_value(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}
json::value to_value(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& x : v) a.emplace_back(json::string(x));
  return a;
}
json::value to_value(const ListenerTls& t) {
  return json::object{{"min_version", t.min_version},
                      {"max_version", t.max_version},
                      {"cipher_list", t.cipher_list},
                      {"groups", to_value(t.groups)},
                      {"alpn", to_value(t.alpn)},
                      {"default_certificate", to_value(t.default_certificate)},
                      {"reject_unknown_sni", t.reject_unknown_sni},
                      {"session_tickets", t.session_tickets},
                      {"handshake_timeout_ms", t.handshake_timeout_ms}};
}
json::value to_value(const BackendTls& t) {
  return json::object{{"enabled", t.enabled},
                      {"verify", t.verify},
                      {"ca_pem", t.ca_pem},
                      {"server_name", t.server_name},
                      {"alpn", to_value(t.alpn)}};
}
json::value to_value(const Http2Settings& h) {
  return json::object{{"enabled", h.enabled},
                      {"max_concurrent_streams", h.max_concurrent_streams},
                      {"initial_window_size", h.initial_window_size},
                      {"connection_window", h.connection_window},
                      {"max_frame_size", h.max_frame_size},
                      {"stream_buffer_bytes", h.stream_buffer_bytes},
                      {"max_header_list_size", h.max_header_list_size},
                      {"max_resets_per_second", h.max_resets_per_second},
                      {"max_pings_per_second", h.max_pings_per_second},
                      {"max_settings_per_second", h.max_settings_per_second},
                      {"max_window_updates_per_second", h.max_window_updates_per_second},
                      {"max_empty_data_per_second", h.max_empty_data_per_second},
                      {"max_stream_errors_per_second", h.max_stream_errors_per_second},
                      {"max_continuations_per_block", h.max_continuations_per_block},
                      {"max_header_block_bytes", h.max_header_block_bytes},
                      {"max_queued_control_frames", h.max_queued_control_frames}};
}
json::value to_value(const Listener& l) {
  const Timeouts& t = l.timeouts;
  const Limits& m = l.limits;
  return json::object{{"address", l.address},
                      {"kind", to_string(l.kind)},
                      {"timeouts", json::object{{"front_idle_ms", t.front_idle_ms},
                                                {"request_head_ms", t.request_head_ms},
                                                {"connect_ms", t.connect_ms},
                                                {"backend_response_ms", t.backend_response_ms}}},
                      {"limits", json::object{{"max_header_bytes", m.max_header_bytes},
                                              {"max_header_count", m.max_header_count},
                                              {"max_body_bytes", m.max_body_bytes},
                                              {"max_connections", m.max_connections}}},
                      {"answers", to_value(l.answers)},
                      {"active", l.active},
                      {"tls", to_value(l.tls)},
                      {"http2", to_value(l.http2)},
                      {"accept_proxy_protocol", l.accept_proxy_protocol}};
}
json::value to_value(const Cluster& c) {
  return json::object{{"id", c.id},
                      {"lb", to_string(c.lb)},
                      {"answers", to_value(c.answers)},
                      {"sticky_session", c.sticky_session},
                      {"https_redirect", c.https_redirect},
                      {"max_connections_per_backend", c.max_connections_per_backend},
                      {"backend_tls", to_value(c.backend_tls)},
                      {"backend_protocol", to_string(c.backend_protocol)},
                      {"send_proxy_protocol", to_string(c.send_proxy_protocol)}};
}
json::value to_value(const HttpFrontend& f) {
  return json::object{
      {"id", f.id},
      {"listener", f.listener},
      {"cluster", f.cluster},
      {"hostname", f.hostname},
      {"path", json::object{{"kind", to_string(f.path.kind)}, {"value", f.path.value}}},
      {"method", to_value(f.method)},
      {"position", to_string(f.position)},
      {"tags", to_value(f.tags)}};
}
json::value to_value(const TcpFrontend& f) {
  return json::object{{"listener", f.listener}, {"cluster", f.cluster}, {"tags", to_value(f.tags)}};
}
json::value to_value(const Backend& b) {
  return json::object{{"cluster", b.cluster}, {"id", b.id},
                      {"address", b.address}, {"weight", b.weight},
                      {"backup", b.backup},   {"sticky_id", to_value(b.sticky_id)}};
}
json::value to_value(const Certificate& c) {
  return json::object{{"id", c.id},
                      {"listener", c.listener},
                      {"certificate_chain_pem", c.certificate_chain_pem},
                      {"key_pem", c.key_pem},
                      {"names", to_value(c.names)}};
}
template <class Map>
json::value array_of(const Map& m) {
  json::array a;
  for (const auto& [k, v] : m) a.push_back(to_value(v));
  return a;
}
json::value to_value(const State& s) {
  return json::object{{"listeners", array_of(s.listeners)},
                      {"clusters", array_of(s.clusters)},
                      {"http_frontends", array_of(s.http_frontends)},
                      {"tcp_frontends", array_of(s.tcp_frontends)},
                      {"backends", array_of(s.backends)},
                      {"certificates", array_of(s.certificates)}};
}

// ---------------------------------------------------------------- readers

const json::object& as_object(const json::value& v, const std::string& where) {
  if (!v.is_object()) fail(where, "expected an object");
  return v.get_object();
}

void read(const json::value& v, bool& out, const std::string& where) {
  if (!v.is_bool()) fail(where, "expected true or false");
  out = v.get_bool();
}
void read(const json::value& v, std::string& out, const std::string& where) {
  if (!v.is_string()) fail(where, "expected a string");
  out = std::string(v.get_string());
}
void read(const json::value& v, std::optional<std::string>& out, const std::string& where) {
  if (v.is_null()) return out.reset();
  out.emplace();
  read(v, *out, where);
}
template <class U>
requires std::is_unsigned_v<U>
void read(const json::value& v, U& out, const std::string& where) {
  uint64_t n = 0;
  if (v.is_uint64()) {
    n = v.get_uint64();
  } else if (v.is_int64() && v.get_int64() >= 0) {
    n = static_cast<uint64_t>(v.get_int64());
  } else {
    fail(where, "expected an unsigned integer");
  }
  if (n > std::numeric_limits<U>::max()) fail(where, "out of range");
  out = static_cast<U>(n);
}
void read(const json::value& v, std::map<std::string, std::string>& out, const std::string& where) {
  out.clear();
  for (const auto& kv : as_object(v, where)) {
    std::string key(kv.key());
    read(kv.value(), out[key], where + "." + key);
  }
}
void read(const json::value& v, Answers& out, const std::string& where) {
  out.clear();
  for (const auto& kv : as_object(v, where)) {
    std::string key(kv.key());
    uint16_t status = 0;
    read(json::value(key.empty() || key.size() > 3 ? -1 : std::atoi(key.c_str())), status,
         where + "." + key);
    if (std::to_string(status) != key) fail(where + "." + key, "expected a status code key");
    read(kv.value(), out[status], where + "." + key);
  }
}
void read(const json::value& v, std::vector<std::string>& out, const std::string& where) {
  if (!v.is_array()) fail(where, "expected an array");
  out.clear();
  for (std::size_t i = 0; i < v.get_array().size(); ++i)
    read(v.get_array()[i], out.emplace_back(), where + "[" + std::to_string(i) + "]");
}
template <class E, class From>
void read_enum(const json::value& v, E& out, const std::string& where, From from) {
  std::string s;
  read(v, s, where);
  auto e = from(s);
  if (!e) fail(where, "unknown value \"" + s + "\"");
  out = *e;
}
void read(const json::value& v, ListenerKind& o, const std::string& w) {
  read_enum(v, o, w, listener_kind_from);
}
void read(const json::value& v, LbAlgorithm& o, const std::string& w) {
  read_enum(v, o, w, lb_algorithm_from);
}
void read(const json::value& v, PathKind& o, const std::string& w) {
  read_enum(v, o, w, path_kind_from);
}
void read(const json::value& v, Position& o, const std::string& w) {
  read_enum(v, o, w, position_from);
}
void read(const json::value& v, BackendProtocol& o, const std::string& w) {
  read_enum(v, o, w, backend_protocol_from);
}
void read(const json::value& v, ProxyProtocolVersion& o, const std::string& w) {
  read_enum(v, o, w, proxy_protocol_version_from);
}

void read(const json::value& v, Timeouts& t, const std::string& w);
void read(const json::value& v, Limits& l, const std::string& w);
void read(const json::value& v, PathRule& p, const std::string& w);
void read(const json::value& v, ListenerTls& t, const std::string& w);
void read(const json::value& v, Http2Settings& h, const std::string& w);
void read(const json::value& v, BackendTls& t, const std::string& w);

/// Reads the members of one object: required or optional (default kept), unknown keys rejected.
class Fields {
 public:
  Fields(const json::value& v, std::string where)
      : obj_(as_object(v, where)), where_(std::move(where)) {}
  template <class T>
  Fields& req(std::string_view key, T& out) {
    known_.push_back(key);
    const json::value* v = obj_.if_contains(key);
    if (!v) fail(where_ + "." + std::string(key), "missing");
    read(*v, out, where_ + "." + std::string(key));
    return *this;
  }
  template <class T>
  Fields& opt(std::string_view key, T& out) {
    known_.push_back(key);
    if (const json::value* v = obj_.if_contains(key))
      read(*v, out, where_ + "." + std::string(key));
    return *this;
  }
  void done() const {
    for (const auto& kv : obj_)
      if (std::find(known_.begin(), known_.end(), kv.key()) == known_.end())
        fail(where_ + "." + std::string(kv.key()), "unknown field");
  }

 private:
  const json::object& obj_;
  std::string where_;
  std::vector<std::string_view> known_;
};

void read(const json::value& v, Timeouts& t, const std::string& w) {
  Fields(v, w)
      .opt("front_idle_ms", t.front_idle_ms)
      .opt("request_head_ms", t.request_head_ms)
      .opt("connect_ms", t.connect_ms)
      .opt("backend_response_ms", t.backend_response_ms)
      .done();
}
void read(const json::value& v, Limits& l, const std::string& w) {
  Fields(v, w)
      .opt("max_header_bytes", l.max_header_bytes)
      .opt("max_header_count", l.max_header_count)
      .opt("max_body_bytes", l.max_body_bytes)
      .opt("max_connections", l.max_connections)
      .done();
}
void read(const json::value& v, PathRule& p, const std::string& w) {
  Fields(v, w).opt("kind", p.kind).req("value", p.value).done();
}
void read(const json::value& v, Listener& l, const std::string& w) {
  Fields(v, w)
      .req("address", l.address)
      .opt("kind", l.kind)
      .opt("timeouts", l.timeouts)
      .opt("limits", l.limits)
      .opt("answers", l.answers)
      .opt("active", l.active)
      .opt("tls", l.tls)
      .opt("http2", l.http2)
      .opt("accept_proxy_protocol", l.accept_proxy_protocol)
      .done();
}
void read(const json::value& v, ListenerTls& t, const std::string& w) {
  Fields(v, w)
      .opt("min_version", t.min_version)
      .opt("max_version", t.max_version)
      .opt("cipher_list", t.cipher_list)
      .opt("groups", t.groups)
      .opt("alpn", t.alpn)
      .opt("default_certificate", t.default_certificate)
      .opt("reject_unknown_sni", t.reject_unknown_sni)
      .opt("session_tickets", t.session_tickets)
      .opt("handshake_timeout_ms", t.handshake_timeout_ms)
      .done();
}
void read(const json::value& v, Http2Settings& h, const std::string& w) {
  Fields(v, w)
      .opt("enabled", h.enabled)
      .opt("max_concurrent_streams", h.max_concurrent_streams)
      .opt("initial_window_size", h.initial_window_size)
      .opt("connection_window", h.connection_window)
      .opt("max_frame_size", h.max_frame_size)
      .opt("stream_buffer_bytes", h.stream_buffer_bytes)
      .opt("max_header_list_size", h.max_header_list_size)
      .opt("max_resets_per_second", h.max_resets_per_second)
      .opt("max_pings_per_second", h.max_pings_per_second)
      .opt("max_settings_per_second", h.max_settings_per_second)
      .opt("max_window_updates_per_second", h.max_window_updates_per_second)
      .opt("max_empty_data_per_second", h.max_empty_data_per_second)
      .opt("max_stream_errors_per_second", h.max_stream_errors_per_second)
      .opt("max_continuations_per_block", h.max_continuations_per_block)
      .opt("max_header_block_bytes", h.max_header_block_bytes)
      .opt("max_queued_control_frames", h.max_queued_control_frames)
      .done();
}
void read(const json::value& v, BackendTls& t, const std::string& w) {
  Fields(v, w)
      .opt("enabled", t.enabled)
      .opt("verify", t.verify)
      .opt("ca_pem", t.ca_pem)
      .opt("server_name", t.server_name)
      .opt("alpn", t.alpn)
      .done();
}
void read(const json::value& v, Cluster& c, const std::string& w) {
  Fields(v, w)
      .req("id", c.id)
      .opt("lb", c.lb)
      .opt("answers", c.answers)
      .opt("sticky_session", c.sticky_session)
      .opt("https_redirect", c.https_redirect)
      .opt("max_connections_per_backend", c.max_connections_per_backend)
      .opt("backend_tls", c.backend_tls)
      .opt("backend_protocol", c.backend_protocol)
      .opt("send_proxy_protocol", c.send_proxy_protocol)
      .done();
}
void read(const json::value& v, HttpFrontend& f, const std::string& w) {
  Fields(v, w)
      .req("id", f.id)
      .req("listener", f.listener)
      .req("cluster", f.cluster)
      .req("hostname", f.hostname)
      .opt("path", f.path)
      .opt("method", f.method)
      .opt("position", f.position)
      .opt("tags", f.tags)
      .done();
}
void read(const json::value& v, TcpFrontend& f, const std::string& w) {
  Fields(v, w).req("listener", f.listener).req("cluster", f.cluster).opt("tags", f.tags).done();
}
void read(const json::value& v, Backend& b, const std::string& w) {
  Fields(v, w)
      .req("cluster", b.cluster)
      .req("id", b.id)
      .req("address", b.address)
      .opt("weight", b.weight)
      .opt("backup", b.backup)
      .opt("sticky_id", b.sticky_id)
      .done();
}
void read(const json::value& v, Certificate& c, const std::string& w) {
  Fields(v, w)
      .req("id", c.id)
      .req("listener", c.listener)
      .req("certificate_chain_pem", c.certificate_chain_pem)
      .req("key_pem", c.key_pem)
      .opt("names", c.names)
      .done();
}

template <class Map, class KeyOf>
void read_array(const json::value* v, Map& out, const std::string& where, KeyOf key_of) {
  if (!v) return;
  if (!v->is_array()) fail(where, "expected an array");
  const auto& a = v->get_array();
  for (std::size_t i = 0; i < a.size(); ++i) {
    typename Map::mapped_type e;
    std::string w = where + "[" + std::to_string(i) + "]";
    read(a[i], e, w);
    auto key = key_of(e);
    if (!out.emplace(key, std::move(e)).second) fail(w, "duplicate key");
  }
}

void read(const json::value& v, State& s, const std::string& w) {
  const auto& o = as_object(v, w);
  static constexpr std::array<std::string_view, 6> kKeys = {
      "listeners", "clusters", "http_frontends", "tcp_frontends", "backends", "certificates"};
  for (const auto& kv : o)
    if (std::find(kKeys.begin(), kKeys.end(), kv.key()) == kKeys.end())
      fail(w + "." + std::string(kv.key()), "unknown field");
  read_array(o.if_contains("listeners"), s.listeners, w + ".listeners",
             [](auto& e) { return e.address; });
  read_array(o.if_contains("clusters"), s.clusters, w + ".clusters", [](auto& e) { return e.id; });
  read_array(o.if_contains("http_frontends"), s.http_frontends, w + ".http_frontends",
             [](auto& e) { return e.id; });
  read_array(o.if_contains("tcp_frontends"), s.tcp_frontends, w + ".tcp_frontends",
             [](auto& e) { return e.listener; });
  read_array(o.if_contains("backends"), s.backends, w + ".backends", [](auto& e) {
    return BackendKey{e.cluster, e.id};
  });
  read_array(o.if_contains("certificates"), s.certificates, w + ".certificates",
             [](auto& e) { return e.id; });
}

json::value parse_text(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) throw std::invalid_argument("invalid JSON: " + ec.message());
  return v;
}

}  // namespace

std::string dump_state(const State& state) { return json::serialize(to_value(state)); }

Result<State, std::string> load_state(std::string_view text) {
  State s;
  try {
    read(parse_text(text), s, "state");
  } catch (const std::exception& e) {
    return Unexpected(std::string(e.what()));
  }
  if (auto v = validate(s); !v) return Unexpected(v.error());
  return s;
}

// The request codec (request_json.cpp) needs the entity readers and writers; they are exposed
// to it through these thin wrappers.
namespace detail {
json::value entity_to_json(const Listener& e) { return to_value(e); }
json::value entity_to_json(const Cluster& e) { return to_value(e); }
json::value entity_to_json(const HttpFrontend& e) { return to_value(e); }
json::value entity_to_json(const TcpFrontend& e) { return to_value(e); }
json::value entity_to_json(const Backend& e) { return to_value(e); }
json::value entity_to_json(const Certificate& e) { return to_value(e); }
json::value state_to_json(const State& s) { return to_value(s); }
void entity_from_json(const json::value& v, Listener& e, const std::string& w) { read(v, e, w); }
void entity_from_json(const json::value& v, Cluster& e, const std::string& w) { read(v, e, w); }
void entity_from_json(const json::value& v, HttpFrontend& e, const std::string& w) {
  read(v, e, w);
}
void entity_from_json(const json::value& v, TcpFrontend& e, const std::string& w) { read(v, e, w); }
void entity_from_json(const json::value& v, Backend& e, const std::string& w) { read(v, e, w); }
void entity_from_json(const json::value& v, Certificate& e, const std::string& w) { read(v, e, w); }
void state_from_json(const json::value& v, State& s, const std::string& w) { read(v, s, w); }
void string_from_json(const json::value& v, std::string& s, const std::string& w) { read(v, s, w); }
json::value parse_json(std::string_view text) { return parse_text(text); }
}  // namespace detail

}  // namespace kakehi::config
