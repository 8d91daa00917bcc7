// Proxy: what an embedding program uses (ARCHITECTURE §3 layer 7). It owns N workers, each
// running a config actor and the sessions of its SO_REUSEPORT listeners. `apply` validates a
// diff once on the control plane (config::apply_and_answer), opens the sockets of new listeners
// (so a bind failure rejects the whole diff before anything changes), then broadcasts the new
// immutable snapshot to every worker and returns one answer per request id once every worker
// has swapped it in. Sessions keep the snapshot they started a request with: nothing in flight
// is cut by a change; removed listeners stop accepting and their sessions drain.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "kakehi/config/request.hpp"
#include "kakehi/runtime/worker.hpp"

namespace kakehi::proxy {

/// Worker defaults for a proxy: a quarter of the pool is kept for writers (heads, chunk framing).
inline runtime::WorkerOptions proxy_worker_defaults() {
  runtime::WorkerOptions o;
  o.write_reserve = o.buffer_count / 4;
  return o;
}

struct ProxyOptions {
  size_t workers = 1;
  runtime::WorkerOptions worker = proxy_worker_defaults();
  /// Idle keep-alive connections kept per backend address per worker (beyond: closed).
  uint32_t max_idle_per_backend = 1024;
  /// An idle pooled backend connection older than this is closed instead of reused.
  uint32_t backend_idle_timeout_ms = 30'000;
  /// Backends tried for one request when connecting fails (then 503).
  uint32_t connect_attempts = 3;
  /// After this many consecutive connect failures a backend is marked down for a back-off that
  /// starts at `backoff_base_ms` and doubles up to `backoff_max_ms`.
  uint32_t failures_before_down = 3;
  uint32_t backoff_base_ms = 500;
  uint32_t backoff_max_ms = 30'000;
  /// Forwarding headers (X-Forwarded-*, Forwarded) added to requests.
  bool forwarding_headers = true;
  /// Name used in Via; empty: no Via.
  std::string via;
};

/// Counters summed over the workers (each worker keeps its own, no atomics on the data path).
struct ProxyStats {
  uint64_t accepted = 0;                ///< client connections accepted
  uint64_t active_sessions = 0;         ///< client connections open now
  uint64_t requests = 0;                ///< HTTP requests whose head was parsed
  uint64_t responses[6] = {};           ///< by status class: [1]=1xx ... [5]=5xx ([0] unused)
  uint64_t answers = 0;                 ///< responses synthesized by the proxy (404, 502, ...)
  uint64_t backend_connects = 0;        ///< new backend connections opened
  uint64_t backend_reuses = 0;          ///< requests sent on a pooled keep-alive connection
  uint64_t connect_failures = 0;        ///< backend connect attempts that failed
  uint64_t local_connect_failures = 0;  ///< of which for want of fds/memory/ports (no blame)
  uint64_t stale_retries = 0;           ///< requests re-sent after a pooled connection failed early
  uint64_t upgrades = 0;                ///< WebSocket / upgrade tunnels established
  uint64_t tcp_sessions = 0;            ///< TCP listener sessions
  uint64_t tls_handshakes = 0;          ///< TLS handshakes completed on HTTPS listeners
  uint64_t tls_resumed = 0;             ///< of which resumed (ticket or session id)
  uint64_t tls_handshake_failures = 0;  ///< refused by the TLS layer (an alert was sent)
  uint64_t tls_failures_by_reason[8] = {};  ///< the same, by tls::TlsErrorCode
  uint64_t tls_handshakes_abandoned = 0;    ///< timed out, or the client left before the end
  uint64_t backend_tls_handshakes = 0;      ///< TLS handshakes with backends that succeeded
  uint64_t backend_tls_failures = 0;        ///< failed (verification included) or timed out
  uint64_t h2_connections = 0;              ///< HTTP/2 client connections (h2c and h2 over TLS)
  uint64_t h2_streams = 0;                  ///< HTTP/2 request streams opened by clients
  uint64_t h2_client_resets = 0;            ///< streams the clients reset (RST_STREAM)
  uint64_t h2_flood_trips = 0;         ///< connections ended for a flood limit (ENHANCE_YOUR_CALM)
  uint64_t h2_protocol_errors = 0;     ///< connections ended for another protocol error
  uint64_t proxy_headers = 0;          ///< PROXY protocol headers accepted (accept_proxy_protocol)
  uint64_t proxy_header_failures = 0;  ///< connections closed for an invalid or missing one
  ProxyStats& operator+=(const ProxyStats& o);
};

class Proxy {
 public:
  /// Starts the workers (throws runtime::RuntimeStartError when a ring cannot be created).
  explicit Proxy(ProxyOptions opts = {});
  /// Stops immediately (see drain() for a graceful end).
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  /// Applies `diff` all or nothing and returns one answer per request, in order (queries are
  /// answered from the resulting state). Blocks until every worker runs the new snapshot. Safe
  /// from any thread except a worker's; calls are serialized.
  std::vector<config::Answer> apply(std::vector<config::Request> diff);
  /// Same, without blocking the caller.
  std::future<std::vector<config::Answer>> apply_async(std::vector<config::Request> diff);

  /// The current configuration (a copy).
  config::State state() const;
  ProxyStats stats();
  size_t worker_count() const noexcept;

  /// Graceful end: every listener stops accepting, idle keep-alive connections are closed,
  /// requests in flight finish (their connections close after the response). Returns the number
  /// of client connections still open when `deadline` passed (0: fully drained).
  size_t drain(std::chrono::milliseconds deadline);
  /// Stops every worker now (connections are closed). Idempotent.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kakehi::proxy
