// Backend selection and connections on one worker: load balancing over the cluster's eligible
// backends, keep-alive pools, bounded connect attempts and per-backend exponential back-off.
#include <algorithm>
#include <array>
#include <cstring>

#include "kakehi/common/log.hpp"
#include "kakehi/proxy/internal.hpp"

namespace kakehi::proxy::detail {

namespace {
constexpr uint64_t kMs = 1'000'000;

// Refreshes the balancer's input from the runtimes; `tried` backends are not eligible again.
void fill_states(ClusterRuntime& c, uint64_t now, std::span<const size_t> tried) {
  const auto& cfg = c.snap->backends;
  const uint32_t limit = c.snap->cluster.max_connections_per_backend;
  c.scratch.resize(cfg.size());
  for (size_t i = 0; i < cfg.size(); ++i) {
    const BackendRuntime& rt = *c.backends[i];
    BackendState& s = c.scratch[i];
    s.id = cfg[i].id;
    s.sticky_id = cfg[i].sticky_id ? std::string_view(*cfg[i].sticky_id) : std::string_view{};
    s.weight = cfg[i].weight;
    s.backup = cfg[i].backup;
    s.active_connections = rt.active;
    s.up = rt.up(now) && (limit == 0 || rt.active < limit) &&
           std::find(tried.begin(), tried.end(), i) == tried.end();
  }
}
}  // namespace

std::optional<size_t> WorkerCtx::pick(ClusterRuntime& c, std::string_view sticky_id,
                                      std::span<const size_t> tried) {
  fill_states(c, worker.now(), tried);
  std::optional<size_t> idx;
  if (!sticky_id.empty()) idx = find_sticky(c.scratch, sticky_id);
  if (!idx) idx = c.lb.pick(c.scratch, rng);
  return idx;
}

bool WorkerCtx::connect_failed(BackendRuntime& b, net::Errno e) {
  ++stats.connect_failures;
  if (net::is_local_resource_error(e)) {
    // Our shortage, not the backend's failure: marking it down would turn a moment without
    // file descriptors into seconds of 503s after they are back.
    ++stats.local_connect_failures;
    log::warn_throttled(local_failure_log, worker.now(),
                        "cannot connect to backend {}: {} (backend not marked down)", b.key,
                        std::strerror(e));
    return false;
  }
  if (++b.consecutive_failures >= opts.failures_before_down) {
    const uint32_t extra = std::min(b.consecutive_failures - opts.failures_before_down, 16u);
    const uint64_t backoff =
        std::min(uint64_t{opts.backoff_base_ms} << extra, uint64_t{opts.backoff_max_ms});
    b.down_until_ns = worker.now() + backoff * kMs;
    log::warn("backend {} down for {} ms after {} connect failures ({})", b.key, backoff,
              b.consecutive_failures, std::strerror(e));
  }
  return true;
}

runtime::Task<std::optional<WorkerCtx::Lease>> WorkerCtx::acquire(ClusterRuntime& c,
                                                                  std::string_view sticky_id,
                                                                  uint32_t connect_timeout_ms,
                                                                  bool allow_pooled,
                                                                  std::string_view proxy_header) {
  constexpr uint32_t kMaxAttempts = 16;
  std::array<size_t, kMaxAttempts> tried;  // backends already tried for this request
  const uint32_t attempts = std::clamp(opts.connect_attempts, 1u, kMaxAttempts);
  for (uint32_t attempt = 0; attempt < attempts; ++attempt) {
    const uint64_t now = worker.now();
    std::optional<size_t> idx =
        pick(c, attempt == 0 ? sticky_id : std::string_view{}, std::span(tried.data(), attempt));
    if (!idx) co_return std::nullopt;
    BackendPtr b = c.backends[*idx];
    tried[attempt] = *idx;
    if (allow_pooled && proxy_header.empty()) {
      while (!b->idle.empty()) {
        BackendRuntime::Idle it = std::move(b->idle.back());
        b->idle.pop_back();
        // Too old, or the backend already closed it (or sent something unasked): closed.
        if (now - it.since_ns > uint64_t{opts.backend_idle_timeout_ms} * kMs) continue;
        if (it.stream.is_tls() ? !co_await it.stream.absorb() : it.stream.has_pending_input())
          continue;
        ++b->active;
        ++stats.backend_reuses;
        co_return Lease{b, std::move(it.stream), true, *idx};
      }
    }
    auto r = co_await connect(*b, connect_timeout_ms, false, proxy_header);
    if (r) {
      connect_succeeded(*b);
      ++b->active;
      co_return Lease{b, std::move(*r), false, *idx, !proxy_header.empty()};
    }
    if (!connect_failed(*b, r.error())) break;  // our shortage: every backend would fail alike
  }
  co_return std::nullopt;
}

runtime::Task<Result<BackendStream, net::Errno>> WorkerCtx::connect(BackendRuntime& b,
                                                                    uint32_t connect_timeout_ms,
                                                                    bool require_h2,
                                                                    std::string_view proxy_header) {
  ++stats.backend_connects;
  const uint64_t deadline = worker.now() + uint64_t{connect_timeout_ms} * kMs;
  auto r = co_await net::TcpStream::connect(worker, b.address, uint64_t{connect_timeout_ms} * kMs);
  if (!r) co_return Unexpected(r.error());
  if (!proxy_header.empty()) {
    auto sent = co_await r->write_all(std::as_bytes(std::span(proxy_header)));
    if (!sent) {
      co_await r->close();
      co_return Unexpected(sent.error());
    }
  }
  if (!b.tls) co_return BackendStream(std::move(*r));
  auto t = std::make_unique<BackendTlsStream>(std::move(*r), b.tls, worker.pool());
  if (!co_await t->handshake(deadline)) {
    ++stats.backend_tls_failures;
    if (t->connection().state() == tls::ConnState::Failed)
      log::warn("backend {}: TLS: {}", b.key, t->connection().error().reason);
    co_await t->close();
    co_return Unexpected(EPROTO);
  }
  ++stats.backend_tls_handshakes;
  if (require_h2 && t->connection().handshake().alpn != "h2") {
    // An HTTP/2 cluster's backend that does not speak h2 over TLS would misread the preface.
    log::warn("backend {}: TLS: ALPN \"h2\" not selected (\"{}\")", b.key,
              t->connection().handshake().alpn);
    co_await t->close();
    co_return Unexpected(ENOPROTOOPT);
  }
  co_return BackendStream(std::move(t));
}

runtime::Task<std::optional<BackendStream>> WorkerCtx::reconnect(BackendRuntime& b,
                                                                 uint32_t connect_timeout_ms,
                                                                 std::string_view proxy_header) {
  auto r = co_await connect(b, connect_timeout_ms, false, proxy_header);
  if (!r) {
    ++stats.connect_failures;
    if (net::is_local_resource_error(r.error())) ++stats.local_connect_failures;
    co_return std::nullopt;
  }
  co_return std::move(*r);
}

buffer::Slice WorkerCtx::compact(buffer::Slice big) {
  constexpr uint32_t kMaxCompact = 2048;
  // After shutdown() no slab is kept: this context outlives the worker's buffer pool.
  if (big.size() > kMaxCompact || shut_down_) return big;
  if (slab_.empty() || slab_.size() - slab_used_ < big.size()) {
    auto fresh = worker.pool().acquire();
    if (!fresh) return big;
    slab_ = std::move(*fresh);  // the old slab returns to the pool with its last head
    slab_used_ = 0;
  }
  std::memcpy(const_cast<std::byte*>(slab_.data()) + slab_used_, big.data(), big.size());
  buffer::Slice out = slab_.sub(slab_used_, big.size());
  slab_used_ += (big.size() + 63) & ~63u;
  return out;
}

void WorkerCtx::release(Lease& lease, bool reusable, std::optional<Lease>* keep) {
  BackendRuntime& b = *lease.backend;
  if (b.active > 0) --b.active;
  const bool healthy = reusable && !b.retired && !draining && lease.stream.is_open() &&
                       lease.stream.queued_buffers() == 0;
  if (healthy && lease.dedicated && keep) {
    *keep = std::move(lease);
    return;
  }
  if (healthy && !lease.dedicated && b.idle.size() < opts.max_idle_per_backend)
    b.idle.push_back({std::move(lease.stream), worker.now()});
  lease.stream = BackendStream{};  // closes when not pooled
}

runtime::Task<std::optional<WorkerCtx::Lease>> WorkerCtx::resume(ClusterRuntime& c,
                                                                 std::string_view sticky_id,
                                                                 Lease own) {
  BackendRuntime& b = *own.backend;
  const auto at = std::find(c.backends.begin(), c.backends.end(), own.backend);
  if (at == c.backends.end() || b.retired || !b.up(worker.now())) co_return std::nullopt;
  const auto i = static_cast<size_t>(at - c.backends.begin());
  const config::Backend& cfg = c.snap->backends[i];
  if (!sticky_id.empty() && sticky_id != (cfg.sticky_id ? *cfg.sticky_id : cfg.id))
    co_return std::nullopt;
  if (own.stream.is_tls() ? !co_await own.stream.absorb() : own.stream.has_pending_input())
    co_return std::nullopt;  // closed by the backend meanwhile (or it sent something unasked)
  own.index = i;
  own.reused = true;
  ++b.active;
  ++stats.backend_reuses;
  co_return std::move(own);
}

}  // namespace kakehi::proxy::detail
