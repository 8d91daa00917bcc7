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

#include <cstddef>
#include <memory>
#include <span>
#include <string>

namespace kakehi::tls {
class ByteQueue;
struct OutputSink;
struct PlaintextSink;
enum class TlsVersion;
}  // namespace kakehi::tls

namespace kakehi::tls::detail {

/// wolfSSL's receive callback over memory, for both engines: bytes kept from earlier feeds
/// (`pending`) first, then the current feed's `input`; WANT_READ when both are empty.
int memory_recv(ByteQueue& pending, std::span<const std::byte>& input, char* buf, int sz) noexcept;
/// wolfSSL's send callback over memory: the records go to `sink` when it is set, else to `out`.
int memory_send(ByteQueue& out, const OutputSink& sink, const char* buf, int sz) noexcept;
/// wolfSSL_read for both engines: into the sink's room while `plain` is empty and the sink has
/// some, else into `plain`. Returns wolfSSL_read's result.
int read_plaintext(WOLFSSL* ssl, ByteQueue& plain, const PlaintextSink& sink);
/// Minimum version and suites of a new context, server or client; the error text, or "".
std::string set_version_and_suites(WOLFSSL_CTX* c, TlsVersion min, const std::string& suites);

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
