// ClientConnection (TLS towards backends): against real `openssl s_server` peers on 127.0.0.1
// (certificates made by the openssl CLI at test time: a CA, a leaf for backend.test, another
// CA, a self-signed certificate) and engine to engine against the server Connection over memory.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <stdexcept>
#include <thread>

#include "kakehi/tls/client.hpp"
#include "kakehi/tls/client_hello.hpp"
#include "kakehi/tls/connection.hpp"
#include "tls_support.hpp"

using namespace kakehi::tls;
using kakehi::test::Child;
using kakehi::test::slurp;
using kakehi::test::TempDir;

namespace {

void must(const std::vector<std::string>& argv, const TempDir& d) {
  const std::string log = d.path("openssl.log");
  if (kakehi::test::run(argv, log) != 0)
    throw std::runtime_error("openssl failed: " + argv[1] + "\n" + slurp(log));
}

/// ca / other-ca (self-signed P-256 CAs), backend (P-256 leaf for backend.test signed by ca),
/// expired (backend.test, notAfter yesterday), ip (leaf signed by ca, SAN IP:127.0.0.1), self
/// (self-signed, SAN self.test).
struct BackendCerts {
  TempDir dir;
  BackendCerts() {
    const TempDir& d = dir;
    for (const char* ca : {"ca", "other-ca"})
      must({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "30", "-subj", std::string("/CN=kakehi backend ") + ca, "-keyout",
            d.path(std::string(ca) + ".key"), "-out", d.path(std::string(ca) + ".pem")},
           d);
    must({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-nodes", "-subj", "/CN=backend.test", "-keyout", d.path("backend.key"), "-out",
          d.path("backend.csr")},
         d);
    kakehi::test::spit(d.path("backend.ext"), "subjectAltName=DNS:backend.test\n");
    must({"openssl", "x509", "-req", "-in", d.path("backend.csr"), "-CA", d.path("ca.pem"),
          "-CAkey", d.path("ca.key"), "-CAcreateserial", "-days", "30", "-extfile",
          d.path("backend.ext"), "-out", d.path("backend.pem")},
         d);
    // expired: the backend.test key and names, notAfter yesterday
    must({"openssl", "x509", "-req", "-in", d.path("backend.csr"), "-CA", d.path("ca.pem"),
          "-CAkey", d.path("ca.key"), "-CAcreateserial", "-days", "-1", "-extfile",
          d.path("backend.ext"), "-out", d.path("expired.pem")},
         d);
    // ip: a leaf signed by ca for the address 127.0.0.1 only
    must(
        {"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-subj", "/CN=ip backend", "-keyout", d.path("ip.key"), "-out", d.path("ip.csr")},
        d);
    kakehi::test::spit(d.path("ip.ext"), "subjectAltName=IP:127.0.0.1\n");
    must({"openssl", "x509", "-req", "-in", d.path("ip.csr"), "-CA", d.path("ca.pem"), "-CAkey",
          d.path("ca.key"), "-CAcreateserial", "-days", "30", "-extfile", d.path("ip.ext"), "-out",
          d.path("ip.pem")},
         d);
    must(
        {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "30", "-subj", "/CN=self.test", "-addext",
         "subjectAltName=DNS:self.test", "-keyout", d.path("self.key"), "-out", d.path("self.pem")},
        d);
  }
  std::string file(const std::string& n) const { return dir.path(n); }
  std::string pem(const std::string& n) const { return slurp(dir.path(n + ".pem")); }
};

const BackendCerts& bcerts() {
  static const BackendCerts c;
  return c;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

/// Connects to 127.0.0.1:port, retrying while the server starts (bounded: 5 s).
int connect_retry(int port) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < end) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
    ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

bool flush(int fd, ClientConnection& c) {
  auto out = c.output();
  while (!out.empty()) {
    const ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    out = out.subspan(static_cast<std::size_t>(n));
  }
  c.consume_output(c.output().size());
  return true;
}

struct Talk {
  bool connected = false;
  std::string error;  // our TlsError reason
  HandshakeInfo info;
  std::string reply;       // plaintext received before close
  std::string server_log;  // s_server's output
};

/// One connection from a ClientConnection to a one-shot `openssl s_server -rev` (reverses each
/// line) started with `server_args`; sends `line` after the handshake, waits for the reversed
/// line, then close_notify. Every wait is bounded.
Talk talk(const std::shared_ptr<const ClientContext>& ctx, std::vector<std::string> server_args,
          const std::string& line = "hello backend\n", int connections = 1,
          std::vector<Talk>* earlier = nullptr) {
  TempDir tmp;
  const int port = free_port();
  std::vector<std::string> argv = {"openssl",  "s_server",
                                   "-accept",  std::to_string(port),
                                   "-naccept", std::to_string(connections),
                                   "-rev",     "-tlsextdebug"};
  argv.insert(argv.end(), server_args.begin(), server_args.end());
  Talk t;
  {
    Child server(argv, tmp.path("s_server.log"));
    for (int round = 0; round < connections; ++round) {
      t = Talk{};
      const int fd = connect_retry(port);
      REQUIRE(fd >= 0);
      ClientConnection c(ctx);
      REQUIRE(c.start());
      CHECK(c.state() == ConnState::Handshaking);
      bool ok = flush(fd, c);
      const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      std::byte buf[16384];
      for (int turns = 0; ok && turns < 10000 && std::chrono::steady_clock::now() < end; ++turns) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) != 1) continue;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        auto r = c.feed(std::span<const std::byte>(buf, static_cast<std::size_t>(n)));
        if (!r) {
          t.error = r.error().reason;
          CHECK(c.state() == ConnState::Failed);
          CHECK(c.error().reason == t.error);
          (void)flush(fd, c);  // the alert
          break;
        }
        if (r->handshake_done) {
          t.connected = true;
          t.info = c.handshake();
          REQUIRE(c.write(std::as_bytes(std::span(line.data(), line.size()))));
        }
        const auto pt = c.plaintext();
        t.reply.append(reinterpret_cast<const char*>(pt.data()), pt.size());
        c.consume_plaintext(pt.size());
        if (!t.reply.empty() && t.reply.back() == '\n') {
          c.shutdown();
          CHECK(c.state() == ConnState::Closed);
          ok = false;
        }
        if (r->peer_closed) break;
        if (!flush(fd, c)) break;
      }
      (void)flush(fd, c);
      ::shutdown(fd, SHUT_WR);
      for (int i = 0; i < 50; ++i) {  // let the server finish (bounded)
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 20) == 1 && ::recv(fd, buf, sizeof buf, 0) <= 0) break;
      }
      ::close(fd);
      if (earlier != nullptr && round + 1 < connections) earlier->push_back(t);
    }
    server.wait(5000);
  }
  t.server_log = slurp(tmp.path("s_server.log"));
  return t;
}

