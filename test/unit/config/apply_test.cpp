#include <doctest/doctest.h>

#include "fixtures.hpp"
#include "kakehi/config/request.hpp"

using namespace kakehi::config;
using namespace kakehi::config::test;

namespace {
State applied(const std::vector<Request>& d) {
  auto r = kakehi::config::apply(State{}, d);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  return *r;
}
DiffError rejected(const State& s, const std::vector<Request>& d) {
  auto r = kakehi::config::apply(s, d);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}
}  // namespace

TEST_CASE("a valid diff builds the state") {
  State s = applied(basic_setup());
  CHECK(s.listeners.size() == 1);
  CHECK(s.clusters.contains("c1"));
  CHECK(s.backends.size() == 2);
  CHECK(s.backends.at({"c1", "b2"}).address == "127.0.0.1:9002");
  CHECK(s.http_frontends.at("f1").hostname == "example.com");
}

TEST_CASE("all or nothing: one bad request leaves the state unchanged") {
  const State before = applied(basic_setup());
  const std::vector<Request> d = {req("a", AddCluster{cluster("c2")}),
                                  req("b", AddBackend{backend("c2", "x", "10.0.0.1:80")}),
                                  req("r3", AddBackend{backend("c9", "b1", "10.0.0.2:80")}),
                                  req("d", AddCluster{cluster("c3")})};
  State copy = before;
  auto r = kakehi::config::apply(copy, d);
  REQUIRE_FALSE(r.has_value());
  CHECK(copy == before);
  CHECK(r.error().index == 2);
  CHECK(r.error().request_id == "r3");
  CHECK(r.error().code == DiffErrorCode::MissingReference);
  CHECK(r.error().field == "cluster");
  CHECK(r.error().message() == "request \"r3\": add backend \"b1\": cluster \"c9\" does not exist");
}

TEST_CASE("referential rules") {
  const State s = applied(basic_setup());
  SUBCASE("frontend needs its listener and cluster") {
    auto e = rejected(s, {req("x", AddHttpFrontend{frontend("f2", "127.0.0.1:1", "c1", "a.com")})});
    CHECK(e.code == DiffErrorCode::MissingReference);
    CHECK(e.field == "listener");
    e = rejected(s, {req("x", AddHttpFrontend{frontend("f2", "127.0.0.1:8080", "zz", "a.com")})});
    CHECK(e.field == "cluster");
  }
  SUBCASE("listener kinds must match the frontend kind") {
    auto tcp = listener("127.0.0.1:7000", ListenerKind::Tcp);
    auto e = rejected(s, {req("a", AddListener{tcp}),
                          req("b", AddHttpFrontend{frontend("f2", tcp.address, "c1", "a.com")})});
    CHECK(e.request_id == "b");
    CHECK(e.field == "listener");
    e = rejected(s, {req("a", AddTcpFrontend{TcpFrontend{"127.0.0.1:8080", "c1", {}}})});
    CHECK(e.field == "listener");
    State t = *apply(s, {req("a", AddListener{tcp}),
                         req("b", AddTcpFrontend{TcpFrontend{tcp.address, "c1", {}}})});
    CHECK(t.tcp_frontends.size() == 1);
    auto as_http = tcp;
    as_http.kind = ListenerKind::Http;
    e = rejected(t, {req("c", UpdateListener{as_http})});
    CHECK(e.code == DiffErrorCode::InUse);
  }
  SUBCASE("removing a cluster in use fails unless its users go first in the same diff") {
    auto e = rejected(s, {req("x", RemoveCluster{"c1"})});
    CHECK(e.code == DiffErrorCode::InUse);
    CHECK(e.message().find("still used by") != std::string::npos);
    auto r = apply(s, {req("1", RemoveHttpFrontend{"f1"}), req("2", RemoveBackend{"c1", "b1"}),
                       req("3", RemoveBackend{"c1", "b2"}), req("4", RemoveCluster{"c1"}),
                       req("5", RemoveListener{"127.0.0.1:8080"})});
    REQUIRE(r.has_value());
    CHECK(*r == State{});
  }
  SUBCASE("removing a listener in use fails") {
    auto e = rejected(s, {req("x", RemoveListener{"127.0.0.1:8080"})});
    CHECK(e.code == DiffErrorCode::InUse);
    CHECK(e.field == "address");
  }
  SUBCASE("two frontends with the same route on one listener conflict") {
    auto e = rejected(
        s, {req("x", AddHttpFrontend{frontend("f2", "127.0.0.1:8080", "c1", "example.com")})});
    CHECK(e.code == DiffErrorCode::Conflict);
    auto f2 = frontend("f2", "127.0.0.1:8080", "c1", "example.com");
    f2.method = "GET";
    CHECK(apply(s, {req("y", AddHttpFrontend{f2})}).has_value());
  }
  SUBCASE("certificates need an HTTPS listener") {
    Certificate c{"cert1", "127.0.0.1:8080", "PEM", "KEY", {"example.com"}};
    CHECK(rejected(s, {req("x", AddCertificate{c})}).field == "listener");
    c.listener = "127.0.0.1:8443";
    auto ok = apply(s, {req("a", AddListener{listener(c.listener, ListenerKind::Https)}),
                        req("b", AddCertificate{c})});
    CHECK(ok.has_value());
    c.names = {"~^x$"};
    CHECK(rejected(*ok, {req("c", UpdateCertificate{c})}).field == "names");
  }
}

