// TOML -> FileConfig. A `Table` reader wraps each TOML table with its dotted path for messages,
// rejects unknown keys up front and reads typed values with range checks; every failure throws
// `Fail` carrying the source position, caught once in load_toml. Referential and field rules are
// the model's own: the built state is replayed with config::apply and an error is mapped back to
// the position of the entity (or of its field) recorded while reading.
#include "proxy/toml_config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "kakehi/config/diff.hpp"
#include "kakehi/config/request.hpp"

namespace kakehi::edge {

namespace {

struct Pos {
  uint32_t line = 0;
  uint32_t column = 0;
};

struct Fail {
  Pos pos;
  std::string message;
};

[[noreturn]] void fail(Pos p, std::string message) { throw Fail{p, std::move(message)}; }

Pos pos_of(const toml::source_region& r) { return {r.begin.line, r.begin.column}; }
Pos pos_of(const toml::node& n) { return pos_of(n.source()); }

std::string qt(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string_view type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    default:
      return "a date/time";
  }
}

/// Where each entity (and each of its keys) was written, to map config::apply errors back.
struct EntityPos {
  Pos pos;
  std::map<std::string, Pos, std::less<>> fields;
};
using PosIndex = std::map<std::string, EntityPos, std::less<>>;

std::string backend_key(std::string_view cluster, std::string_view id) {
  return "backend:" + std::string(cluster) + '\0' + std::string(id);
}

/// One TOML table being read: its dotted path (for messages) and the keys it may hold.
class Table {
 public:
  Table(const toml::table& t, std::string path, std::initializer_list<std::string_view> allowed)
      : t_(t), path_(std::move(path)) {
    const toml::key* unknown = nullptr;
    for (auto&& [k, v] : t_) {
      (void)v;
      if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
      auto p = pos_of(k.source());
      if (!unknown || p.line < pos_of(unknown->source()).line ||
          (p.line == pos_of(unknown->source()).line && p.column < pos_of(unknown->source()).column))
        unknown = &k;
    }
    if (unknown) {
      std::string allowed_list;
      for (auto a : allowed) allowed_list += (allowed_list.empty() ? "" : ", ") + std::string(a);
      fail(pos_of(unknown->source()),
           where() + "unknown key " + qt(unknown->str()) + " (allowed: " + allowed_list + ")");
    }
  }

