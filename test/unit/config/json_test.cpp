#include "kakehi/config/json.hpp"

#include "kakehi/config/diff.hpp"

#include <doctest/doctest.h>

#include "fixtures.hpp"
#include "generator.hpp"

using namespace kakehi::config;
using namespace kakehi::config::test;

TEST_CASE("state dump/load round trip is exact over generated states") {
  StateGenerator gen(42);
  for (int i = 0; i < 200; ++i) {
    State s = gen.next();
    std::string text = dump_state(s);
    auto back = load_state(text);
    REQUIRE_MESSAGE(back.has_value(), (back ? "" : back.error()));
    CHECK(*back == s);
    CHECK(dump_state(*back) == text);
  }
}

TEST_CASE("state load: defaults, unknown fields, type errors and broken references") {
  auto s = load_state(R"({"listeners":[{"address":"127.0.0.1:80"}],
    "clusters":[{"id":"c"}], "backends":[{"cluster":"c","id":"b","address":"10.0.0.1:1"}]})");
  REQUIRE(s.has_value());
  CHECK(s->listeners.at("127.0.0.1:80").kind == ListenerKind::Http);
  CHECK(s->listeners.at("127.0.0.1:80").timeouts == Timeouts{});
  CHECK(s->backends.at({"c", "b"}).weight == 100);
  auto e = load_state(R"({"clusters":[{"id":"c","lbb":"random"}]})");
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error() == "state.clusters[0].lbb: unknown field");
  e = load_state(R"({"clusters":[{"id":"c","lb":"fastest"}]})");
  CHECK(e.error() == "state.clusters[0].lb: unknown value \"fastest\"");
  e = load_state(R"({"backends":[{"cluster":"c","id":"b","address":"10.0.0.1:1","weight":-1}]})");
  CHECK(e.error() == "state.backends[0].weight: expected an unsigned integer");
  e = load_state(
      R"({"listeners":[{"address":"127.0.0.1:80","limits":{"max_header_count":5000000000}}]})");
  CHECK(e.error() == "state.listeners[0].limits.max_header_count: out of range");
  e = load_state(R"({"clusters":[{"id":"c"},{"id":"c"}]})");
  CHECK(e.error() == "state.clusters[1]: duplicate key");
  e = load_state(R"({"clusters":[{"id":"c","answers":{"0404":"x"}}]})");
  CHECK_FALSE(e.has_value());
  e = load_state(R"({"backends":[{"cluster":"c","id":"b","address":"10.0.0.1:1"}]})");
  CHECK(e.error().find("cluster \"c\" does not exist") != std::string::npos);
  CHECK_FALSE(load_state("{").has_value());
  CHECK_FALSE(load_state("[]").has_value());
  CHECK_FALSE(load_state(R"({"extra":[]})").has_value());
}

