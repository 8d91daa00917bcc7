// Real peers: openssl s_client against a kakehi::tls::Connection on 127.0.0.1 (TLS 1.2 and
// 1.3, SNI exact / wildcard / unknown / none, ALPN, suites and groups, resumption).
#include <doctest/doctest.h>

#include "kakehi/tls/context.hpp"
#include "tls_support.hpp"

using namespace kakehi::tls;
using kakehi::test::certs;
using kakehi::test::ClientRun;
using kakehi::test::run_s_client;

namespace {

std::shared_ptr<Context> listener(ContextOptions o = {}) {
  auto ctx = Context::create(std::move(o));
  REQUIRE(ctx);
  auto r = std::make_shared<const CertificateResolver>();
  for (const char* name : {"p256", "rsa", "p384", "wild", "cnonly"}) {
    auto c = (*ctx)->load_certificate(certs().source(name), kakehi::test::now_unix());
    REQUIRE_MESSAGE(c, name, ": ", (c ? "" : c.error().reason));
    r = r->with(name, *c);
  }
  (*ctx)->set_resolver(r);
  return *ctx;
}

bool has(const ClientRun& run, std::string_view text) {
  return run.client_output.find(text) != std::string::npos;
}

void check_served(const ClientRun& run, std::string_view subject_cn) {
  INFO(run.client_output);
  INFO("server error: ", run.server_error);
  REQUIRE(run.connected);
  CHECK(has(run, "hello from kakehi"));
  CHECK(has(run, std::string("subject=CN = ") + std::string(subject_cn)));
}

}  // namespace

TEST_CASE("TLS 1.3: SNI exact, wildcard, unknown and none") {
  auto ctx = listener();
  struct Row {
    std::vector<std::string> args;
    const char* cn;
    const char* sni;
    bool by_default;
  } rows[] = {
      {{"-servername", "rsa.test"}, "rsa.test", "rsa.test", false},
      {{"-servername", "WWW.rsa.test"}, "rsa.test", "www.rsa.test", false},
      {{"-servername", "p256.test"}, "p256.test", "p256.test", false},
      {{"-servername", "p384.test"}, "p384.test", "p384.test", false},
      {{"-servername", "api.wild.test"}, "wild", "api.wild.test", false},
      {{"-servername", "cnonly.test"}, "cnonly.test", "cnonly.test", false},
      {{"-servername", "unknown.test"}, "p256.test", "unknown.test", true},
      {{"-servername", "a.b.wild.test"}, "p256.test", "a.b.wild.test", true},
      {{"-noservername"}, "p256.test", "", true},
  };
  for (auto& row : rows) {
    row.args.push_back("-tls1_3");
    auto run = run_s_client(ctx, row.args);
    CAPTURE(row.sni);
    check_served(run, row.cn);
    CHECK(run.info.version == "TLSv1.3");
    CHECK(run.info.server_name == row.sni);
    CHECK(run.info.default_certificate == row.by_default);
    CHECK_FALSE(run.info.resumed);
    CHECK(has(run, "New, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256"));
  }
}

TEST_CASE("TLS 1.2 with RSA and ECDSA certificates: ECDHE + AES-GCM") {
  auto ctx = listener();
  auto rsa = run_s_client(ctx, {"-tls1_2", "-servername", "rsa.test"});
  check_served(rsa, "rsa.test");
  CHECK(rsa.info.version == "TLSv1.2");
  CHECK(has(rsa, "New, TLSv1.2, Cipher is ECDHE-RSA-AES128-GCM-SHA256"));
  auto ec = run_s_client(ctx, {"-tls1_2", "-servername", "p384.test"});
  check_served(ec, "p384.test");
  CHECK(has(ec, "New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"));
}

