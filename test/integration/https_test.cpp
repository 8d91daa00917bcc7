// HTTPS listeners end to end: certificates made at test time with the openssl CLI (a test CA
// and leaves it signs), real clients (curl --cacert, openssl s_client, wrk over TLS) through
// the proxy to a Beast origin. SNI selection, ALPN, resumption, bad certificates refused with
// the request's id, a certificate swapped 100 times under load, handshake timeout and garbage.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "kakehi/tls/error.hpp"
#include "rig.hpp"
#include "support/nginx_h2.hpp"

using namespace kakehi::test;
using namespace kakehi;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A temp dir holding a test CA and the leaves it signed (ECDSA P-256).
struct Pki {
  std::string dir;
  Pki() {
    char tmpl[] = "/tmp/kakehi-https-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", at("ca.key"), "-out", at("ca.pem"), "-subj", "/CN=kakehi test CA", "-days",
             "2"});
  }
  ~Pki() { std::filesystem::remove_all(dir); }
  std::string at(const std::string& name) const { return dir + "/" + name; }
  void openssl(std::vector<std::string> args) const {
    args.insert(args.begin(), "openssl");
    auto r = run(args, 20s);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  }
  /// Leaf `name` with common name `cn` and DNS names `sans` ("" for none).
  void leaf(const std::string& name, const std::string& cn, const std::string& sans) const {
    openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             at(name + ".key"), "-out", at(name + ".csr"), "-subj", "/CN=" + cn});
    std::ofstream(at(name + ".ext")) << (sans.empty() ? "" : "subjectAltName=" + sans + "\n");
    openssl({"x509", "-req", "-in", at(name + ".csr"), "-CA", at("ca.pem"), "-CAkey", at("ca.key"),
             "-CAcreateserial", "-out", at(name + ".pem"), "-days", "2", "-extfile",
             at(name + ".ext")});
  }
  config::Certificate certificate(const std::string& id, const std::string& listener,
                                  const std::string& name) const {
    config::Certificate c;
    c.id = id;
    c.listener = listener;
    c.certificate_chain_pem = slurp(at(name + ".pem"));
    c.key_pem = slurp(at(name + ".key"));
    return c;
  }
};

const Pki& pki() {
  static const Pki p = [] {
    Pki x;
    x.leaf("app", "app.test", "DNS:app.test");
    x.leaf("app2", "app.test gen 2", "DNS:app.test");
    x.leaf("wild", "wildcard", "DNS:*.wild.test");
    x.leaf("other", "other.test", "DNS:other.test");
    x.leaf("backend", "backend.test", "DNS:backend.test");
    x.leaf("backend-ip", "an address", "IP:127.0.0.1");
    // A second CA that signed nothing here: verification against it must fail.
    x.openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", x.at("ca2.key"), "-out", x.at("ca2.pem"), "-subj", "/CN=kakehi other CA",
               "-days", "2"});
    return x;
  }();
  return p;
}

config::Listener https_listener(uint32_t handshake_timeout_ms = 10'000) {
  config::Listener l = http_listener("127.0.0.1:1");
  l.kind = config::ListenerKind::Https;
  l.tls.handshake_timeout_ms = handshake_timeout_ms;
  return l;
}

// An HTTPS listener with certificates `app` (the default: added first) and `wild`, routing
// every host to one origin.
struct HttpsRig {
  HttpOrigin origin{"o"};
  Rig rig;
  explicit HttpsRig(config::Listener l = https_listener()) {
    rig.add_listener(l);
    Diff d;
    d(config::AddCertificate{pki().certificate("app", rig.listener, "app")});
    d(config::AddCertificate{pki().certificate("wild", rig.listener, "wild")});
    d(config::AddCluster{cluster("c")});
    d(config::AddBackend{backend("c", "b0", origin.address())});
    d(config::AddHttpFrontend{frontend("f", rig.listener, "c", "~^.*$")});
    rig.apply(d);
  }
  std::string url(const std::string& host, const std::string& path = "/id") const {
    return "https://" + host + ":" + std::to_string(rig.port) + path;
  }
  HttpResponse get(const std::string& host, const std::string& path = "/id") const {
    return curl({"--cacert", pki().at("ca.pem"), "--resolve",
                 host + ":" + std::to_string(rig.port) + ":127.0.0.1", url(host, path)});
  }
  // openssl s_client's report for one connection (`args` added), its input closed at once.
  ProcResult s_client(std::vector<std::string> args) const {
    std::vector<std::string> argv = {"openssl",  "s_client",
                                     "-connect", "127.0.0.1:" + std::to_string(rig.port),
                                     "-CAfile",  pki().at("ca.pem")};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, 15s, "Q\n");
  }
};

