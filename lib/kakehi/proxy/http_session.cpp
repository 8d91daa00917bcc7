// The HTTP/1.1 session: one coroutine per client connection, requests handled in order
// (pipelined requests wait in the input), each routed on the view current when its head
// arrived, forwarded to a backend connection from the worker's pool, with bodies streamed both
// ways as slices of the receive buffers (no copy) and back-pressure from awaiting each write.
// See docs/proxy.md for the states, timeouts and synthesized answers.
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "kakehi/http/h2_fields.hpp"
#include "kakehi/http1/forwarding.hpp"
#include "kakehi/http1/parser.hpp"
#include "kakehi/http1/serializer.hpp"
#include "kakehi/http2/frame.hpp"
#include "kakehi/proxy/h1_io.hpp"
#include "kakehi/proxy/h2_upstream.hpp"
#include "kakehi/proxy/internal.hpp"
#include "kakehi/proxy/pipe.hpp"
#include "kakehi/proxy/tls_stream.hpp"

namespace kakehi::proxy::detail {

namespace {

// The answer when a request body could not be read; 0: the client is gone, just close.
uint16_t body_read_status(Read r) {
  switch (r) {
    case Read::Timeout:
      return 408;
    case Read::Full:
      return 400;
    case Read::NoBuffer:
      return 503;
    default:
      return 0;
  }
}

http1::Limits parser_limits(const config::Listener& l, uint32_t buffer_size) {
  http1::Limits lim;
  // A head must fit in one receive buffer (Input joins at most a buffer's worth).
  lim.max_header_bytes = std::min(l.limits.max_header_bytes, buffer_size);
  lim.max_request_line = std::min(lim.max_request_line, lim.max_header_bytes);
  lim.max_header_count = l.limits.max_header_count;
  if (l.limits.max_body_bytes != 0) lim.max_body = l.limits.max_body_bytes;
  return lim;
}

// A keep-alive connection waiting this long for its next request frees its parsers.
constexpr uint64_t kParkParsersNs = 1000 * kMs;

// One client connection: `Client` is net::TcpStream (HTTP listeners) or TlsStream (HTTPS).
template <class Client>
class Session {
  static constexpr std::string_view kScheme = std::is_same_v<Client, TlsStream> ? "https" : "http";

 public:
  Session(WorkerCtx& w, ListenerPtr l, Client client)
      : w_(w),
        l_(std::move(l)),
        client_(std::move(client)),
        in_(w.worker.pool()),
        bin_(w.worker.pool()) {}

  runtime::Task<void> run();
  /// Bytes already read from the connection (while telling HTTP/1.1 from HTTP/2).
  void preload(buffer::Slice s) { (void)in_.add(std::move(s)); }

 private:
  enum class Next { KeepAlive, Close };
  runtime::Task<Next> exchange();
  runtime::Task<Next> forward(ClusterRuntime& cluster, std::string_view sticky);
  runtime::Task<Next> forward_h2(ClusterRuntime& cluster, std::string_view sticky);
  runtime::Task<Next> relay_h2_response(H2Stream& up, const http1::ForwardingOptions& fwd,
                                        std::string_view request_id, std::string_view sticky);
  runtime::Task<bool> send_request_head(WorkerCtx::Lease& lease, const buffer::Slice& head);
  runtime::Task<uint16_t> resend_on_fresh(WorkerCtx::Lease& lease, const buffer::Slice& head);
  runtime::Task<void> linger();
  runtime::Task<Next> answer(uint16_t status, std::string_view extra_headers = {},
                             bool close = false);
  // Writes to the client, bounded by the listener's idle timeout (a client that stops reading
  // does not hold the session forever).
  runtime::Task<bool> flush(buffer::BufferChain& chain) {
    if (chain.empty()) co_return true;
    WriteWatchdog wd(w_.worker, client_.fd(), client_write_ns());
    co_return static_cast<bool>(co_await client_.write_all(chain));
  }
  // Writes to the backend, bounded by the backend response timeout.
  runtime::Task<bool> write_backend(BackendStream& s, buffer::BufferChain& chain) {
    WriteWatchdog wd(w_.worker, s.fd(), uint64_t{cfg_->timeouts.backend_response_ms} * kMs);
    co_return static_cast<bool>(co_await s.write_all(chain));
  }
  uint64_t client_write_ns() const noexcept { return uint64_t{cfg_->timeouts.front_idle_ms} * kMs; }
  uint64_t now() const noexcept { return w_.worker.now(); }
  // Moves to the worker's current configuration if it still has this listener (false if not:
  // a removed listener's session keeps the last one it had). Looks the listener and its router
  // up only when the configuration changed.
  bool adopt_current_view() {
    if (view_ == w_.view) return cfg_ != nullptr;
    const config::Listener* c = w_.view->snap->listener(l_->address);
    if (!c) return false;
    view_ = w_.view;
    cfg_ = c;
    auto r = view_->snap->routers.find(l_->address);
    router_ = r != view_->snap->routers.end() ? r->second.get() : nullptr;
    return true;
  }
  // Runs a head serializer, waiting (bounded) for a pool buffer when the pool is exhausted, and
  // moves the head into the worker's shared head slab (a head rarely needs a whole buffer).
  template <class Fn>
  runtime::Task<Result<buffer::Slice, http1::SerializeError>> serialize(Fn fn) {
    auto r = fn();
    for (int i = 0; i < 200 && !r && r.error() == http1::SerializeError::PoolExhausted; ++i) {
      co_await runtime::sleep_for(kMs);
      r = fn();
    }
    if (r) r = w_.compact(std::move(*r));
    co_return r;
  }
  void count_response(uint16_t status) {
    if (status >= 100 && status < 600) ++w_.stats.responses[status / 100];
  }

