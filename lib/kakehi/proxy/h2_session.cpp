// The HTTP/2 client session (RFC 9113, server side): one http2::Connection over the client's
// stream (cleartext with prior knowledge, or TLS with ALPN "h2"), a reader that feeds it, a
// writer that sends its output, and one coroutine per request stream that routes the request and
// exchanges it with a backend: an HTTP/1.1 connection from the worker's pool, or a stream on an
// HTTP/2 backend connection (h2_upstream.hpp). See docs/proxy.md ("HTTP/2 frontends") for the
// states, the bounds and the drain.
//
// Back-pressure, both ways, per stream:
//  - request bodies: the engine runs with the manual window policy; received DATA waits in the
//    stream (at most its receive window: http2.initial_window_size) and its credit is returned
//    (WINDOW_UPDATE) only once the backend has taken the bytes;
//  - response bodies: a stream stops reading its backend while more than
//    http2.stream_buffer_bytes of its body wait in the engine (the client's windows are shut or
//    other streams have priority), so a slow stream never stalls the others nor grows memory.
// The engine's scheduler (RFC 9218) picks which stream's DATA goes out next.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "kakehi/common/node_cache.hpp"
#include "kakehi/http/h2_fields.hpp"
#include "kakehi/http1/forwarding.hpp"
#include "kakehi/http1/serializer.hpp"
#include "kakehi/http2/connection.hpp"
#include "kakehi/proxy/h1_io.hpp"
#include "kakehi/proxy/h2_upstream.hpp"
#include "kakehi/proxy/internal.hpp"

namespace kakehi::proxy::detail {

namespace {

// The reader wakes at least this often (engine timers, drain requests, idle checks).
constexpr uint64_t kReaderTick = 1000 * kMs;
// A writer idle for kTrimOutputNs frees its output storage beyond kKeptOutputBytes.
constexpr size_t kKeptOutputBytes = 16 * 1024;
constexpr uint64_t kTrimOutputNs = 1000 * kMs;
// Finished stream objects a session keeps for reuse.
constexpr size_t kSpareStreams = 64;

// One request stream, owned by its coroutine; the session maps its id to it while the engine
// may still report events for it.
struct FrontStream {
  uint32_t id = 0;
  http2::FieldList head;  // the request's fields as received: `req` views into them
  http2::FieldList trailers;
  http::Request req;
  buffer::BufferChain body;  // request body received, not yet taken by the backend
  bool body_done = false;    // the client ended its side (END_STREAM)
  bool gone = false;         // reset by the client, or the connection is ending
  bool mapped = true;
  bool waiting_drain = false;  // paused until its queued response body shrinks
  bool response_started = false;
  uint16_t refuse = 0;                       // a status decided on the head alone (431, 413)
  uint64_t body_received = 0;                // request body bytes, for limits.max_body_bytes
  bool ended = false;                        // END_STREAM is queued on our side
  ViewPtr view;                              // the configuration this request is routed on
  const ClusterSnapshot* cluster = nullptr;  // the routed cluster (its answer templates)
  int backend_fd = -1;           // while a backend connection is in use (shut down to cancel)
  H2Stream* upstream = nullptr;  // while an HTTP/2 backend stream is in use (cancelled with it)
  Signal signal;                 // body arrived, output drained, or gone
  std::optional<http1::ResponseParser> rparser;  // the backend's response

