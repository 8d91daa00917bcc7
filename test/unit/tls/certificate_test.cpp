// Certificate loading and validation with certificates made by the openssl CLI.
#include <doctest/doctest.h>

#include "kakehi/tls/context.hpp"
#include "tls_support.hpp"

using namespace kakehi;
using namespace kakehi::tls;
using kakehi::test::certs;
using kakehi::test::now_unix;

namespace {

std::shared_ptr<Context> context() {
  auto c = Context::create({});
  REQUIRE(c);
  return *c;
}

CertErrorCode load_error(const CertificateSource& s, std::int64_t now = now_unix()) {
  auto r = context()->load_certificate(s, now);
  REQUIRE_FALSE(r);
  MESSAGE(to_string(r.error().code), ": ", r.error().reason);
  CHECK_FALSE(r.error().reason.empty());
  return r.error().code;
}

}  // namespace

TEST_CASE("RSA 2048 with PKCS#8 and PKCS#1 keys: names from the SAN") {
  for (const char* key : {"rsa.key", "rsa-pkcs1.key"}) {
    auto r = context()->load_certificate(certs().source("rsa", key), now_unix());
    REQUIRE_MESSAGE(r, std::string(key), ": ", (r ? "" : r.error().reason));
    CHECK((*r)->key() == KeyKind::Rsa);
    CHECK((*r)->names() == std::vector<std::string>{"rsa.test", "www.rsa.test"});
    CHECK((*r)->not_after() > now_unix() + 29 * 86400);
    CHECK((*r)->not_before() <= now_unix());
    CHECK((*r)->chain_length() == 1);
  }
}

TEST_CASE("ECDSA P-256 with SEC1 and PKCS#8 keys, P-384") {
  for (const char* key : {"p256.key", "p256-sec1.key"}) {
    auto r = context()->load_certificate(certs().source("p256", key), now_unix());
    REQUIRE_MESSAGE(r, std::string(key), ": ", (r ? "" : r.error().reason));
    CHECK((*r)->key() == KeyKind::EcdsaP256);
  }
  CHECK(kakehi::test::slurp(certs().file("p256-sec1.key")).find("BEGIN EC PRIVATE KEY") !=
        std::string::npos);
  CHECK(kakehi::test::slurp(certs().file("rsa-pkcs1.key")).find("BEGIN RSA PRIVATE KEY") !=
        std::string::npos);
  auto r = context()->load_certificate(certs().source("p384"), now_unix());
  REQUIRE(r);
  CHECK((*r)->key() == KeyKind::EcdsaP384);
  CHECK((*r)->names() == std::vector<std::string>{"p384.test"});
}

TEST_CASE("CN only when there is no SAN dNSName; wildcard SAN kept; explicit names win") {
  auto cn = context()->load_certificate(certs().source("cnonly"), now_unix());
  REQUIRE(cn);
  CHECK((*cn)->names() == std::vector<std::string>{"cnonly.test"});
  auto wild = context()->load_certificate(certs().source("wild"), now_unix());
  REQUIRE(wild);
  CHECK((*wild)->names() == std::vector<std::string>{"*.wild.test"});
  auto src = certs().source("p256");
  src.names = {"Explicit.Example.", "*.other.test"};
  auto ex = context()->load_certificate(src, now_unix());
  REQUIRE(ex);
  CHECK((*ex)->names() == std::vector<std::string>{"*.other.test", "explicit.example"});
}

TEST_CASE("a chain in order loads; reversed is refused") {
  auto ok = context()->load_certificate(certs().source("leaf-chain", "leaf.key"), now_unix());
  REQUIRE_MESSAGE(ok, (ok ? "" : ok.error().reason));
  CHECK((*ok)->chain_length() == 2);
  CHECK((*ok)->names() == std::vector<std::string>{"chain.test"});
  CHECK(load_error(certs().source("leaf-reversed", "leaf.key")) != CertErrorCode::Internal);
}

TEST_CASE("typed errors: garbage, bad key, mismatch, expired, not yet valid, weak") {
  CertificateSource garbage{"this is not a certificate", "nor a key", {}};
  CHECK(load_error(garbage) == CertErrorCode::Garbage);
  CertificateSource bad_b64{
      "-----BEGIN CERTIFICATE-----\n!!!notbase64@@@\n"
      "-----END CERTIFICATE-----\n",
      "",
      {}};
  CHECK(load_error(bad_b64) == CertErrorCode::Garbage);
  auto bad_key = certs().source("p256");
  bad_key.key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  CHECK(load_error(bad_key) == CertErrorCode::BadKey);
  CHECK(load_error(certs().source("p256", "p384.key")) == CertErrorCode::KeyMismatch);
  CHECK(load_error(certs().source("rsa", "p256.key")) == CertErrorCode::KeyMismatch);
  // The codec reads no clock: validity is checked against the caller's `now`.
  CHECK(load_error(certs().source("p256"), now_unix() + 31 * 86400) == CertErrorCode::Expired);
  CHECK(load_error(certs().source("p256"), now_unix() - 86400) == CertErrorCode::NotYetValid);
  CHECK(load_error(certs().source("weak")) == CertErrorCode::WeakKey);
}

TEST_CASE("X.509 times") {
  const unsigned char utc[] = {0x17, 13,  '2', '4', '0', '2', '2', '9',
                               '1',  '2', '3', '4', '5', '6', 'Z'};
  CHECK(parse_asn1_time(utc, sizeof utc) == 1709210096);  // 2024-02-29T12:34:56Z
  const unsigned char gen[] = {0x18, 15,  '2', '0', '5', '0', '0', '1', '0',
                               '1',  '0', '0', '0', '0', '0', '0', 'Z'};
  CHECK(parse_asn1_time(gen, sizeof gen) == 2524608000);  // 2050-01-01T00:00:00Z
  const unsigned char bad[] = {0x17, 13,  '2', '4', '1', '3', '2', '9',
                               '1',  '2', '3', '4', '5', '6', 'Z'};
  CHECK(parse_asn1_time(bad, sizeof bad) == -1);
  CHECK(parse_asn1_time(utc, 5) == -1);
}

TEST_CASE("Context options are validated") {
  ContextOptions o;
  o.cipher_list = "NOT-A-SUITE";
  CHECK_FALSE(Context::create(o));
  ContextOptions v;
  v.min_version = TlsVersion::Tls13;
  v.max_version = TlsVersion::Tls12;
  CHECK_FALSE(Context::create(v));
  ContextOptions a;
  a.alpn = {""};
  CHECK_FALSE(Context::create(a));
}
