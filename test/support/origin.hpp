// Real origin servers for the integration tests: an HTTP/1.1 server on Boost.Beast (with a
// WebSocket echo) and a TCP echo server, both on 127.0.0.1 port 0, one thread per connection,
// stoppable from any thread. Independent of kakehi's own codecs on purpose: a second HTTP
// implementation is what keeps the proxy honest. Test-only code: it may throw and allocate.
//
// HTTP endpoints (any method; a request body is always read, streaming, and discarded unless
// the endpoint uses it, except by /reject/N):
//   /bytes/N     200, Content-Length N, body = pattern bytes [0, N)
//   /chunked/N   200, Transfer-Encoding: chunked, same body in chunks of at most 64 KiB
//   /upload      200, body "<length> <fnv1a64 hex>" of the request body (also X-Body-Length)
//   /slow/MS     answers like /id after MS milliseconds
//   /close       reads the request, closes the connection without answering
//   /reject/N    status N, body "rejected\n" and Connection: close at once, before any body
//                byte is read; then closes (an early response)
//   /status/N    status N, body "status N" (no body for 1xx/204/304)
//   /cookie/K=V  like /id plus `Set-Cookie: K=V; Path=/`
//   /ws          WebSocket echo (text and binary), when the request is an upgrade
//   anything else (including /id): 200, body = the origin's name
// Every response carries X-Origin (the name), X-Conn (the connection's serial, from 1) and the
// seen request fields X-Seen-Method, X-Seen-Host, X-Seen-Path (the whole target),
// X-Seen-Forwarded-For, X-Seen-Forwarded-Proto, X-Seen-Forwarded, X-Seen-Via, X-Seen-Cookie
// (empty when absent). Keep-alive follows the request (HTTP/1.1 default, Connection: close).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace kakehi::test {

/// The deterministic body pattern: byte `i` of every /bytes and /chunked body.
[[nodiscard]] inline uint8_t pattern_byte(uint64_t i) noexcept {
  return static_cast<uint8_t>((i * 131u) ^ (i >> 9) ^ (i >> 17) ^ (i >> 29));
}
/// Writes pattern bytes [offset, offset + out.size()) into `out`.
void fill_pattern(uint64_t offset, std::span<char> out) noexcept;

/// FNV-1a, 64 bits.
struct Fnv64 {
  uint64_t h = 0xcbf29ce484222325ull;
  void update(const void* data, size_t n) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  }
};
/// FNV-1a of pattern bytes [0, n).
[[nodiscard]] uint64_t pattern_fnv(uint64_t n);
/// 16 lowercase hex digits.
[[nodiscard]] std::string hex64(uint64_t v);

class HttpOrigin {
 public:
  /// Binds 127.0.0.1:0 and starts accepting (throws on failure).
  explicit HttpOrigin(std::string name);
  /// Stops (closes every connection) and joins every thread.
  ~HttpOrigin();
  HttpOrigin(const HttpOrigin&) = delete;
  HttpOrigin& operator=(const HttpOrigin&) = delete;

  [[nodiscard]] uint16_t port() const noexcept;
  /// "127.0.0.1:<port>"
  [[nodiscard]] std::string address() const;
  [[nodiscard]] const std::string& name() const noexcept;

  /// Request heads read (all endpoints).
  [[nodiscard]] uint64_t requests() const noexcept;
  /// Connections accepted.
  [[nodiscard]] uint64_t connections() const noexcept;
  /// Connections open now.
  [[nodiscard]] uint64_t active_connections() const noexcept;
  /// Requests being handled now (head read, response not fully written).
  [[nodiscard]] uint64_t in_flight() const noexcept;

  /// Stops accepting and closes every connection; idempotent.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// TCP echo with half-close: echoes every byte as it arrives; after reading EOF it has written
/// everything, then shuts down its write side and closes.
class TcpEchoOrigin {
 public:
  TcpEchoOrigin();
  ~TcpEchoOrigin();
  TcpEchoOrigin(const TcpEchoOrigin&) = delete;
  TcpEchoOrigin& operator=(const TcpEchoOrigin&) = delete;

  [[nodiscard]] uint16_t port() const noexcept;
  [[nodiscard]] std::string address() const;
  [[nodiscard]] uint64_t connections() const noexcept;
  /// Connections that saw the peer's EOF and answered it with their own shutdown.
  [[nodiscard]] uint64_t half_closes() const noexcept;
  [[nodiscard]] uint64_t bytes_echoed() const noexcept;
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kakehi::test