std::shared_ptr<ClientContext> client_ctx(ClientOptions o) {
  auto r = ClientContext::create(std::move(o));
  if (!r) FAIL("ClientContext::create: ", r.error());
  return *r;
}

std::vector<std::string> backend_args() {
  return {"-cert", bcerts().file("backend.pem"), "-key", bcerts().file("backend.key")};
}

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("client: TLS 1.3 to openssl s_server, verified with the CA, SNI sent, echo") {
  ClientOptions o;
  o.ca_pem = bcerts().pem("ca");
  o.server_name = "backend.test";
  const auto t = talk(client_ctx(o), backend_args() + std::vector<std::string>{"-tls1_3"});
  INFO(t.error, "\n", t.server_log);
  REQUIRE(t.connected);
  CHECK(t.info.version == "TLSv1.3");
  CHECK(t.info.server_name == "backend.test");
  CHECK(t.info.alpn.empty());
  CHECK_FALSE(t.info.resumed);
  CHECK(t.info.certificate == nullptr);
  CHECK(t.reply == "dnekcab olleh\n");
  CHECK(t.server_log.find("TLS client extension \"server name\"") != std::string::npos);
  CHECK(t.server_log.find("Protocol version: TLSv1.3") != std::string::npos);
}

TEST_CASE("client: TLS 1.2 to openssl s_server, verified, echo") {
  ClientOptions o;
  o.ca_pem = bcerts().pem("ca");
  o.server_name = "backend.test";
  const auto t = talk(client_ctx(o), backend_args() + std::vector<std::string>{"-tls1_2"});
  INFO(t.error, "\n", t.server_log);
  REQUIRE(t.connected);
  CHECK(t.info.version == "TLSv1.2");
  CHECK(t.info.cipher.find("GCM") != std::string_view::npos);
  CHECK(t.reply == "dnekcab olleh\n");
}

TEST_CASE("client: max_version TLS 1.2 against a TLS 1.3-only server fails cleanly") {
  ClientOptions o;
  o.ca_pem = bcerts().pem("ca");
  o.server_name = "backend.test";
  o.max_version = TlsVersion::Tls12;
  const auto t = talk(client_ctx(o), backend_args() + std::vector<std::string>{"-tls1_3"});
  CHECK_FALSE(t.connected);
  CHECK_FALSE(t.error.empty());
}

