// A client engine and a server engine talking through one buffer (STYLE: codec pairs):
// many concurrent streams with bodies, flow-control stalls and resumption, RFC 9218
// priorities visible in the DATA order, and a graceful GOAWAY drain with streams in flight.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "kakehi/http2/connection.hpp"
#include "support/h2_harness.hpp"

using namespace kakehi::http2;
using namespace kakehi::test;

namespace {

/// A server application: answers each complete request with a body of `response_size[path]`
/// bytes (default: echo the request body length as text).
class ServerApp : public Recorder {
 public:
  std::map<uint32_t, std::string> bodies;
  std::map<uint32_t, std::string> paths;
  std::map<std::string, size_t> response_size;
  bool respond = true;

  void on_headers(uint32_t id, HeadKind k, const FieldList& f, bool end) override {
    Recorder::on_headers(id, k, f, end);
    if (k == HeadKind::Request) paths[id] = std::string(*f.get(":path"));
    if (end) answer(id);
  }
  void on_data(uint32_t id, std::span<const std::byte> d, bool end) override {
    Recorder::on_data(id, d, end);
    bodies[id] += as_text(d);
    if (end) answer(id);
  }
  void answer(uint32_t id) {
    if (!respond) return;
    auto it = response_size.find(paths[id]);
    std::string body = it != response_size.end() ? std::string(it->second, char('a' + id % 26))
                                                 : std::to_string(bodies[id].size());
    REQUIRE(conn->submit_response(id, {{":status", "200"}}, false));
    REQUIRE(conn->submit_data(id, ascii(body), true));
  }
};

class ClientApp : public Recorder {
 public:
  std::map<uint32_t, std::string> bodies;
  std::vector<uint32_t> data_order;  // stream of each DATA frame received, in order
  void on_data(uint32_t id, std::span<const std::byte> d, bool end) override {
    Recorder::on_data(id, d, end);
    bodies[id] += as_text(d);
    if (!d.empty()) data_order.push_back(id);
  }
};

struct Pair {
  ClientApp capp;
  ServerApp sapp;
  Connection client;
  Connection server;
  int64_t now = 0;

  explicit Pair(ConnectionConfig ccfg = client_config(), ConnectionConfig scfg = server_config())
      : client(ccfg, capp), server(scfg, sapp) {
    capp.conn = &client;
    sapp.conn = &server;
    client.start(Millis{0});
    server.start(Millis{0});
    pump();
  }
  static ConnectionConfig client_config() {
    ConnectionConfig c;
    c.role = Role::Client;
    return c;
  }
  static ConnectionConfig server_config() {
    ConnectionConfig c;
    c.role = Role::Server;
    return c;
  }
  /// Moves at most `limit` bytes one way; returns how many moved.
  static size_t move(Connection& from, Connection& to, int64_t now, size_t limit = SIZE_MAX) {
    auto out = from.next_output();
    size_t n = std::min(out.size(), limit);
    if (n == 0) return 0;
    REQUIRE(to.feed(out.first(n), Millis{now}));
    from.consume_output(n);
    return n;
  }
  /// Exchanges bytes until both sides are quiet.
  void pump() {
    for (int i = 0; i < 100000; ++i)
      if (move(client, server, now) + move(server, client, now) == 0) return;
    FAIL("pump did not settle");
  }
};

}  // namespace

TEST_CASE("pair: 60 concurrent streams with request and response bodies") {
  Pair p;
  std::map<uint32_t, size_t> sizes;
  for (int i = 0; i < 60; ++i) {
    auto id = p.client.submit_request(post_request("/s" + std::to_string(i)), false);
    REQUIRE(id);
    size_t n = 1000 + static_cast<size_t>(i) * 3001;  // up to ~180 KB: several windows
    sizes[*id] = n;
    std::string body(n, char('A' + i % 26));
    REQUIRE(p.client.submit_data(*id, ascii(body), true));
  }
  p.pump();
  CHECK(p.sapp.bodies.size() == 60);
  for (auto& [id, n] : sizes) {
    CAPTURE(id);
    CHECK(p.sapp.bodies[id].size() == n);
    CHECK(p.capp.bodies[id] == std::to_string(n));
  }
  CHECK(p.client.active_streams() == 0);
  CHECK(p.server.active_streams() == 0);
  CHECK(p.capp.of(Event::Reset).empty());
  CHECK(p.sapp.of(Event::Reset).empty());
  CHECK(p.capp.of(Event::Closed).size() == 60);
}