// The subject CN of the certificate s_client was served.
std::string served_cn(const ProcResult& r) {
  const std::string out = r.out + r.err;
  const size_t at = out.find("subject=CN = ");
  if (at == std::string::npos) return "<none>";
  const size_t from = at + std::string_view("subject=CN = ").size();
  return out.substr(from, out.find('\n', from) - from);
}

}  // namespace

TEST_CASE("https: curl through an HTTPS listener to the origin, keep-alive, X-Forwarded-Proto") {
  HttpsRig h;
  auto r = h.get("app.test");
  REQUIRE_MESSAGE(r.status == 200, r.curl_err);
  CHECK(r.body == "o");
  CHECK(r.header("x-seen-forwarded-proto") == "https");
  // Two requests on one connection (curl reuses it): one handshake.
  auto two = curl({"--cacert", pki().at("ca.pem"), "--resolve",
                   "app.test:" + std::to_string(h.rig.port) + ":127.0.0.1", h.url("app.test"),
                   h.url("app.test", "/bytes/300000")});
  CHECK(two.status == 200);
  const auto s = h.rig.proxy.stats();
  CHECK(s.tls_handshakes == 2);
  CHECK(s.tls_handshake_failures == 0);
  // A large body crosses many TLS records.
  auto d = curl_download(h.url("app.test", "/bytes/5000000"),
                         {"--cacert", pki().at("ca.pem"), "--resolve",
                          "app.test:" + std::to_string(h.rig.port) + ":127.0.0.1"},
                         30);
  CHECK(d.curl_exit == 0);
  CHECK(d.bytes == 5000000);
  CHECK(d.fnv == pattern_fnv(5000000));
}

TEST_CASE("https: a response head and its small body go out in one TLS record") {
  HttpsRig h;
  // s_client -msg prints each record's decrypted content type (RFC 8446 §5.2) on the line after
  // "InnerContent": 17 is application data. The proxy holds the head it rewrote and the body it
  // read in two slices; they were encrypted as two records.
  auto r = run({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(h.rig.port),
                "-servername", "app.test", "-tls1_3", "-msg", "-ign_eof"},
               15s, "GET /id HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n");
  REQUIRE_MESSAGE(r.out.find("HTTP/1.1 200") != std::string::npos, r.out << r.err);
  int application_records = 0;
  std::istringstream in(r.out);
  for (std::string line, type; std::getline(in, line);)
    if (line.starts_with("<<< TLS 1.3, InnerContent") && std::getline(in, type) &&
        type.find("17") != std::string::npos)
      ++application_records;
  CHECK(application_records == 1);
}

TEST_CASE("https: SNI selects the certificate; unknown names and no SNI get the default") {
  HttpsRig h;
  CHECK(served_cn(h.s_client({"-servername", "app.test"})) == "app.test");
  CHECK(served_cn(h.s_client({"-servername", "a.wild.test"})) == "wildcard");
  CHECK(served_cn(h.s_client({"-servername", "b.a.wild.test"})) == "app.test");  // one label
  CHECK(served_cn(h.s_client({"-servername", "nobody.test"})) == "app.test");
  CHECK(served_cn(h.s_client({"-noservername"})) == "app.test");
  // curl verifies the wildcard certificate for a name it covers.
  auto r = h.get("x.wild.test");
  CHECK_MESSAGE(r.status == 200, r.curl_err);
}

