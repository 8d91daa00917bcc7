// Proxy: the control plane over N workers. A diff is validated once (config::apply_and_answer),
// the sockets of new listeners are opened here (a bind failure rejects the diff before anything
// changes), then each worker's config actor (its mailbox job) installs the new immutable
// snapshot. Sessions keep the view they started a request with.
#include "kakehi/proxy/proxy.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "kakehi/common/log.hpp"
#include "kakehi/proxy/internal.hpp"
#include "kakehi/runtime/worker_group.hpp"
#include "kakehi/tls/resolver.hpp"

namespace kakehi::proxy {

ProxyStats& ProxyStats::operator+=(const ProxyStats& o) {
  accepted += o.accepted;
  active_sessions += o.active_sessions;
  requests += o.requests;
  for (int i = 0; i < 6; ++i) responses[i] += o.responses[i];
  answers += o.answers;
  backend_connects += o.backend_connects;
  backend_reuses += o.backend_reuses;
  connect_failures += o.connect_failures;
  local_connect_failures += o.local_connect_failures;
  stale_retries += o.stale_retries;
  upgrades += o.upgrades;
  tcp_sessions += o.tcp_sessions;
  tls_handshakes += o.tls_handshakes;
  tls_resumed += o.tls_resumed;
  tls_handshake_failures += o.tls_handshake_failures;
  tls_handshakes_abandoned += o.tls_handshakes_abandoned;
  h2_connections += o.h2_connections;
  h2_streams += o.h2_streams;
  h2_client_resets += o.h2_client_resets;
  h2_flood_trips += o.h2_flood_trips;
  h2_protocol_errors += o.h2_protocol_errors;
  proxy_headers += o.proxy_headers;
  proxy_header_failures += o.proxy_header_failures;
  backend_tls_handshakes += o.backend_tls_handshakes;
  backend_tls_failures += o.backend_tls_failures;
  for (size_t i = 0; i < std::size(tls_failures_by_reason); ++i)
    tls_failures_by_reason[i] += o.tls_failures_by_reason[i];
  return *this;
}

namespace detail {

std::shared_ptr<Snapshot> Snapshot::build(config::State state) {
  auto s = std::make_shared<Snapshot>();
  s->state = std::move(state);
  for (const auto& [addr, l] : s->state.listeners)
    if (l.kind != config::ListenerKind::Tcp)
      s->routers.emplace(addr, Router::build(s->state, addr));
  for (const auto& [id, c] : s->state.clusters) s->clusters[id].cluster = c;
  for (const auto& [key, b] : s->state.backends) {
    ClusterSnapshot& cs = s->clusters[b.cluster];
    cs.backends.push_back(b);
    cs.addresses.push_back(net::Address::parse(b.address).value_or(net::Address{}));
  }
  return s;
}

const ClusterSnapshot* Snapshot::cluster(std::string_view id) const {
  auto it = clusters.find(std::string(id));
  return it == clusters.end() ? nullptr : &it->second;
}

const config::Listener* Snapshot::listener(std::string_view address) const {
  auto it = state.listeners.find(std::string(address));
  return it == state.listeners.end() ? nullptr : &it->second;
}

ClusterRuntime* View::cluster(std::string_view id) {
  auto it = clusters.find(id);
  return it == clusters.end() ? nullptr : &it->second;
}

void WorkerCtx::install(SnapshotPtr snap, const std::map<std::string, int>& new_fds) {
  auto v = std::make_shared<View>();
  v->snap = snap;
  std::set<std::string> configured;
  for (const auto& [id, cs] : snap->clusters) {
    ClusterRuntime cr;
    cr.snap = &cs;
    cr.lb = LoadBalancer(cs.cluster.lb);
    if (view) {  // keep the round-robin position across diffs
      if (ClusterRuntime* old = view->cluster(id);
          old && old->lb.algorithm() == cs.cluster.lb && old->backends.size() == cs.backends.size())
        cr.lb = old->lb;
    }
    for (size_t i = 0; i < cs.backends.size(); ++i) {
      // A TLS cluster's backends have pools of their own (their connections carry its TLS).
      const std::string key =
          cs.tls ? "tls:" + cs.cluster.id + "@" + cs.backends[i].address : cs.backends[i].address;
      configured.insert(key);
      BackendPtr& b = backends[key];
      if (!b) {
        b = std::make_shared<BackendRuntime>();
        b->address = cs.addresses[i];
        b->key = key;
      }
      if (b->tls != cs.tls) {  // new TLS settings: pooled connections used the old ones
        b->tls = cs.tls;
        b->idle.clear();
      }
      cr.backends.push_back(b);
    }
    v->clusters.emplace(std::string_view(cs.cluster.id), std::move(cr));
  }
  for (auto it = backends.begin(); it != backends.end();) {
    if (configured.count(it->first)) {
      ++it;
      continue;
    }
    it->second->retired = true;  // sessions using it finish; nothing goes back to its pool
    it->second->idle.clear();
    it = backends.erase(it);
  }
  view = std::move(v);

  for (auto it = listeners.begin(); it != listeners.end();) {
    const config::Listener* l = snap->listener(it->first);
    if (l && l->active && l->kind == it->second->kind) {
      ++it;
      continue;
    }
    it->second->removed = true;
    it->second->socket->close();
    close_idle(it->second.get());
    it = listeners.erase(it);
  }
  for (const auto& [addr, fd] : new_fds) {
    auto l = std::make_shared<ListenerRt>();
    l->address = addr;
    l->port = net::Address::parse(addr).value_or(net::Address{}).port();
    l->kind = snap->listener(addr)->kind;
    l->socket = std::make_unique<net::TcpListener>(net::TcpListener::adopt(worker, fd));
    listeners[addr] = l;
    worker.spawn(accept_loop(*this, l));
  }
}

void WorkerCtx::start_drain() {
  draining = true;
  for (auto& [addr, l] : listeners) {
    l->removed = true;
    l->socket->close();
  }
  listeners.clear();
  for (auto& [key, b] : backends) b->idle.clear();
  close_idle(nullptr);
}

void WorkerCtx::shutdown() {
  start_drain();
  sessions.for_each([](SessionLink& s) { ::shutdown(s.fd, SHUT_RDWR); });
  view.reset();
  backends.clear();
  slab_ = {};
  shut_down_ = true;
}

void WorkerCtx::close_idle(const ListenerRt* l) {
  sessions.for_each([l](SessionLink& s) {
    if (l && s.listener != l) return;
    if (s.drain)
      s.drain(&s);
    else if (s.idle)
      ::shutdown(s.fd, SHUT_RDWR);  // the session's recv sees the end and returns
  });
}

}  // namespace detail

using detail::WorkerCtx;

namespace {
// Every ticket_lifetime / 2 (the TLS layer's default lifetime is 2 h), each HTTPS listener's
// ticket keys rotate; the previous keys still decrypt (docs/tls.md). Runs on worker 0.
runtime::Task<void> rotate_ticket_keys(WorkerCtx& w) {
  constexpr uint64_t kEvery = 3600ull * 1'000'000'000;
  for (;;) {
    co_await runtime::sleep_for(kEvery);
    if (w.draining || !w.view) co_return;
    for (auto& [addr, ctx] : w.view->snap->tls_contexts) ctx->rotate_ticket_keys();
  }
}

}  // namespace

struct Proxy::Impl {
  ProxyOptions opts;
  runtime::WorkerGroup group;
  std::vector<std::unique_ptr<WorkerCtx>> ctxs;
  mutable std::mutex mu;  // serializes apply/drain/stop; guards the fields below
  config::State state;
  std::map<std::string, config::ListenerKind> bound;  // listeners with sockets on the workers
  // HTTPS listeners: the context built from their settings and the certificates it serves.
  struct TlsListener {
    config::ListenerTls settings;
    std::shared_ptr<tls::Context> ctx;
    std::map<std::string, config::Certificate> certs;
    std::shared_ptr<const tls::CertificateResolver> resolver;  // published with the snapshot
  };
  std::map<std::string, TlsListener> tls;
  struct BackendTls {
    config::BackendTls settings;
    std::shared_ptr<const tls::ClientContext> ctx;
  };
  std::map<std::string, BackendTls> backend_tls;  // by cluster id
  bool stopped = false;

