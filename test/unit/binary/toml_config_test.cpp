// The edge binary's TOML configuration: every section, the defaults, and every error kind
// reported as FILE:LINE:COL (docs/configuration.md).
#include "proxy/toml_config.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

using namespace kakehi;
using namespace kakehi::edge;

namespace {

Result<FileConfig, LoadError> load(std::string_view text, std::filesystem::path dir = ".") {
  return load_toml(text, "test.toml", dir);
}

/// Loads `text`, which must fail; returns the error.
LoadError error_of(std::string_view text, std::filesystem::path dir = ".") {
  auto r = load(text, std::move(dir));
  REQUIRE_MESSAGE(!r.has_value(), "expected an error for:\n" << text);
  return r.error();
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "kakehi-toml-XXXXXX").string();
    REQUIRE(mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
  }
};

constexpr std::string_view kMinimal = R"(
[[listeners]]
address = "127.0.0.1:8080"

[[clusters]]
id = "app"
[[clusters.backends]]
address = "127.0.0.1:9000"
[[clusters.frontends]]
id = "all"
)";

}  // namespace

TEST_CASE("the embedded default configuration parses") {
  auto r = load_toml(kEmbeddedConfig, kEmbeddedConfigName, ".");
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().to_string()));
  const auto& s = r->state;
  REQUIRE(s.listeners.size() == 1);
  CHECK(s.listeners.at("127.0.0.1:8080").kind == config::ListenerKind::Http);
  REQUIRE(s.backends.size() == 1);
  CHECK(s.backends.begin()->second.address == "127.0.0.1:" + std::to_string(kDemoOriginPort));
  REQUIRE(s.http_frontends.size() == 1);
  CHECK(s.http_frontends.begin()->second.hostname == "~^.*$");
  CHECK(r->options.workers == 1);
  CHECK(r->control_socket.empty());
}