TEST_CASE("field validation names the field") {
  const State s = applied(basic_setup());
  auto b = backend("c1", "b3", "127.0.0.1:9003", 101);
  CHECK(rejected(s, {req("x", AddBackend{b})}).field == "weight");
  b.weight = 0;
  b.address = "localhost:80";
  CHECK(rejected(s, {req("x", AddBackend{b})}).field == "address");
  b.address = "127.0.0.1:80";
  b.sticky_id = "";
  CHECK(rejected(s, {req("x", AddBackend{b})}).field == "sticky_id");
  CHECK(rejected(s, {req("x", AddListener{listener("1.2.3:80")})}).field == "address");
  auto l = listener("127.0.0.1:81");
  l.timeouts.connect_ms = 0;
  CHECK(rejected(s, {req("x", AddListener{l})}).field == "timeouts");
  auto c = cluster("c5");
  c.answers[700] = "x";
  CHECK(rejected(s, {req("x", AddCluster{c})}).field == "answers");
  CHECK(rejected(s, {req("x", AddCluster{cluster("")})}).field == "id");
  auto f = frontend("f2", "127.0.0.1:8080", "c1", "*.a.com", {PathKind::Regex, "/x"});
  CHECK(rejected(s, {req("x", AddHttpFrontend{f})}).field == "path");
  f.path = {PathKind::Prefix, "/x"};
  f.method = "G T";
  CHECK(rejected(s, {req("x", AddHttpFrontend{f})}).field == "method");
  f.method.reset();
  f.hostname = "A.com";
  CHECK(rejected(s, {req("x", AddHttpFrontend{f})}).field == "hostname");

  auto tls = listener("127.0.0.1:8443", ListenerKind::Https);
  tls.tls.min_version = "1.1";
  CHECK(rejected(s, {req("x", AddListener{tls})}).field == "tls.min_version");
  tls.tls.min_version = "1.3";
  tls.tls.max_version = "1.2";
  CHECK(rejected(s, {req("x", AddListener{tls})}).field == "tls.min_version");
  tls.tls.max_version = "1.3";
  tls.tls.groups = {"x25519", "ffdhe2048"};
  CHECK(rejected(s, {req("x", AddListener{tls})}).field == "tls.groups");
  tls.tls.groups = {};
  tls.tls.alpn = {"spdy/3", "http/1.1"};
  CHECK(rejected(s, {req("x", AddListener{tls})}).field == "tls.alpn");
  tls.tls.alpn = {"h2", "http/1.1"};
  tls.tls.handshake_timeout_ms = 0;
  CHECK(rejected(s, {req("x", AddListener{tls})}).field == "tls.handshake_timeout_ms");
  tls.tls.handshake_timeout_ms = 1;
  CHECK(apply(s, {req("x", AddListener{tls})}).has_value());
  auto plain = listener("127.0.0.1:8444");
  plain.tls.min_version = "9";  // not HTTPS: its TLS settings are not used, so not checked
  CHECK(apply(s, {req("x", AddListener{plain})}).has_value());
  auto bt = cluster("c6");
  bt.backend_tls.enabled = true;
  bt.backend_tls.server_name = "*.a.com";
  CHECK(rejected(s, {req("x", AddCluster{bt})}).field == "backend_tls.server_name");
  for (const char* ip : {"127.0.0.1", "::1"}) {  // an IP is checked against IP SANs
    bt.backend_tls.server_name = ip;
    CHECK(apply(s, {req("x", AddCluster{bt})}).has_value());
  }
  bt.backend_tls.server_name = "origin.a.com";
  bt.backend_tls.alpn = {""};
  CHECK(rejected(s, {req("x", AddCluster{bt})}).field == "backend_tls.alpn");
}