  explicit Impl(ProxyOptions o)
      : opts(std::move(o)), group(std::max<size_t>(1, opts.workers), opts.worker) {
    ctxs.resize(group.size());
    std::random_device rd;
    const uint64_t seed = (uint64_t{rd()} << 32) ^ rd();
    group
        .broadcast<int>([this, seed](runtime::Worker& w, size_t i) -> runtime::Task<int> {
          ctxs[i] = std::make_unique<WorkerCtx>(w, opts, seed + i * 0x9E3779B97F4A7C15ull);
          ctxs[i]->install(detail::Snapshot::build({}), {});
          if (i == 0) w.spawn(rotate_ticket_keys(*ctxs[0]));
          co_return 0;
        })
        .get();
  }

  // Runs `fn` on every worker's context and waits.
  template <class R, class Fn>
  std::vector<R> on_workers(Fn fn) {
    return group
        .broadcast<R>(
            [this, fn](runtime::Worker&, size_t i) -> runtime::Task<R> { co_return fn(*ctxs[i]); })
        .get();
  }

  std::vector<config::Answer> apply(std::vector<config::Request> diff);
  void shutdown_workers();
};

namespace {
bool serves(const config::Listener& l) { return l.active; }

tls::ContextOptions context_options(const config::ListenerTls& t) {
  tls::ContextOptions o;
  auto version = [](const std::string& v) {
    return v == "1.3" ? tls::TlsVersion::Tls13 : tls::TlsVersion::Tls12;
  };
  o.min_version = version(t.min_version);
  o.max_version = version(t.max_version);
  if (!t.cipher_list.empty()) o.cipher_list = t.cipher_list;
  if (!t.groups.empty()) {
    o.groups.clear();
    for (const std::string& g : t.groups)
      o.groups.push_back(g == "x25519" ? tls::Group::X25519
                         : g == "p256" ? tls::Group::P256
                                       : tls::Group::P384);
  }
  o.alpn = t.alpn;
  o.unknown_sni = t.reject_unknown_sni ? tls::UnknownSni::Reject : tls::UnknownSni::UseDefault;
  o.session_tickets = t.session_tickets;
  return o;
}

// The index of the request that added or updated certificate `id`, if any.
std::optional<size_t> request_for_certificate(const std::vector<config::Request>& diff,
                                              const std::string& id) {
  for (size_t i = 0; i < diff.size(); ++i) {
    if (auto* a = std::get_if<config::AddCertificate>(&diff[i].body); a && a->certificate.id == id)
      return i;
    if (auto* u = std::get_if<config::UpdateCertificate>(&diff[i].body);
        u && u->certificate.id == id)
      return i;
  }
  return std::nullopt;
}

// The index of the request that introduced listener `addr` (its error names it).
size_t request_for_listener(const std::vector<config::Request>& diff, const std::string& addr) {
  for (size_t i = 0; i < diff.size(); ++i) {
    if (auto* a = std::get_if<config::AddListener>(&diff[i].body); a && a->listener.address == addr)
      return i;
    if (auto* u = std::get_if<config::UpdateListener>(&diff[i].body);
        u && u->listener.address == addr)
      return i;
  }
  return 0;
}
}  // namespace

std::vector<config::Answer> Proxy::Impl::apply(std::vector<config::Request> diff) {
  std::lock_guard lock(mu);
  config::DiffOutcome out = config::apply_and_answer(state, diff);
  if (!out.state) return std::move(out.answers);
  if (stopped) {
    for (auto& a : out.answers) {
      a.status = config::AnswerStatus::Error;
      a.message = "the proxy is stopping";
      a.payload.reset();
    }
    return std::move(out.answers);
  }
  config::State next = std::move(*out.state);
  // The whole diff fails; request `bad` carries the reason, the others name it.
  auto reject = [&](size_t bad, const std::string& why) {
    for (size_t j = 0; j < out.answers.size(); ++j) {
      out.answers[j].payload.reset();
      out.answers[j].status = config::AnswerStatus::Error;
      out.answers[j].message = j == bad ? "request \"" + diff[j].id + "\": " + why
                                        : "not applied: request \"" + diff[bad].id + "\" failed";
    }
    return std::move(out.answers);
  };

  // TLS towards backends: one client context per cluster, reused while its settings stay.
  std::map<std::string, BackendTls> next_backend_tls;
  for (const auto& [id, c] : next.clusters) {
    if (!c.backend_tls.enabled) continue;
    // An HTTP/2 cluster offers "h2" unless it names its protocols (validation requires "h2"
    // among them then); connections where the backend selects anything else fail (backends.cpp).
    config::BackendTls settings = c.backend_tls;
    if (settings.alpn.empty() && c.backend_protocol == config::BackendProtocol::Http2)
      settings.alpn = {"h2"};
    if (auto it = backend_tls.find(id);
        it != backend_tls.end() && it->second.settings == settings) {
      next_backend_tls.emplace(id, it->second);
      continue;
    }
    tls::ClientOptions o;
    o.verify = settings.verify;
    o.ca_pem = settings.ca_pem;
    o.server_name = settings.server_name;
    o.alpn = settings.alpn;
    auto ctx = tls::ClientContext::create(std::move(o));
    if (!ctx) {
      size_t bad = 0;
      for (size_t i = 0; i < diff.size(); ++i) {
        const config::Cluster* rc = nullptr;
        if (auto* a = std::get_if<config::AddCluster>(&diff[i].body)) rc = &a->cluster;
        if (auto* u = std::get_if<config::UpdateCluster>(&diff[i].body)) rc = &u->cluster;
        if (rc && rc->id == id) bad = i;
      }
      return reject(bad, "cluster \"" + id + "\": backend_tls: " + ctx.error());
    }
    next_backend_tls.emplace(id, BackendTls{std::move(settings), *ctx});
  }

  // TLS: build what HTTPS listeners serve (contexts, certificates) before any change; nothing
  // is published until the whole diff succeeded.
  std::map<std::string, TlsListener> next_tls;
  const int64_t now_unix = static_cast<int64_t>(std::time(nullptr));
  for (const auto& [addr, l] : next.listeners) {
    if (l.kind != config::ListenerKind::Https) continue;
    const auto cur_it = tls.find(addr);
    const TlsListener* cur = cur_it == tls.end() ? nullptr : &cur_it->second;
    TlsListener t;
    t.settings = l.tls;
    if (!l.http2.enabled) std::erase(t.settings.alpn, "h2");  // HTTP/2 off: not offered
    const bool reuse = cur && cur->settings == t.settings;    // tickets and sessions carry over
    if (reuse) {
      t.ctx = cur->ctx;
      t.resolver = cur->resolver;
    } else {
      auto ctx = tls::Context::create(context_options(t.settings));
      if (!ctx)
        return reject(request_for_listener(diff, addr), "listener " + addr + ": " + ctx.error());
      t.ctx = *ctx;
      t.resolver = std::make_shared<const tls::CertificateResolver>();
    }
    for (const auto& [id, cert] : next.certificates) {
      if (cert.listener != addr) continue;
      t.certs.emplace(id, cert);
      if (reuse)
        if (auto it = cur->certs.find(id); it != cur->certs.end() && it->second == cert) continue;
      auto loaded =
          t.ctx->load_certificate({cert.certificate_chain_pem, cert.key_pem, cert.names}, now_unix);
      if (!loaded)
        return reject(request_for_certificate(diff, id).value_or(request_for_listener(diff, addr)),
                      "certificate \"" + id +
                          "\": " + std::string(tls::to_string(loaded.error().code)) + ": " +
                          loaded.error().reason);
      t.resolver = t.resolver->with(id, *loaded);
    }
    if (reuse)
      for (const auto& [id, cert] : cur->certs)
        if (!t.certs.contains(id)) t.resolver = t.resolver->without(id);
    if (l.tls.default_certificate) {
      auto r = t.resolver->with_default(*l.tls.default_certificate);
      if (!r)
        return reject(request_for_listener(diff, addr),
                      "listener " + addr + ": tls.default_certificate \"" +
                          *l.tls.default_certificate + "\" is not one of its certificates");
      t.resolver = r;
    }
    next_tls.emplace(addr, std::move(t));
  }

  // Open the sockets of listeners that start serving, for every worker, before any change.
  std::vector<std::map<std::string, int>> fds(group.size());
  std::map<std::string, config::ListenerKind> next_bound;
  for (const auto& [addr, l] : next.listeners) {
    if (!serves(l)) continue;
    next_bound[addr] = l.kind;
    // Already open with the same kind: kept. A kind change opens new sockets next to the old
    // ones (SO_REUSEPORT); the workers close the old ones when they install the snapshot.
    if (auto it = bound.find(addr); it != bound.end() && it->second == l.kind) continue;
    auto at = net::Address::parse(addr);
    // HTTP and TLS clients speak first and wait for the answer, which acknowledges their bytes.
    const net::ListenOptions opts{
        .backlog = 4096, .reuse_port = true, .delayed_ack = l.kind != config::ListenerKind::Tcp};
    for (size_t i = 0; i < group.size(); ++i) {
      auto fd =
          at ? net::open_listening_socket(*at, opts) : Result<int, net::Errno>(Unexpected(EINVAL));
      if (fd) {
        fds[i][addr] = *fd;
        continue;
      }
      for (auto& m : fds)
        for (auto& [a, f] : m) ::close(f);
      return reject(request_for_listener(diff, addr),
                    "listen on " + addr + ": " + std::strerror(fd.error()));
    }
  }

  auto snap = detail::Snapshot::build(next);
  for (const auto& [id, t] : next_backend_tls) snap->clusters[id].tls = t.ctx;
  for (auto& [addr, t] : next_tls) {
    t.ctx->set_resolver(t.resolver);  // the next handshake sees it; live sessions keep theirs
    snap->tls_contexts.emplace(addr, t.ctx);
  }
  group
      .broadcast<int>([this, snap, &fds](runtime::Worker&, size_t i) -> runtime::Task<int> {
        ctxs[i]->install(snap, fds[i]);
        co_return 0;
      })
      .get();
  state = std::move(next);
  bound = std::move(next_bound);
  tls = std::move(next_tls);
  backend_tls = std::move(next_backend_tls);
  return std::move(out.answers);
}

void Proxy::Impl::shutdown_workers() {
  // Close listeners, pools and client sockets on each worker's own thread, then stop the loops
  // (their teardown destroys what is still suspended while the contexts are alive).
  on_workers<int>([](WorkerCtx& c) {
    c.shutdown();
    return 0;
  });
  group.stop();
  ctxs.clear();
}

Proxy::Proxy(ProxyOptions opts) : impl_(std::make_unique<Impl>(std::move(opts))) {}

Proxy::~Proxy() { stop(); }

std::vector<config::Answer> Proxy::apply(std::vector<config::Request> diff) {
  return impl_->apply(std::move(diff));
}

std::future<std::vector<config::Answer>> Proxy::apply_async(std::vector<config::Request> diff) {
  return std::async(std::launch::async,
                    [this, d = std::move(diff)]() mutable { return impl_->apply(std::move(d)); });
}

config::State Proxy::state() const {
  std::lock_guard lock(impl_->mu);
  return impl_->state;
}

size_t Proxy::worker_count() const noexcept { return impl_->group.size(); }

ProxyStats Proxy::stats() {
  std::lock_guard lock(impl_->mu);
  ProxyStats total;
  if (impl_->stopped) return total;
  for (const ProxyStats& s : impl_->on_workers<ProxyStats>([](WorkerCtx& c) { return c.stats; }))
    total += s;
  return total;
}

size_t Proxy::drain(std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return 0;
    impl_->on_workers<int>([](WorkerCtx& c) {
      c.start_drain();
      return 0;
    });
    impl_->bound.clear();
  }
  for (;;) {
    size_t open = 0;
    {
      std::lock_guard lock(impl_->mu);
      if (impl_->stopped) return 0;
      for (size_t n : impl_->on_workers<size_t>([](WorkerCtx& c) {
             c.start_drain();  // sessions that became idle since: close them too
             return static_cast<size_t>(c.stats.active_sessions);
           }))
        open += n;
    }
    if (open == 0 || std::chrono::steady_clock::now() >= end) return open;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Proxy::stop() {
  std::lock_guard lock(impl_->mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->shutdown_workers();
}

}  // namespace kakehi::proxy
