// Which wolfSSL the build links: the subproject built from Debian's source package must carry
// its fast paths (AES-NI, SP x86-64 assembly; docs/tls.md), the packaged fallback has neither.
#include <doctest/doctest.h>

#include <cctype>

#include "kakehi/tls/context.hpp"

using namespace kakehi;

TEST_CASE("tls library: the build's wolfSSL reports its version and fast paths") {
  const auto info = tls::library_info();
  MESSAGE("wolfSSL " << info.version << " aesni=" << info.aesni << " sp_asm=" << info.sp_asm);
  REQUIRE_FALSE(info.version.empty());
  CHECK(std::isdigit(static_cast<unsigned char>(info.version[0])));
  // Built from source by scripts/bootstrap: both, else TLS would run at the packaged speed.
  // The system package (the fallback) has neither.
  CHECK(info.aesni == static_cast<bool>(KAKEHI_WOLFSSL_FROM_SOURCE));
  CHECK(info.sp_asm == static_cast<bool>(KAKEHI_WOLFSSL_FROM_SOURCE));
}