TEST_CASE("no TLS 1.0 / 1.1, no static RSA, no CBC") {
  auto ctx = listener();
  for (const char* v : {"-tls1", "-tls1_1"}) {
    auto run = run_s_client(ctx, {v, "-servername", "rsa.test", "-cipher", "ALL:@SECLEVEL=0"});
    INFO(run.client_output);
    CHECK_FALSE(run.connected);
  }
  for (const char* suite :
       {"AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA", "DHE-RSA-AES128-GCM-SHA256"}) {
    auto run = run_s_client(ctx, {"-tls1_2", "-servername", "rsa.test", "-cipher", suite});
    INFO(suite, run.client_output);
    CHECK_FALSE(run.connected);
    CHECK_FALSE(run.server_error.empty());
  }
}

TEST_CASE("TLS 1.3 suites and groups") {
  auto ctx = listener();
  for (const char* suite :
       {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}) {
    auto run = run_s_client(ctx, {"-tls1_3", "-servername", "p256.test", "-ciphersuites", suite});
    check_served(run, "p256.test");
    CHECK(has(run, std::string("Cipher is ") + suite));
  }
  for (const char* group : {"X25519", "P-256", "P-384"}) {
    auto run = run_s_client(ctx, {"-tls1_3", "-servername", "p256.test", "-groups", group});
    CAPTURE(group);
    check_served(run, "p256.test");
  }
  ContextOptions only_p384;
  only_p384.groups = {Group::P384};
  auto narrow = listener(only_p384);
  // The client's key share is X25519 only: HelloRetryRequest, then a second ClientHello that
  // goes to wolfSSL directly.
  auto hrr =
      run_s_client(narrow, {"-tls1_3", "-servername", "p256.test", "-groups", "X25519:P-384"});
  check_served(hrr, "p256.test");
  CHECK(has(hrr, "Server Temp Key: ECDH, secp384r1"));
  auto run = run_s_client(narrow, {"-tls1_3", "-servername", "p256.test", "-groups", "X25519"});
  INFO(run.client_output);
  CHECK_FALSE(run.connected);
}

TEST_CASE("ALPN: the server's preference among what the client offers") {
  auto ctx = listener();
  auto both = run_s_client(ctx, {"-servername", "p256.test", "-alpn", "http/1.1,h2"});
  check_served(both, "p256.test");
  CHECK(both.info.alpn == "h2");
  CHECK(has(both, "ALPN protocol: h2"));
  auto h1 = run_s_client(ctx, {"-tls1_2", "-servername", "p256.test", "-alpn", "http/1.1"});
  check_served(h1, "p256.test");
  CHECK(h1.info.alpn == "http/1.1");
  CHECK(has(h1, "ALPN protocol: http/1.1"));
  auto none = run_s_client(ctx, {"-servername", "p256.test"});
  check_served(none, "p256.test");
  CHECK(none.info.alpn.empty());
  CHECK(has(none, "No ALPN negotiated"));
  auto other = run_s_client(ctx, {"-servername", "p256.test", "-alpn", "spdy/3"});
  check_served(other, "p256.test");  // no overlap: continue without ALPN
  CHECK(other.info.alpn.empty());
  ContextOptions h1_only;
  h1_only.alpn = {"http/1.1"};
  auto until_h2 =
      run_s_client(listener(h1_only), {"-servername", "p256.test", "-alpn", "h2,http/1.1"});
  check_served(until_h2, "p256.test");
  CHECK(until_h2.info.alpn == "http/1.1");
}

TEST_CASE("unknown SNI rejected when configured; no SNI still gets the default") {
  ContextOptions o;
  o.unknown_sni = UnknownSni::Reject;
  auto ctx = listener(o);
  auto run = run_s_client(ctx, {"-servername", "unknown.test"});
  INFO(run.client_output);
  CHECK_FALSE(run.connected);
  CHECK(run.server_error.find("unknown server name") != std::string::npos);
  CHECK(has(run, "unrecognized name"));
  check_served(run_s_client(ctx, {"-noservername"}), "p256.test");
  check_served(run_s_client(ctx, {"-servername", "api.wild.test"}), "wild");
}