TEST_CASE("client: a chain from another CA fails verification with a clear reason") {
  ClientOptions o;
  o.ca_pem = bcerts().pem("other-ca");
  o.server_name = "backend.test";
  for (const char* v : {"-tls1_3", "-tls1_2"}) {
    const auto t = talk(client_ctx(o), backend_args() + std::vector<std::string>{v});
    INFO(std::string(v), " ", t.error);
    CHECK_FALSE(t.connected);
    CHECK(t.error.rfind("certificate verify failed: ", 0) == 0);
    CHECK(t.reply.empty());
  }
}

TEST_CASE("client: the system bundle does not trust the test CA") {
  ClientOptions o;  // verify, ca_pem empty: /etc/ssl/certs/ca-certificates.crt
  o.server_name = "backend.test";
  const auto t = talk(client_ctx(o), backend_args());
  CHECK_FALSE(t.connected);
  CHECK(t.error.rfind("certificate verify failed: ", 0) == 0);
}

TEST_CASE("client: server_name other.test against a backend.test certificate is a name mismatch") {
  ClientOptions o;
  o.ca_pem = bcerts().pem("ca");
  o.server_name = "other.test";
  for (const char* v : {"-tls1_3", "-tls1_2"}) {
    const auto t = talk(client_ctx(o), backend_args() + std::vector<std::string>{v});
    INFO(std::string(v), " ", t.error);
    CHECK_FALSE(t.connected);
    CHECK(t.error.rfind("name mismatch: ", 0) == 0);
    CHECK(t.error.find("other.test") != std::string::npos);
  }
}

TEST_CASE("client: verify=false accepts a self-signed certificate; verify=true refuses it") {
  const std::vector<std::string> self = {"-cert", bcerts().file("self.pem"), "-key",
                                         bcerts().file("self.key")};
  ClientOptions o;
  o.verify = false;
  o.server_name = "backend.test";  // not checked without verification
  auto t = talk(client_ctx(o), self);
  INFO(t.error);
  CHECK(t.connected);
  CHECK(t.reply == "dnekcab olleh\n");

  ClientOptions strict;
  strict.ca_pem = bcerts().pem("ca");
  strict.server_name = "self.test";
  t = talk(client_ctx(strict), self);
  CHECK_FALSE(t.connected);
  CHECK(t.error.rfind("certificate verify failed: ", 0) == 0);
}

TEST_CASE("client: ALPN offered in order, the server selects http/1.1") {
  ClientOptions o;
  o.ca_pem = bcerts().pem("ca");
  o.server_name = "backend.test";
  o.alpn = {"h2", "http/1.1"};
  for (const char* v : {"-tls1_3", "-tls1_2"}) {
    const auto t =
        talk(client_ctx(o), backend_args() + std::vector<std::string>{v, "-alpn", "http/1.1"});
    INFO(std::string(v), " ", t.error);
    REQUIRE(t.connected);
    CHECK(t.info.alpn == "http/1.1");
    CHECK(t.server_log.find("ALPN protocols advertised by the client: h2, http/1.1") !=
          std::string::npos);
  }
  // A server without ALPN: none selected, the connection goes on.
  const auto t = talk(client_ctx(o), backend_args());
  INFO(t.error);
  CHECK(t.connected);
  CHECK(t.info.alpn.empty());
  CHECK(t.reply == "dnekcab olleh\n");
}

TEST_CASE("client: no SNI when server_name is empty (chain still verified)") {
  ClientOptions o;
  o.ca_pem = bcerts().pem("ca");
  const auto t = talk(client_ctx(o), backend_args());
  INFO(t.error);
  REQUIRE(t.connected);
  CHECK(t.info.server_name.empty());
  CHECK(t.server_log.find("TLS client extension \"server name\"") == std::string::npos);
  CHECK(t.reply == "dnekcab olleh\n");
}