TEST_CASE("HTTP/2 listener settings: each bound names its field") {
  const State s = applied(basic_setup());
  struct Bad {
    uint32_t Http2Settings::*field;
    const char* name;
    uint32_t value;
    const char* reason;
  };
  const char* kFlood = "a flood limit must be > 0";
  const Bad bad[] = {
      {&Http2Settings::max_concurrent_streams, "max_concurrent_streams", 0,
       "0 is not in 1..2147483647"},
      {&Http2Settings::max_concurrent_streams, "max_concurrent_streams", 1u << 31,
       "2147483648 is not in 1..2147483647"},
      {&Http2Settings::initial_window_size, "initial_window_size", 0, "0 is not in 1..2147483647"},
      {&Http2Settings::initial_window_size, "initial_window_size", 1u << 31,
       "2147483648 is not in 1..2147483647"},
      {&Http2Settings::connection_window, "connection_window", 65534,
       "65534 is not in 65535..2147483647"},
      {&Http2Settings::connection_window, "connection_window", 1u << 31,
       "2147483648 is not in 65535..2147483647"},
      {&Http2Settings::max_frame_size, "max_frame_size", 16383, "16383 is not in 16384..16777215"},
      {&Http2Settings::max_frame_size, "max_frame_size", 1u << 24,
       "16777216 is not in 16384..16777215"},
      {&Http2Settings::stream_buffer_bytes, "stream_buffer_bytes", 16383,
       "16383 is not in 16384..67108864"},
      {&Http2Settings::stream_buffer_bytes, "stream_buffer_bytes", (64u << 20) + 1,
       "67108865 is not in 16384..67108864"},
      {&Http2Settings::max_header_list_size, "max_header_list_size", 1023,
       "1023 is not in 1024..4294967295"},
      {&Http2Settings::max_resets_per_second, "max_resets_per_second", 0, kFlood},
      {&Http2Settings::max_pings_per_second, "max_pings_per_second", 0, kFlood},
      {&Http2Settings::max_settings_per_second, "max_settings_per_second", 0, kFlood},
      {&Http2Settings::max_window_updates_per_second, "max_window_updates_per_second", 0, kFlood},
      {&Http2Settings::max_empty_data_per_second, "max_empty_data_per_second", 0, kFlood},
      {&Http2Settings::max_stream_errors_per_second, "max_stream_errors_per_second", 0, kFlood},
      {&Http2Settings::max_continuations_per_block, "max_continuations_per_block", 0, kFlood},
      {&Http2Settings::max_header_block_bytes, "max_header_block_bytes", 0, kFlood},
      {&Http2Settings::max_queued_control_frames, "max_queued_control_frames", 0, kFlood}};
  // Checked for tcp listeners too: an update to http/https would bring them into use.
  for (ListenerKind kind : {ListenerKind::Http, ListenerKind::Https, ListenerKind::Tcp})
    for (const Bad& b : bad) {
      auto l = listener("127.0.0.1:8090", kind);
      l.http2.*b.field = b.value;
      const DiffError e = rejected(s, {req("x", AddListener{l})});
      CHECK_MESSAGE(e.field == "http2." + std::string(b.name), e.message());
      CHECK(e.code == DiffErrorCode::InvalidField);
      CHECK(e.reason == b.reason);
    }
  // The bounds themselves are accepted.
  auto l = listener("127.0.0.1:8090", ListenerKind::Https);
  l.tls.alpn = {"h2"};
  l.http2 = {.enabled = true,
             .max_concurrent_streams = (1u << 31) - 1,
             .initial_window_size = (1u << 31) - 1,
             .connection_window = 65535,
             .max_frame_size = (1u << 24) - 1,
             .stream_buffer_bytes = 64u << 20,
             .max_header_list_size = 1024,
             .max_resets_per_second = 1,
             .max_pings_per_second = 1,
             .max_settings_per_second = 1,
             .max_window_updates_per_second = 1,
             .max_empty_data_per_second = 1,
             .max_stream_errors_per_second = 1,
             .max_continuations_per_block = 1,
             .max_header_block_bytes = 1,
             .max_queued_control_frames = 1};
  CHECK(apply(s, {req("x", AddListener{l})}).has_value());
  // An update is checked like an add.
  auto bad_update = s.listeners.at("127.0.0.1:8080");
  bad_update.http2.max_frame_size = 0;
  CHECK(rejected(s, {req("x", UpdateListener{bad_update})}).field == "http2.max_frame_size");
}

