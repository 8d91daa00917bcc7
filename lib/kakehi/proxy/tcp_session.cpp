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
  auto lease = co_await w.acquire(*cluster, {}, cfg->timeouts.connect_ms, false);
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
    switch (l->kind) {
      case config::ListenerKind::Tcp:
        w.worker.spawn(tcp_session(w, l, std::move(*s)));
        break;
      case config::ListenerKind::Https:
        w.worker.spawn(https_session(w, l, std::move(*s)));
        break;
      case config::ListenerKind::Http:
        w.worker.spawn(http_session(w, l, std::move(*s)));
        break;
    }
  }
}

}  // namespace kakehi::proxy::detail