TEST_CASE("client: the ClientHello carries the SNI and the ALPN list as configured") {
  std::vector<std::byte> scratch;
  {
    ClientOptions o;
    o.verify = false;
    o.server_name = "backend.test";
    o.alpn = {"h2", "http/1.1"};
    ClientConnection c(client_ctx(o));
    CHECK(c.state() == ConnState::ReadingHello);
    CHECK_FALSE(c.feed({}));  // before start()
    REQUIRE(c.start());
    REQUIRE(c.has_output());
    const auto hello = peek_client_hello(c.output(), scratch);
    REQUIRE(hello.status == HelloStatus::Ok);
    CHECK(hello.server_name == "backend.test");
    const std::string_view alpn(reinterpret_cast<const char*>(hello.alpn.data()),
                                hello.alpn.size());
    CHECK(alpn == std::string_view("\x02h2\x08http/1.1", 12));
    CHECK_FALSE(c.start());  // once
    CHECK_FALSE(c.write(std::as_bytes(std::span("x", 1))));
  }
  ClientOptions o;
  o.verify = false;
  ClientConnection c(client_ctx(o));
  REQUIRE(c.start());
  const auto hello = peek_client_hello(c.output(), scratch);
  REQUIRE(hello.status == HelloStatus::Ok);
  CHECK(hello.server_name.empty());
  CHECK(hello.alpn.empty());
}

TEST_CASE("client: ClientContext::create refuses bad input with a reason") {
  ClientOptions o;
  o.ca_pem = "not a certificate";
  auto r = ClientContext::create(o);
  REQUIRE_FALSE(r);
  CHECK(r.error().find("ca_pem") != std::string::npos);

  o.ca_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  r = ClientContext::create(o);
  REQUIRE_FALSE(r);
  CHECK(r.error().rfind("bad CA certificates: ", 0) == 0);

  o = {};
  o.verify = false;
  o.cipher_list = "NOPE-NOT-A-SUITE";
  r = ClientContext::create(o);
  REQUIRE_FALSE(r);
  CHECK(r.error().find("cipher") != std::string::npos);

  o = {};
  o.verify = false;
  o.min_version = TlsVersion::Tls13;
  o.max_version = TlsVersion::Tls12;
  CHECK_FALSE(ClientContext::create(o));

  o = {};
  o.verify = false;
  o.alpn = {"h2", ""};
  CHECK_FALSE(ClientContext::create(o));
  o.alpn = {"a,b"};
  CHECK_FALSE(ClientContext::create(o));

  o = {};  // the system bundle
  const auto t0 = std::chrono::steady_clock::now();
  r = ClientContext::create(o);
  MESSAGE("ClientContext::create with the system CA bundle: ",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e3,
          " ms");
  REQUIRE(r);
  CHECK((*r)->options().verify);
}

// ---- engine to engine: ClientConnection against the server Connection, over memory ----

namespace {

std::shared_ptr<Context> chain_server_context(ContextOptions so = {}) {
  auto ctx = *Context::create(std::move(so));
  // A minute ahead: certs() was made this second, and time() (a coarse clock) may still read
  // the second before the one openssl stamped as notBefore.
  auto cert = ctx->load_certificate(kakehi::test::certs().source("leaf-chain", "leaf.key"),
                                    kakehi::test::now_unix() + 60);
  if (!cert) FAIL("load_certificate: ", cert.error().reason);
  ctx->set_resolver(ctx->resolver()->with("leaf", *cert));
  return ctx;
}

std::shared_ptr<ClientContext> chain_client_context(ClientOptions o = {}) {
  o.ca_pem = slurp(kakehi::test::certs().file("ca.pem"));
  o.server_name = "chain.test";
  return client_ctx(std::move(o));
}

/// Moves output() both ways until nothing moves (bounded); false on an error.
bool pump(ClientConnection& c, Connection& s, std::string* error = nullptr) {
  for (int i = 0; i < 100 && (c.has_output() || s.has_output()); ++i) {
    if (c.has_output()) {
      auto r = s.feed(c.output());
      c.consume_output(c.output().size());
      if (!r) {
        if (error) *error = "server: " + r.error().reason;
        return false;
      }
    }
    if (s.has_output()) {
      auto r = c.feed(s.output());
      s.consume_output(s.output().size());
      if (!r) {
        if (error) *error = "client: " + r.error().reason;
        return false;
      }
    }
  }
  return true;
}

}  // namespace