TEST_CASE("the engine fed one byte at a time") {
  auto ctx = listener();
  auto run = run_s_client(ctx, {"-tls1_3", "-servername", "rsa.test", "-alpn", "h2"}, true);
  check_served(run, "rsa.test");
  CHECK(run.info.alpn == "h2");
}

TEST_CASE("resumption: TLS 1.3 and 1.2 tickets, TLS 1.2 session cache, key rotation") {
  auto ctx = listener();
  kakehi::test::TempDir dir;
  const std::string sess = dir.path("sess.pem");
  struct Mode {
    const char* name;
    std::vector<std::string> args;
  } modes[] = {
      {"TLS 1.3 ticket", {"-tls1_3"}},
      {"TLS 1.2 ticket", {"-tls1_2"}},
      {"TLS 1.2 session id", {"-tls1_2", "-no_ticket"}},
  };
  for (const auto& mode : modes) {
    CAPTURE(mode.name);
    auto first_args = mode.args;
    first_args.insert(first_args.end(), {"-servername", "p256.test", "-sess_out", sess});
    auto first = run_s_client(ctx, first_args);
    check_served(first, "p256.test");
    CHECK_FALSE(first.info.resumed);
    auto again_args = mode.args;
    again_args.insert(again_args.end(), {"-servername", "p256.test", "-sess_in", sess});
    auto again = run_s_client(ctx, again_args);
    check_served(again, "p256.test");
    CHECK(again.info.resumed);
    CHECK(has(again, "Reused, TLSv1."));
  }
  // Rotation: a ticket sealed under the previous key still resumes; once its key left the
  // ring (kTicketKeysKept rotations), the handshake is full.
  auto first = run_s_client(ctx, {"-tls1_3", "-servername", "p256.test", "-sess_out", sess});
  check_served(first, "p256.test");
  const auto gen = ctx->ticket_key_generation();
  ctx->rotate_ticket_keys();
  CHECK(ctx->ticket_key_generation() == gen + 1);
  auto after_one = run_s_client(ctx, {"-tls1_3", "-servername", "p256.test", "-sess_in", sess});
  check_served(after_one, "p256.test");
  CHECK(after_one.info.resumed);
  for (std::size_t i = 0; i < Context::kTicketKeysKept; ++i) ctx->rotate_ticket_keys();
  auto stale = run_s_client(ctx, {"-tls1_3", "-servername", "p256.test", "-sess_in", sess});
  check_served(stale, "p256.test");
  CHECK_FALSE(stale.info.resumed);
  CHECK(has(stale, "New, TLSv1.3"));
}

TEST_CASE("a certificate swap: the next handshake sees the new one") {
  auto ctx = listener();
  auto before = run_s_client(ctx, {"-servername", "p256.test"});
  check_served(before, "p256.test");
  auto old_cert = before.info.certificate;
  // Replace p256.test's certificate by the RSA one named explicitly.
  auto src = certs().source("rsa");
  src.names = {"p256.test"};
  auto repl = ctx->load_certificate(src, kakehi::test::now_unix());
  REQUIRE(repl);
  ctx->set_resolver(ctx->resolver()->with("p256", *repl));
  auto after = run_s_client(ctx, {"-servername", "p256.test"});
  check_served(after, "rsa.test");
  CHECK(after.info.certificate == *repl);
  CHECK(old_cert.use_count() >= 1);  // the earlier connection's info still owns it
  CHECK(old_cert->names() == std::vector<std::string>{"p256.test"});
}

TEST_CASE("tickets resume with the session cache off") {
  ContextOptions o;
  o.session_cache = false;
  auto ctx = listener(o);
  kakehi::test::TempDir dir;
  const std::string sess = dir.path("sess.pem");
  for (const char* v : {"-tls1_3", "-tls1_2"}) {
    CAPTURE(v);
    auto first = run_s_client(ctx, {v, "-servername", "p256.test", "-sess_out", sess});
    check_served(first, "p256.test");
    auto again = run_s_client(ctx, {v, "-servername", "p256.test", "-sess_in", sess});
    check_served(again, "p256.test");
    CHECK(again.info.resumed);
  }
}