TEST_CASE("pair: flow-control stall and resumption (manual credit on the server)") {
  auto scfg = Pair::server_config();
  scfg.window.auto_update = false;
  scfg.window.connection_window = 65535;
  Pair p(Pair::client_config(), scfg);
  auto id = p.client.submit_request(post_request(), false);
  REQUIRE(id);
  REQUIRE(p.client.submit_data(*id, Bytes(200000, std::byte{'x'}), true));
  p.pump();
  // The server application consumed nothing: the client stalls at one window.
  CHECK(p.sapp.bodies[*id].size() == 65535);
  CHECK(p.client.connection_send_window() == 0);
  CHECK(p.client.stream_for_test(*id)->pending() == 200000 - 65535);
  // Credit in steps: each resumes the flow by that much.
  p.server.consume(*id, 65535);
  p.pump();
  CHECK(p.sapp.bodies[*id].size() == 2 * 65535);
  p.server.consume(*id, 2 * 65535);
  p.pump();
  CHECK(p.sapp.bodies[*id].size() == 200000);
  CHECK(p.capp.bodies[*id] == "200000");
}

TEST_CASE("pair: RFC 9218 urgency and incremental order observed in DATA") {
  Pair p;
  p.sapp.respond = false;
  const char* prio[] = {"u=5", "u=1", "u=3", "u=3"};
  std::vector<uint32_t> ids;
  for (const char* pr : prio) {
    auto req = get_request();
    req.add("priority", pr);
    auto id = p.client.submit_request(req, true);
    REQUIRE(id);
    ids.push_back(*id);
  }
  p.pump();
  for (uint32_t id : ids) {
    REQUIRE(p.server.submit_response(id, {{":status", "200"}}, false));
    REQUIRE(p.server.submit_data(id, Bytes(40000, std::byte{'d'}), true));
  }
  p.pump();
  // u=1 (stream 3) completes first, then u=3 in stream order (5, 7), then u=5 (stream 1).
  // The first 65535 bytes use the initial connection window; the order holds across stalls.
  std::vector<uint32_t> seen;
  for (uint32_t id : p.capp.data_order)
    if (seen.empty() || seen.back() != id) seen.push_back(id);
  CHECK(seen == std::vector<uint32_t>{3, 5, 7, 1});
}

TEST_CASE("pair: incremental streams of one urgency interleave") {
  auto scfg = Pair::server_config();
  scfg.scheduler_quantum = 16384;
  Pair p(Pair::client_config(), scfg);
  p.sapp.respond = false;
  std::vector<uint32_t> ids;
  for (int i = 0; i < 2; ++i) {
    auto req = get_request();
    req.add("priority", "u=2, i");
    ids.push_back(*p.client.submit_request(req, true));
  }
  p.pump();
  for (uint32_t id : ids) {
    REQUIRE(p.server.submit_response(id, {{":status", "200"}}, false));
    REQUIRE(p.server.submit_data(id, Bytes(3 * 16384, std::byte{'i'}), true));
  }
  p.pump();
  CHECK(p.capp.data_order == std::vector<uint32_t>{1, 3, 1, 3, 1, 3});
}

TEST_CASE("pair: PRIORITY_UPDATE reorders a waiting response") {
  Pair p;
  p.sapp.respond = false;
  auto a = *p.client.submit_request(get_request(), true);
  auto b = *p.client.submit_request(get_request(), true);
  p.client.set_priority(b, {0, false});
  p.pump();
  for (uint32_t id : {a, b}) {
    REQUIRE(p.server.submit_response(id, {{":status", "200"}}, false));
    REQUIRE(p.server.submit_data(id, Bytes(20000, std::byte{'u'}), true));
  }
  p.pump();
  REQUIRE(!p.capp.data_order.empty());
  CHECK(p.capp.data_order.front() == b);
}