  WorkerCtx& w_;
  ListenerPtr l_;
  Client client_;
  SessionLink link_;
  buffer::Slice head_hold_;  // keeps the current request head's bytes alive
  Input in_;
  Input bin_;
  // Reused for every request (no allocation per request); emptied after each exchange, so an
  // idle session holds no buffer.
  buffer::BufferChain to_backend_;
  buffer::BufferChain to_client_;
  ViewPtr view_;
  const config::Listener* cfg_ = nullptr;     // this listener in view_
  const Router* router_ = nullptr;            // this listener's router in view_
  const ClusterSnapshot* cluster_ = nullptr;  // for answers: the routed cluster, if any
  std::optional<http1::RequestParser> parser_;
  std::optional<http1::ResponseParser> rparser_;
  std::string client_ip_;
  uint16_t client_port_ = 0;
  uint16_t front_port_ = 0;   // the port the client connected to (X-Forwarded-Port, Forwarded)
  std::string proxy_header_;  // the PROXY header for backends of clusters that send one
  // The backend connection opened with proxy_header_, kept for this client's next request.
  std::optional<WorkerCtx::Lease> own_;
  bool client_keep_ = true;
  bool request_done_ = false;  // the whole request (body included) has been read
  bool response_started_ = false;
  bool is_head_ = false;
};

template <class Client>
runtime::Task<void> Session<Client>::run() {
  SessionCount count(w_, *l_);
  link_.fd = client_.fd();
  link_.listener = l_.get();
  w_.sessions.push_back(link_);
  ClientFacts facts = client_facts(client_, l_->port, w_.opts.forwarding_headers);
  client_ip_ = std::move(facts.ip);
  client_port_ = facts.port;
  front_port_ = facts.front_port;
  for (;;) {
    link_.idle = in_.empty();
    if ((l_->removed || w_.draining) && in_.empty()) break;
    if (!adopt_current_view()) break;
    if (!parser_) parser_.emplace(parser_limits(*cfg_, w_.worker.pool().buffer_size()), kScheme);
    Next n = co_await exchange();
    to_backend_.clear();
    to_client_.clear();
    if (n == Next::Close || !client_keep_) break;
  }
  view_.reset();
  // Answered with the body unread (413, 404, an early backend answer...): drain it first.
  if (response_started_ && !request_done_) co_await linger();
  // Unregistered before the socket closes: a drain must never shut down a reused fd number.
  link_.unlink();
  co_await client_.close();
}

// Lingering close (RFC 9112 §9.6). Closing a socket with unread bytes makes the kernel send a
// reset, and the reset can reach the client before it reads the response: a client that writes
// its whole body before reading sees only the error. So stop writing (HTTP; over TLS the close
// alert comes with the close), then read and drop what the client still sends until it closes,
// at most kLingerNs in all, kLingerIdleNs between reads and kLingerBytes. A drain or shutdown
// ends it at once (the session counts as idle).
template <class Client>
runtime::Task<void> Session<Client>::linger() {
  constexpr uint64_t kLingerNs = 5000 * kMs;
  constexpr uint64_t kLingerIdleNs = 1000 * kMs;
  constexpr uint64_t kLingerBytes = 64ull << 20;
  link_.idle = true;
  in_.clear();
  head_hold_.reset();
  if constexpr (std::is_same_v<Client, net::TcpStream>) ::shutdown(client_.fd(), SHUT_WR);
  const uint64_t end = now() + kLingerNs;
  for (uint64_t dropped = 0; dropped < kLingerBytes;) {
    auto r = co_await client_.recv_until(std::min(end, now() + kLingerIdleNs));
    if (!r || r->empty()) break;
    dropped += r->size();
  }
}

template <class Client>
runtime::Task<typename Session<Client>::Next> Session<Client>::exchange() {
  http1::RequestParser* parser = &*parser_;
  cluster_ = nullptr;
  head_hold_.reset();
  response_started_ = false;
  request_done_ = false;
  // Wait for a request head: the idle timeout until its first byte, then the head timeout.
  http1::Step step;
  const uint64_t idle_deadline = now() + uint64_t{cfg_->timeouts.front_idle_ms} * kMs;
  uint64_t head_deadline = 0;
  for (;;) {
    const bool started = !in_.view().empty();
    if (started) link_.idle = false;
    if (started && head_deadline == 0)
      head_deadline = now() + uint64_t{cfg_->timeouts.request_head_ms} * kMs;
    step = parser->feed(in_.view());
    if (step.event != http1::Event::NeedMore) break;
    in_.consume(step.consumed);
    Input::Add added = Input::Add::Ok;
    if (!in_.pull(added)) {
      const bool between = in_.view().empty() && parser->idle();
      const uint64_t deadline = between         ? idle_deadline
                                : head_deadline ? head_deadline
                                                : idle_deadline;
      // A connection quiet for a while gives its parsers back: their field arrays and arenas
      // are most of an idle session's memory. The next request gets new ones.
      const bool park = between && now() + kParkParsersNs < deadline;
      auto r = co_await client_.recv_until(park ? now() + kParkParsersNs : deadline);
      if (park && !r && r.error() == ETIMEDOUT) {
        parser_.reset();
        rparser_.reset();
        r = co_await client_.recv_until(deadline);
        parser_.emplace(parser_limits(*cfg_, w_.worker.pool().buffer_size()), kScheme);
        parser = &*parser_;
      }
      if (!r) {
        if (r.error() == ETIMEDOUT && !(in_.view().empty() && parser->idle()))
          co_return co_await answer(408, {}, true);
        co_return Next::Close;
      }
      if (r->empty()) {
        step = parser->feed_eof();
        if (step.event == http1::Event::NeedMore) co_return Next::Close;  // clean end
        co_return Next::Close;  // truncated head: nobody to answer
      }
      added = in_.add(std::move(*r));
    }
    if (added == Input::Add::Full) co_return co_await answer(431, {}, true);
    if (added == Input::Add::NoBuffer) co_return co_await answer(503, {}, true);
  }
  if (step.event == http1::Event::Error)
    co_return co_await answer(http1::status(step.error), {}, true);
  // step.event == Head. The request is routed on the configuration current now (a keep-alive
  // connection may have waited through several diffs); a removed listener finishes on the last
  // configuration it had.
  adopt_current_view();
  link_.idle = false;
  head_hold_ = in_.window();  // the parsed head's views point into this buffer
  in_.consume(step.consumed);
  ++w_.stats.requests;
  http::Request& req = parser->message();
  const http1::HeadInfo info = parser->info();
  is_head_ = req.method == "HEAD";
  client_keep_ = info.keep_alive && !l_->removed && !w_.draining;
  if (req.framing.kind == http::BodyKind::None || req.framing.kind == http::BodyKind::Upgrade) {
    step = parser->feed(in_.view());  // a bodiless request completes at once
    if (step.event == http1::Event::Complete) in_.consume(step.consumed);
    request_done_ = true;
  }

  Route route;
  if (router_) route = router_->lookup(req.authority, req.path, req.method);
  if (!route) co_return co_await answer(404, {}, !request_done_);
  ClusterRuntime* cluster = view_->cluster(route.cluster);
  if (!cluster) co_return co_await answer(503, {}, !request_done_);
  cluster_ = cluster->snap;
  if (cluster_->cluster.https_redirect && l_->kind == config::ListenerKind::Http) {
    std::string_view host = req.authority;
    if (size_t colon = host.rfind(':');
        colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos)
      host = host.substr(0, colon);  // the redirect goes to the default HTTPS port
    std::string location = fmt::format("Location: https://{}{}\r\n", host, req.path);
    co_return co_await answer(301, location, !request_done_);
  }
  std::string_view sticky;
  if (cluster_->cluster.sticky_session) sticky = cookie_value(req.fields, kStickyCookie);
  co_return co_await forward(*cluster, sticky);
}

template <class Client>
runtime::Task<bool> Session<Client>::send_request_head(WorkerCtx::Lease& lease,
                                                       const buffer::Slice& head) {
  to_backend_.clear();  // a failed write may have left bytes for the stale connection
  to_backend_.append(head);
  co_return co_await write_backend(lease.stream, to_backend_);
}

// Sends the request head again on a fresh connection to the same backend, after a pooled
// connection turned out closed. 0 on success, else the status to answer.
template <class Client>
runtime::Task<uint16_t> Session<Client>::resend_on_fresh(WorkerCtx::Lease& lease,
                                                         const buffer::Slice& head) {
  ++w_.stats.stale_retries;
  auto fresh = co_await w_.reconnect(*lease.backend, cfg_->timeouts.connect_ms,
                                     lease.dedicated ? proxy_header_ : std::string_view{});
  if (!fresh) co_return 503;
  lease.stream = std::move(*fresh);
  lease.reused = false;
  co_return co_await send_request_head(lease, head) ? 0 : 502;
}

template <class Client>
runtime::Task<typename Session<Client>::Next> Session<Client>::forward(ClusterRuntime& cluster,
                                                                       std::string_view sticky) {
  http1::RequestParser& parser = *parser_;
  http::Request& req = parser.message();
  const http1::HeadInfo info = parser.info();
  const config::Timeouts& to = cfg_->timeouts;
  if (cluster.snap->cluster.backend_protocol == config::BackendProtocol::Http2)
    co_return co_await forward_h2(cluster, sticky);

  const std::string_view proxy_header = proxy_header_for(*cluster.snap, client_, proxy_header_);
  std::optional<WorkerCtx::Lease> lease;
  if (own_) lease = co_await w_.resume(cluster, sticky, *std::exchange(own_, std::nullopt));
  if (!lease) lease = co_await w_.acquire(cluster, sticky, to.connect_ms, true, proxy_header);
  if (!lease) co_return co_await answer(503, {}, !request_done_);
  struct Release {  // the lease goes back to the pool (or is closed, or kept) on every path
    WorkerCtx& w;
    WorkerCtx::Lease& lease;
    std::optional<WorkerCtx::Lease>& keep;
    bool reusable = false;
    ~Release() { w.release(lease, reusable, &keep); }
  } release{w_, *lease, own_};
  const std::string_view fresh_header = lease->dedicated ? proxy_header : std::string_view{};

  // With a body, a pooled connection is used only if it shows no sign of being closed: the
  // body cannot be replayed on a fresh one.
  if (lease->reused && !request_done_ && !looks_alive(lease->stream)) {
    auto fresh = co_await w_.reconnect(*lease->backend, to.connect_ms, fresh_header);
    if (!fresh) co_return co_await answer(503, {}, true);
    lease->stream = std::move(*fresh);
    lease->reused = false;
  }

  // Edit and serialize the head.
  http1::ForwardingOptions fwd;
  fwd.x_forwarded_for = fwd.x_forwarded_proto = fwd.x_forwarded_port = fwd.x_forwarded_host =
      fwd.forwarded = w_.opts.forwarding_headers;
  fwd.via = w_.opts.via;
  http1::Peer peer{client_ip_, client_port_, kScheme, front_port_, {}};
  if (info.expect_continue) req.fields.remove("expect");  // answered here: see below
  const std::string_view request_id = http1::edit_request(req, peer, fwd, info.upgrade);
  const bool body = !request_done_;
  const http::Framing out =
      req.framing.kind == http::BodyKind::Upgrade ? http::Framing{} : req.framing;
  auto head = co_await serialize([&] {
    return http1::write_request_head(w_.worker.pool(), req, out, {.upgrade = info.upgrade});
  });
  if (!head)
    co_return co_await answer(head.error() == http1::SerializeError::HeadTooLarge ? 431 : 503, {},
                              true);
  const std::string_view method = req.method;

  bool retried = false;
  if (!co_await send_request_head(*lease, *head)) {
    if (!lease->reused) co_return co_await answer(502, {}, true);
    retried = true;
    if (uint16_t st = co_await resend_on_fresh(*lease, *head))
      co_return co_await answer(st, {}, true);
  }

  // Stream the request body.
  bool backend_closed = false;  // a body write failed: the backend stopped reading
  if (!request_done_) {
    if (info.expect_continue) {
      static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
      WriteWatchdog wd(w_.worker, client_.fd(), client_write_ns());
      if (!co_await client_.write_all(std::as_bytes(std::span(k100)))) co_return Next::Close;
    }
    http1::BodyWriter bw(w_.worker.pool(), out);
    buffer::BufferChain& chain = to_backend_;
    http1::Step step = parser.feed(in_.view());
    for (;;) {
      if (step.event == http1::Event::NeedMore) {
        in_.consume(step.consumed);
        // Send what is framed before waiting for more input (back-pressure both ways).
        const bool more_here = client_.has_pending_input() && chain.slice_count() < kBatch;
        if (!chain.empty() && !more_here) {
          const bool sent = co_await write_backend(lease->stream, chain);
          if (!sent) {
            backend_closed = true;
            break;
          }
        }
        Read r = co_await next_step(parser, in_, client_, now() + uint64_t{to.front_idle_ms} * kMs,
                                    step);
        if (r != Read::Step) {
          if (const uint16_t code = body_read_status(r)) co_return co_await answer(code, {}, true);
          co_return Next::Close;
        }
        continue;
      }
      if (step.event == http1::Event::Error)
        co_return co_await answer(http1::status(step.error), {}, true);
      if (step.event == http1::Event::Body && !step.data.empty() &&
          !bw.write(in_.slice_of(step.data), chain))
        co_return co_await answer(503, {}, true);
      in_.consume(step.consumed);
      if (step.event == http1::Event::Complete) {
        if (!bw.finish(req.trailers, chain)) co_return co_await answer(503, {}, true);
        request_done_ = true;
        break;
      }
      step = parser.feed(in_.view());
    }
    if (!backend_closed) {
      const bool sent = co_await write_backend(lease->stream, chain);
      backend_closed = !sent;
    }
    // A backend may answer before it has read the body and close (a 413, a 401): its answer is
    // read below (502 without one); the rest of the client's body is not, so the client's
    // connection ends after it.
    if (backend_closed) client_keep_ = false;
  }

  // Read the response head (again on a fresh connection if a pooled one turns out closed).
  if (!rparser_) rparser_.emplace();
  http1::ResponseParser& rp = *rparser_;
  http1::Step step;
  for (;;) {
    bin_.clear();
    rp.start(method);
    Read r = co_await next_step(rp, bin_, lease->stream,
                                now() + uint64_t{to.backend_response_ms} * kMs, step);
    if (r == Read::Step && step.event != http1::Event::Error) break;
    if (r == Read::Timeout) co_return co_await answer(504, {}, true);
    const bool stale = (r == Read::Eof || r == Read::Error) && bin_.view().empty() &&
                       lease->reused && !retried && !body;
    if (!stale) co_return co_await answer(502, {}, true);
    retried = true;  // the backend closed the idle connection: not a failure
    if (uint16_t st = co_await resend_on_fresh(*lease, *head))
      co_return co_await answer(st, {}, true);
  }

  // Relay the response: informational heads, then the final head and its body.
  buffer::BufferChain& chain = to_client_;
  std::optional<http1::BodyWriter> bw;
  bool final_head = false;
  bool upgraded = false;
  for (;;) {
    if (step.event == http1::Event::NeedMore) {
      bin_.consume(step.consumed);
      // Write what is framed before waiting, unless more bytes are already here (one write
      // for a response that arrived in several receive buffers). Completions are dispatched
      // one by one: when the body is known to continue, let the rest of this turn's batch in
      // first (one loop turn) so that its next buffer is seen.
      if (final_head && !chain.empty() && !lease->stream.has_pending_input())
        co_await runtime::yield();
      const bool more_here = lease->stream.has_pending_input() && chain.slice_count() < kBatch;
      if (!more_here && !co_await flush(chain)) co_return Next::Close;
      Read r = co_await next_step(rp, bin_, lease->stream,
                                  now() + uint64_t{to.backend_response_ms} * kMs, step);
      if (r == Read::Step) continue;
      if (!response_started_) co_return co_await answer(r == Read::Timeout ? 504 : 502, {}, true);
      co_return Next::Close;  // truncated response: the client sees the connection end
    }
    if (step.event == http1::Event::Error) {
      if (response_started_) co_return Next::Close;
      co_return co_await answer(502, {}, true);
    }
    if (step.event == http1::Event::Head) {
      http::Response& res = rp.message();
      if (res.status < 200 && res.status != 101) {
        // 1xx: forwarded as it is (a 100 was answered here already).
        if (res.status != 100) {
          auto h = http1::write_response_head(w_.worker.pool(), res, {}, {});
          if (h) chain.append(std::move(*h));
        }
      } else {
        final_head = true;
        upgraded = res.status == 101;
        http1::edit_response(res, fwd, request_id, upgraded);
        if (cluster_->cluster.sticky_session) {
          const config::Backend& b = cluster_->backends[lease->index];
          const std::string_view id = b.sticky_id ? std::string_view(*b.sticky_id) : b.id;
          if (sticky != id)
            res.fields.add("Set-Cookie",
                           res.storage.concat({kStickyCookie, "=", id, "; Path=/; HttpOnly"}));
        }
        http::Framing rout = http1::outgoing_framing(res.framing, req.version);
        if (is_head_ || res.status == 204 || res.status == 304) rout = {};
        if (upgraded) rout = {};
        if (rout.kind == http::BodyKind::Close || upgraded || l_->removed || w_.draining)
          client_keep_ = false;  // a listener removed or a drain begun meanwhile: last request
        auto h = co_await serialize([&] {
          return http1::write_response_head(
              w_.worker.pool(), res, rout,
              {.connection_close = !client_keep_, .upgrade = upgraded});
        });
        if (!h) co_return co_await answer(502, {}, true);
        count_response(res.status);
        chain.append(std::move(*h));
        response_started_ = true;
        bw.emplace(w_.worker.pool(), rout);
      }
    } else if (step.event == http1::Event::Body) {
      if (bw && !step.data.empty() && !bw->write(bin_.slice_of(step.data), chain))
        co_return Next::Close;
    }
    bin_.consume(step.consumed);
    if (step.event == http1::Event::Complete && final_head) {
      if (!upgraded && !bw->finish(rp.message().trailers, chain)) co_return Next::Close;
      break;
    }
    step = rp.feed(bin_.view());
  }
  if (!co_await flush(chain)) co_return Next::Close;

  if (upgraded) {
    ++w_.stats.upgrades;
    co_await pipe(client_, lease->stream, in_.take_all(), bin_.take_all(), to.front_idle_ms);
    co_return Next::Close;
  }
  release.reusable = rp.info().keep_alive && bin_.empty() && request_done_ && !backend_closed;
  co_return client_keep_ ? Next::KeepAlive : Next::Close;
}

// The request to an HTTP/2 backend (H2Stream): the same head edits as forward(), the head as
// an HTTP/2 field list, the body as DATA (write() waits for the backend's windows), the
// response relayed as HTTP/1.1. An Upgrade is not carried (RFC 9113 §8.6): the request goes
// without it and the backend answers it as a plain request (RFC 9110 §7.8).
template <class Client>
runtime::Task<typename Session<Client>::Next> Session<Client>::forward_h2(ClusterRuntime& cluster,
                                                                          std::string_view sticky) {
  http1::RequestParser& parser = *parser_;
  http::Request& req = parser.message();
  const http1::HeadInfo info = parser.info();
  const config::Timeouts& to = cfg_->timeouts;

  http1::ForwardingOptions fwd;
  fwd.x_forwarded_for = fwd.x_forwarded_proto = fwd.x_forwarded_port = fwd.x_forwarded_host =
      fwd.forwarded = w_.opts.forwarding_headers;
  fwd.via = w_.opts.via;
  http1::Peer peer{client_ip_, client_port_, kScheme, front_port_, {}};
  if (info.expect_continue) req.fields.remove("expect");  // answered here: see below
  const std::string_view request_id = http1::edit_request(req, peer, fwd, false);
  std::vector<http::Field> fields;
  http::StringArena arena;
  http::to_h2_fields(req, arena, fields);
  http2::FieldList head;
  for (const http::Field& f : fields) head.add(f.name, f.value);

  H2Stream up(w_);
  const bool body = !request_done_;
  auto st = co_await up.open(cluster, sticky, std::move(head), !body, to.connect_ms);
  if (st != H2Stream::Status::Ok)
    co_return co_await answer(st == H2Stream::Status::Unavailable ? 503 : 502, {}, body);

  if (body) {
    if (info.expect_continue) {
      static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
      WriteWatchdog wd(w_.worker, client_.fd(), client_write_ns());
      if (!co_await client_.write_all(std::as_bytes(std::span(k100)))) co_return Next::Close;
    }
    const uint64_t wait_ns = uint64_t{to.backend_response_ms} * kMs;
    http1::Step step = parser.feed(in_.view());
    for (;;) {
      if (step.event == http1::Event::NeedMore) {
        in_.consume(step.consumed);
        Read r = co_await next_step(parser, in_, client_, now() + uint64_t{to.front_idle_ms} * kMs,
                                    step);
        if (r != Read::Step) {
          if (const uint16_t code = body_read_status(r)) co_return co_await answer(code, {}, true);
          co_return Next::Close;
        }
        continue;
      }
      if (step.event == http1::Event::Error)
        co_return co_await answer(http1::status(step.error), {}, true);
      if (step.event == http1::Event::Body && !step.data.empty()) {
        st = co_await up.write(std::as_bytes(std::span(step.data)), false, now() + wait_ns);
        if (st == H2Stream::Status::Timeout) co_return co_await answer(504, {}, true);
        if (st != H2Stream::Status::Ok) {
          // The backend answered early (or its stream failed, and read_head says so): the
          // rest of this body is not read, so the connection ends after the response.
          client_keep_ = false;
          co_return co_await relay_h2_response(up, fwd, request_id, sticky);
        }
      }
      in_.consume(step.consumed);
      if (step.event == http1::Event::Complete) break;
      step = parser.feed(in_.view());
    }
    if (req.trailers.empty()) {
      st = co_await up.write({}, true, now() + wait_ns);
    } else {
      http2::FieldList trailers;
      for (const http::Field& f : req.trailers) {
        std::string name(f.name);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        trailers.add(name, f.value);
      }
      st = up.write_trailers(trailers);
    }
    if (st == H2Stream::Status::Timeout) co_return co_await answer(504, {}, true);
    request_done_ = true;  // read whole: an early response (Answered) is relayed as any other
  }
  co_return co_await relay_h2_response(up, fwd, request_id, sticky);
}

// Relays the response of `up` as HTTP/1.1: informational heads other than 100 as they are, the
// final head edited like a backend's HTTP/1.1 head, the body re-framed (Content-Length when the
// backend gave one, else chunked; none for HEAD, 204, 304), trailers when chunked. Body bytes
// are credited back to the backend only once written to the client.
template <class Client>
runtime::Task<typename Session<Client>::Next> Session<Client>::relay_h2_response(
    H2Stream& up, const http1::ForwardingOptions& fwd, std::string_view request_id,
    std::string_view sticky) {
  const http::Request& req = parser_->message();
  const uint64_t wait_ns = uint64_t{cfg_->timeouts.backend_response_ms} * kMs;
  buffer::BufferChain& chain = to_client_;
  buffer::BufferPool& pool = w_.worker.pool();
  std::vector<http::Field> fields;
  http::Response res;
  for (;;) {
    auto st = co_await up.read_head(now() + wait_ns);
    if (st != H2Stream::Status::Ok)
      co_return co_await answer(st == H2Stream::Status::Timeout ? 504 : 502, {}, true);
    fields.clear();
    for (size_t i = 0; i < up.head().size(); ++i)
      fields.push_back({up.head()[i].name, up.head()[i].value});
    res.clear();
    if (!http::from_h2_fields(fields, up.head_ends_stream(), res))
      co_return co_await answer(502, {}, true);
    if (up.head_kind() == http2::HeadKind::Response) break;
    if (res.status != 100) {  // a 100 was answered here already
      auto h = http1::write_response_head(pool, res, {}, {});
      if (h) chain.append(std::move(*h));
    }
  }

  http1::edit_response(res, fwd, request_id, false);
  if (cluster_->cluster.sticky_session) {
    const config::Backend& b = cluster_->backends[up.backend_index()];
    const std::string_view id = b.sticky_id ? std::string_view(*b.sticky_id) : b.id;
    if (sticky != id)
      res.fields.add("Set-Cookie",
                     res.storage.concat({kStickyCookie, "=", id, "; Path=/; HttpOnly"}));
  }
  http::Framing rout = http1::outgoing_framing(res.framing, req.version);
  if (is_head_ || res.status == 204 || res.status == 304) rout = {};
  if (rout.kind == http::BodyKind::Close || l_->removed || w_.draining) client_keep_ = false;
  auto h = co_await serialize([&] {
    return http1::write_response_head(pool, res, rout, {.connection_close = !client_keep_});
  });
  if (!h) co_return co_await answer(502, {}, true);
  count_response(res.status);
  chain.append(std::move(*h));
  response_started_ = true;

  http1::BodyWriter bw(pool, rout);
  for (;;) {
    auto st = co_await up.read_body(now() + wait_ns);
    if (st == H2Stream::Status::End) break;
    if (st != H2Stream::Status::Ok) {
      (void)co_await flush(chain);
      co_return Next::Close;  // truncated response: the client sees the connection end
    }
    std::span<const std::byte> data = up.body();
    size_t taken = 0;
    for (uint32_t waits = 0; taken < data.size() && chain.slice_count() < kBatch;) {
      auto b = pool.acquire();
      if (!b) {  // pool exhausted: wait (bounded) for writers to return buffers
        if (!chain.empty() || ++waits > 200) break;
        co_await runtime::sleep_for(kMs);
        continue;
      }
      const size_t n = std::min<size_t>(data.size() - taken, b->size());
      std::memcpy(b->writable().data(), data.data() + taken, n);
      b->remove_suffix(static_cast<uint32_t>(b->size() - n));
      if (rout.kind != http::BodyKind::None && !bw.write(std::move(*b), chain))
        co_return Next::Close;
      taken += n;
    }
    if (taken == 0) co_return Next::Close;
    if (!co_await flush(chain)) co_return Next::Close;
    up.consume(taken);  // only now may the backend send more on this stream
  }
  http::FieldList trailers;
  for (size_t i = 0; i < up.trailers().size(); ++i)
    trailers.add(up.trailers()[i].name, up.trailers()[i].value);
  if (!bw.finish(trailers, chain)) co_return Next::Close;
  if (!co_await flush(chain)) co_return Next::Close;
  co_return client_keep_ ? Next::KeepAlive : Next::Close;
}

template <class Client>
runtime::Task<typename Session<Client>::Next> Session<Client>::answer(
    uint16_t status, std::string_view extra_headers, bool close) {
  ++w_.stats.answers;
  count_response(status);
  if (response_started_) co_return Next::Close;  // too late for a status: just end
  if (close || l_->removed || w_.draining) client_keep_ = false;
  const std::string* tmpl = nullptr;
  if (cluster_) {
    if (auto it = cluster_->cluster.answers.find(status); it != cluster_->cluster.answers.end())
      tmpl = &it->second;
  }
  if (!tmpl && cfg_) {
    if (auto it = cfg_->answers.find(status); it != cfg_->answers.end()) tmpl = &it->second;
  }
  const std::string_view reason = http1::reason_phrase(status);
  std::string body = tmpl ? *tmpl : fmt::format("{} {}\n", status, reason);
  std::string msg = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n"
      "Cache-Control: no-cache\r\n{}{}\r\n",
      status, reason, body.size(), extra_headers, client_keep_ ? "" : "Connection: close\r\n");
  if (!is_head_) msg += body;
  response_started_ = true;
  WriteWatchdog wd(w_.worker, client_.fd(), client_write_ns());
  if (!co_await client_.write_all(std::as_bytes(std::span(msg)))) co_return Next::Close;
  co_return client_keep_ ? Next::KeepAlive : Next::Close;
}

}  // namespace