TEST_CASE("listener http2 and cluster backend_protocol: encoded, decoded, defaulted") {
  State s;
  Listener l = listener("127.0.0.1:443", ListenerKind::Https);
  l.tls.alpn = {"h2", "http/1.1"};
  l.http2 = {.enabled = false,
             .max_concurrent_streams = 7,
             .initial_window_size = 70000,
             .connection_window = 1 << 20,
             .max_frame_size = 32768,
             .stream_buffer_bytes = 20000,
             .max_header_list_size = 2048,
             .max_resets_per_second = 11,
             .max_pings_per_second = 12,
             .max_settings_per_second = 13,
             .max_window_updates_per_second = 14,
             .max_empty_data_per_second = 15,
             .max_stream_errors_per_second = 16,
             .max_continuations_per_block = 17,
             .max_header_block_bytes = 18,
             .max_queued_control_frames = 19};
  s.listeners.emplace(l.address, l);
  Cluster c = cluster("c");
  c.backend_protocol = BackendProtocol::Http2;
  c.backend_tls.enabled = true;
  c.backend_tls.alpn = {"h2"};
  s.clusters.emplace(c.id, c);
  const std::string text = dump_state(s);
  CHECK(text.find(R"("backend_protocol":"http2")") != std::string::npos);
  CHECK(text.find(R"("http2":{"enabled":false,"max_concurrent_streams":7,)") != std::string::npos);
  CHECK(text.find(R"("max_queued_control_frames":19})") != std::string::npos);
  auto back = load_state(text);
  REQUIRE_MESSAGE(back.has_value(), (back ? "" : back.error()));
  CHECK(back->listeners.at(l.address).http2 == l.http2);
  CHECK(back->clusters.at("c").backend_protocol == BackendProtocol::Http2);
  CHECK(*back == s);
  CHECK(request_from_json(request_to_json(req("u", UpdateListener{l})))->body ==
        RequestBody{UpdateListener{l}});
  CHECK(request_from_json(request_to_json(req("c", AddCluster{c})))->body ==
        RequestBody{AddCluster{c}});

  // Every field is optional: the ones given are read, the others keep the model's defaults.
  auto d = load_state(R"({"listeners":[{"address":"127.0.0.1:80","http2":{"max_frame_size":65536}}],
    "clusters":[{"id":"a"},{"id":"b","backend_protocol":"http1"}]})");
  REQUIRE_MESSAGE(d.has_value(), (d ? "" : d.error()));
  Http2Settings expected;
  expected.max_frame_size = 65536;
  CHECK(d->listeners.at("127.0.0.1:80").http2 == expected);
  CHECK(d->clusters.at("a").backend_protocol == BackendProtocol::Http1);
  CHECK(d->clusters.at("b").backend_protocol == BackendProtocol::Http1);
  d = load_state(R"({"listeners":[{"address":"127.0.0.1:80","http2":{}}]})");
  REQUIRE(d.has_value());
  CHECK(d->listeners.at("127.0.0.1:80").http2 == Http2Settings{});

  auto e = load_state(R"({"listeners":[{"address":"127.0.0.1:80","http2":{"max_streams":1}}]})");
  CHECK(e.error() == "state.listeners[0].http2.max_streams: unknown field");
  e = load_state(R"({"listeners":[{"address":"127.0.0.1:80","http2":{"enabled":1}}]})");
  CHECK(e.error() == "state.listeners[0].http2.enabled: expected true or false");
  e = load_state(R"({"listeners":[{"address":"127.0.0.1:80","http2":[]}]})");
  CHECK(e.error() == "state.listeners[0].http2: expected an object");
  e = load_state(
      R"({"listeners":[{"address":"127.0.0.1:80","http2":{"max_frame_size":4294967296}}]})");
  CHECK(e.error() == "state.listeners[0].http2.max_frame_size: out of range");
  e = load_state(R"({"clusters":[{"id":"c","backend_protocol":"h2"}]})");
  CHECK(e.error() == "state.clusters[0].backend_protocol: unknown value \"h2\"");
  // The model's rules apply on load.
  e = load_state(R"({"listeners":[{"address":"127.0.0.1:80","http2":{"max_frame_size":100}}]})");
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error().find("100 is not in 16384..16777215") != std::string::npos);
  e = load_state(R"({"clusters":[{"id":"c","backend_protocol":"http2",
    "backend_tls":{"enabled":true,"alpn":["http/1.1"]}}]})");
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error().find("needs \"h2\"") != std::string::npos);
}