TEST_CASE("defaults of a minimal file") {
  auto r = load(kMinimal);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().to_string()));
  const proxy::ProxyOptions def;
  CHECK(r->options.workers == def.workers);
  CHECK(r->options.worker.buffer_count == def.worker.buffer_count);
  CHECK(r->options.worker.buffer_size == def.worker.buffer_size);
  CHECK(r->options.max_idle_per_backend == def.max_idle_per_backend);
  CHECK(r->options.forwarding_headers == def.forwarding_headers);
  CHECK(r->options.via == def.via);
  CHECK(r->drain_timeout == std::chrono::milliseconds(10'000));
  CHECK(r->control_socket.empty());
  CHECK(r->max_open_files == 0);

  const auto& l = r->state.listeners.at("127.0.0.1:8080");
  CHECK(l.kind == config::ListenerKind::Http);
  CHECK(l.timeouts == config::Timeouts{});
  CHECK(l.limits == config::Limits{});
  CHECK(l.answers.empty());
  CHECK(l.active);

  const auto& c = r->state.clusters.at("app");
  CHECK(c == config::Cluster{.id = "app"});

  // Backend id defaults to its address; weight 100, not backup, no sticky id.
  const auto& b = r->state.backends.at({"app", "127.0.0.1:9000"});
  CHECK(b ==
        config::Backend{.cluster = "app", .id = "127.0.0.1:9000", .address = "127.0.0.1:9000"});

  // Frontend: the only HTTP listener, any host, prefix "/", any method, tree position.
  const auto& f = r->state.http_frontends.at("all");
  CHECK(f.listener == "127.0.0.1:8080");
  CHECK(f.cluster == "app");
  CHECK(f.hostname == "~^.*$");
  CHECK(f.path == config::PathRule{});
  CHECK(!f.method);
  CHECK(f.position == config::Position::Tree);
  CHECK(f.tags.empty());
}

TEST_CASE("every section and field") {
  TempDir dir;
  dir.write("503.txt", "busy, come back later\n");
  dir.write("cert.pem", "-----BEGIN CERTIFICATE-----\nx\n");
  dir.write("key.pem", "-----BEGIN PRIVATE KEY-----\ny\n");
  const std::string text = R"(
[proxy]
workers = 3
buffer_count = 1024
buffer_size = 8192
write_reserve = 32
max_queued_recv = 4
send_zc_threshold = 131072
ring_entries = 1024
max_idle_per_backend = 8
backend_idle_timeout_ms = 5000
connect_attempts = 2
failures_before_down = 5
backoff_base_ms = 100
backoff_max_ms = 1000
forwarding_headers = false
via = "kakehi"
drain_timeout_ms = 2500
control_socket = "ctl.sock"
max_open_files = 65536

[[listeners]]
address = "127.0.0.1:8080"
kind = "http"
active = false
timeouts = { front_idle_ms = 1, request_head_ms = 2, connect_ms = 3, backend_response_ms = 4 }
[listeners.limits]
max_header_bytes = 5
max_header_count = 6
max_body_bytes = 7
max_connections = 8
[listeners.answers]
404 = "nothing here"
503 = { file = "503.txt" }

[[listeners]]
address = "127.0.0.1:8443"
kind = "https"

[[listeners]]
address = "[::1]:7000"
kind = "tcp"

[[clusters]]
id = "api"
lb = "least_connections"
sticky_session = true
https_redirect = true
max_connections_per_backend = 50
answers = { 502 = "bad gateway" }

  [[clusters.backends]]
  id = "b1"
  address = "10.0.0.1:80"
  weight = 0
  backup = true
  sticky_id = "s1"

  [[clusters.frontends]]
  id = "f1"
  listener = "127.0.0.1:8080"
  hostname = "*.example.com"
  path = { exact = "/health" }
  method = "GET"
  position = "pre"
  tags = { team = "core", env = "prod" }

  [[clusters.frontends]]
  id = "f2"
  listener = "127.0.0.1:8443"
  hostname = "example.com"
  path = { regex = "^/v[0-9]+/.*$" }
  position = "post"

  [[clusters.frontends]]
  id = "f3"
  listener = "127.0.0.1:8080"
  hostname = "example.org"
  path = "/api"

  [[clusters.tcp_frontends]]
  tags = { kind = "raw" }

[[clusters]]
id = "r"
lb = "power_of_two"

[[certificates]]
id = "c1"
listener = "127.0.0.1:8443"
certificate = "cert.pem"
key = "key.pem"
names = ["example.com", "*.example.com"]
)";
  auto r = load(text, dir.path);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().to_string()));
  const auto& o = r->options;
  CHECK(o.workers == 3);
  CHECK(o.worker.buffer_count == 1024);
  CHECK(o.worker.buffer_size == 8192);
  CHECK(o.worker.write_reserve == 32);
  CHECK(o.worker.max_queued_recv == 4);
  CHECK(o.worker.send_zc_threshold == 131072);
  CHECK(o.worker.ring.entries == 1024);
  CHECK(o.max_idle_per_backend == 8);
  CHECK(o.backend_idle_timeout_ms == 5000);
  CHECK(o.connect_attempts == 2);
  CHECK(o.failures_before_down == 5);
  CHECK(o.backoff_base_ms == 100);
  CHECK(o.backoff_max_ms == 1000);
  CHECK(!o.forwarding_headers);
  CHECK(o.via == "kakehi");
  CHECK(r->drain_timeout == std::chrono::milliseconds(2500));
  CHECK(r->control_socket == (dir.path / "ctl.sock").string());
  CHECK(r->max_open_files == 65536);

  const auto& s = r->state;
  REQUIRE(s.listeners.size() == 3);
  const auto& l = s.listeners.at("127.0.0.1:8080");
  CHECK(!l.active);
  CHECK(l.timeouts == config::Timeouts{1, 2, 3, 4});
  CHECK(l.limits == config::Limits{5, 6, 7, 8});
  CHECK(l.answers == config::Answers{{404, "nothing here"}, {503, "busy, come back later\n"}});
  CHECK(s.listeners.at("127.0.0.1:8443").kind == config::ListenerKind::Https);
  CHECK(s.listeners.at("[::1]:7000").kind == config::ListenerKind::Tcp);

  const auto& c = s.clusters.at("api");
  CHECK(c.lb == config::LbAlgorithm::LeastConnections);
  CHECK(c.sticky_session);
  CHECK(c.https_redirect);
  CHECK(c.max_connections_per_backend == 50);
  CHECK(c.answers == config::Answers{{502, "bad gateway"}});
  CHECK(s.clusters.at("r").lb == config::LbAlgorithm::PowerOfTwo);

  const auto& b = s.backends.at({"api", "b1"});
  CHECK(b.weight == 0);
  CHECK(b.backup);
  CHECK(b.sticky_id == "s1");

  const auto& f1 = s.http_frontends.at("f1");
  CHECK(f1.hostname == "*.example.com");
  CHECK(f1.path == config::PathRule{config::PathKind::Exact, "/health"});
  CHECK(f1.method == "GET");
  CHECK(f1.position == config::Position::Pre);
  CHECK(f1.tags == std::map<std::string, std::string>{{"team", "core"}, {"env", "prod"}});
  const auto& f2 = s.http_frontends.at("f2");
  CHECK(f2.listener == "127.0.0.1:8443");
  CHECK(f2.path == config::PathRule{config::PathKind::Regex, "^/v[0-9]+/.*$"});
  CHECK(f2.position == config::Position::Post);
  CHECK(s.http_frontends.at("f3").path == config::PathRule{config::PathKind::Prefix, "/api"});

  // The TCP frontend defaults to the only tcp listener.
  REQUIRE(s.tcp_frontends.size() == 1);
  CHECK(s.tcp_frontends.at("[::1]:7000").cluster == "api");
  CHECK(s.tcp_frontends.at("[::1]:7000").tags.at("kind") == "raw");

  const auto& cert = s.certificates.at("c1");
  CHECK(cert.listener == "127.0.0.1:8443");
  CHECK(cert.certificate_chain_pem == "-----BEGIN CERTIFICATE-----\nx\n");
  CHECK(cert.key_pem == "-----BEGIN PRIVATE KEY-----\ny\n");
  CHECK(cert.names == std::vector<std::string>{"example.com", "*.example.com"});
}