TEST_CASE("https: a listener can refuse unknown names; ALPN; TLS 1.2 and 1.3; resumption") {
  config::Listener l = https_listener();
  l.tls.reject_unknown_sni = true;
  HttpsRig h(l);
  auto unknown = h.s_client({"-servername", "nobody.test"});
  CHECK(served_cn(unknown) == "<none>");
  CHECK(h.s_client({"-servername", "app.test"}).out.find("Verify return code: 0 (ok)") !=
        std::string::npos);
  auto alpn = h.s_client({"-servername", "app.test", "-alpn", "h2,http/1.1"});
  CHECK(alpn.out.find("ALPN protocol: h2") != std::string::npos);
  auto v12 = h.s_client({"-servername", "app.test", "-tls1_2"});
  CHECK_MESSAGE(v12.out.find("New, TLSv1.2") != std::string::npos, v12.out << v12.err);
  auto v13 = h.s_client({"-servername", "app.test", "-tls1_3"});
  CHECK_MESSAGE(v13.out.find("New, TLSv1.3") != std::string::npos, v13.out << v13.err);
  CHECK(h.s_client({"-servername", "app.test", "-tls1_1"}).out.find("Cipher is (NONE)") !=
        std::string::npos);

  const std::string sess = pki().at("sess-" + std::to_string(h.rig.port));
  auto first = h.s_client({"-servername", "app.test", "-tls1_2", "-sess_out", sess});
  CHECK(first.out.find("New, ") != std::string::npos);
  auto again = h.s_client({"-servername", "app.test", "-tls1_2", "-sess_in", sess});
  CHECK(again.out.find("Reused, ") != std::string::npos);
  CHECK(h.rig.proxy.stats().tls_resumed >= 1);
}

TEST_CASE("https: bad certificates are refused with the request's id; the listener keeps serving") {
  HttpsRig h;
  auto garbage = pki().certificate("bad", h.rig.listener, "app");
  garbage.certificate_chain_pem =
      "-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
      "-----END CERTIFICATE-----\n";
  auto answers = h.rig.proxy.apply({{"add-garbage", config::AddCertificate{garbage}}});
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].status == config::AnswerStatus::Error);
  CHECK(answers[0].message.find("add-garbage") != std::string::npos);
  CHECK(answers[0].message.find("certificate \"bad\"") != std::string::npos);

  auto mismatch = pki().certificate("app", h.rig.listener, "app2");
  mismatch.key_pem = slurp(pki().at("other.key"));  // a key of another certificate
  answers = h.rig.proxy.apply({{"swap-1", config::UpdateCertificate{mismatch}},
                               {"ok-2", config::AddCluster{cluster("unrelated")}}});
  REQUIRE(answers.size() == 2);
  CHECK(answers[0].status == config::AnswerStatus::Error);
  CHECK(answers[0].message.find("key") != std::string::npos);
  CHECK(answers[1].status == config::AnswerStatus::Error);  // all or nothing
  CHECK_FALSE(h.rig.proxy.state().clusters.contains("unrelated"));

  config::Listener named = https_listener();
  named.address = h.rig.listener;
  named.tls.default_certificate = "missing";
  answers = h.rig.proxy.apply({{"dflt", config::UpdateListener{named}}});
  CHECK(answers[0].status == config::AnswerStatus::Error);
  CHECK(answers[0].message.find("default_certificate") != std::string::npos);

  CHECK(served_cn(h.s_client({"-servername", "app.test"})) == "app.test");
  CHECK(h.get("app.test").status == 200);
}

TEST_CASE("https: a certificate replaced 100 times under load: no failed handshake or request") {
  HttpsRig h;
  const int seconds = sanitized() ? 6 : 20;
  WrkResult load;
  std::thread t([&] {
    load = wrk(h.url("127.0.0.1", "/id"), 1, 16, seconds, {"-H", "Connection: close"});
  });
  const auto end = Clock::now() + std::chrono::seconds(seconds - 1);
  int swaps = 0;
  std::string_view last = "app";  // the certificate installed last
  for (; swaps < 100; ++swaps) {
    const char* which = swaps % 2 == 0 ? "app2" : "app";
    Diff d;
    d(config::UpdateCertificate{pki().certificate("app", h.rig.listener, which)});
    h.rig.apply(d);
    last = which;
    const auto left = end - Clock::now();
    if (left <= 0s) break;
    std::this_thread::sleep_for(std::min<Clock::duration>(left / (100 - swaps), 100ms));
  }
  t.join();
  CHECK(swaps >= 50);
  CHECK(load.parsed);
  CHECK(load.requests > 0);
  CHECK(load.non_2xx_3xx == 0);
  CHECK(load.socket_errors == 0);
  const auto s = h.rig.proxy.stats();
  CHECK(s.tls_handshake_failures == 0);
  MESSAGE(swaps << " swaps under wrk: " << load.requests << " requests, " << s.tls_handshakes
                << " handshakes, " << s.tls_handshakes_abandoned
                << " abandoned (wrk closing its connections at the end)");
  // Not derived from `swaps`: a loop ended by the clock has installed one more than it counts.
  const std::string expected = last == "app2" ? "app.test gen 2" : "app.test";
  CHECK(served_cn(h.s_client({"-servername", "app.test"})) == expected);
}