TEST_CASE("client <-> server engines: verified handshake, 1 MiB each way, close_notify") {
  auto sctx = chain_server_context();
  ClientOptions co;
  co.alpn = {"http/1.1", "h2"};
  auto cctx = chain_client_context(co);
  ClientConnection c(cctx);
  Connection s(sctx);
  REQUIRE(c.start());
  std::string err;
  REQUIRE_MESSAGE(pump(c, s, &err), err);
  REQUIRE(c.state() == ConnState::Open);
  REQUIRE(s.state() == ConnState::Open);
  CHECK(c.handshake().version == "TLSv1.3");
  CHECK(c.handshake().alpn == "h2");  // the server's preference wins
  CHECK(s.handshake().alpn == "h2");
  CHECK(s.handshake().server_name == "chain.test");

  std::vector<std::byte> up(1 << 20), down(1 << 20);
  std::mt19937 rng(11);
  for (auto& b : up) b = static_cast<std::byte>(rng());
  for (auto& b : down) b = static_cast<std::byte>(rng());

  // client -> server, in odd-sized writes and 1500-byte wire slices
  std::vector<std::byte> got;
  for (std::size_t off = 0; off < up.size(); off += 77777) {
    REQUIRE(c.write(std::span(up).subspan(off, std::min<std::size_t>(77777, up.size() - off))));
    auto wire = c.output();
    for (std::size_t w = 0; w < wire.size(); w += 1500) {
      REQUIRE(s.feed(wire.subspan(w, std::min<std::size_t>(1500, wire.size() - w))));
      got.insert(got.end(), s.plaintext().begin(), s.plaintext().end());
      s.consume_plaintext(s.plaintext().size());
    }
    c.consume_output(wire.size());
  }
  CHECK(got == up);

  // server -> client, one write, fed in 999-byte slices
  REQUIRE(s.write(down));
  std::vector<std::byte> back;
  auto wire = s.output();
  for (std::size_t w = 0; w < wire.size(); w += 999) {
    auto p = c.feed(wire.subspan(w, std::min<std::size_t>(999, wire.size() - w)));
    REQUIRE(p);
    back.insert(back.end(), c.plaintext().begin(), c.plaintext().end());
    c.consume_plaintext(c.plaintext().size());
  }
  s.consume_output(wire.size());
  CHECK(back == down);

  // close_notify from the client, then the server's
  c.shutdown();
  CHECK(c.state() == ConnState::Closed);
  REQUIRE(c.has_output());
  auto p = s.feed(c.output());
  c.consume_output(c.output().size());
  REQUIRE(p);
  CHECK(p->peer_closed);
  s.shutdown();
  REQUIRE(s.has_output());
  CHECK_FALSE(c.write(up));
}

TEST_CASE("client <-> server engines: close_notify from the server reaches the client") {
  auto sctx = chain_server_context();
  ClientConnection c(chain_client_context());
  Connection s(sctx);
  REQUIRE(c.start());
  REQUIRE(pump(c, s));
  REQUIRE(s.write(std::as_bytes(std::span("bye", 3))));
  s.shutdown();
  auto p = c.feed(s.output());
  s.consume_output(s.output().size());
  REQUIRE(p);
  CHECK(p->peer_closed);
  CHECK(c.state() == ConnState::PeerClosed);
  CHECK(std::string_view(reinterpret_cast<const char*>(c.plaintext().data()),
                         c.plaintext().size()) == "bye");
  REQUIRE(c.write(std::as_bytes(std::span("late", 4))));  // half-closed: we may still write
  c.shutdown();
  CHECK(c.state() == ConnState::Closed);
}

TEST_CASE("client <-> server engines: the wrong name fails on the client with an alert") {
  auto sctx = chain_server_context();
  ClientOptions o;
  o.ca_pem = slurp(kakehi::test::certs().file("ca.pem"));
  o.server_name = "wrong.test";
  ClientConnection c(client_ctx(o));
  Connection s(sctx);
  REQUIRE(c.start());
  std::string err;
  CHECK_FALSE(pump(c, s, &err));
  CHECK(err.rfind("client: name mismatch: ", 0) == 0);
  CHECK(c.state() == ConnState::Failed);
  CHECK(c.error().code == TlsErrorCode::HandshakeFailed);
  CHECK_FALSE(c.feed({}));  // final
  // Our fatal alert is in output(); the server fails on it.
  REQUIRE(c.has_output());
  auto r = s.feed(c.output());
  CHECK_FALSE(r);
  CHECK(s.state() == ConnState::Failed);
}