TEST_CASE("TOML syntax errors carry the parser's position") {
  auto e = error_of("[[listeners]]\naddress = \"127.0.0.1:80\"\nkind = \n");
  CHECK(e.file == "test.toml");
  CHECK(e.line == 3);
  CHECK(e.column > 0);
  CHECK(e.to_string().starts_with("test.toml:3:"));
}

TEST_CASE("unknown keys are rejected where they are written") {
  auto e = error_of("[[listeners]]\naddress = \"127.0.0.1:80\"\nadress = \"x\"\n");
  CHECK(e.line == 3);
  CHECK(e.column == 1);
  CHECK(e.message.find("listeners[0]: unknown key \"adress\"") != std::string::npos);

  e = error_of("workers = 2\n");
  CHECK(e.line == 1);
  CHECK(e.message.find("unknown key \"workers\"") != std::string::npos);

  e = error_of("[proxy]\nworkers = 1\nworker = 2\n");
  CHECK(e.line == 3);
  CHECK(e.message.find("proxy: unknown key \"worker\"") != std::string::npos);

  e = error_of(std::string(kMinimal) + "hostnme = \"a.com\"\n");
  CHECK(e.line == 11);
  CHECK(e.message.find("clusters[0].frontends[0]: unknown key \"hostnme\"") != std::string::npos);

  e = error_of(R"([[listeners]]
address = "127.0.0.1:80"
[listeners.timeouts]
front_idle = 5
)");
  CHECK(e.line == 4);
  CHECK(e.message.find("listeners[0].timeouts: unknown key \"front_idle\"") != std::string::npos);

  e = error_of(std::string(kMinimal) + "path = { prefix = \"/a\", exact = \"/b\" }\n");
  CHECK(e.line == 11);
  CHECK(e.message.find("exactly one of prefix, exact or regex") != std::string::npos);
  e = error_of(std::string(kMinimal) + "path = { begins = \"/a\" }\n");
  CHECK(e.line == 11);
  CHECK(e.message.find("unknown key \"begins\"") != std::string::npos);
}

TEST_CASE("bad enum values name the allowed ones") {
  auto e = error_of("[[listeners]]\naddress = \"127.0.0.1:80\"\nkind = \"htp\"\n");
  CHECK(e.line == 3);
  CHECK(e.column == 8);
  CHECK(e.message == "listeners[0].kind: unknown value \"htp\" (expected http, https, tcp)");

  e = error_of("[[clusters]]\nid = \"c\"\nlb = \"fastest\"\n");
  CHECK(e.line == 3);
  CHECK(e.message.find("round_robin, random, least_connections, power_of_two") !=
        std::string::npos);

  e = error_of(std::string(kMinimal) + "position = \"middle\"\n");
  CHECK(e.line == 11);
  CHECK(e.message.find("(expected pre, tree, post)") != std::string::npos);
}