  /// Ready for a new stream; keeps the capacity of its lists, arena and parser (a session
  /// reuses finished stream objects: no allocation per request once warm).
  void reset(uint32_t stream_id, bool end_stream) {
    id = stream_id;
    trailers.clear();
    req.clear();
    body.clear();
    body_done = end_stream;
    gone = waiting_drain = response_started = ended = false;
    mapped = true;
    refuse = 0;
    body_received = 0;
    view.reset();
    cluster = nullptr;
    backend_fd = -1;
    upstream = nullptr;
    // `signal` may hold a notify from the last stream: every wait re-checks its condition.
  }
};

// The sticky-session cookie naming the backend that answered, unless the request named it.
void add_sticky_cookie(http::Response& res, const ClusterSnapshot& cluster, size_t index,
                       std::string_view sticky) {
  if (!cluster.cluster.sticky_session) return;
  const config::Backend& b = cluster.backends[index];
  const std::string_view id = b.sticky_id ? std::string_view(*b.sticky_id) : b.id;
  if (sticky != id)
    res.fields.add("Set-Cookie",
                   res.storage.concat({kStickyCookie, "=", id, "; Path=/; HttpOnly"}));
}

http2::ConnectionConfig engine_config(const config::Listener& l, bool gather) {
  const config::Http2Settings& h = l.http2;
  http2::ConnectionConfig c;
  c.role = http2::Role::Server;
  c.gather_slices = gather;
  c.local.max_concurrent_streams = h.max_concurrent_streams;
  c.local.initial_window_size = h.initial_window_size;
  c.local.max_frame_size = h.max_frame_size;
  c.local.max_header_list_size = h.max_header_list_size;
  c.window.auto_update = false;
  c.window.connection_window = h.connection_window;
  // The engine's bound is a safety net; above limits.max_header_count the proxy answers 431.
  c.max_header_fields = std::max<uint32_t>(2 * l.limits.max_header_count + 8, 256);
  http2::FloodLimits& f = c.flood;
  f.max_resets_per_window = h.max_resets_per_second;
  f.max_pings_per_window = h.max_pings_per_second;
  f.max_settings_per_window = h.max_settings_per_second;
  f.max_window_updates_per_window = h.max_window_updates_per_second;
  f.max_empty_data_per_window = h.max_empty_data_per_second;
  f.max_stream_errors_per_window = h.max_stream_errors_per_second;
  f.max_continuations_per_block = h.max_continuations_per_block;
  f.max_header_block_bytes = h.max_header_block_bytes;
  f.max_queued_control_frames = h.max_queued_control_frames;
  return c;
}

http2::Millis to_ms(uint64_t ns) { return http2::Millis(ns / kMs); }

// The iovecs of `out` in wire order: its bytes with the slices inserted at their offsets.
void gather(const http2::OutputBatch& out, std::vector<iovec>& iov) {
  iov.clear();
  http2::for_each_in_order(out.bytes, out.slices, [&](std::span<const std::byte> run) {
    iov.push_back({const_cast<std::byte*>(run.data()), run.size()});
  });
}

template <class Client>
class H2Session final : public http2::EventSink,
                        public std::enable_shared_from_this<H2Session<Client>> {
  static constexpr std::string_view kScheme = std::is_same_v<Client, TlsStream> ? "https" : "http";
  using Ptr = std::shared_ptr<H2Session>;
  // Cleartext: body slices go to the socket with the frame bytes in one vectored write, never
  // copied. Over TLS the records are built from contiguous plaintext: the engine copies.
  static constexpr bool kGather = std::is_same_v<Client, net::TcpStream>;

 public:
  H2Session(WorkerCtx& w, ListenerPtr l, Client client, ViewPtr view, const config::Listener& cfg)
      : w_(w),
        l_(std::move(l)),
        client_(std::move(client)),
        view_(std::move(view)),
        cfg_(&cfg),
        conn_(engine_config(cfg, kGather), *this) {
    link_.self = this;
  }

  static runtime::Task<void> run(Ptr self, buffer::BufferChain received) {
    co_await self->read_loop(std::move(received));
  }

  // http2::EventSink
  void on_headers(uint32_t id, http2::HeadKind kind, const http2::FieldList& fields,
                  bool end_stream) override;
  void on_data(uint32_t id, std::span<const std::byte> data, bool end_stream) override;
  void on_stream_reset(uint32_t id, http2::H2Error code, http2::ResetOrigin origin,
                       bool retryable) override;
  void on_connection_error(const http2::FrameError& err) override;

 private:
  runtime::Task<void> read_loop(buffer::BufferChain received);
  static runtime::Task<void> write_loop(Ptr self);
  static runtime::Task<void> stream_task(Ptr self, std::unique_ptr<FrontStream> s);
  runtime::Task<void> serve(FrontStream& s);
  runtime::Task<void> forward(FrontStream& s, ClusterRuntime& cluster, std::string_view sticky,
                              const http1::ForwardingOptions& fwd);
  runtime::Task<void> forward_h2(FrontStream& s, ClusterRuntime& cluster, std::string_view sticky,
                                 const http1::ForwardingOptions& fwd);
  runtime::Task<bool> wait_body(FrontStream& s);
  enum class BodySent : uint8_t { All, Stopped, BackendClosed };
  runtime::Task<BodySent> send_request_body(FrontStream& s, BackendStream& backend,
                                            http::Framing framing);
  void answer(FrontStream& s, uint16_t status, std::string_view location = {});
  // Queues `data` (and END_STREAM) for `s`; false when the stream cannot take it any more.
  bool submit_data(FrontStream& s, std::span<const std::byte> data, bool end);
  bool submit_slice(FrontStream& s, buffer::Slice data, bool end);  // no copy into the engine
  runtime::Task<bool> wait_drained(FrontStream& s);
  bool submit_head(FrontStream& s, http::Response& res, bool end);
  void finish_stream(FrontStream& s);
  void drop(FrontStream& s);
  void unmap(FrontStream& s);
  void abandon(FrontStream& s);
  void start_shutdown();
  void wake_writer() { writer_wake_.notify(); }
  void task_done() {
    if (--tasks_ == 0) tasks_done_.notify();
  }
  uint64_t now() const noexcept { return w_.worker.now(); }
  struct Link : SessionLink {
    H2Session* self = nullptr;
  };
  static void on_drain(SessionLink* link) { static_cast<Link*>(link)->self->start_shutdown(); }
  void count_response(uint16_t status) {
    if (status >= 100 && status < 600) ++w_.stats.responses[status / 100];
  }

  WorkerCtx& w_;
  ListenerPtr l_;
  Client client_;
  ViewPtr view_;  // keeps cfg_ alive: the newest configuration a stream of this connection saw
  const config::Listener* cfg_;
  http2::Connection conn_;
  Link link_;
  std::unordered_map<uint32_t, FrontStream*> streams_;
  NodeCache<std::unordered_map<uint32_t, FrontStream*>> stream_nodes_{kSpareStreams};
  std::vector<std::unique_ptr<FrontStream>> spare_;      // finished stream objects, for reuse
  std::vector<http::Field> scratch_;                     // field views being converted
  std::vector<http2::hpack::HeaderField> head_scratch_;  // a response head being submitted
  std::string client_ip_;
  uint16_t client_port_ = 0;
  uint16_t front_port_ = 0;   // the port the client connected to (X-Forwarded-Port, Forwarded)
  std::string proxy_header_;  // the PROXY header for backends of clusters that send one
  Signal writer_wake_;
  Signal tasks_done_;
  uint32_t tasks_ = 0;          // the writer and the stream coroutines still running
  uint32_t drain_waiters_ = 0;  // streams in wait_drained
  uint64_t idle_since_ = 0;
  uint64_t drain_deadline_ = UINT64_MAX;
  bool shutting_down_ = false;
  bool closing_ = false;  // the reader has ended: streams are cancelled, the writer finishes
  bool dead_ = false;     // a write failed: nothing more can be sent
};

template <class Client>
runtime::Task<void> H2Session<Client>::read_loop(buffer::BufferChain received) {
  SessionCount count(w_, *l_);
  ++w_.stats.h2_connections;
  link_.fd = client_.fd();
  link_.listener = l_.get();
  link_.idle = false;
  link_.drain = &on_drain;
  w_.sessions.push_back(link_);
  ClientFacts facts = client_facts(client_, l_->port, w_.opts.forwarding_headers);
  client_ip_ = std::move(facts.ip);
  client_port_ = facts.port;
  front_port_ = facts.front_port;
  // Its reads must go on while backend data waits for its WINDOW_UPDATEs in the shared pool.
  client_.set_priority_reads();
  conn_.start(to_ms(now()));
  ++tasks_;
  w_.worker.spawn(write_loop(this->shared_from_this()));
  for (const buffer::Slice& s : received.slices()) (void)conn_.feed(s.bytes(), to_ms(now()));
  received.clear();
  wake_writer();
  idle_since_ = now();
  if (l_->removed || w_.draining) start_shutdown();
  const uint64_t idle_ns = uint64_t{cfg_->timeouts.front_idle_ms} * kMs;
  while (!conn_.is_closed() && !dead_) {
    uint64_t deadline = now() + kReaderTick;
    if (auto d = conn_.next_deadline())
      deadline = std::min(deadline, static_cast<uint64_t>(d->count()) * kMs);
    if (streams_.empty()) deadline = std::min(deadline, idle_since_ + idle_ns);
    deadline = std::min(deadline, drain_deadline_);
    auto r = co_await client_.recv_until(deadline);
    if (!r && r.error() != ETIMEDOUT) break;
    if (r && r->empty()) break;  // the client closed
    if (r) (void)conn_.feed(r->bytes(), to_ms(now()));
    conn_.tick(to_ms(now()));
    if (!streams_.empty()) idle_since_ = now();
    if (now() >= drain_deadline_) break;  // streams still in flight are cut
    if (streams_.empty() && now() >= idle_since_ + idle_ns) start_shutdown();
    wake_writer();
  }
  // Cancel what is left, let the writer send what is queued (a GOAWAY), then close.
  closing_ = true;
  for (auto& [id, s] : streams_) {
    s->mapped = false;
    abandon(*s);
  }
  streams_.clear();
  wake_writer();
  while (tasks_ > 0) co_await tasks_done_.wait(UINT64_MAX);
  link_.unlink();  // before the socket closes: a drain must never touch a reused fd number
  co_await client_.close();
}

template <class Client>
runtime::Task<void> H2Session<Client>::write_loop(Ptr self) {
  H2Session& s = *self;
  // The bytes in flight: the engine's output buffer itself, swapped out of the engine (which
  // goes on with this vector's former storage), so nothing is copied on the way to the socket;
  // in cleartext, with the body slices between them (kGather).
  http2::OutputBatch out;
  std::vector<iovec> iov;
  for (;;) {
    s.conn_.take_output(out);
    // Streams paused on a full queue may go on.
    if (s.drain_waiters_ > 0)
      for (auto& [id, st] : s.streams_)
        if (st->waiting_drain) st->signal.notify();
    if (out.empty()) {
      if (s.closing_ || s.dead_) break;
      if (s.conn_.is_closed()) {
        // Everything is sent (the last GOAWAY included): end the reader's wait.
        ::shutdown(s.client_.fd(), SHUT_RD);
        break;
      }
      // A connection quiet for a second frees a burst's storage (the vector the engine holds
      // comes back with the next take_output and is trimmed after another quiet second).
      const bool big = out.bytes.capacity() > kKeptOutputBytes;
      const bool woken = co_await s.writer_wake_.wait(big ? s.now() + kTrimOutputNs : UINT64_MAX);
      if (!woken && big) std::vector<std::byte>().swap(out.bytes);
      continue;
    }
    WriteWatchdog wd(s.w_.worker, s.client_.fd(), uint64_t{s.cfg_->timeouts.front_idle_ms} * kMs);
    bool ok = false;
    if (kGather && !out.slices.empty()) {
      if constexpr (kGather) {
        gather(out, iov);
        auto r = co_await s.client_.write_all(std::span<iovec>(iov));
        ok = r.has_value();
        out.slices.clear();  // their buffers go back to the pool
      }
    } else {
      auto r = co_await s.client_.write_all(std::span<const std::byte>(out.bytes));
      ok = r.has_value();
    }
    if (!ok) {
      s.dead_ = true;
      ::shutdown(s.client_.fd(), SHUT_RDWR);  // the reader sees it and ends the session
      break;
    }
  }
  s.task_done();
}

template <class Client>
void H2Session<Client>::start_shutdown() {
  if (shutting_down_ || closing_) return;
  shutting_down_ = true;
  conn_.shutdown(to_ms(now()));
  // In-flight streams get as long as a backend may take to answer; then they are cut.
  drain_deadline_ = now() + uint64_t{cfg_->timeouts.backend_response_ms} * kMs;
  wake_writer();
}

template <class Client>
void H2Session<Client>::on_headers(uint32_t id, http2::HeadKind kind,
                                   const http2::FieldList& fields, bool end_stream) {
  if (kind == http2::HeadKind::Trailers) {
    if (auto it = streams_.find(id); it != streams_.end()) {
      FrontStream& s = *it->second;
      s.trailers = fields;
      s.body_done = true;
      s.signal.notify();
    }
    return;
  }
  if (closing_) return;
  ++w_.stats.requests;
  ++w_.stats.h2_streams;
  std::unique_ptr<FrontStream> s;
  if (spare_.empty()) {
    s = std::make_unique<FrontStream>();
  } else {
    s = std::move(spare_.back());
    spare_.pop_back();
  }
  s->reset(id, end_stream);
  s->head = fields;
  scratch_.clear();
  for (size_t i = 0; i < s->head.size(); ++i)
    scratch_.push_back({s->head[i].name, s->head[i].value});
  if (!http::from_h2_fields(scratch_, end_stream, s->req)) {
    // The engine validated the list (RFC 9113 §8.3); what is left is malformed for HTTP.
    (void)conn_.reset_stream(id, http2::H2Error::ProtocolError);
    return;
  }
  // The listener's limits, as for HTTP/1.1: 431 for the head, 413 for a declared body.
  uint64_t head_bytes = 0;
  for (const http::Field& f : s->req.fields) head_bytes += f.name.size() + f.value.size() + 4;
  if (s->req.fields.size() > cfg_->limits.max_header_count ||
      head_bytes > cfg_->limits.max_header_bytes)
    s->refuse = 431;
  else if (cfg_->limits.max_body_bytes != 0 &&
           s->req.framing.kind == http::BodyKind::ContentLength &&
           s->req.framing.length > cfg_->limits.max_body_bytes)
    s->refuse = 413;
  stream_nodes_.insert(streams_, id)->second = s.get();
  ++tasks_;
  w_.worker.spawn(stream_task(this->shared_from_this(), std::move(s)));
}

template <class Client>
void H2Session<Client>::on_data(uint32_t id, std::span<const std::byte> data, bool end_stream) {
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second->gone) {
    conn_.consume(id, data.size());  // nobody takes it: give the credit back at once
    return;
  }
  FrontStream& s = *it->second;
  s.body_received += data.size();
  // Small frames fill the same buffer: a pool buffer per frame would let 1-byte DATA frames
  // take thousands of buffers within one window.
  data = data.subspan(s.body.append_into_tail(data));
  while (!data.empty()) {
    auto buf = w_.worker.pool().acquire();
    if (!buf) {
      // Out of buffers: this stream cannot be served (its peers still are).
      conn_.consume(id, data.size());
      drop(s);
      (void)conn_.reset_stream(id, http2::H2Error::InternalError);
      return;
    }
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(data.size(), buf->size()));
    std::memcpy(buf->writable().data(), data.data(), n);
    buf->remove_suffix(buf->size() - n);
    s.body.append(std::move(*buf));
    data = data.subspan(n);
  }
  if (end_stream) s.body_done = true;
  s.signal.notify();
}

