// The proxy's per-worker data structures (not a public header): the immutable snapshot shared by
// every worker, each worker's runtime view of it (load-balancer cursors, backend runtimes with
// their keep-alive pools), listeners and sessions. See docs/proxy.md for states and invariants.
#pragma once

#include <sys/socket.h>

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kakehi/common/intrusive_list.hpp"
#include "kakehi/common/log.hpp"
#include "kakehi/config/model.hpp"
#include "kakehi/net/address.hpp"
#include "kakehi/net/tcp.hpp"
#include "kakehi/proxy/backend_stream.hpp"
#include "kakehi/proxy/load_balancer.hpp"
#include "kakehi/proxy/proxy.hpp"
#include "kakehi/proxy/router.hpp"
#include "kakehi/proxy/tls_stream.hpp"
#include "kakehi/runtime/task.hpp"
#include "kakehi/runtime/worker.hpp"
#include "kakehi/tls/client.hpp"
#include "kakehi/tls/context.hpp"

namespace kakehi::proxy::detail {

// ---- Immutable, built once per applied diff on the control plane, shared by all workers ----

struct ClusterSnapshot {
  config::Cluster cluster;
  /// TLS towards the backends (null: plain TCP); kept across diffs that leave the cluster's
  /// backend_tls alone, so its resumption slot survives them.
  std::shared_ptr<const tls::ClientContext> tls;
  std::vector<config::Backend> backends;  ///< ordered by id
  std::vector<net::Address> addresses;    ///< parsed, aligned with `backends`
};

struct Snapshot {
  config::State state;
  std::unordered_map<std::string, RouterPtr> routers;  ///< HTTP listener address -> router
  std::unordered_map<std::string, ClusterSnapshot> clusters;
  /// HTTPS listener address -> its TLS context (long-lived: kept across diffs that leave its
  /// settings alone, so session tickets and the session cache survive them).
  std::unordered_map<std::string, std::shared_ptr<tls::Context>> tls_contexts;
  [[nodiscard]] static std::shared_ptr<Snapshot> build(config::State state);
  [[nodiscard]] const ClusterSnapshot* cluster(std::string_view id) const;
  [[nodiscard]] const config::Listener* listener(std::string_view address) const;
};
using SnapshotPtr = std::shared_ptr<const Snapshot>;

// ---- Per worker ----

class WorkerCtx;
class H2Conn;    // h2_upstream.hpp
class H2Stream;  // h2_upstream.hpp

/// One backend address on one worker: its idle keep-alive connections, live request count and
/// failure state. Shared by the clusters that list the address; kept alive by sessions using it
/// after it leaves the configuration (its pool then accepts no connection back).
struct BackendRuntime {
  net::Address address;
  std::string key;  ///< the address text; "tls:<cluster>@<address>" for a TLS cluster's backend
  std::shared_ptr<const tls::ClientContext> tls;  ///< null: plain TCP
  struct Idle {
    BackendStream stream;
    uint64_t since_ns;
  };
  std::vector<Idle> idle;
  /// HTTP/2 connections that may take new streams (a connection leaves this list when it
  /// receives GOAWAY or closes; its streams keep it alive until they end).
  std::vector<std::shared_ptr<H2Conn>> h2;
  /// Streams waiting for a slot while every connection is full (woken in order as streams end).
  std::vector<H2Stream*> h2_waiting;
  /// The MAX_CONCURRENT_STREAMS its last HTTP/2 connection announced (0: none yet): what a new
  /// connection assumes until its own SETTINGS arrive.
  uint32_t h2_streams_hint = 0;
  uint32_t active = 0;  ///< requests / tunnels in flight
  uint32_t consecutive_failures = 0;
  uint64_t down_until_ns = 0;
  bool retired = false;  ///< removed from the configuration: no pooling
  [[nodiscard]] bool up(uint64_t now) const noexcept { return now >= down_until_ns; }
};
using BackendPtr = std::shared_ptr<BackendRuntime>;

/// A cluster as one worker sees it: the snapshot's backends with their runtimes.
struct ClusterRuntime {
  const ClusterSnapshot* snap = nullptr;
  std::vector<BackendPtr> backends;  ///< aligned with snap->backends
  LoadBalancer lb{config::LbAlgorithm::RoundRobin};
  std::vector<BackendState> scratch;  ///< pick() input, reused
};

/// What a session holds for the duration of one request: the snapshot and this worker's runtime
/// state for it. Replaced (not mutated) when a diff is applied.
struct View {
  SnapshotPtr snap;
  std::unordered_map<std::string_view, ClusterRuntime> clusters;  ///< keys view into `snap`
  [[nodiscard]] ClusterRuntime* cluster(std::string_view id);
};
using ViewPtr = std::shared_ptr<View>;

/// A listening address on one worker.
struct ListenerRt {
  std::string address;
  uint16_t port = 0;
  config::ListenerKind kind = config::ListenerKind::Http;
  std::unique_ptr<net::TcpListener> socket;
  uint32_t sessions = 0;
  bool removed = false;  ///< stopped accepting: sessions finish their request and close
};
using ListenerPtr = std::shared_ptr<ListenerRt>;

/// A client connection's registration, so a drain can wake idle sessions.
struct SessionLink : IntrusiveHook {
  int fd = -1;
  const ListenerRt* listener = nullptr;
  bool idle = true;  ///< waiting for the next request (safe to close)
  /// Set by a session that drains itself (HTTP/2: GOAWAY, in-flight streams finish): called
  /// instead of shutting an idle connection down. Must not unlink the session.
  void (*drain)(SessionLink*) = nullptr;
};

class WorkerCtx {
 public:
  WorkerCtx(runtime::Worker& w, const ProxyOptions& opts, uint64_t seed)
      : worker(w), opts(opts), rng(seed) {}

