// Fuzz target tls_server: a server tls::Connection (default context, one ECDSA P-256 test
// certificate) fed the input in chunks whose sizes come from the input, its output drained after
// each feed. The committed seeds are real ClientHellos captured from `openssl s_client` (TLS 1.3
// and 1.2, with and without SNI and ALPN, several groups, and a TLS 1.1 hello that must be
// refused). Whatever the bytes: an error or more-input, never a crash or a leak (ASan replay).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "kakehi/tls/connection.hpp"
#include "kakehi/tls/context.hpp"
#include "kakehi/tls/resolver.hpp"

using namespace kakehi;

namespace {

// A self-signed test certificate made for this target with the openssl CLI (valid 2026-2126).
constexpr const char* kCert = R"(-----BEGIN CERTIFICATE-----
MIIBljCCATugAwIBAgIUDfVs0wWSNlctHEJ07pP74PiVIxAwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJZnV6ei50ZXN0MCAXDTI2MTEyNzA4MTc1MVoYDzIxMjYxMTAz
MDgxNzUxWjAUMRIwEAYDVQQDDAlmdXp6LnRlc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQAX9pOAirJhPcfMWZOGyv4gXV+M+BOUazzxbxqV21mULj6j6roGQ5Z
TCOJkon1RvrFhE0+88cfLAtX0FomNvfeo2kwZzAdBgNVHQ4EFgQUhMg70A09GOa9
AtXPhHKrKKRbSMEwHwYDVR0jBBgwFoAUhMg70A09GOa9AtXPhHKrKKRbSMEwDwYD
VR0TAQH/BAUwAwEB/zAUBgNVHREEDTALgglmdXp6LnRlc3QwCgYIKoZIzj0EAwID
SQAwRgIhAPZNiSYtZDvrbVIiycShJfa/xQPBaP/6NcaCVBXkpxCEAiEA/Sdk2Q+3
SHpXPHnApypwgIopUlIIejMKvtci+Z5BOxc=
-----END CERTIFICATE-----)";
constexpr const char* kKey = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5VWJkUGr9ZriX5Jq
1bh3Gx+6iGAGME6ojq6ryNQ13pehRANCAAQAX9pOAirJhPcfMWZOGyv4gXV+M+BO
UazzxbxqV21mULj6j6roGQ5ZTCOJkon1RvrFhE0+88cfLAtX0FomNvfe
-----END PRIVATE KEY-----)";
constexpr int64_t kNow = 1'800'000'000;  // 2027-01-15, inside the certificate's validity

std::shared_ptr<tls::Context> make_context() {
  auto ctx = tls::Context::create({});
  if (!ctx) std::abort();
  auto cert = (*ctx)->load_certificate({kCert, kKey, {}}, kNow);
  if (!cert) std::abort();
  (*ctx)->set_resolver(std::make_shared<const tls::CertificateResolver>()->with("fuzz", *cert));
  return *ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<tls::Context> ctx = make_context();
  tls::Connection conn(ctx);
  size_t chunk = size == 0 ? 1 : 1 + data[0] % 97;  // 1..97 bytes per feed, or all at once
  if (size > 0 && data[0] % 5 == 0) chunk = size;
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  while (!in.empty()) {
    const size_t n = std::min(chunk, in.size());
    auto r = conn.feed(in.first(n));
    in = in.subspan(n);
    conn.consume_output(conn.output().size());
    if (!r) break;
    conn.consume_plaintext(conn.plaintext().size());
    if (conn.state() == tls::ConnState::Open) {
      const std::byte reply[] = {std::byte{'o'}, std::byte{'k'}};
      (void)conn.write(reply);
      conn.consume_output(conn.output().size());
    }
  }
  return 0;
}