TEST_CASE("client <-> server engines: the context resumes its last session (TLS 1.3, 1.2)") {
  auto sctx = chain_server_context();
  for (auto v : {TlsVersion::Tls13, TlsVersion::Tls12}) {
    ClientOptions o;
    o.max_version = v;
    o.min_version = v;
    auto cctx = chain_client_context(o);
    for (int i = 0; i < 3; ++i) {
      ClientConnection c(cctx);
      Connection s(sctx);
      REQUIRE(c.start());
      REQUIRE(pump(c, s));
      REQUIRE(c.state() == ConnState::Open);
      // TLS 1.3 tickets arrive after the handshake: one round of data brings them.
      REQUIRE(s.write(std::as_bytes(std::span("x", 1))));
      REQUIRE(pump(c, s));
      CHECK(c.handshake().resumed == (i > 0));
      CHECK(s.handshake().resumed == (i > 0));
    }
    ClientOptions off = o;
    off.resume = false;
    auto cold = chain_client_context(off);
    for (int i = 0; i < 2; ++i) {
      ClientConnection c(cold);
      Connection s(sctx);
      REQUIRE(c.start());
      REQUIRE(pump(c, s));
      REQUIRE(s.write(std::as_bytes(std::span("x", 1))));
      REQUIRE(pump(c, s));
      CHECK_FALSE(c.handshake().resumed);
    }
  }
}

TEST_CASE("client: resumes against openssl s_server (TLS 1.3 ticket, TLS 1.2)") {
  for (const char* v : {"-tls1_3", "-tls1_2"}) {
    ClientOptions o;
    o.ca_pem = bcerts().pem("ca");
    o.server_name = "backend.test";
    auto ctx = client_ctx(o);
    std::vector<Talk> first;
    const auto t = talk(ctx, backend_args() + std::vector<std::string>{v}, "again\n", 2, &first);
    INFO(std::string(v), " ", t.error, "\n", t.server_log);
    REQUIRE(first.size() == 1);
    CHECK(first[0].connected);
    CHECK_FALSE(first[0].info.resumed);
    REQUIRE(t.connected);
    CHECK(t.info.resumed);
    CHECK(t.reply == "niaga\n");
  }
}

TEST_CASE("client <-> server engines: one ClientContext shared by 4 threads") {
  auto sctx = chain_server_context();
  auto cctx = chain_client_context();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        ClientConnection c(cctx);
        Connection s(sctx);
        if (!c.start() || !pump(c, s) || c.state() != ConnState::Open) continue;
        if (!s.write(std::as_bytes(std::span("x", 1))) || !pump(c, s)) continue;
        if (c.plaintext().size() == 1) ++ok;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(ok == 40);
}

TEST_CASE("figure: client CPU per TLS 1.3 handshake, full (chain verified) and resumed") {
  auto sctx = chain_server_context();
  constexpr int kRounds = 100;
  double seconds[2] = {0, 0};
  for (int resumed = 0; resumed < 2; ++resumed) {
    ClientOptions o;
    o.resume = resumed == 1;
    auto cctx = chain_client_context(o);
    for (int i = 0; i <= kRounds; ++i) {
      ClientConnection c(cctx);
      Connection s(sctx);
      double client_s = 0;
      auto t0 = std::chrono::steady_clock::now();
      REQUIRE(c.start());
      client_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      for (int k = 0; k < 10 && (c.has_output() || s.has_output()); ++k) {
        if (c.has_output()) {
          REQUIRE(s.feed(c.output()));
          c.consume_output(c.output().size());
        }
        if (s.has_output()) {
          t0 = std::chrono::steady_clock::now();
          REQUIRE(c.feed(s.output()));
          client_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          s.consume_output(s.output().size());
        }
      }
      REQUIRE(c.state() == ConnState::Open);
      REQUIRE(s.write(std::as_bytes(std::span("x", 1))));  // brings the tickets along
      REQUIRE(pump(c, s));
      if (i == 0) continue;  // the first one is full either way
      CHECK(c.handshake().resumed == (resumed == 1));
      seconds[resumed] += client_s;
    }
  }
  MESSAGE("client side of a TLS 1.3 handshake (X25519, ECDSA P-256 chain verified, engine to ",
          "engine): full ", seconds[0] / kRounds * 1e6, " us, resumed ", seconds[1] / kRounds * 1e6,
          " us");
}

TEST_CASE("client: name checks through SAN wildcards and CN-only certificates (s_server)") {
  const auto& c = kakehi::test::certs();
  struct Case {
    const char* cert;
    const char* name;
    bool ok;
  };
  for (const Case k : {Case{"wild", "a.wild.test", true}, Case{"wild", "a.b.wild.test", false},
                       Case{"wild", "wild.test", false}, Case{"cnonly", "cnonly.test", true},
                       Case{"cnonly", "other.test", false}}) {
    ClientOptions o;
    o.ca_pem = slurp(c.file(std::string(k.cert) + ".pem"));  // self-signed: its own anchor
    o.server_name = k.name;
    const auto t = talk(client_ctx(o), {"-cert", c.file(std::string(k.cert) + ".pem"), "-key",
                                        c.file(std::string(k.cert) + ".key")});
    INFO(std::string(k.cert), " ", std::string(k.name), " ", t.error);
    CHECK(t.connected == k.ok);
    if (!k.ok) CHECK(t.error.rfind("name mismatch: ", 0) == 0);
  }
}