TEST_CASE("every request kind round trips through JSON") {
  StateGenerator gen(7);
  State s = *kakehi::config::apply(State{}, basic_setup());
  auto l = listener("[::1]:443", ListenerKind::Https);
  auto f = frontend("f9", "[::1]:443", "c1", "~^x$", {PathKind::Regex, "^/a$"});
  f.method = "POST";
  f.tags = {{"k", "v"}};
  auto b = backend("c1", "b9", "10.0.0.1:80", 3);
  b.sticky_id = "st";
  std::vector<Request> all = {
      req("1", AddListener{l}),
      req("2", UpdateListener{l}),
      req("3", RemoveListener{"[::1]:443"}),
      req("4", AddCluster{cluster("c", LbAlgorithm::PowerOfTwo)}),
      req("5", UpdateCluster{cluster("c")}),
      req("6", RemoveCluster{"c"}),
      req("7", AddHttpFrontend{f}),
      req("8", UpdateHttpFrontend{f}),
      req("9", RemoveHttpFrontend{"f9"}),
      req("10", AddTcpFrontend{TcpFrontend{"1.1.1.1:1", "c", {}}}),
      req("11", UpdateTcpFrontend{TcpFrontend{"1.1.1.1:1", "d", {{"a", "b"}}}}),
      req("12", RemoveTcpFrontend{"1.1.1.1:1"}),
      req("13", AddBackend{b}),
      req("14", UpdateBackend{b}),
      req("15", RemoveBackend{"c1", "b9"}),
      req("16", AddCertificate{Certificate{"k", "[::1]:443", "C", "K", {"a.com"}}}),
      req("17", UpdateCertificate{Certificate{"k", "[::1]:443", "C2", "K", {}}}),
      req("18", RemoveCertificate{"k"}),
      req("19", ListListeners{}),
      req("20", ListClusters{}),
      req("21", ListFrontends{}),
      req("22", ListBackends{}),
      req("23", ListBackends{std::string("c1")}),
      req("24", QueryCluster{"c1"})};
  for (const auto& r : all) {
    std::string text = request_to_json(r);
    auto back = request_from_json(text);
    REQUIRE_MESSAGE(back.has_value(), text << " -> " << (back ? "" : back.error()));
    CHECK_MESSAGE(*back == r, text);
  }
  CHECK(request_to_json(all[14]) ==
        R"({"id":"15","type":"remove_backend","data":{"cluster":"c1","id":"b9"}})");
  for (int i = 0; i < 50; ++i)
    for (const auto& r : diff(State{}, gen.next()))
      CHECK(*request_from_json(request_to_json(r)) == r);
}

TEST_CASE("malformed requests are answered with the path of the problem") {
  auto r = request_from_json(R"({"id":"r1","type":"add_backend","data":{"cluster":"c","id":"b"}})");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == "request \"r1\".data.address: missing");
  r = request_from_json(R"({"id":"r2","type":"explode"})");
  CHECK(r.error() == "request \"r2\".type: unknown request type \"explode\"");
  r = request_from_json(R"({"type":"list_clusters"})");
  CHECK(r.error() == "request.id: missing");
  r = request_from_json(R"({"id":"r3","type":"remove_cluster","data":{"id":"c","x":1}})");
  CHECK_FALSE(r.has_value());
  r = request_from_json(R"({"id":"r4","type":"list_clusters","data":{},"more":1})");
  CHECK(r.error() == "request \"r4\".more: unknown field");
  CHECK(request_from_json(R"({"id":"r5","type":"list_clusters"})")->body ==
        RequestBody{ListClusters{}});
  CHECK_FALSE(request_from_json("not json").has_value());
}

TEST_CASE("answers round trip, with and without payload") {
  State s = *kakehi::config::apply(State{}, basic_setup());
  Answer ok = answer(s, req("q", QueryCluster{"c1"}));
  auto back = answer_from_json(answer_to_json(ok));
  REQUIRE(back.has_value());
  CHECK(*back == ok);
  Answer err = answer(s, req("e", RemoveCluster{"c1"}));
  CHECK(answer_to_json(err).find(R"("status":"error")") != std::string::npos);
  CHECK(*answer_from_json(answer_to_json(err)) == err);
  Answer proc{"p", AnswerStatus::Processing, "", std::nullopt};
  CHECK(answer_to_json(proc) == R"({"id":"p","status":"processing","message":"","payload":null})");
  CHECK(*answer_from_json(answer_to_json(proc)) == proc);
  CHECK_FALSE(answer_from_json(R"({"id":"x","status":"maybe"})").has_value());
}