TEST_CASE("pair: graceful GOAWAY drain with streams in flight (PING round trip)") {
  Pair p;
  p.sapp.respond = false;
  auto s1 = *p.client.submit_request(post_request(), false);
  auto s3 = *p.client.submit_request(post_request(), false);
  p.pump();
  p.server.shutdown(Millis{0});
  // First GOAWAY (2^31-1) and the PING reach the client; the client still sends a request
  // that crosses them: its HEADERS are on the wire before it reads the GOAWAY.
  auto s5 = *p.client.submit_request(post_request(), true);
  Pair::move(p.client, p.server, 0);  // stream 5 arrives: still below 2^31-1, accepted
  CHECK(p.server.stream_state(s5));
  Pair::move(p.server, p.client, 0);  // GOAWAY(2^31-1) + PING
  auto g = p.capp.of(Event::Goaway);
  REQUIRE(g.size() == 1);
  CHECK(g[0].stream == kMaxStreamId);
  CHECK(p.client.submit_request(get_request(), true).error() == SubmitError::GoingAway);
  Pair::move(p.client, p.server, 0);  // PING ACK → final GOAWAY with last id 5
  Pair::move(p.server, p.client, 0);
  g = p.capp.of(Event::Goaway);
  REQUIRE(g.size() == 2);
  CHECK(g[1].stream == s5);
  CHECK(p.capp.of(Event::Reset).empty());  // nothing was refused
  CHECK(!p.server.is_closed());            // streams still in flight
  // In-flight streams finish.
  for (uint32_t id : {s1, s3}) REQUIRE(p.client.submit_data(id, ascii("end"), true));
  p.pump();
  for (uint32_t id : {s1, s3, s5})
    REQUIRE(p.server.submit_response(id, {{":status", "200"}}, true));
  p.pump();
  CHECK(p.capp.of(Event::Headers).size() == 3);
  CHECK(p.server.is_closed());
  CHECK(p.client.is_closed());
}

TEST_CASE("pair: drain deadline; new streams above the final last id are refused") {
  auto scfg = Pair::server_config();
  scfg.drain_timeout = Millis{50};
  Pair p(Pair::client_config(), scfg);
  p.sapp.respond = false;
  auto s1 = *p.client.submit_request(post_request(), false);
  p.pump();
  p.server.shutdown(Millis{0});
  CHECK(p.server.next_deadline() == Millis{50});
  p.server.tick(Millis{50});  // no PING ACK in time: the final GOAWAY names stream 1
  auto s3 = *p.client.submit_request(post_request(), true);  // crosses the GOAWAYs
  Pair::move(p.client, p.server, 50);
  CHECK(!p.server.stream_state(s3));  // §6.8: ignored, not processed
  CHECK(p.sapp.of(Event::Headers).size() == 1);
  p.pump();
  auto r = p.capp.of(Event::Reset);
  REQUIRE(r.size() == 1);
  CHECK(r[0].stream == s3);
  CHECK(r[0].retryable);
  REQUIRE(p.client.submit_data(s1, ascii("x"), true));
  p.pump();
  REQUIRE(p.server.submit_response(s1, {{":status", "200"}}, true));
  p.pump();
  CHECK(p.server.is_closed());
}

TEST_CASE("pair: client shutdown sends one GOAWAY; terminate ends every stream") {
  Pair p;
  p.sapp.respond = false;
  auto s1 = *p.client.submit_request(post_request(), false);
  p.pump();
  p.client.shutdown(Millis{0});
  p.pump();
  auto g = p.sapp.of(Event::Goaway);
  REQUIRE(g.size() == 1);
  CHECK(g[0].stream == 0);  // no server-initiated stream was processed
  CHECK(p.client.submit_request(get_request(), true).error() == SubmitError::GoingAway);
  CHECK(p.client.stream_state(s1));  // in flight, still usable
  p.server.terminate(H2Error::InternalError, "bye");
  p.pump();
  auto r = p.capp.of(Event::Reset);
  REQUIRE(r.size() == 1);
  CHECK(r[0].stream == s1);
  // Stream 1 is at or below the GOAWAY's last id (it may have been processed): an error
  // GOAWAY fails it without the retryable mark.
  CHECK(r[0].origin == ResetOrigin::Remote);
  CHECK(r[0].code == H2Error::InternalError);
  CHECK(!r[0].retryable);
  CHECK(p.server.is_closed());
  CHECK(p.client.is_closed());
}