TEST_CASE("client: RSA 1024 is refused as a trust anchor; without verification it is used") {
  const auto& c = kakehi::test::certs();
  ClientOptions o;
  o.ca_pem = slurp(c.file("weak.pem"));
  auto r = ClientContext::create(o);
  REQUIRE_FALSE(r);
  CHECK(r.error().find("RSA key too small") != std::string::npos);
  o.verify = false;
  const auto t = talk(client_ctx(o), {"-cert", c.file("weak.pem"), "-key", c.file("weak.key"),
                                      "-tls1_2", "-cipher", "DEFAULT:@SECLEVEL=0"});
  INFO(t.error);
  CHECK(t.connected);
}

TEST_CASE("client: an IP literal as server_name sends no SNI; the name check still applies") {
  CHECK(is_ip_literal("127.0.0.1"));
  CHECK(is_ip_literal("::1"));
  CHECK_FALSE(is_ip_literal("backend.test"));
  CHECK_FALSE(is_ip_literal("127.0.0.1.nip.io"));
  ClientOptions o;
  o.ca_pem = bcerts().pem("ca");
  o.server_name = "127.0.0.1";
  auto ctx = client_ctx(o);
  {
    ClientConnection c(ctx);
    REQUIRE(c.start());
    CHECK(c.handshake().server_name.empty());
    std::vector<std::byte> scratch;
    const auto hello = peek_client_hello(c.output(), scratch);
    REQUIRE(hello.status == HelloStatus::Ok);
    CHECK(hello.server_name.empty());
  }
  const auto ip = talk(ctx, {"-cert", bcerts().file("ip.pem"), "-key", bcerts().file("ip.key")});
  MESSAGE("certificate with SAN IP:127.0.0.1, server_name 127.0.0.1: ",
          ip.connected ? "accepted" : ip.error);
  CHECK(ip.server_log.find("TLS client extension \"server name\"") == std::string::npos);
  const auto other = talk(ctx, backend_args());  // backend.test only
  CHECK_FALSE(other.connected);
  CHECK(other.error.rfind("name mismatch: ", 0) == 0);
}

TEST_CASE("client: HelloRetryRequest (a server that only takes P-384) and an RSA backend") {
  ClientOptions o;
  o.ca_pem = bcerts().pem("ca");
  o.server_name = "backend.test";
  auto t =
      talk(client_ctx(o), backend_args() + std::vector<std::string>{"-tls1_3", "-groups", "P-384"});
  INFO(t.error, "\n", t.server_log);
  REQUIRE(t.connected);
  CHECK(t.info.version == "TLSv1.3");
  CHECK(t.reply == "dnekcab olleh\n");
  // Two ClientHellos in the server's log: the retry happened.
  std::size_t hellos = 0;
  for (auto at = t.server_log.find("extension \"key share\""); at != std::string::npos;
       at = t.server_log.find("extension \"key share\"", at + 1))
    ++hellos;
  CHECK(hellos == 2);

  const auto& c = kakehi::test::certs();
  ClientOptions r;
  r.ca_pem = slurp(c.file("rsa.pem"));
  r.server_name = "www.rsa.test";
  for (const char* v : {"-tls1_3", "-tls1_2"}) {
    t = talk(client_ctx(r), {"-cert", c.file("rsa.pem"), "-key", c.file("rsa.key"), v});
    INFO(std::string(v), " ", t.error);
    CHECK(t.connected);
    CHECK(t.reply == "dnekcab olleh\n");
  }
}

TEST_CASE("client: an expired backend certificate fails verification; verify=false takes it") {
  ClientOptions o;
  o.ca_pem = bcerts().pem("ca");
  o.server_name = "backend.test";
  const std::vector<std::string> expired = {"-cert", bcerts().file("expired.pem"), "-key",
                                            bcerts().file("backend.key")};
  auto t = talk(client_ctx(o), expired);
  INFO(t.error);
  CHECK_FALSE(t.connected);
  CHECK(t.error.rfind("certificate verify failed: certificate expired", 0) == 0);
  o.verify = false;
  t = talk(client_ctx(o), expired);
  CHECK(t.connected);
}