  runtime::Worker& worker;
  const ProxyOptions& opts;
  Rng rng;
  ViewPtr view;
  std::map<std::string, ListenerPtr> listeners;
  std::unordered_map<std::string, BackendPtr> backends;  ///< by address text
  IntrusiveList<SessionLink> sessions;
  ProxyStats stats;
  log::Throttle local_failure_log;  ///< connects failed for want of a local resource
  bool draining = false;
  uint64_t request_counter = 0;

  /// Installs a new snapshot: builds the view, retires backends no longer configured, opens
  /// accept loops for `new_fds` (address -> listening fd) and stops removed listeners.
  void install(SnapshotPtr snap, const std::map<std::string, int>& new_fds);
  /// Stops accepting everywhere and closes idle client connections.
  void start_drain();
  /// Before the worker stops: closes every socket and returns every buffer this context holds.
  void shutdown();
  /// Closes the idle client connections of `l` (all listeners when null).
  void close_idle(const ListenerRt* l);

  /// Moves a small serialized head out of its whole pool buffer into a shared slab buffer (many
  /// heads per buffer); returns `big` itself when it is large or no slab buffer is free.
  buffer::Slice compact(buffer::Slice big);

  // Backend connections (backends.cpp).
  struct Lease {
    BackendPtr backend;
    BackendStream stream;
    bool reused = false;
    size_t index = 0;        ///< position in the cluster's backends
    bool dedicated = false;  ///< opened with one client's PROXY header: never pooled
  };
  /// Picks a backend of `cluster` (sticky id first when given) and connects to it, trying other
  /// backends on failure (bounded by opts.connect_attempts). Empty: no backend could be used.
  /// `proxy_header`: the PROXY protocol header of the client (proxy_header_for), for a cluster
  /// whose send_proxy_protocol is set: a new connection is opened and starts with it.
  runtime::Task<std::optional<Lease>> acquire(ClusterRuntime& cluster, std::string_view sticky_id,
                                              uint32_t connect_timeout_ms, bool allow_pooled,
                                              std::string_view proxy_header = {});
  /// The backend of `cluster` to use next: the sticky one when `sticky_id` names an eligible
  /// backend, else the balancer's pick; backends in `tried` are not eligible.
  std::optional<size_t> pick(ClusterRuntime& cluster, std::string_view sticky_id,
                             std::span<const size_t> tried);
  /// Accounts a connect to `b` that failed: after opts.failures_before_down in a row the backend
  /// is down for an exponential back-off. A local shortage (net::is_local_resource_error) is
  /// counted and logged (throttled) but does not count against the backend: false then.
  bool connect_failed(BackendRuntime& b, net::Errno e);
  void connect_succeeded(BackendRuntime& b) noexcept {
    b.consecutive_failures = 0;
    b.down_until_ns = 0;
  }
  /// A fresh connection to the same backend (after a stale pooled one failed), starting with
  /// `proxy_header` when not empty (a dedicated lease's).
  runtime::Task<std::optional<BackendStream>> reconnect(BackendRuntime& b,
                                                        uint32_t connect_timeout_ms,
                                                        std::string_view proxy_header = {});
  /// A dedicated connection a session kept from its previous request (release's `keep`), as
  /// the lease for its next request to `cluster`: empty (and `own` closed) when its backend
  /// left the cluster or is down, the sticky id names another backend, or the backend closed it.
  runtime::Task<std::optional<Lease>> resume(ClusterRuntime& cluster, std::string_view sticky_id,
                                             Lease own);
  /// Connects (and, for a TLS backend, runs the handshake) within `connect_timeout_ms`.
  /// `require_h2`: a TLS backend must select ALPN "h2" (else ENOPROTOOPT; EPROTO: TLS failed).
  /// `proxy_header` is sent first (before any TLS), when not empty.
  runtime::Task<Result<BackendStream, net::Errno>> connect(BackendRuntime& b,
                                                           uint32_t connect_timeout_ms,
                                                           bool require_h2 = false,
                                                           std::string_view proxy_header = {});
  /// Ends a request on `lease`: back to the pool when `reusable`, else closed. A reusable
  /// dedicated lease (it carries one client's PROXY header) goes to `*keep` when given, for
  /// that client's next request (resume()), instead of being closed.
  void release(Lease& lease, bool reusable, std::optional<Lease>* keep = nullptr);