runtime::Task<void> http_session(WorkerCtx& w, ListenerPtr l, net::TcpStream client) {
  const config::Listener* cfg = w.view ? w.view->snap->listener(l->address) : nullptr;
  buffer::Slice first;
  if (cfg && cfg->http2.enabled) {
    // HTTP/2 with prior knowledge (RFC 9113 §3.3) or HTTP/1.1: read until the bytes leave the
    // connection preface or match all of it. Every HTTP/1.1 method differs from "PRI" by its
    // first bytes, so an HTTP/1.1 request is told apart after its first receive.
    buffer::BufferChain got;
    std::string start;
    // The idle timeout for the first byte, then the head timeout (as for an HTTP/1.1 head).
    const uint64_t idle_deadline = w.worker.now() + uint64_t{cfg->timeouts.front_idle_ms} * kMs;
    uint64_t head_deadline = 0;
    while (is_h2_preface_start(start) && start.size() < http2::kClientPrefaceSize) {
      auto r = co_await client.recv_until(head_deadline ? head_deadline : idle_deadline);
      if (r && !head_deadline)
        head_deadline = w.worker.now() + uint64_t{cfg->timeouts.request_head_ms} * kMs;
      if (!r || r->empty()) {
        co_await client.close();
        co_return;
      }
      start.append(r->view().substr(
          0, http2::kClientPrefaceSize - std::min(start.size(), http2::kClientPrefaceSize)));
      got.append(std::move(*r));
    }
    if (is_h2_preface_start(start)) {
      co_await h2_session(w, std::move(l), std::move(client), std::move(got));
      co_return;
    }
    if (got.slice_count() == 1) {
      first = got.slices()[0];
    } else if (auto joined = w.worker.pool().acquire()) {  // a trickled start: one piece
      uint32_t n = 0;
      for (const buffer::Slice& p : got.slices()) {
        const uint32_t m = std::min(p.size(), joined->size() - n);
        std::memcpy(joined->writable().data() + n, p.data(), m);
        n += m;
      }
      joined->remove_suffix(joined->size() - n);
      first = std::move(*joined);
    } else {
      co_await client.close();
      co_return;
    }
  }
  Session<net::TcpStream> s(w, std::move(l), std::move(client));
  if (!first.empty()) s.preload(std::move(first));
  co_await s.run();
}