  const std::string& path() const noexcept { return path_; }
  std::string field(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  Pos pos() const { return pos_of(t_); }
  const toml::node* find(std::string_view key) const { return t_.get(key); }
  /// The position of `key`'s value (the table's own when absent).
  Pos pos(std::string_view key) const {
    const auto* n = find(key);
    return n ? pos_of(*n) : pos();
  }

  std::optional<std::string> string(std::string_view key) const {
    const auto* n = find(key);
    if (!n) return std::nullopt;
    if (const auto* s = n->as_string()) return s->get();
    wrong_type(key, *n, "a string");
  }
  std::optional<bool> boolean(std::string_view key) const {
    const auto* n = find(key);
    if (!n) return std::nullopt;
    if (const auto* b = n->as_boolean()) return b->get();
    wrong_type(key, *n, "a boolean (true or false)");
  }
  template <class Int>
  std::optional<Int> integer(std::string_view key, Int min = std::numeric_limits<Int>::min(),
                             Int max = std::numeric_limits<Int>::max()) const {
    const auto* n = find(key);
    if (!n) return std::nullopt;
    const auto* i = n->as_integer();
    if (!i) wrong_type(key, *n, "an integer");
    const int64_t v = i->get();
    const bool too_small = v < static_cast<int64_t>(min);
    const bool too_big =
        static_cast<uint64_t>(max) <= uint64_t{INT64_MAX} && v > static_cast<int64_t>(max);
    if (too_small || too_big) out_of_range(key, *n, v, min, max);
    return static_cast<Int>(v);
  }
  const toml::table* table(std::string_view key) const {
    const auto* n = find(key);
    if (!n) return nullptr;
    if (const auto* t = n->as_table()) return t;
    wrong_type(key, *n, "a table");
  }
  /// An array of tables (`[[key]]`); empty when absent.
  std::vector<const toml::table*> tables(std::string_view key) const {
    std::vector<const toml::table*> out;
    const auto* n = find(key);
    if (!n) return out;
    const auto* a = n->as_array();
    if (!a) wrong_type(key, *n, "an array of tables ([[" + field(key) + "]])");
    for (const auto& e : *a) {
      const auto* t = e.as_table();
      if (!t)
        fail(pos_of(e),
             field(key) + ": every element must be a table, got " + std::string(type_name(e)));
      out.push_back(t);
    }
    return out;
  }
  std::string required_string(std::string_view key) const {
    auto s = string(key);
    if (!s) fail(pos(), where() + "missing required key " + qt(key));
    return *s;
  }
  template <class E>
  std::optional<E> enumeration(std::string_view key, std::optional<E> (*from)(std::string_view),
                               std::string_view expected) const {
    auto s = string(key);
    if (!s) return std::nullopt;
    auto e = from(*s);
    if (!e)
      fail(pos(key),
           field(key) + ": unknown value " + qt(*s) + " (expected " + std::string(expected) + ")");
    return e;
  }
  /// Records where every present key of this table is, under `entity`.
  void record(PosIndex& index, const std::string& entity) const {
    auto& e = index[entity];
    e.pos = pos();
    for (auto&& [k, v] : t_) e.fields[std::string(k.str())] = pos_of(v);
  }

 private:
  std::string where() const { return path_.empty() ? "" : path_ + ": "; }
  [[noreturn]] void wrong_type(std::string_view key, const toml::node& n,
                               std::string_view expected) const {
    fail(pos_of(n),
         field(key) + ": expected " + std::string(expected) + ", got " + std::string(type_name(n)));
  }
  template <class Int>
  [[noreturn]] void out_of_range(std::string_view key, const toml::node& n, int64_t v, Int min,
                                 Int max) const {
    fail(pos_of(n), field(key) + ": " + std::to_string(v) + " is out of range " +
                        std::to_string(min) + ".." + std::to_string(max));
  }

  const toml::table& t_;
  std::string path_;
};

std::string indexed(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

class Loader {
 public:
  Loader(std::filesystem::path base_dir) : base_(std::move(base_dir)) {}

  FileConfig load(const toml::table& root) {
    Table top(root, "", {"proxy", "listeners", "clusters", "certificates"});
    if (const auto* p = top.table("proxy"))
      read_proxy(Table(
          *p, "proxy",
          {"workers", "buffer_count", "buffer_size", "write_reserve", "max_queued_recv",
           "send_zc_threshold", "ring_entries", "max_idle_per_backend", "backend_idle_timeout_ms",
           "connect_attempts", "failures_before_down", "backoff_base_ms", "backoff_max_ms",
           "forwarding_headers", "via", "drain_timeout_ms", "control_socket", "max_open_files"}));
    const auto listeners = top.tables("listeners");
    for (size_t i = 0; i < listeners.size(); ++i) read_listener(*listeners[i], i);
    const auto clusters = top.tables("clusters");
    for (size_t i = 0; i < clusters.size(); ++i) read_cluster(*clusters[i], i);
    const auto certs = top.tables("certificates");
    for (size_t i = 0; i < certs.size(); ++i) read_certificate(*certs[i], i);
    check_state();
    return std::move(out_);
  }

 private:
  void read_proxy(const Table& t) {
    auto& o = out_.options;
    auto& w = o.worker;
    o.workers = t.integer<uint32_t>("workers", 1, 1024).value_or(o.workers);
    w.buffer_count = t.integer<uint32_t>("buffer_count", 16, 32768).value_or(w.buffer_count);
    w.buffer_size = t.integer<uint32_t>("buffer_size", 512, 1u << 24).value_or(w.buffer_size);
    w.write_reserve = t.integer<uint32_t>("write_reserve", 0, 32768).value_or(w.write_reserve);
    if (w.write_reserve >= w.buffer_count)
      fail(t.pos("write_reserve"), "proxy.write_reserve: must be smaller than buffer_count (" +
                                       std::to_string(w.buffer_count) + ")");
    w.max_queued_recv = t.integer<uint32_t>("max_queued_recv", 1).value_or(w.max_queued_recv);
    w.send_zc_threshold = t.integer<uint64_t>("send_zc_threshold").value_or(w.send_zc_threshold);
    w.ring.entries = t.integer<uint32_t>("ring_entries", 8, 32768).value_or(w.ring.entries);
    o.max_idle_per_backend =
        t.integer<uint32_t>("max_idle_per_backend").value_or(o.max_idle_per_backend);
    o.backend_idle_timeout_ms =
        t.integer<uint32_t>("backend_idle_timeout_ms", 1).value_or(o.backend_idle_timeout_ms);
    o.connect_attempts = t.integer<uint32_t>("connect_attempts", 1).value_or(o.connect_attempts);
    o.failures_before_down =
        t.integer<uint32_t>("failures_before_down", 1).value_or(o.failures_before_down);
    o.backoff_base_ms = t.integer<uint32_t>("backoff_base_ms", 1).value_or(o.backoff_base_ms);
    o.backoff_max_ms = t.integer<uint32_t>("backoff_max_ms", 1).value_or(o.backoff_max_ms);
    if (o.backoff_max_ms < o.backoff_base_ms)
      fail(t.pos("backoff_max_ms"), "proxy.backoff_max_ms: must be >= backoff_base_ms (" +
                                        std::to_string(o.backoff_base_ms) + ")");
    o.forwarding_headers = t.boolean("forwarding_headers").value_or(o.forwarding_headers);
    o.via = t.string("via").value_or(o.via);
    out_.drain_timeout =
        std::chrono::milliseconds(t.integer<uint32_t>("drain_timeout_ms")
                                      .value_or(static_cast<uint32_t>(out_.drain_timeout.count())));
    out_.control_socket = t.string("control_socket").value_or("");
    if (!out_.control_socket.empty()) out_.control_socket = resolve(out_.control_socket).string();
    out_.max_open_files = t.integer<uint64_t>("max_open_files").value_or(0);
  }

  void read_listener(const toml::table& raw, size_t i) {
    Table t(raw, indexed("listeners", i),
            {"address", "kind", "active", "timeouts", "limits", "answers", "tls", "http2",
             "accept_proxy_protocol"});
    config::Listener l;
    l.address = t.required_string("address");
    l.kind =
        t.enumeration("kind", &config::listener_kind_from, "http, https, tcp").value_or(l.kind);
    l.active = t.boolean("active").value_or(l.active);
    l.accept_proxy_protocol = t.boolean("accept_proxy_protocol").value_or(false);
    if (const auto* tt = t.table("timeouts")) {
      Table to(*tt, t.field("timeouts"),
               {"front_idle_ms", "request_head_ms", "connect_ms", "backend_response_ms"});
      auto& x = l.timeouts;
      x.front_idle_ms = to.integer<uint32_t>("front_idle_ms", 1).value_or(x.front_idle_ms);
      x.request_head_ms = to.integer<uint32_t>("request_head_ms", 1).value_or(x.request_head_ms);
      x.connect_ms = to.integer<uint32_t>("connect_ms", 1).value_or(x.connect_ms);
      x.backend_response_ms =
          to.integer<uint32_t>("backend_response_ms", 1).value_or(x.backend_response_ms);
    }
    if (const auto* lt = t.table("limits")) {
      Table li(*lt, t.field("limits"),
               {"max_header_bytes", "max_header_count", "max_body_bytes", "max_connections"});
      auto& x = l.limits;
      x.max_header_bytes = li.integer<uint32_t>("max_header_bytes", 1).value_or(x.max_header_bytes);
      x.max_header_count = li.integer<uint32_t>("max_header_count", 1).value_or(x.max_header_count);
      x.max_body_bytes = li.integer<uint64_t>("max_body_bytes").value_or(x.max_body_bytes);
      x.max_connections = li.integer<uint32_t>("max_connections").value_or(x.max_connections);
    }
    if (const auto* tt = t.table("tls")) {
      Table x(*tt, t.field("tls"),
              {"min_version", "max_version", "cipher_list", "groups", "alpn", "default_certificate",
               "reject_unknown_sni", "session_tickets", "handshake_timeout_ms"});
      auto& o = l.tls;
      o.min_version = x.string("min_version").value_or(o.min_version);
      o.max_version = x.string("max_version").value_or(o.max_version);
      o.cipher_list = x.string("cipher_list").value_or(o.cipher_list);
      o.groups = strings(x, "groups").value_or(o.groups);
      o.alpn = strings(x, "alpn").value_or(o.alpn);
      if (auto d = x.string("default_certificate")) o.default_certificate = *d;
      o.reject_unknown_sni = x.boolean("reject_unknown_sni").value_or(o.reject_unknown_sni);
      o.session_tickets = x.boolean("session_tickets").value_or(o.session_tickets);
      o.handshake_timeout_ms =
          x.integer<uint32_t>("handshake_timeout_ms", 1).value_or(o.handshake_timeout_ms);
    }
    const auto* h2 = t.table("http2");
    if (h2) read_http2(*h2, t.field("http2"), l.http2);
    l.answers = read_answers(t);
    const std::string key = "listener:" + l.address;
    record_unique(t, key, out_.state.listeners.contains(l.address), t.pos("address"),
                  t.field("address") + ": duplicate listener " + qt(l.address));
    record_nested(key, "tls", t.table("tls"));
    record_nested(key, "http2", h2);
    out_.state.listeners.emplace(l.address, std::move(l));
  }

  // Only the uint32 range is checked here: the HTTP/2 ranges are the model's (config::apply),
  // reported at the value by check_state.
  static void read_http2(const toml::table& raw, std::string path, config::Http2Settings& o) {
    const Table x(
        raw, std::move(path),
        {"enabled", "max_concurrent_streams", "initial_window_size", "connection_window",
         "max_frame_size", "stream_buffer_bytes", "max_header_list_size", "max_resets_per_second",
         "max_pings_per_second", "max_settings_per_second", "max_window_updates_per_second",
         "max_empty_data_per_second", "max_stream_errors_per_second", "max_continuations_per_block",
         "max_header_block_bytes", "max_queued_control_frames"});
    auto u32 = [&](std::string_view key, uint32_t& v) { v = x.integer<uint32_t>(key).value_or(v); };
    o.enabled = x.boolean("enabled").value_or(o.enabled);
    u32("max_concurrent_streams", o.max_concurrent_streams);
    u32("initial_window_size", o.initial_window_size);
    u32("connection_window", o.connection_window);
    u32("max_frame_size", o.max_frame_size);
    u32("stream_buffer_bytes", o.stream_buffer_bytes);
    u32("max_header_list_size", o.max_header_list_size);
    u32("max_resets_per_second", o.max_resets_per_second);
    u32("max_pings_per_second", o.max_pings_per_second);
    u32("max_settings_per_second", o.max_settings_per_second);
    u32("max_window_updates_per_second", o.max_window_updates_per_second);
    u32("max_empty_data_per_second", o.max_empty_data_per_second);
    u32("max_stream_errors_per_second", o.max_stream_errors_per_second);
    u32("max_continuations_per_block", o.max_continuations_per_block);
    u32("max_header_block_bytes", o.max_header_block_bytes);
    u32("max_queued_control_frames", o.max_queued_control_frames);
  }

  /// Records the keys of sub-table `name` of entity `key` as "name.key", where the model's
  /// errors for them ("tls.alpn", "http2.max_frame_size") are then reported.
  void record_nested(const std::string& key, std::string_view name, const toml::table* sub) {
    if (!sub) return;
    auto& fields = index_[key].fields;
    for (auto&& [k, v] : *sub) fields[std::string(name) + "." + std::string(k.str())] = pos_of(v);
  }

  config::Answers read_answers(const Table& owner) {
    config::Answers out;
    const auto* at = owner.table("answers");
    if (!at) return out;
    const std::string path = owner.field("answers");
    for (auto&& [k, v] : *at) {
      const std::string key(k.str());
      const std::string where = path + "." + key;
      uint32_t status = 0;
      const bool digits =
          !key.empty() && key.size() <= 3 &&
          std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (digits) status = static_cast<uint32_t>(std::stoul(key));
      if (!digits || status < 100 || status > 599)
        fail(pos_of(k.source()), where + ": the key must be an HTTP status 100..599");
      if (const auto* s = v.as_string()) {
        out[static_cast<uint16_t>(status)] = s->get();
      } else if (const auto* t = v.as_table()) {
        Table ft(*t, where, {"file"});
        auto file = ft.string("file");
        if (!file) fail(pos_of(v), where + ": missing required key \"file\"");
        out[static_cast<uint16_t>(status)] = read_file(*file, ft.pos("file"), where + ".file");
      } else {
        fail(pos_of(v), where + ": expected a string (the body) or { file = \"path\" }, got " +
                            std::string(type_name(v)));
      }
    }
    return out;
  }

  void read_cluster(const toml::table& raw, size_t i) {
    Table t(raw, indexed("clusters", i),
            {"id", "lb", "sticky_session", "https_redirect", "max_connections_per_backend",
             "answers", "backends", "frontends", "tcp_frontends", "backend_tls", "backend_protocol",
             "send_proxy_protocol"});
    config::Cluster c;
    c.id = t.required_string("id");
    c.lb = t.enumeration("lb", &config::lb_algorithm_from,
                         "round_robin, random, least_connections, power_of_two")
               .value_or(c.lb);
    c.sticky_session = t.boolean("sticky_session").value_or(c.sticky_session);
    c.https_redirect = t.boolean("https_redirect").value_or(c.https_redirect);
    c.max_connections_per_backend =
        t.integer<uint32_t>("max_connections_per_backend").value_or(c.max_connections_per_backend);
    c.backend_protocol =
        t.enumeration("backend_protocol", &config::backend_protocol_from, "http1, http2")
            .value_or(c.backend_protocol);
    c.send_proxy_protocol =
        t.enumeration("send_proxy_protocol", &config::proxy_protocol_version_from, "none, v1, v2")
            .value_or(c.send_proxy_protocol);
    if (const auto* bt = t.table("backend_tls")) {
      Table x(*bt, t.field("backend_tls"), {"enabled", "verify", "ca_file", "server_name", "alpn"});
      auto& o = c.backend_tls;
      o.enabled = x.boolean("enabled").value_or(true);
      o.verify = x.boolean("verify").value_or(o.verify);
      if (auto f = x.string("ca_file"))
        o.ca_pem = read_file(*f, x.pos("ca_file"), x.field("ca_file"));
      o.server_name = x.string("server_name").value_or(o.server_name);
      o.alpn = strings(x, "alpn").value_or(o.alpn);
    }
    c.answers = read_answers(t);
    const std::string key = "cluster:" + c.id;
    record_unique(t, key, out_.state.clusters.contains(c.id), t.pos("id"),
                  t.field("id") + ": duplicate cluster " + qt(c.id));
    record_nested(key, "backend_tls", t.table("backend_tls"));
    const auto backends = t.tables("backends");
    for (size_t j = 0; j < backends.size(); ++j)
      read_backend(*backends[j], indexed(t.field("backends"), j), c.id);
    const auto fronts = t.tables("frontends");
    for (size_t j = 0; j < fronts.size(); ++j)
      read_http_frontend(*fronts[j], indexed(t.field("frontends"), j), c.id);
    const auto tcps = t.tables("tcp_frontends");
    for (size_t j = 0; j < tcps.size(); ++j)
      read_tcp_frontend(*tcps[j], indexed(t.field("tcp_frontends"), j), c.id);
    out_.state.clusters.emplace(c.id, std::move(c));
  }

  void read_backend(const toml::table& raw, std::string path, const std::string& cluster) {
    Table t(raw, std::move(path), {"id", "address", "weight", "backup", "sticky_id"});
    config::Backend b;
    b.cluster = cluster;
    b.address = t.required_string("address");
    b.id = t.string("id").value_or(b.address);
    b.weight = t.integer<uint32_t>("weight", 0, 100).value_or(b.weight);
    b.backup = t.boolean("backup").value_or(b.backup);
    b.sticky_id = t.string("sticky_id");
    const std::string key = backend_key(cluster, b.id);
    record_unique(t, key, out_.state.backends.contains({cluster, b.id}),
                  t.pos(t.find("id") ? "id" : "address"),
                  t.path() + ": duplicate backend id " + qt(b.id) + " in cluster " + qt(cluster));
    out_.state.backends.emplace(config::BackendKey{cluster, b.id}, std::move(b));
  }

  /// The listener of a frontend: given, or the only listener of the accepted kinds.
  std::string default_listener(const Table& t, bool tcp) const {
    if (auto l = t.string("listener")) return *l;
    std::vector<std::string> candidates;
    for (const auto& [addr, l] : out_.state.listeners)
      if ((l.kind == config::ListenerKind::Tcp) == tcp) candidates.push_back(addr);
    if (candidates.size() != 1)
      fail(t.pos(), t.path() +
                        ": missing required key \"listener\" (it may be left out only when "
                        "exactly one " +
                        std::string(tcp ? "tcp" : "http/https") + " listener is defined)");
    return candidates.front();
  }

  config::PathRule read_path(const Table& t) const {
    config::PathRule p;
    const auto* n = t.find("path");
    if (!n) return p;
    if (const auto* s = n->as_string()) {
      p.value = s->get();
      return p;
    }
    const auto* pt = n->as_table();
    if (!pt)
      fail(pos_of(*n), t.field("path") +
                           ": expected a string (a prefix) or { prefix | exact | "
                           "regex = \"...\" }, got " +
                           std::string(type_name(*n)));
    Table pr(*pt, t.field("path"), {"prefix", "exact", "regex"});
    if (pt->size() != 1)
      fail(pos_of(*n), t.field("path") + ": exactly one of prefix, exact or regex is required");
    std::string kind;
    for (auto&& [k, v] : *pt) {
      (void)v;
      kind = std::string(k.str());
    }
    p.kind = *config::path_kind_from(kind);
    p.value = *pr.string(kind);
    return p;
  }

  std::map<std::string, std::string> read_tags(const Table& t) const {
    std::map<std::string, std::string> tags;
    const auto* tt = t.table("tags");
    if (!tt) return tags;
    for (auto&& [k, v] : *tt) {
      const auto* s = v.as_string();
      if (!s)
        fail(pos_of(v), t.field("tags") + "." + std::string(k.str()) + ": expected a string, got " +
                            std::string(type_name(v)));
      tags.emplace(std::string(k.str()), s->get());
    }
    return tags;
  }

  void read_http_frontend(const toml::table& raw, std::string path, const std::string& cluster) {
    Table t(raw, std::move(path),
            {"id", "listener", "hostname", "path", "method", "position", "tags"});
    config::HttpFrontend f;
    f.cluster = cluster;
    f.id = t.required_string("id");
    f.listener = default_listener(t, false);
    f.hostname = t.string("hostname").value_or("~^.*$");
    f.path = read_path(t);
    f.method = t.string("method");
    f.position =
        t.enumeration("position", &config::position_from, "pre, tree, post").value_or(f.position);
    f.tags = read_tags(t);
    const std::string key = "http_frontend:" + f.id;
    record_unique(t, key, out_.state.http_frontends.contains(f.id), t.pos("id"),
                  t.field("id") + ": duplicate frontend id " + qt(f.id));
    out_.state.http_frontends.emplace(f.id, std::move(f));
  }

  void read_tcp_frontend(const toml::table& raw, std::string path, const std::string& cluster) {
    Table t(raw, std::move(path), {"listener", "tags"});
    config::TcpFrontend f;
    f.cluster = cluster;
    f.listener = default_listener(t, true);
    f.tags = read_tags(t);
    const std::string key = "tcp_frontend:" + f.listener;
    if (out_.state.tcp_frontends.contains(f.listener))
      fail(t.pos("listener"), t.path() + ": listener " + qt(f.listener) +
                                  " already has a tcp frontend (line " +
                                  std::to_string(index_[key].pos.line) + ")");
    t.record(index_, key);
    out_.state.tcp_frontends.emplace(f.listener, std::move(f));
  }

  /// An optional array of strings.
  std::optional<std::vector<std::string>> strings(const Table& t, std::string_view key) {
    const auto* n = t.find(key);
    if (!n) return std::nullopt;
    const auto* a = n->as_array();
    if (!a)
      fail(pos_of(*n),
           t.field(key) + ": expected an array of strings, got " + std::string(type_name(*n)));
    std::vector<std::string> out;
    for (const auto& e : *a) {
      const auto* str = e.as_string();
      if (!str)
        fail(pos_of(e), t.field(key) + ": expected strings, got " + std::string(type_name(e)));
      out.push_back(str->get());
    }
    return out;
  }

  void read_certificate(const toml::table& raw, size_t i) {
    Table t(raw, indexed("certificates", i), {"id", "listener", "certificate", "key", "names"});
    config::Certificate c;
    c.id = t.required_string("id");
    c.listener = t.required_string("listener");
    c.certificate_chain_pem =
        read_file(t.required_string("certificate"), t.pos("certificate"), t.field("certificate"));
    c.key_pem = read_file(t.required_string("key"), t.pos("key"), t.field("key"));
    if (auto names = strings(t, "names")) c.names = std::move(*names);
    const std::string key = "certificate:" + c.id;
    record_unique(t, key, out_.state.certificates.contains(c.id), t.pos("id"),
                  t.field("id") + ": duplicate certificate " + qt(c.id));
    out_.state.certificates.emplace(c.id, std::move(c));
  }

  std::filesystem::path resolve(const std::string& p) const {
    std::filesystem::path path(p);
    return path.is_absolute() ? path : base_ / path;
  }

  std::string read_file(const std::string& name, Pos pos, const std::string& field) const {
    const auto path = resolve(name);
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(pos, field + ": cannot read " + qt(path.string()));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  /// Replays the state on an empty one: the model's own field and reference rules.
  void check_state() {
    const auto diff = config::diff(config::State{}, out_.state, "file-");
    auto r = config::apply(config::State{}, diff);
    if (r) return;
    const auto& e = r.error();
    std::string key;
    std::visit(
        [&](const auto& body) {
          using B = std::decay_t<decltype(body)>;
          if constexpr (std::is_same_v<B, config::AddListener>)
            key = "listener:" + body.listener.address;
          else if constexpr (std::is_same_v<B, config::AddCluster>)
            key = "cluster:" + body.cluster.id;
          else if constexpr (std::is_same_v<B, config::AddHttpFrontend>)
            key = "http_frontend:" + body.frontend.id;
          else if constexpr (std::is_same_v<B, config::AddTcpFrontend>)
            key = "tcp_frontend:" + body.frontend.listener;
          else if constexpr (std::is_same_v<B, config::AddBackend>)
            key = backend_key(body.backend.cluster, body.backend.id);
          else if constexpr (std::is_same_v<B, config::AddCertificate>)
            key = "certificate:" + body.certificate.id;
        },
        diff.at(e.index).body);
    Pos pos{1, 1};
    std::string field = e.field;
    if (field == "certificate_chain_pem") field = "certificate";
    if (field == "key_pem") field = "key";
    if (auto it = index_.find(key); it != index_.end()) {
      pos = it->second.pos;
      if (auto f = it->second.fields.find(field); f != it->second.fields.end()) pos = f->second;
    }
    std::string entity = e.entity;
    if (auto sp = entity.find(' '); sp != std::string::npos) entity.erase(0, sp + 1);
    fail(pos, entity + ": " + field + ": " + e.reason);
  }

  std::filesystem::path base_;
  FileConfig out_;
  PosIndex index_;

  // Records entity `key` at `t`, or fails at `at` with `what` and the line of the first
  // definition when it exists already.
  void record_unique(const Table& t, const std::string& key, bool exists, Pos at,
                     const std::string& what) {
    if (exists)
      fail(at, what + " (first defined on line " + std::to_string(index_[key].pos.line) + ")");
    t.record(index_, key);
  }
};

}  // namespace

std::string LoadError::to_string() const {
  if (line == 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

Result<FileConfig, LoadError> load_toml(std::string_view text, std::string_view file,
                                        const std::filesystem::path& base_dir) {
  try {
    toml::table root = toml::parse(text, file);
    return Loader(base_dir).load(root);
  } catch (const toml::parse_error& e) {
    const auto p = pos_of(e.source());
    return Unexpected(LoadError{std::string(file), p.line, p.column, std::string(e.description())});
  } catch (const Fail& f) {
    return Unexpected(LoadError{std::string(file), f.pos.line, f.pos.column, f.message});
  } catch (const std::exception& e) {
    return Unexpected(LoadError{std::string(file), 0, 0, e.what()});
  }
}

Result<FileConfig, LoadError> load_toml_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected(LoadError{path, 0, 0, "cannot open the file"});
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return Unexpected(LoadError{path, 0, 0, "cannot read the file"});
  auto dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  return load_toml(s.str(), path, dir);
}

const std::string_view kEmbeddedConfig =
    R"toml(# kakehi's embedded default configuration (used without -c FILE).
# One HTTP listener on 127.0.0.1:8080 sending every request to the built-in demo origin
# that the binary starts on 127.0.0.1:8081.
[proxy]
workers = 1

[[listeners]]
address = "127.0.0.1:8080"
kind = "http"

[[clusters]]
id = "demo"

[[clusters.backends]]
id = "demo-origin"
address = "127.0.0.1:8081"

[[clusters.frontends]]
id = "demo-all"
listener = "127.0.0.1:8080"
hostname = "~^.*$"
path = { prefix = "/" }
)toml";

}  // namespace kakehi::edge