 private:
  buffer::Slice slab_;  ///< the current head slab buffer (whole buffer)
  uint32_t slab_used_ = 0;
  bool shut_down_ = false;  ///< shutdown() ran: sessions still finishing get no new slab
};

/// Bounds a write: declared before awaiting it, it shuts the socket down if the write has not
/// completed by the deadline (the write then fails); leaving the scope disarms it.
struct WriteWatchdog : runtime::TimerEntry {
  int fd;
  WriteWatchdog(runtime::Worker& w, int socket, uint64_t timeout_ns)
      : runtime::TimerEntry(&fire), fd(socket) {
    w.timers().arm(*this, w.now() + timeout_ns);
  }
  static void fire(runtime::TimerEntry* t) {
    ::shutdown(static_cast<WriteWatchdog*>(t)->fd, SHUT_RDWR);
  }
};

/// Counts a client connection on its listener and worker for the session's lifetime.
struct SessionCount {  // counts a client connection on its listener and worker for its lifetime
  WorkerCtx& w;
  ListenerRt& l;
  SessionCount(WorkerCtx& wc, ListenerRt& lr) : w(wc), l(lr) {
    ++l.sessions;
    ++w.stats.active_sessions;
  }
  ~SessionCount() {
    --l.sessions;
    --w.stats.active_sessions;
  }
  SessionCount(const SessionCount&) = delete;
  SessionCount& operator=(const SessionCount&) = delete;
};

runtime::Task<void> accept_loop(WorkerCtx& w, ListenerPtr l);
runtime::Task<void> http_session(WorkerCtx& w, ListenerPtr l, net::TcpStream client);
/// An HTTPS listener's connection: the TLS handshake (bounded by the listener's handshake
/// timeout), then the same HTTP/1.1 session over the decrypted stream.
runtime::Task<void> https_session(WorkerCtx& w, ListenerPtr l, net::TcpStream client);
/// An HTTP/2 client connection (h2c with prior knowledge, or "h2" chosen by ALPN): `received`
/// holds bytes already read from it (the start of the connection preface).
runtime::Task<void> h2_session(WorkerCtx& w, ListenerPtr l, net::TcpStream client,
                               buffer::BufferChain received);
runtime::Task<void> h2_session(WorkerCtx& w, ListenerPtr l, TlsStream client);
/// Whether `bytes` are a prefix of the HTTP/2 connection preface (or start with all of it).
[[nodiscard]] bool is_h2_preface_start(std::string_view bytes) noexcept;
runtime::Task<void> tcp_session(WorkerCtx& w, ListenerPtr l, net::TcpStream client);

// PROXY protocol (proxy_header.cpp, docs/proxy_protocol.md).
/// Reads the PROXY protocol header `client` must start with (a listener with
/// accept_proxy_protocol) until `deadline_ns`. True: a valid header; the stream now reports the
/// client addresses it carried (when it carried TCP ones), and the bytes after it are read
/// next. False: none came in time, or it was invalid (counted): close the connection.
runtime::Task<bool> read_proxy_header(WorkerCtx& w, net::TcpStream& client, uint64_t deadline_ns);
/// The header a backend connection of a cluster with send_proxy_protocol `v` starts with, for a
/// client at `peer` that connected to `local` (v1 UNKNOWN / v2 LOCAL when they are not IP
/// addresses). `tls`: the client's TLS handshake, for a client over TLS: v2 then carries the
/// ALPN, AUTHORITY (SNI) and SSL (version, cipher) TLVs.
std::string build_proxy_header(config::ProxyProtocolVersion v, const net::Address& peer,
                               const net::Address& local, const tls::HandshakeInfo* tls = nullptr);
/// Who a client session serves, for the forwarding fields: the client's address without
/// brackets and its port (only when `forwarding`: a getpeername otherwise saved), and the port
/// it connected to (the relayed one after a PROXY header, else the listener's).
struct ClientFacts {
  std::string ip;
  uint16_t port = 0;
  uint16_t front_port = 0;
};
template <class Client>
ClientFacts client_facts(const Client& client, uint16_t listener_port, bool forwarding) {
  ClientFacts f;
  if (forwarding) {
    const net::Address peer = client.peer_address();
    f.ip = peer.to_string();
    f.port = peer.port();
    if (size_t colon = f.ip.rfind(':'); colon != std::string::npos)
      f.ip.resize(colon);  // "[::1]:5000" -> "[::1]", "1.2.3.4:5000" -> "1.2.3.4"
    if (f.ip.size() >= 2 && f.ip.front() == '[') f.ip = f.ip.substr(1, f.ip.size() - 2);
  }
  f.front_port = client.relayed() ? client.local_address().port() : listener_port;
  return f;
}
/// A session's PROXY header for `cluster`: empty when the cluster sends none, else built once
/// from the client stream's endpoints into `cache`.
template <class Client>
std::string_view proxy_header_for(const ClusterSnapshot& cluster, const Client& client,
                                  std::string& cache) {
  const config::ProxyProtocolVersion v = cluster.cluster.send_proxy_protocol;
  if (v == config::ProxyProtocolVersion::None) return {};
  // v1 lines start with 'P', v2 headers with '\r': a cached one of the other version is rebuilt.
  const char first = v == config::ProxyProtocolVersion::V1 ? 'P' : '\r';
  if (cache.empty() || cache.front() != first) {
    const tls::HandshakeInfo* info = nullptr;
    if constexpr (requires { client.connection().handshake(); })
      info = &client.connection().handshake();
    cache = build_proxy_header(v, client.peer_address(), client.local_address(), info);
  }
  return cache;
}

}  // namespace kakehi::proxy::detail
