// The one place that includes wolfSSL: options.h first (it carries the build's feature macros,
// so every translation unit sees the same struct layouts), then the APIs the codec uses.
// RAII owners for wolfSSL objects. Internal to kakehi::tls (not part of the public headers).
#pragma once

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/error-ssl.h>
// clang-format on

#include <memory>

namespace kakehi::tls::detail {

struct CtxFree {
  void operator()(WOLFSSL_CTX* c) const noexcept { wolfSSL_CTX_free(c); }
};
struct SslFree {
  void operator()(WOLFSSL* s) const noexcept { wolfSSL_free(s); }
};
using CtxPtr = std::unique_ptr<WOLFSSL_CTX, CtxFree>;
using SslPtr = std::unique_ptr<WOLFSSL, SslFree>;

/// wolfSSL_Init once per process (thread-safe through a function-local static).
void ensure_init() noexcept;

}  // namespace kakehi::tls::detail