TEST_CASE("wrong types and out-of-range numbers") {
  auto e = error_of("[proxy]\nworkers = \"two\"\n");
  CHECK(e.line == 2);
  CHECK(e.message == "proxy.workers: expected an integer, got a string");

  e = error_of("[proxy]\nworkers = 0\n");
  CHECK(e.line == 2);
  CHECK(e.message.find("proxy.workers: 0 is out of range 1..") != std::string::npos);

  e = error_of("[proxy]\nforwarding_headers = 1\n");
  CHECK(e.message.find("expected a boolean") != std::string::npos);

  e = error_of("[proxy]\nbuffer_count = 64\nwrite_reserve = 64\n");
  CHECK(e.line == 3);

  e = error_of("[[listeners]]\naddress = \"127.0.0.1:80\"\nlimits = { max_body_bytes = -1 }\n");
  CHECK(e.line == 3);
  CHECK(e.message.find("listeners[0].limits.max_body_bytes: -1 is out of range") !=
        std::string::npos);

  e = error_of(std::string(kMinimal) +
               "[[clusters.backends]]\naddress = \"127.0.0.1:1\"\n"
               "weight = 101\n");
  CHECK(e.line == 13);
  CHECK(e.message.find("clusters[0].backends[1].weight: 101 is out of range 0..100") !=
        std::string::npos);

  e = error_of("listeners = 3\n");
  CHECK(e.message.find("expected an array of tables") != std::string::npos);

  e = error_of("[[listeners]]\naddress = 80\n");
  CHECK(e.line == 2);
  CHECK(e.message == "listeners[0].address: expected a string, got an integer");
}

TEST_CASE("answers: status keys, inline bodies and files") {
  TempDir dir;
  auto e = error_of(
      "[[listeners]]\naddress = \"127.0.0.1:80\"\n[listeners.answers]\n"
      "200 = \"x\"\nabc = \"y\"\n");
  CHECK(e.line == 5);
  CHECK(e.message.find("listeners[0].answers.abc: the key must be an HTTP status") !=
        std::string::npos);
  e = error_of("[[listeners]]\naddress = \"127.0.0.1:80\"\n[listeners.answers]\n700 = \"x\"\n");
  CHECK(e.line == 4);
  e = error_of(
      "[[listeners]]\naddress = \"127.0.0.1:80\"\n[listeners.answers]\n"
      "503 = { file = \"missing.txt\" }\n",
      dir.path);
  CHECK(e.line == 4);
  CHECK(e.message.find("listeners[0].answers.503.file: cannot read") != std::string::npos);
  e = error_of("[[listeners]]\naddress = \"127.0.0.1:80\"\n[listeners.answers]\n503 = 5\n");
  CHECK(e.line == 4);
  CHECK(e.message.find("expected a string (the body) or { file") != std::string::npos);
}

TEST_CASE("missing keys and duplicate keys") {
  auto e = error_of("[[listeners]]\nkind = \"http\"\n");
  CHECK(e.line == 1);
  CHECK(e.message == "listeners[0]: missing required key \"address\"");

  e = error_of("[[clusters]]\nlb = \"random\"\n");
  CHECK(e.message == "clusters[0]: missing required key \"id\"");

  e = error_of(std::string(kMinimal) + "[[clusters]]\nid = \"app\"\n");
  CHECK(e.line == 12);
  CHECK(e.message.find("duplicate cluster \"app\" (first defined on line 5)") != std::string::npos);

  e = error_of(std::string(kMinimal) + "[[listeners]]\naddress = \"127.0.0.1:8080\"\n");
  CHECK(e.line == 12);
  CHECK(e.message.find("duplicate listener") != std::string::npos);

  e = error_of(std::string(kMinimal) + "[[clusters.frontends]]\nid = \"all\"\npath = \"/x\"\n");
  CHECK(e.line == 12);
  CHECK(e.message.find("duplicate frontend id \"all\"") != std::string::npos);

  e = error_of(std::string(kMinimal) + "[[clusters.backends]]\naddress = \"127.0.0.1:9000\"\n");
  CHECK(e.line == 12);
  CHECK(e.message.find("duplicate backend id \"127.0.0.1:9000\"") != std::string::npos);

  // Two HTTP listeners: a frontend must name its listener.
  e = error_of(std::string(kMinimal) + "[[listeners]]\naddress = \"127.0.0.1:8081\"\n");
  CHECK(e.line == 9);
  CHECK(e.message.find("missing required key \"listener\"") != std::string::npos);
}