template <class Client>
void H2Session<Client>::on_stream_reset(uint32_t id, http2::H2Error, http2::ResetOrigin origin,
                                        bool) {
  if (origin == http2::ResetOrigin::Remote) ++w_.stats.h2_client_resets;
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  FrontStream& s = *it->second;
  drop(s);
}

template <class Client>
void H2Session<Client>::on_connection_error(const http2::FrameError& err) {
  if (err.code == http2::H2Error::EnhanceYourCalm)
    ++w_.stats.h2_flood_trips;
  else
    ++w_.stats.h2_protocol_errors;
}

// Takes the stream out of the id map (its node is kept for the next stream).
template <class Client>
void H2Session<Client>::unmap(FrontStream& s) {
  if (!s.mapped) return;
  s.mapped = false;
  if (auto it = streams_.find(s.id); it != streams_.end()) stream_nodes_.erase(streams_, it);
}

// The stream is over for the engine (reset): its coroutine stops what it does.
template <class Client>
void H2Session<Client>::drop(FrontStream& s) {
  unmap(s);
  abandon(s);
}

// Stops the stream's exchange where it is: its backend I/O fails at once (the connection is
// then closed abortively, see forward) or its backend stream is cancelled, and its coroutine
// wakes up.
template <class Client>
void H2Session<Client>::abandon(FrontStream& s) {
  s.gone = true;
  if (s.backend_fd >= 0) ::shutdown(s.backend_fd, SHUT_RDWR);
  if (s.upstream) s.upstream->cancel();
  s.signal.notify();
}

