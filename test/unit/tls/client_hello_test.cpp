// ClientHello peek: hand-built records (RFC 8446 §4.1.2 layout), fragmentation, malformed
// input; the Connection answers malformed bytes with a typed error and an alert, no crash.
#include <doctest/doctest.h>

#include <random>

#include "kakehi/tls/client_hello.hpp"
#include "kakehi/tls/connection.hpp"
#include "tls_support.hpp"

using namespace kakehi::tls;

namespace {

using Bytes = std::vector<std::byte>;

void put8(Bytes& b, unsigned v) { b.push_back(static_cast<std::byte>(v)); }
void put16(Bytes& b, unsigned v) {
  put8(b, v >> 8);
  put8(b, v & 0xff);
}
void put(Bytes& b, std::string_view s) {
  for (char c : s) put8(b, static_cast<unsigned char>(c));
}

/// ClientHello body with optional SNI and ALPN extensions.
Bytes hello_body(std::string_view sni, std::vector<std::string_view> alpn) {
  Bytes b;
  put16(b, 0x0303);                         // legacy_version
  for (int i = 0; i < 32; ++i) put8(b, i);  // random
  put8(b, 0);                               // legacy_session_id<0..32>
  put16(b, 2);                              // cipher_suites<2..>
  put16(b, 0x1301);                         //   TLS_AES_128_GCM_SHA256
  put8(b, 1);                               // legacy_compression_methods
  put8(b, 0);                               //   null
  Bytes ext;
  if (!sni.empty()) {
    put16(ext, 0);  // server_name
    put16(ext, static_cast<unsigned>(sni.size() + 5));
    put16(ext, static_cast<unsigned>(sni.size() + 3));  // ServerNameList
    put8(ext, 0);                                       //   host_name
    put16(ext, static_cast<unsigned>(sni.size()));
    put(ext, sni);
  }
  if (!alpn.empty()) {
    Bytes list;
    for (auto p : alpn) {
      put8(list, static_cast<unsigned>(p.size()));
      put(list, p);
    }
    put16(ext, 16);  // application_layer_protocol_negotiation
    put16(ext, static_cast<unsigned>(list.size() + 2));
    put16(ext, static_cast<unsigned>(list.size()));
    ext.insert(ext.end(), list.begin(), list.end());
  }
  put16(b, static_cast<unsigned>(ext.size()));
  b.insert(b.end(), ext.begin(), ext.end());
  return b;
}

/// Handshake header + records of at most `frag` bytes each.
Bytes records(const Bytes& body, std::size_t frag = 16384) {
  Bytes msg;
  put8(msg, 1);  // client_hello
  put8(msg, static_cast<unsigned>(body.size() >> 16));
  put16(msg, static_cast<unsigned>(body.size() & 0xffff));
  msg.insert(msg.end(), body.begin(), body.end());
  Bytes out;
  for (std::size_t off = 0; off < msg.size(); off += frag) {
    const std::size_t n = std::min(frag, msg.size() - off);
    put8(out, 22);
    put16(out, 0x0301);
    put16(out, static_cast<unsigned>(n));
    out.insert(out.end(), msg.begin() + static_cast<long>(off),
               msg.begin() + static_cast<long>(off + n));
  }
  return out;
}

}  // namespace

TEST_CASE("SNI and ALPN from one record, and from fragments fed in pieces") {
  const Bytes rec = records(hello_body("Host.Example", {"http/1.1", "h2"}));
  std::vector<std::byte> scratch;
  auto p = peek_client_hello(rec, scratch);
  REQUIRE(p.status == HelloStatus::Ok);
  CHECK(p.server_name == "Host.Example");
  const std::vector<std::string> server = {"h2", "http/1.1"};
  CHECK(select_alpn(server, p.alpn) == "h2");  // the server's preference
  const std::vector<std::string> only_h1 = {"http/1.1"};
  CHECK(select_alpn(only_h1, p.alpn) == "http/1.1");
  const std::vector<std::string> none = {"spdy/3"};
  CHECK_FALSE(select_alpn(none, p.alpn));

  const Bytes frag = records(hello_body("a.test", {}), 7);  // many 7-byte records
  for (std::size_t cut = 0; cut < frag.size(); ++cut) {
    auto q = peek_client_hello(std::span(frag).first(cut), scratch);
    CHECK(q.status == HelloStatus::NeedMore);
  }
  auto q = peek_client_hello(frag, scratch);
  REQUIRE(q.status == HelloStatus::Ok);
  CHECK(q.server_name == "a.test");
  CHECK(q.alpn.empty());
}

TEST_CASE("malformed hellos are refused with a reason") {
  std::vector<std::byte> scratch;
  auto bad = [&](Bytes b) {
    auto p = peek_client_hello(b, scratch);
    CHECK(p.status == HelloStatus::Malformed);
    CHECK(std::string_view(p.reason).size() > 0);
  };
  Bytes http;
  put(http, "GET / HTTP/1.1\r\n\r\n");
  bad(http);  // plaintext HTTP on a TLS port
  Bytes rec = records(hello_body("x", {"h2"}));
  rec[0] = std::byte{23};  // application_data record first
  bad(rec);
  rec = records(hello_body("x", {"h2"}));
  rec[5] = std::byte{2};  // a ServerHello
  bad(rec);
  Bytes body = hello_body("x", {"h2"});
  body.push_back(std::byte{0});  // trailing byte after the extensions
  bad(records(body));
  body = hello_body("", {"h2"});
  body[body.size() - 3] = std::byte{9};  // ALPN name length past its list
  bad(records(body));
  Bytes zero;
  put8(zero, 22);
  put16(zero, 0x0301);
  put16(zero, 0);  // empty record
  bad(zero);
}

TEST_CASE("Connection: malformed bytes give an error and an alert, never a crash") {
  auto ctx = *Context::create({});
  auto cert = ctx->load_certificate(kakehi::test::certs().source("p256"), kakehi::test::now_unix());
  REQUIRE(cert);
  ctx->set_resolver(ctx->resolver()->with("p256", *cert));
  {
    Connection c(ctx);
    Bytes http;
    put(http, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.feed(http);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == TlsErrorCode::MalformedClientHello);
    CHECK(c.state() == ConnState::Failed);
    REQUIRE(c.output().size() == 7);  // alert record: fatal decode_error
    CHECK(c.output()[0] == std::byte{21});
    CHECK(c.output()[6] == std::byte{50});
    CHECK_FALSE(c.feed(http));  // stays failed
  }
  // A well-formed hello whose cipher suites wolfSSL cannot use: a handshake failure.
  {
    Connection c(ctx);
    auto r = c.feed(records(hello_body("p256.test", {"h2"})));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == TlsErrorCode::HandshakeFailed);
    MESSAGE(r.error().reason);
  }
  // Random mutations of a valid hello: every outcome is an error, NeedMore or a handshake.
  const Bytes valid = records(hello_body("p256.test", {"h2", "http/1.1"}));
  std::mt19937 rng(1234);
  for (int i = 0; i < 3000; ++i) {
    Bytes m = valid;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) m[rng() % m.size()] = static_cast<std::byte>(rng() & 0xff);
    if (rng() % 4 == 0) m.resize(rng() % m.size());
    Connection c(ctx);
    auto r = c.feed(m);
    if (!r) CHECK(c.state() == ConnState::Failed);
  }
}