TEST_CASE("model validation errors point at the entity's field") {
  // Malformed address: the listener's address value.
  auto e = error_of("[[listeners]]\naddress = \"127.0.0.1\"\n");
  CHECK(e.line == 2);
  CHECK(e.column == 11);
  CHECK(e.message.find("listener \"127.0.0.1\": address:") != std::string::npos);

  // A frontend referring to a listener that does not exist.
  e = error_of(std::string(kMinimal) +
               "[[clusters.frontends]]\nid = \"x\"\n"
               "listener = \"127.0.0.1:1\"\n");
  CHECK(e.line == 13);
  CHECK(e.message == "http frontend \"x\": listener: listener \"127.0.0.1:1\" does not exist");

  // A bad hostname and a bad path regex.
  e = error_of(std::string(kMinimal) + "hostname = \"Example.COM\"\n");
  CHECK(e.line == 11);
  CHECK(e.message.find("hostname:") != std::string::npos);
  e = error_of(std::string(kMinimal) + "path = { regex = \"/no-anchor\" }\n");
  CHECK(e.line == 11);
  CHECK(e.message.find("path:") != std::string::npos);

  // Same route twice on one listener.
  e = error_of(std::string(kMinimal) + "[[clusters.frontends]]\nid = \"zz\"\n");
  CHECK(e.line == 11);
  CHECK(e.message.find("same route as frontend \"all\"") != std::string::npos);

  // Backend address.
  e = error_of(std::string(kMinimal) + "[[clusters.backends]]\naddress = \"localhost:80\"\n");
  CHECK(e.line == 12);
  CHECK(e.message.find("address:") != std::string::npos);

  // A frontend on a tcp listener.
  e = error_of(R"([[listeners]]
address = "127.0.0.1:7000"
kind = "tcp"
[[clusters]]
id = "c"
[[clusters.frontends]]
id = "f"
listener = "127.0.0.1:7000"
)");
  CHECK(e.line == 8);
  CHECK(e.message.find("is tcp") != std::string::npos);
}

TEST_CASE("files: missing file and relative paths") {
  auto r = load_toml_file("/nonexistent/kakehi.toml");
  REQUIRE(!r);
  CHECK(r.error().to_string() == "/nonexistent/kakehi.toml: cannot open the file");

  TempDir dir;
  dir.write("a.txt", "A");
  dir.write("k.toml",
            "[[listeners]]\naddress = \"127.0.0.1:80\"\n[listeners.answers]\n"
            "404 = { file = \"a.txt\" }\n");
  r = load_toml_file((dir.path / "k.toml").string());
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().to_string()));
  CHECK(r->state.listeners.at("127.0.0.1:80").answers.at(404) == "A");

  dir.write("bad.toml", "\n\n[[clusters]]\nid = 5\n");
  r = load_toml_file((dir.path / "bad.toml").string());
  REQUIRE(!r);
  CHECK(r.error().to_string() == (dir.path / "bad.toml").string() +
                                     ":4:6: clusters[0].id: expected a string, got an integer");
}