template <class Client>
runtime::Task<void> H2Session<Client>::stream_task(Ptr self, std::unique_ptr<FrontStream> s) {
  co_await self->serve(*s);
  self->finish_stream(*s);
  if (self->spare_.size() < kSpareStreams && !self->closing_) self->spare_.push_back(std::move(s));
  self->task_done();
}

// After the stream's coroutine: the engine must not keep a stream nobody serves.
template <class Client>
void H2Session<Client>::finish_stream(FrontStream& s) {
  unmap(s);
  // Credit for request body bytes nobody will send on.
  if (!s.body.empty()) conn_.consume(s.id, s.body.size());
  s.body.clear();
  if (!s.ended && conn_.stream_state(s.id))  // our side did not finish: cut it
    (void)conn_.reset_stream(s.id, s.gone ? http2::H2Error::Cancel : http2::H2Error::InternalError);
  if (streams_.empty()) idle_since_ = now();
  wake_writer();
}

template <class Client>
runtime::Task<void> H2Session<Client>::serve(FrontStream& s) {
  // Requests are routed on the worker's current configuration (the listener may have been
  // updated since the connection started); a removed listener keeps its last one.
  const config::Listener* c = w_.view ? w_.view->snap->listener(l_->address) : nullptr;
  if (c) {
    view_ = w_.view;
    cfg_ = c;
  }
  http::Request& req = s.req;
  if (s.refuse) {
    answer(s, s.refuse);
    co_return;
  }
  if (req.method == "CONNECT") {  // RFC 9113 §8.5: a tunnel; not served
    answer(s, 501);
    co_return;
  }
  Route route;
  s.view = view_;  // keeps its cluster alive whatever the next requests see
  if (auto r = s.view->snap->routers.find(l_->address); r != s.view->snap->routers.end())
    route = r->second->lookup(req.authority, req.path, req.method);
  if (!route) {
    answer(s, 404);
    co_return;
  }
  ClusterRuntime* cluster = s.view->cluster(route.cluster);
  if (!cluster) {
    answer(s, 503);
    co_return;
  }
  s.cluster = cluster->snap;
  if (cluster->snap->cluster.https_redirect && l_->kind == config::ListenerKind::Http) {
    std::string_view host = req.authority;
    if (size_t colon = host.rfind(':');
        colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos)
      host = host.substr(0, colon);
    answer(s, 301, fmt::format("https://{}{}", host, req.path));
    co_return;
  }
  std::string_view sticky;
  if (cluster->snap->cluster.sticky_session) sticky = cookie_value(req.fields, kStickyCookie);
  // 100-continue is answered here (the body then comes as the windows allow).
  if (const http::Field* e = req.fields.find("expect");
      e && http::iequals(e->value, "100-continue")) {
    req.fields.remove("expect");
    if (!s.body_done)
      (void)conn_.submit_response(s.id, http2::FieldList{{":status", "100"}}, false);
    wake_writer();
  }
  http1::ForwardingOptions fwd;
  fwd.x_forwarded_for = fwd.x_forwarded_proto = fwd.x_forwarded_port = fwd.x_forwarded_host =
      fwd.forwarded = w_.opts.forwarding_headers;
  fwd.via = w_.opts.via;
  if (cluster->snap->cluster.backend_protocol == config::BackendProtocol::Http2)
    co_await forward_h2(s, *cluster, sticky, fwd);
  else
    co_await forward(s, *cluster, sticky, fwd);
}

