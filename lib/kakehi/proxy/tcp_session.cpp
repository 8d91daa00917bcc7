// Accept loops, the bidirectional byte pipe (TCP listeners and upgraded HTTP connections) and the
// TCP session: one backend picked by the cluster's algorithm, bytes copied both ways as slices,
// an end of stream passed on as a half-close.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "kakehi/common/log.hpp"
#include "kakehi/proxy/internal.hpp"
#include "kakehi/runtime/when_all.hpp"

namespace kakehi::proxy::detail {

namespace {
constexpr uint64_t kMs = 1'000'000;

// One direction of a pipe. `idle_ns` bounds the wait for bytes; an error or a timeout aborts
// both directions (shutdown of both sockets wakes the other pump).
runtime::Task<void> pump(net::TcpStream& from, net::TcpStream& to, buffer::BufferChain pre,
                         uint64_t idle_ns, bool& aborted) {
  auto abort = [&] {
    aborted = true;
    ::shutdown(from.fd(), SHUT_RDWR);
    ::shutdown(to.fd(), SHUT_RDWR);
  };
  runtime::Worker& w = *runtime::Worker::current();
  auto write = [&](buffer::BufferChain& c) -> runtime::Task<bool> {
    WriteWatchdog wd(w, to.fd(), idle_ns);  // a peer that stops reading ends the pipe
    co_return static_cast<bool>(co_await to.write_all(c));
  };
  if (!pre.empty() && !co_await write(pre)) {
    abort();
    co_return;
  }
  buffer::BufferChain chain;
  for (;;) {
    auto r = co_await from.recv_until(w.now() + idle_ns);
    if (!r) {
      abort();
      co_return;
    }
    if (r->empty()) break;  // end of stream: pass it on
    chain.append(std::move(*r));
    while (from.queued_buffers() > 0 && chain.slice_count() < 8) {
      auto more = co_await from.recv();
      if (!more || more->empty()) break;  // seen again by the next recv
      chain.append(std::move(*more));
    }
    if (!co_await write(chain)) {
      abort();
      co_return;
    }
  }
  if (!aborted) (void)co_await to.shutdown_write();
}
}  // namespace

runtime::Task<void> pipe(net::TcpStream& a, net::TcpStream& b, buffer::BufferChain to_b,
                         buffer::BufferChain to_a, uint64_t idle_ms) {
  bool aborted = false;
  std::vector<runtime::Task<void>> both;
  both.push_back(pump(a, b, std::move(to_b), idle_ms * kMs, aborted));
  both.push_back(pump(b, a, std::move(to_a), idle_ms * kMs, aborted));
  co_await runtime::when_all(std::move(both));
}

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
  for (;;) {
    auto s = co_await l->socket->accept();
    if (l->removed) break;
    if (!s) {
      if (s.error() == ECANCELED) break;
      log::warn("accept on {}: {}", l->address, std::strerror(s.error()));
      co_await runtime::sleep_for(10 * kMs);  // EMFILE and friends: let connections close
      continue;
    }
    ++w.stats.accepted;
    const config::Listener* cfg = w.view->snap->listener(l->address);
    if (w.draining || !cfg ||
        (cfg->limits.max_connections != 0 && l->sessions >= cfg->limits.max_connections)) {
      continue;  // closed by the stream's destructor
    }
    if (l->kind == config::ListenerKind::Tcp)
      w.worker.spawn(tcp_session(w, l, std::move(*s)));
    else
      w.worker.spawn(http_session(w, l, std::move(*s)));
  }
}

}  // namespace kakehi::proxy::detail