TEST_CASE("HTTPS listener TLS settings and backend TLS") {
  TempDir d;
  d.write("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  auto r = load(R"(
[[listeners]]
address = "127.0.0.1:8443"
kind = "https"
  [listeners.tls]
  min_version = "1.3"
  groups = ["x25519", "p256"]
  alpn = ["http/1.1"]
  default_certificate = "main"
  reject_unknown_sni = true
  session_tickets = false
  handshake_timeout_ms = 2500
[[clusters]]
id = "app"
  [clusters.backend_tls]
  verify = false
  ca_file = "ca.pem"
  server_name = "origin.test"
  alpn = ["http/1.1"]
[[clusters.backends]]
address = "127.0.0.1:9000"
[[clusters.frontends]]
id = "all"
)",
                d.path);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().to_string()));
  const config::ListenerTls& t = r->state.listeners.at("127.0.0.1:8443").tls;
  CHECK(t.min_version == "1.3");
  CHECK(t.max_version == "1.3");
  CHECK(t.groups == std::vector<std::string>{"x25519", "p256"});
  CHECK(t.default_certificate == "main");
  CHECK(t.reject_unknown_sni);
  CHECK_FALSE(t.session_tickets);
  CHECK(t.handshake_timeout_ms == 2500);
  const config::BackendTls& b = r->state.clusters.at("app").backend_tls;
  CHECK(b.enabled);  // the table's presence enables it
  CHECK_FALSE(b.verify);
  CHECK(b.ca_pem.find("BEGIN CERTIFICATE") != std::string::npos);
  CHECK(b.server_name == "origin.test");

  auto e = error_of(R"(
[[listeners]]
address = "127.0.0.1:8443"
kind = "https"
  [listeners.tls]
  min_versoin = "1.3"
)");
  CHECK(e.to_string().find("unknown key \"min_versoin\"") != std::string::npos);
  e = error_of(R"(
[[listeners]]
address = "127.0.0.1:8443"
kind = "https"
  [listeners.tls]
  groups = "x25519"
)");
  CHECK(e.to_string().find("expected an array of strings") != std::string::npos);
}

TEST_CASE("listener HTTP/2 settings and the cluster backend protocol") {
  auto r = load(R"(
[[listeners]]
address = "127.0.0.1:8080"
  [listeners.http2]
  enabled = false
  max_concurrent_streams = 32
  initial_window_size = 65535
  connection_window = 1048576
  max_frame_size = 32768
  stream_buffer_bytes = 65536
  max_header_list_size = 8192
  max_resets_per_second = 1
  max_pings_per_second = 2
  max_settings_per_second = 3
  max_window_updates_per_second = 4
  max_empty_data_per_second = 5
  max_stream_errors_per_second = 6
  max_continuations_per_block = 7
  max_header_block_bytes = 8
  max_queued_control_frames = 9
[[listeners]]
address = "127.0.0.1:8081"
http2 = { max_frame_size = 65536 }
[[clusters]]
id = "app"
backend_protocol = "http2"
  [clusters.backend_tls]
  alpn = ["h2", "http/1.1"]
[[clusters.backends]]
address = "127.0.0.1:9000"
[[clusters.frontends]]
id = "all"
listener = "127.0.0.1:8080"
[[clusters]]
id = "plain"
backend_protocol = "http1"
)");
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().to_string()));
  const config::Http2Settings& h = r->state.listeners.at("127.0.0.1:8080").http2;
  CHECK(h == config::Http2Settings{.enabled = false,
                                   .max_concurrent_streams = 32,
                                   .initial_window_size = 65535,
                                   .connection_window = 1048576,
                                   .max_frame_size = 32768,
                                   .stream_buffer_bytes = 65536,
                                   .max_header_list_size = 8192,
                                   .max_resets_per_second = 1,
                                   .max_pings_per_second = 2,
                                   .max_settings_per_second = 3,
                                   .max_window_updates_per_second = 4,
                                   .max_empty_data_per_second = 5,
                                   .max_stream_errors_per_second = 6,
                                   .max_continuations_per_block = 7,
                                   .max_header_block_bytes = 8,
                                   .max_queued_control_frames = 9});
  config::Http2Settings inline_table;  // the keys not written keep their defaults
  inline_table.max_frame_size = 65536;
  CHECK(r->state.listeners.at("127.0.0.1:8081").http2 == inline_table);
  CHECK(r->state.clusters.at("app").backend_protocol == config::BackendProtocol::Http2);
  CHECK(r->state.clusters.at("plain").backend_protocol == config::BackendProtocol::Http1);

  auto m = load(kMinimal);
  REQUIRE(m.has_value());
  CHECK(m->state.listeners.at("127.0.0.1:8080").http2 == config::Http2Settings{});
  CHECK(m->state.clusters.at("app").backend_protocol == config::BackendProtocol::Http1);

  auto e = error_of(R"([[listeners]]
address = "127.0.0.1:80"
[listeners.http2]
max_concurrent_streams = 10
max_streams = 10
)");
  CHECK(e.line == 5);
  CHECK(e.column == 1);
  CHECK(e.message.find("listeners[0].http2: unknown key \"max_streams\" (allowed: enabled, "
                       "max_concurrent_streams,") != std::string::npos);
  e = error_of("[[listeners]]\naddress = \"127.0.0.1:80\"\nhttp2 = { enabled = \"yes\" }\n");
  CHECK(e.line == 3);
  CHECK(e.message ==
        "listeners[0].http2.enabled: expected a boolean (true or false), got a string");
  e = error_of("[[listeners]]\naddress = \"127.0.0.1:80\"\nhttp2 = { max_frame_size = -1 }\n");
  CHECK(e.message.find("listeners[0].http2.max_frame_size: -1 is out of range 0..4294967295") !=
        std::string::npos);
  e = error_of("[[listeners]]\naddress = \"127.0.0.1:80\"\nhttp2 = 1\n");
  CHECK(e.message == "listeners[0].http2: expected a table, got an integer");
  e = error_of("[[clusters]]\nid = \"c\"\nbackend_protocol = \"h2\"\n");
  CHECK(e.line == 3);
  CHECK(e.message == "clusters[0].backend_protocol: unknown value \"h2\" (expected http1, http2)");

  // The model's ranges, reported at the value that breaks them.
  e = error_of(R"([[listeners]]
address = "127.0.0.1:80"
[listeners.http2]
max_concurrent_streams = 10
max_frame_size = 1000
)");
  CHECK(e.line == 5);
  CHECK(e.column == 18);
  CHECK(e.message ==
        "listener \"127.0.0.1:80\": http2.max_frame_size: 1000 is not in 16384..16777215");
  e = error_of(
      "[[listeners]]\naddress = \"127.0.0.1:80\"\n"
      "http2 = { max_pings_per_second = 0 }\n");
  CHECK(e.line == 3);
  CHECK(e.message ==
        "listener \"127.0.0.1:80\": http2.max_pings_per_second: a flood limit must be > 0");
  e = error_of(R"([[clusters]]
id = "c"
backend_protocol = "http2"
  [clusters.backend_tls]
  server_name = "origin.test"
  alpn = ["http/1.1"]
)");
  CHECK(e.line == 6);
  CHECK(
      e.message.find("cluster \"c\": backend_tls.alpn: backend_protocol \"http2\" needs \"h2\"") !=
      std::string::npos);
}