template <class Client>
runtime::Task<void> H2Session<Client>::forward(FrontStream& s, ClusterRuntime& cluster,
                                               std::string_view sticky,
                                               const http1::ForwardingOptions& fwd) {
  const ClusterSnapshot& csnap = *cluster.snap;
  const config::Timeouts& to = cfg_->timeouts;
  http::Request& req = s.req;
  auto lease = co_await w_.acquire(cluster, sticky, to.connect_ms, true,
                                   proxy_header_for(csnap, client_, proxy_header_));
  if (s.gone) {
    if (lease) w_.release(*lease, false);
    co_return;
  }
  if (!lease) {
    answer(s, 503);
    co_return;
  }
  struct Release {  // back to the pool (or closed) on every path
    WorkerCtx& w;
    WorkerCtx::Lease& lease;
    FrontStream& s;
    bool reusable = false;
    ~Release() {
      // A pooled connection keeps a read armed, so the backend closing it while idle is seen
      // (one-buffer reads arm none by themselves).
      if (reusable && !s.gone) lease.stream.prime_reads();
      if (s.gone && lease.stream.is_open()) {
        // Abortive close: the backend sees a reset at once. (A plain close can leave it
        // blocked: after the shutdown in drop() the socket sends no window update, so a
        // backend stopped by a zero window never writes the byte that would draw the reset.)
        const linger abort{1, 0};
        ::setsockopt(lease.stream.fd(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
      }
      s.backend_fd = -1;
      w.release(lease, reusable && !s.gone);
    }
  } release{w_, *lease, s};
  if (lease->reused && !s.body_done && !looks_alive(lease->stream)) {
    auto fresh = co_await w_.reconnect(*lease->backend, to.connect_ms);
    if (s.gone) co_return;
    if (!fresh) {
      answer(s, 503);
      co_return;
    }
    lease->stream = std::move(*fresh);
    lease->reused = false;
  }
  s.backend_fd = lease->stream.fd();

  http1::Peer peer{client_ip_, client_port_, kScheme, front_port_, {}};
  const std::string_view request_id = http1::edit_request(req, peer, fwd);
  const http::Framing out = http1::outgoing_framing(req.framing, 11);
  auto head = http1::write_request_head(w_.worker.pool(), req, out);
  if (!head) {
    answer(s, head.error() == http1::SerializeError::HeadTooLarge ? 431 : 503);
    co_return;
  }
  const bool bodiless = s.body_done && s.body.empty();
  const uint64_t backend_ns = uint64_t{to.backend_response_ms} * kMs;
  bool retried = false;
  auto send_head = [&]() -> runtime::Task<bool> {
    buffer::BufferChain c;
    c.append(*head);
    // This stream may stop reading for as long as its client keeps its window shut: what
    // waits must stay in the kernel's socket buffer, not in the worker's shared pool.
    lease->stream.set_one_buffer_reads();
    lease->stream.prime_reads();  // submitted with the write: the answer is taken on arrival
    WriteWatchdog wd(w_.worker, lease->stream.fd(), backend_ns);
    co_return static_cast<bool>(co_await lease->stream.write_all(c));
  };
  // A pooled connection the backend closed meanwhile is replaced once (nothing was processed).
  // As for HTTP/1.1: 0 when sent again, 503 when the backend cannot be reached any more, 502
  // when it takes the connection but not the request.
  auto resend = [&]() -> runtime::Task<uint16_t> {
    ++w_.stats.stale_retries;
    retried = true;
    auto fresh = co_await w_.reconnect(*lease->backend, to.connect_ms);
    if (s.gone) co_return 502;
    if (!fresh) co_return 503;
    lease->stream = std::move(*fresh);
    lease->reused = false;
    s.backend_fd = lease->stream.fd();
    const bool ok = co_await send_head();
    co_return ok ? 0 : 502;
  };
  // (No co_await inside a compound condition: GCC 12 miscompiles some of them.)
  const bool head_sent = co_await send_head();
  uint16_t failure = head_sent ? 0 : 502;
  if (failure && lease->reused && !s.gone) failure = co_await resend();
  if (failure) {
    if (!s.gone) answer(s, failure);
    co_return;
  }
  // A backend may answer before it has read the body and close (a 413, a 401): its answer is
  // read below (502 without one).
  bool backend_closed = false;
  if (!bodiless) {
    const BodySent sent = co_await send_request_body(s, lease->stream, out);
    if (sent == BodySent::Stopped) co_return;
    backend_closed = sent == BodySent::BackendClosed;
  }

  // The response.
  if (!s.rparser) s.rparser.emplace();
  http1::ResponseParser& rp = *s.rparser;
  Input bin(w_.worker.pool());
  http1::Step step;
  for (;;) {
    rp.start(req.method);
    bin.clear();
    Read r = co_await next_step(rp, bin, lease->stream, now() + backend_ns, step);
    if (s.gone) co_return;
    if (r == Read::Step && step.event != http1::Event::Error) break;
    if (r == Read::Timeout) {
      answer(s, 504);
      co_return;
    }
    const bool stale = (r == Read::Eof || r == Read::Error) && bin.view().empty() &&
                       lease->reused && !retried && bodiless;
    failure = 502;
    if (stale) failure = co_await resend();
    if (failure) {
      if (!s.gone) answer(s, failure);
      co_return;
    }
  }
  const bool no_body = req.method == "HEAD";
  bool final_head = false;
  bool head_pending = false;  // the final head waits for the next event (END_STREAM on it?)
  buffer::Slice held;         // the last body piece, held for the same reason
  auto flush_held = [&](bool end) -> bool {
    if (head_pending) {
      head_pending = false;
      if (!submit_head(s, rp.message(), end && held.empty())) return false;
      if (end && held.empty()) return true;
    }
    if (held.empty() && !end) return true;
    return submit_slice(s, std::move(held), end);  // held is empty after the move
  };
  for (;;) {
    if (step.event == http1::Event::NeedMore) {
      bin.consume(step.consumed);
      if (!lease->stream.has_pending_input() && !flush_held(false)) co_return;
      wake_writer();
      if (!co_await wait_drained(s)) co_return;
      Read r = co_await next_step(rp, bin, lease->stream, now() + backend_ns, step);
      if (s.gone) co_return;
      if (r == Read::Step) continue;
      if (!s.response_started && !head_pending) answer(s, r == Read::Timeout ? 504 : 502);
      co_return;  // a truncated response: the stream is reset (finish_stream)
    }
    if (step.event == http1::Event::Error) {
      if (!s.response_started && !head_pending) answer(s, 502);
      co_return;
    }
    if (step.event == http1::Event::Head) {
      http::Response& res = rp.message();
      if (res.status == 101) {  // HTTP/2 has no upgrade (RFC 9113 §8.6): the backend erred
        answer(s, 502);
        co_return;
      }
      if (res.status < 200) {
        // 1xx other than 100 (answered here) go to the client.
        if (res.status != 100) {
          http1::edit_response(res, fwd, request_id);
          (void)submit_head(s, res, false);
        }
      } else {
        final_head = true;
        http1::edit_response(res, fwd, request_id);
        add_sticky_cookie(res, csnap, lease->index, sticky);
        count_response(res.status);
        head_pending = true;
      }
    } else if (step.event == http1::Event::Body && !step.data.empty() && !no_body) {
      if (!flush_held(false)) co_return;
      held = bin.slice_of(step.data);
    }
    bin.consume(step.consumed);
    if (step.event == http1::Event::Complete && final_head) {
      const http::FieldList& tr = rp.message().trailers;
      if (tr.empty()) {
        if (!flush_held(true)) co_return;
      } else {
        if (!flush_held(false)) co_return;
        http2::FieldList t;
        for (const http::Field& f : tr) {
          std::string name(f.name);
          std::transform(name.begin(), name.end(), name.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
          t.add(name, f.value);
        }
        if (!conn_.submit_trailers(s.id, t)) co_return;
        s.ended = true;
      }
      break;
    }
    step = rp.feed(bin.view());
  }
  wake_writer();
  release.reusable = rp.info().keep_alive && bin.empty() && !backend_closed;
}

// The request body to an HTTP/1.1 backend, as the client sends it. Stopped: the stream is
// over (the client is gone, or it was answered); BackendClosed: a write failed.
template <class Client>
runtime::Task<typename H2Session<Client>::BodySent> H2Session<Client>::send_request_body(
    FrontStream& s, BackendStream& backend, http::Framing framing) {
  http1::BodyWriter bw(w_.worker.pool(), framing);
  buffer::BufferChain chain;
  const uint64_t backend_ns = uint64_t{cfg_->timeouts.backend_response_ms} * kMs;
  for (;;) {
    if (!co_await wait_body(s)) co_return BodySent::Stopped;
    size_t taken = 0;
    for (const buffer::Slice& piece : s.body.slices()) {
      taken += piece.size();
      if (!bw.write(piece, chain)) {
        answer(s, 503);
        co_return BodySent::Stopped;
      }
    }
    s.body.clear();
    const bool last = s.body_done;
    if (last) {
      http::FieldList trailers;
      for (size_t i = 0; i < s.trailers.size(); ++i)
        trailers.add(s.trailers[i].name, s.trailers[i].value);
      if (!bw.finish(trailers, chain)) {
        answer(s, 503);
        co_return BodySent::Stopped;
      }
    }
    WriteWatchdog wd(w_.worker, backend.fd(), backend_ns);
    const bool ok = static_cast<bool>(co_await backend.write_all(chain));
    if (s.gone) co_return BodySent::Stopped;
    conn_.consume(s.id, taken);  // the window opens as fast as the backend takes the body
    wake_writer();
    if (!ok) co_return BodySent::BackendClosed;
    if (last) co_return BodySent::All;
  }
}

// Waits for request body bytes (or its end); false, with the answer given (408, 413), when the
// client is too slow, sends too much, or the stream is gone.
template <class Client>
runtime::Task<bool> H2Session<Client>::wait_body(FrontStream& s) {
  while (s.body.empty() && !s.body_done) {
    if (s.gone) co_return false;
    const bool woke = co_await s.signal.wait(now() + uint64_t{cfg_->timeouts.front_idle_ms} * kMs);
    if (!woke && s.body.empty() && !s.body_done) {
      answer(s, 408);
      co_return false;
    }
  }
  if (s.gone) co_return false;
  if (cfg_->limits.max_body_bytes != 0 && s.body_received > cfg_->limits.max_body_bytes) {
    answer(s, 413);  // the backend saw the head: its connection or stream is not reused
    co_return false;
  }
  co_return true;
}

// The exchange with an HTTP/2 backend (backend_protocol = http2): the request's fields go as
// they are (edited like for HTTP/1.1), DATA is relayed both ways with each side's credit
// returned only once the other side took the bytes.
template <class Client>
runtime::Task<void> H2Session<Client>::forward_h2(FrontStream& s, ClusterRuntime& cluster,
                                                  std::string_view sticky,
                                                  const http1::ForwardingOptions& fwd) {
  const config::Timeouts& to = cfg_->timeouts;
  const uint64_t wait_ns = uint64_t{to.backend_response_ms} * kMs;
  http::Request& req = s.req;
  http1::Peer peer{client_ip_, client_port_, kScheme, front_port_, {}};
  const std::string_view request_id = http1::edit_request(req, peer, fwd);
  scratch_.clear();
  http::to_h2_fields(req, req.storage, scratch_);
  http2::FieldList head;
  for (const http::Field& f : scratch_) head.add(f.name, f.value);

  H2Stream up(w_);
  struct Attach {  // lets a client reset cancel the backend stream
    FrontStream& s;
    Attach(FrontStream& fs, H2Stream& u) : s(fs) { s.upstream = &u; }
    ~Attach() { s.upstream = nullptr; }
  } attach{s, up};
  const bool bodiless = s.body_done && s.body.empty();
  auto st = co_await up.open(cluster, sticky, std::move(head), bodiless, to.connect_ms);
  if (s.gone) co_return;
  if (st != H2Stream::Status::Ok) {
    answer(s, st == H2Stream::Status::Unavailable ? 503
              : st == H2Stream::Status::Timeout   ? 504
                                                  : 502);
    co_return;
  }
  auto failed = [&](H2Stream::Status status) {
    if (!s.gone) answer(s, status == H2Stream::Status::Timeout ? 504 : 502);
  };

  // The request body: the client's credit returns as the backend stream takes the bytes. The
  // last piece carries END_STREAM. A write that fails once the backend has answered (it may
  // reset the stream with NO_ERROR after a complete response, RFC 9113 §8.1) is not an error:
  // the response decides.
  while (!bodiless) {
    if (!co_await wait_body(s)) co_return;
    buffer::BufferChain pending;
    std::swap(pending, s.body);  // on_data may append while a write waits
    // Ended here when the client's END_STREAM came before these bytes were taken.
    const bool done = s.body_done && s.trailers.empty();
    const std::span<const buffer::Slice> pieces = pending.slices();
    bool ended = false;
    size_t taken = 0;
    for (size_t i = 0; i < pieces.size(); ++i) {
      const bool last = done && i + 1 == pieces.size();
      st = co_await up.write(pieces[i].bytes(), last, now() + wait_ns);
      if (s.gone) co_return;
      if (st != H2Stream::Status::Ok) break;
      taken += pieces[i].size();
      ended = last;
    }
    conn_.consume(s.id, taken);
    wake_writer();
    if (st == H2Stream::Status::Timeout) co_return failed(st);
    if (st != H2Stream::Status::Ok) break;
    if (!s.body_done || !s.body.empty()) continue;
    if (!ended) {
      if (!s.trailers.empty())
        st = up.write_trailers(s.trailers);
      else
        st = co_await up.write({}, true, now() + wait_ns);
    }
    if (s.gone) co_return;
    break;
  }

  // The response head (interim ones other than 100 are relayed).
  http::Response res;
  for (;;) {
    st = co_await up.read_head(now() + wait_ns);
    if (s.gone) co_return;
    if (st != H2Stream::Status::Ok) co_return failed(st);
    scratch_.clear();
    for (size_t i = 0; i < up.head().size(); ++i)
      scratch_.push_back({up.head()[i].name, up.head()[i].value});
    res.clear();
    if (!http::from_h2_fields(scratch_, up.head_ends_stream(), res)) co_return failed(st);
    if (up.head_kind() == http2::HeadKind::Response) break;
    if (res.status != 100) {
      http1::edit_response(res, fwd, request_id);
      (void)submit_head(s, res, false);
    }
  }
  http1::edit_response(res, fwd, request_id);
  add_sticky_cookie(res, *cluster.snap, up.backend_index(), sticky);
  count_response(res.status);
  if (up.head_ends_stream() || req.method == "HEAD") {
    (void)submit_head(s, res, true);
    co_return;
  }
  if (!submit_head(s, res, false)) co_return;

  // The body: the backend's credit returns once the bytes are queued here, and reading pauses
  // while this stream's queue is above its bound.
  for (;;) {
    st = co_await up.read_body(now() + wait_ns);
    if (s.gone) co_return;
    if (st == H2Stream::Status::End) break;
    if (st != H2Stream::Status::Ok) co_return;  // cut: finish_stream resets the stream
    const std::span<const std::byte> data = up.body();
    if (!submit_data(s, data, false)) co_return;
    up.consume(data.size());
    if (!co_await wait_drained(s)) co_return;
  }
  if (up.trailers().empty()) {
    (void)submit_data(s, {}, true);
  } else if (conn_.submit_trailers(s.id, up.trailers())) {
    s.ended = true;
    wake_writer();
  }
}

template <class Client>
bool H2Session<Client>::submit_head(FrontStream& s, http::Response& res, bool end) {
  if (s.gone) return false;
  scratch_.clear();
  http::to_h2_fields(res, res.storage, scratch_);
  head_scratch_.clear();
  for (const http::Field& f : scratch_) head_scratch_.push_back({f.name, f.value});
  if (!conn_.submit_response(s.id, head_scratch_, end)) return false;
  if (res.status >= 200) s.response_started = true;
  s.ended = end;
  wake_writer();
  return true;
}

template <class Client>
bool H2Session<Client>::submit_data(FrontStream& s, std::span<const std::byte> data, bool end) {
  if (s.gone || !conn_.submit_data(s.id, data, end)) return false;
  s.ended = end;
  wake_writer();
  return true;
}

template <class Client>
bool H2Session<Client>::submit_slice(FrontStream& s, buffer::Slice data, bool end) {
  // Queued slices keep pool buffers: with the pool running low (clients that do not read),
  // the engine gets a copy and the buffer goes back at once.
  const buffer::BufferPool& pool = w_.worker.pool();
  if (pool.free_count() < pool.count() / 4) return submit_data(s, data.bytes(), end);
  if (s.gone || !conn_.submit_slice(s.id, std::move(data), end)) return false;
  s.ended = end;
  wake_writer();
  return true;
}

// Waits while the stream's queued response body is above its bound (the client reads slowly or
// other streams go first); false when the stream is gone or the client stopped reading.
template <class Client>
runtime::Task<bool> H2Session<Client>::wait_drained(FrontStream& s) {
  const uint64_t deadline = now() + uint64_t{cfg_->timeouts.front_idle_ms} * kMs;
  while (!s.gone && conn_.queued_data(s.id) > cfg_->http2.stream_buffer_bytes) {
    s.waiting_drain = true;
    ++drain_waiters_;
    const bool woke = co_await s.signal.wait(deadline);
    --drain_waiters_;
    s.waiting_drain = false;
    if (!woke) {
      drop(s);  // finish_stream resets it
      co_return false;
    }
  }
  co_return !s.gone;
}

template <class Client>
void H2Session<Client>::answer(FrontStream& s, uint16_t status, std::string_view location) {
  ++w_.stats.answers;
  count_response(status);
  if (s.gone || s.response_started) return;
  const std::string* tmpl = nullptr;
  if (s.cluster) {
    if (auto it = s.cluster->cluster.answers.find(status); it != s.cluster->cluster.answers.end())
      tmpl = &it->second;
  }
  if (!tmpl) {
    if (auto it = cfg_->answers.find(status); it != cfg_->answers.end()) tmpl = &it->second;
  }
  const std::string body =
      tmpl ? *tmpl : fmt::format("{} {}\n", status, http1::reason_phrase(status));
  const std::string st = std::to_string(status);
  const std::string len = std::to_string(body.size());
  http2::FieldList f{{":status", st},
                     {"content-type", "text/plain; charset=utf-8"},
                     {"content-length", len},
                     {"cache-control", "no-cache"}};
  if (!location.empty()) f.add("location", location);
  const bool head = s.req.method == "HEAD";
  if (!conn_.submit_response(s.id, f, head)) return;
  s.response_started = true;
  s.ended = true;
  if (!head) (void)conn_.submit_data(s.id, std::as_bytes(std::span(body)), true);
  wake_writer();
}

template <class Client>
runtime::Task<void> start_session(WorkerCtx& w, ListenerPtr l, Client client,
                                  buffer::BufferChain received) {
  ViewPtr view = w.view;
  const config::Listener* cfg = view ? view->snap->listener(l->address) : nullptr;
  if (!cfg) {
    co_await client.close();
    co_return;
  }
  auto s = std::make_shared<H2Session<Client>>(w, std::move(l), std::move(client), view, *cfg);
  co_await H2Session<Client>::run(std::move(s), std::move(received));
}

}  // namespace

bool is_h2_preface_start(std::string_view bytes) noexcept {
  const std::string_view preface(http2::kClientPreface, http2::kClientPrefaceSize);
  const size_t n = std::min(bytes.size(), preface.size());
  return bytes.substr(0, n) == preface.substr(0, n);
}

runtime::Task<void> h2_session(WorkerCtx& w, ListenerPtr l, net::TcpStream client,
                               buffer::BufferChain received) {
  return start_session(w, std::move(l), std::move(client), std::move(received));
}

runtime::Task<void> h2_session(WorkerCtx& w, ListenerPtr l, TlsStream client) {
  return start_session(w, std::move(l), std::move(client), buffer::BufferChain{});
}

}  // namespace kakehi::proxy::detail