TEST_CASE("client <-> server engines: a session from another server means a full handshake") {
  // Two listeners with their own ticket keys stand for two backends of one cluster. Their
  // session-id cache is off: wolfSSL's is process-wide, which two real backends do not share.
  ContextOptions so;
  so.session_cache = false;
  auto a = chain_server_context(so);
  auto b = chain_server_context(so);
  for (auto v : {TlsVersion::Tls13, TlsVersion::Tls12}) {
    ClientOptions o;
    o.min_version = o.max_version = v;
    auto cctx = chain_client_context(o);
    const std::shared_ptr<Context> order[] = {a, b, b, a};
    // TLS 1.2 resumes through session ids only (no tickets offered, see client.cpp).
    const bool t13 = v == TlsVersion::Tls13;
    const bool expect_resumed[] = {false, false, t13, false};
    for (int i = 0; i < 4; ++i) {
      INFO("version ", static_cast<int>(v), " connection ", i);
      ClientConnection c(cctx);
      Connection s(order[i]);
      REQUIRE(c.start());
      std::string err;
      REQUIRE_MESSAGE(pump(c, s, &err), err);
      REQUIRE(c.state() == ConnState::Open);
      REQUIRE(s.write(std::as_bytes(std::span("x", 1))));
      REQUIRE(pump(c, s));
      CHECK(c.plaintext().size() == 1);
      CHECK(c.handshake().resumed == expect_resumed[i]);
    }
  }
}

TEST_CASE("client: TLS 1.2 against a ticket-only server (s_server -no_cache): full handshakes") {
  ClientOptions o;
  o.ca_pem = bcerts().pem("ca");
  o.server_name = "backend.test";
  auto ctx = client_ctx(o);
  std::vector<Talk> first;
  const auto t = talk(ctx, backend_args() + std::vector<std::string>{"-tls1_2", "-no_cache"},
                      "again\n", 2, &first);
  INFO(t.error);
  REQUIRE(t.connected);
  CHECK_FALSE(t.info.resumed);
  CHECK(t.reply == "niaga\n");
  CHECK(t.server_log.find("TLS client extension \"session ticket\"") == std::string::npos);
}

TEST_CASE("client: a session from another s_server means a full handshake (TLS 1.3, 1.2)") {
  for (const char* v : {"-tls1_3", "-tls1_2"}) {
    ClientOptions o;
    o.ca_pem = bcerts().pem("ca");
    o.server_name = "backend.test";
    auto ctx = client_ctx(o);
    const auto args = backend_args() + std::vector<std::string>{v};
    auto t = talk(ctx, args);  // server 1: a session under its keys / in its cache
    REQUIRE(t.connected);
    t = talk(ctx, args);  // server 2: another process
    INFO(std::string(v), " ", t.error);
    REQUIRE(t.connected);
    CHECK_FALSE(t.info.resumed);
    CHECK(t.reply == "dnekcab olleh\n");
  }
}

TEST_CASE("client <-> server engines: the server's flights fed to the client one byte at a time") {
  auto sctx = chain_server_context();
  for (auto v : {TlsVersion::Tls13, TlsVersion::Tls12}) {
    ClientOptions o;
    o.min_version = o.max_version = v;
    o.resume = false;
    ClientConnection c(chain_client_context(o));
    Connection s(sctx);
    REQUIRE(c.start());
    int done = 0;
    for (int round = 0; round < 10 && c.state() == ConnState::Handshaking; ++round) {
      REQUIRE(s.feed(c.output()));
      c.consume_output(c.output().size());
      const auto wire = s.output();
      for (std::size_t i = 0; i < wire.size(); ++i) {
        auto p = c.feed(wire.subspan(i, 1));
        REQUIRE(p);
        done += p->handshake_done ? 1 : 0;
      }
      s.consume_output(wire.size());
    }
    CHECK(done == 1);
    REQUIRE(c.state() == ConnState::Open);
    REQUIRE(pump(c, s));  // the client's Finished (TLS 1.3)
    REQUIRE(s.state() == ConnState::Open);
    REQUIRE(s.write(std::as_bytes(std::span("pong", 4))));
    const auto wire = s.output();
    for (std::size_t i = 0; i < wire.size(); ++i) REQUIRE(c.feed(wire.subspan(i, 1)));
    s.consume_output(wire.size());
    CHECK(std::string_view(reinterpret_cast<const char*>(c.plaintext().data()),
                           c.plaintext().size()) == "pong");
  }
}
