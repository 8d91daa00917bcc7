// Accept loops, the bidirectional byte pipe (TCP listeners and upgraded HTTP connections) and the
// TCP session: one backend picked by the cluster's algorithm, bytes copied both ways as slices,
// an end of stream passed on as a half-close.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "kakehi/common/log.hpp"
#include "kakehi/proxy/internal.hpp"
#include "kakehi/proxy/pipe.hpp"

namespace kakehi::proxy::detail {

namespace {
constexpr uint64_t kMs = 1'000'000;
}  // namespace

runtime::Task<void> tcp_session(WorkerCtx& w, ListenerPtr l, net::TcpStream client) {
  SessionCount count(w, *l);
  SessionLink link;
  link.fd = client.fd();
  link.listener = l.get();
  w.sessions.push_back(link);
  ++w.stats.tcp_sessions;
  ViewPtr view = w.view;
  const config::Listener* cfg = view->snap->listener(l->address);
  auto fe = view->snap->state.tcp_frontends.find(l->address);
  ClusterRuntime* cluster =
      fe == view->snap->state.tcp_frontends.end() ? nullptr : view->cluster(fe->second.cluster);
  if (!cfg || !cluster) {
    link.unlink();
    co_await client.close();
    co_return;
  }
  link.idle = false;
  std::string proxy_header;
  auto lease = co_await w.acquire(*cluster, {}, cfg->timeouts.connect_ms, false,
                                  proxy_header_for(*cluster->snap, client, proxy_header));
  if (!lease) {
    link.unlink();
    co_await client.close();
    co_return;
  }
  co_await pipe(client, lease->stream, {}, {}, cfg->timeouts.front_idle_ms);
  w.release(*lease, false);
  link.unlink();  // before the fd number can be reused
  co_await client.close();
}

namespace {

runtime::Task<void> session(WorkerCtx& w, ListenerPtr l, net::TcpStream client) {
  switch (l->kind) {
    case config::ListenerKind::Tcp:
      return tcp_session(w, std::move(l), std::move(client));
    case config::ListenerKind::Https:
      return https_session(w, std::move(l), std::move(client));
    case config::ListenerKind::Http:
      break;
  }
  return http_session(w, std::move(l), std::move(client));
}

// A listener with accept_proxy_protocol: the header first, within the request head timeout,
// then the listener's session on the bytes that follow. While it waits, the connection counts
// as an idle session (a drain or a listener removal closes it).
runtime::Task<void> proxied_session(WorkerCtx& w, ListenerPtr l, net::TcpStream client,
                                    uint64_t deadline_ns) {
  bool ok;
  {
    SessionCount count(w, *l);
    SessionLink link;
    link.fd = client.fd();
    link.listener = l.get();
    w.sessions.push_back(link);
    ok = co_await read_proxy_header(w, client, deadline_ns);
    link.unlink();
  }
  if (!ok) {
    co_await client.close();
    co_return;
  }
  co_await session(w, std::move(l), std::move(client));
}

}  // namespace

runtime::Task<void> accept_loop(WorkerCtx& w, ListenerPtr l) {
  log::Throttle failure_log;
  for (;;) {
    auto s = co_await l->socket->accept();
    if (l->removed) break;
    if (!s) {
      if (s.error() == ECANCELED) break;
      log::warn_throttled(failure_log, w.worker.now(), "accept on {}: {}", l->address,
                          std::strerror(s.error()));
      co_await runtime::sleep_for(10 * kMs);  // EMFILE and friends: let connections close
      continue;
    }
    ++w.stats.accepted;
    const config::Listener* cfg = w.view->snap->listener(l->address);
    if (w.draining || !cfg ||
        (cfg->limits.max_connections != 0 && l->sessions >= cfg->limits.max_connections)) {
      continue;  // closed by the stream's destructor
    }
    if (cfg->accept_proxy_protocol) {
      const uint64_t deadline = w.worker.now() + uint64_t{cfg->timeouts.request_head_ms} * kMs;
      w.worker.spawn(proxied_session(w, l, std::move(*s), deadline));
    } else {
      w.worker.spawn(session(w, l, std::move(*s)));
    }
  }
}

}  // namespace kakehi::proxy::detail