TEST_CASE("PROXY protocol: accept_proxy_protocol and send_proxy_protocol") {
  auto r = load(R"(
[[listeners]]
address = "127.0.0.1:8080"
accept_proxy_protocol = true
[[listeners]]
address = "127.0.0.1:8081"

[[clusters]]
id = "v1"
send_proxy_protocol = "v1"
[[clusters]]
id = "v2"
send_proxy_protocol = "v2"
[[clusters]]
id = "none"
)");
  REQUIRE(r.has_value());
  CHECK(r->state.listeners.at("127.0.0.1:8080").accept_proxy_protocol);
  CHECK_FALSE(r->state.listeners.at("127.0.0.1:8081").accept_proxy_protocol);
  CHECK(r->state.clusters.at("v1").send_proxy_protocol == config::ProxyProtocolVersion::V1);
  CHECK(r->state.clusters.at("v2").send_proxy_protocol == config::ProxyProtocolVersion::V2);
  CHECK(r->state.clusters.at("none").send_proxy_protocol == config::ProxyProtocolVersion::None);

  LoadError e = error_of("[[clusters]]\nid = \"c\"\nsend_proxy_protocol = \"v3\"\n");
  CHECK(e.line == 3);
  CHECK(e.message ==
        "clusters[0].send_proxy_protocol: unknown value \"v3\" (expected none, v1, v2)");
  e = error_of("[[listeners]]\naddress = \"127.0.0.1:80\"\naccept_proxy_protocol = \"yes\"\n");
  CHECK(e.line == 3);
  CHECK(e.message ==
        "listeners[0].accept_proxy_protocol: expected a boolean (true or false), got a string");
  e = error_of(R"([[clusters]]
id = "c"
backend_protocol = "http2"
send_proxy_protocol = "v2"
)");
  CHECK(e.message.find("cluster \"c\": send_proxy_protocol: needs backend_protocol \"http1\"") !=
        std::string::npos);
}