TEST_CASE("backend_protocol http2 over TLS needs \"h2\" among the offered protocols") {
  const State s = applied(basic_setup());
  auto c = cluster("c7");
  c.backend_protocol = BackendProtocol::Http2;
  CHECK(apply(s, {req("x", AddCluster{c})}).has_value());  // h2c: no ALPN involved
  c.backend_tls.enabled = true;
  CHECK(apply(s, {req("x", AddCluster{c})}).has_value());  // empty list: the proxy offers h2
  c.backend_tls.alpn = {"http/1.1"};
  const DiffError e = rejected(s, {req("x", AddCluster{c})});
  CHECK(e.field == "backend_tls.alpn");
  CHECK(e.reason.find("h2") != std::string::npos);
  auto update = s.clusters.at("c1");
  update.backend_protocol = BackendProtocol::Http2;
  update.backend_tls = c.backend_tls;
  CHECK(rejected(s, {req("x", UpdateCluster{update})}).field == "backend_tls.alpn");
  c.backend_tls.alpn = {"http/1.1", "h2"};
  CHECK(apply(s, {req("x", AddCluster{c})}).has_value());
  c.backend_tls.alpn = {"http/1.1"};
  c.backend_tls.enabled = false;  // written but off: ALPN is never offered
  CHECK(apply(s, {req("x", AddCluster{c})}).has_value());
  c.backend_tls.enabled = true;
  c.backend_protocol = BackendProtocol::Http1;
  CHECK(apply(s, {req("x", AddCluster{c})}).has_value());
}

TEST_CASE("send_proxy_protocol needs HTTP/1.1 backends") {
  const State s = applied(basic_setup());
  auto c = cluster("c7");
  c.send_proxy_protocol = ProxyProtocolVersion::V2;
  CHECK(apply(s, {req("x", AddCluster{c})}).has_value());
  c.backend_protocol = BackendProtocol::Http2;
  const DiffError e = rejected(s, {req("x", AddCluster{c})});
  CHECK(e.field == "send_proxy_protocol");
  CHECK(e.reason.find("http1") != std::string::npos);
  auto update = s.clusters.at("c1");
  update.backend_protocol = BackendProtocol::Http2;
  update.send_proxy_protocol = ProxyProtocolVersion::V1;
  CHECK(rejected(s, {req("x", UpdateCluster{update})}).field == "send_proxy_protocol");
  update.send_proxy_protocol = ProxyProtocolVersion::None;
  CHECK(apply(s, {req("x", UpdateCluster{update})}).has_value());
}