TEST_CASE("https: a silent client times out; garbage gets an alert; the worker keeps serving") {
  HttpsRig h(https_listener(300));
  RawClient silent(h.rig.port);
  REQUIRE(silent.connected());
  const auto t0 = Clock::now();
  CHECK(silent.recv_until_close(5s).empty());
  CHECK(silent.eof());
  CHECK(Clock::now() - t0 < 3s);

  RawClient plain(h.rig.port);
  REQUIRE(plain.send_all("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  const std::string alert = plain.recv_until_close(5s);
  CHECK(plain.eof());
  REQUIRE(alert.size() >= 7);
  CHECK(alert[0] == '\x15');  // a TLS alert record
  const auto s = h.rig.proxy.stats();
  CHECK(s.tls_handshake_failures == 1);
  CHECK(s.tls_handshakes_abandoned == 1);
  CHECK(s.tls_failures_by_reason[static_cast<size_t>(tls::TlsErrorCode::MalformedClientHello)] ==
        1);
  CHECK(h.get("app.test").status == 200);
}

namespace {
// `openssl s_server -www` with the `backend` certificate: a TLS origin answering GET with a
// status page (HTTP/1.0, close-delimited).
struct TlsOrigin {
  explicit TlsOrigin(const std::string& leaf = "backend")
      : child({"openssl", "s_server", "-accept", std::to_string(port), "-cert",
               pki().at(leaf + ".pem"), "-key", pki().at(leaf + ".key"), "-www"},
              false) {
    REQUIRE(eventually([&] { return !connect_refused(port); }));
  }
  uint16_t port = free_port();  // declared before `child`, which uses it
  Child child;
};

config::Cluster tls_cluster(bool verify, const std::string& ca, const std::string& name) {
  config::Cluster c = cluster("tlsb");
  c.backend_tls.enabled = true;
  c.backend_tls.verify = verify;
  c.backend_tls.ca_pem = slurp(pki().at(ca));
  c.backend_tls.server_name = name;
  c.backend_tls.alpn = {"http/1.1"};
  return c;
}
}  // namespace

TEST_CASE("https: TLS towards a backend, verified by CA and name; failures answer 503") {
  TlsOrigin origin;
  Rig rig;
  rig.add_http_listener();
  Diff d;
  d(config::AddCluster{tls_cluster(true, "ca.pem", "backend.test")});
  d(config::AddBackend{backend("tlsb", "b0", local(origin.port))});
  d(config::AddHttpFrontend{frontend("f", rig.listener, "tlsb", "tlsb.test")});
  rig.apply(d);
  auto r = curl_get(rig.port, "/", "tlsb.test");
  CHECK(r.status == 200);
  CHECK(r.body.find("s_server -accept") != std::string::npos);
  CHECK(rig.proxy.stats().backend_tls_handshakes >= 1);
  CHECK(rig.proxy.stats().backend_tls_failures == 0);

  // A name the certificate does not carry: the handshake fails, the client gets a 503.
  Diff wrong_name;
  wrong_name(config::UpdateCluster{tls_cluster(true, "ca.pem", "other.test")});
  rig.apply(wrong_name);
  CHECK(curl_get(rig.port, "/", "tlsb.test").status == 503);
  CHECK(rig.proxy.stats().backend_tls_failures >= 1);

  // Another CA: refused; the same with verify = false: served.
  Diff other_ca;
  other_ca(config::UpdateCluster{tls_cluster(true, "ca2.pem", "backend.test")});
  rig.apply(other_ca);
  const uint64_t failures = rig.proxy.stats().backend_tls_failures;
  CHECK(curl_get(rig.port, "/", "tlsb.test").status == 503);
  CHECK(rig.proxy.stats().backend_tls_failures > failures);
  Diff no_verify;
  no_verify(config::UpdateCluster{tls_cluster(false, "ca2.pem", "backend.test")});
  rig.apply(no_verify);
  CHECK(curl_get(rig.port, "/", "tlsb.test").status == 200);

  // A bad CA bundle is refused with the request's id.
  auto bad = tls_cluster(true, "ca.pem", "backend.test");
  bad.backend_tls.ca_pem = "not a certificate";
  auto answers = rig.proxy.apply({{"bad-ca", config::UpdateCluster{bad}}});
  CHECK(answers[0].status == config::AnswerStatus::Error);
  CHECK(answers[0].message.find("bad-ca") != std::string::npos);
  CHECK(answers[0].message.find("backend_tls") != std::string::npos);
}

TEST_CASE("https: a backend addressed by IP, its certificate naming only that IP") {
  TlsOrigin origin("backend-ip");
  Rig rig;
  rig.add_http_listener();
  Diff d;
  d(config::AddCluster{tls_cluster(true, "ca.pem", "127.0.0.1")});  // checked, not sent as SNI
  d(config::AddBackend{backend("tlsb", "b0", local(origin.port))});
  d(config::AddHttpFrontend{frontend("f", rig.listener, "tlsb", "tlsb.test")});
  rig.apply(d);
  CHECK(curl_get(rig.port, "/", "tlsb.test").status == 200);
  Diff other;
  other(config::UpdateCluster{tls_cluster(true, "ca.pem", "127.0.0.2")});
  rig.apply(other);
  CHECK(curl_get(rig.port, "/", "tlsb.test").status == 503);
}

TEST_CASE("https: bodies both ways with TLS on both sides (HTTPS listener, TLS backend)") {
  // Both engines decrypt straight into pool buffers: the listener's the client's upload, the
  // backend connection's the download. nginx (TLS, HTTP/1.1) stands in front of the origin.
  if (::access("/usr/sbin/nginx", X_OK) != 0) {
    MESSAGE("skipped: /usr/sbin/nginx is not installed (apt-get install nginx)");
    return;
  }
  HttpOrigin origin("o");
  Nginx nginx(
      origin.address(),
      {.tls_cert = pki().at("backend.pem"), .tls_key = pki().at("backend.key"), .http2 = false});
  Rig rig;
  rig.add_listener(https_listener());
  Diff d;
  d(config::AddCertificate{pki().certificate("app", rig.listener, "app")});
  d(config::AddCluster{tls_cluster(true, "ca.pem", "backend.test")});
  d(config::AddBackend{backend("tlsb", "b0", nginx.address())});
  d(config::AddHttpFrontend{frontend("f", rig.listener, "tlsb", "app.test")});
  rig.apply(d);
  const std::string url = "https://app.test:" + std::to_string(rig.port);
  const std::vector<std::string> tls = {"--cacert", pki().at("ca.pem"), "--resolve",
                                        "app.test:" + std::to_string(rig.port) + ":127.0.0.1"};
  const uint64_t n = 20'000'000;
  auto down = curl_download(url + "/bytes/" + std::to_string(n), tls, 60);
  CAPTURE(down.err);
  CHECK(down.curl_exit == 0);
  CHECK(down.bytes == n);
  CHECK(down.fnv == pattern_fnv(n));
  for (bool chunked : {false, true}) {
    CAPTURE(chunked);
    auto up = curl_upload(url + "/upload", tls, n, chunked, 60);
    CAPTURE(up.err);
    CHECK(up.exit_code == 0);
    CHECK(up.out == std::to_string(n) + " " + hex64(pattern_fnv(n)));
  }
  const auto s = rig.proxy.stats();
  CHECK(s.tls_handshakes >= 3);
  CHECK(s.tls_handshake_failures == 0);
  CHECK(s.backend_tls_handshakes >= 1);
  CHECK(s.backend_tls_failures == 0);
}