runtime::Task<void> https_session(WorkerCtx& w, ListenerPtr l, net::TcpStream client) {
  const ViewPtr view = w.view;
  const config::Listener* cfg = view->snap->listener(l->address);
  auto ctx = view->snap->tls_contexts.find(l->address);
  if (!cfg || ctx == view->snap->tls_contexts.end()) {
    co_await client.close();
    co_return;
  }
  TlsStream tls(std::move(client), std::shared_ptr<const tls::Context>(ctx->second),
                w.worker.pool());
  const bool ok =
      co_await tls.handshake(w.worker.now() + uint64_t{cfg->tls.handshake_timeout_ms} * 1'000'000);
  const tls::Connection& c = tls.connection();
  if (!ok) {
    if (c.state() == tls::ConnState::Failed) {
      ++w.stats.tls_handshake_failures;
      ++w.stats.tls_failures_by_reason[static_cast<size_t>(c.error().code)];
    } else {
      ++w.stats.tls_handshakes_abandoned;
    }
    co_await tls.close();
    co_return;
  }
  ++w.stats.tls_handshakes;
  if (c.handshake().resumed) ++w.stats.tls_resumed;
  if (c.handshake().alpn == "h2") {
    co_await h2_session(w, std::move(l), std::move(tls));
    co_return;
  }
  Session<TlsStream> s(w, std::move(l), std::move(tls));
  co_await s.run();
}

}  // namespace kakehi::proxy::detail