TEST_CASE("idempotence: identical re-add is ok, different re-add, missing update/remove fail") {
  const State s = applied(basic_setup());
  auto again = apply(s, basic_setup());
  REQUIRE(again.has_value());
  CHECK(*again == s);
  auto e = rejected(s, {req("x", AddBackend{backend("c1", "b1", "127.0.0.1:9999")})});
  CHECK(e.code == DiffErrorCode::AlreadyExists);
  e = rejected(s, {req("x", UpdateBackend{backend("c1", "zz", "127.0.0.1:9999")})});
  CHECK(e.code == DiffErrorCode::NotFound);
  e = rejected(s, {req("x", RemoveBackend{"c1", "zz"})});
  CHECK(e.code == DiffErrorCode::NotFound);
  CHECK(e.message() == "request \"x\": remove backend \"zz\": does not exist");
  auto updated = apply(s, {req("x", UpdateBackend{backend("c1", "b1", "127.0.0.1:9999", 5)})});
  REQUIRE(updated.has_value());
  CHECK(updated->backends.at({"c1", "b1"}).weight == 5);
}

TEST_CASE("queries are answered with filtered payloads") {
  State s = applied(basic_setup());
  s = *apply(s, {req("a", AddCluster{cluster("c2")}),
                 req("b", AddBackend{backend("c2", "b9", "10.0.0.9:80")})});
  auto a = answer(s, req("q1", ListBackends{std::string("c2")}));
  CHECK(a.status == AnswerStatus::Ok);
  REQUIRE(a.payload.has_value());
  CHECK(a.payload->backends.size() == 1);
  CHECK(a.payload->clusters.empty());
  a = answer(s, req("q2", QueryCluster{"c1"}));
  REQUIRE(a.payload.has_value());
  CHECK(a.payload->clusters.size() == 1);
  CHECK(a.payload->backends.size() == 2);
  CHECK(a.payload->http_frontends.size() == 1);
  a = answer(s, req("q3", QueryCluster{"nope"}));
  CHECK(a.status == AnswerStatus::Error);
  CHECK(a.message == "request \"q3\": query cluster \"nope\": does not exist");
  CHECK(answer(s, req("q4", ListClusters{})).payload->clusters.size() == 2);
  CHECK(answer(s, req("q5", ListListeners{})).payload->listeners.size() == 1);
  CHECK(answer(s, req("q6", ListFrontends{})).payload->http_frontends.size() == 1);
  auto m = answer(s, req("m", RemoveCluster{"c2"}));
  CHECK(m.status == AnswerStatus::Error);
  CHECK_FALSE(m.payload.has_value());
}

TEST_CASE("apply_and_answer answers every request of a diff") {
  const State s = applied(basic_setup());
  const std::vector<Request> good = {req("a", AddCluster{cluster("c2")}), req("q", ListClusters{})};
  auto ok = apply_and_answer(s, good);
  REQUIRE(ok.state.has_value());
  CHECK(ok.state->clusters.size() == 2);
  REQUIRE(ok.answers.size() == 2);
  CHECK(ok.answers[0] == Answer{"a", AnswerStatus::Ok, "", std::nullopt});
  REQUIRE(ok.answers[1].payload.has_value());
  CHECK(ok.answers[1].payload->clusters.size() == 2);  // the query sees the new state
  const std::vector<Request> bad = {req("a", AddCluster{cluster("c2")}),
                                    req("b", RemoveCluster{"c1"}), req("c", ListClusters{})};
  auto ko = apply_and_answer(s, bad);
  CHECK_FALSE(ko.state.has_value());
  REQUIRE(ko.answers.size() == 3);
  CHECK(ko.answers[0].status == AnswerStatus::Error);
  CHECK(ko.answers[0].message == "not applied: request \"b\" failed");
  CHECK(ko.answers[1].message.starts_with(
      "request \"b\": remove cluster \"c1\": cluster \"c1\" is still used by"));
  CHECK_FALSE(ko.answers[2].payload.has_value());
}
