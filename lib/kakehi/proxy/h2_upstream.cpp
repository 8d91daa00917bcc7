// HTTP/2 connections towards backends and the streams on them (h2_upstream.hpp). One H2Conn:
// a run() task (connect, then the writer loop) and a reader task, both holding the connection
// alive; the engine's callbacks fill the H2Stream handles and wake their owners. Connection
// states:
//
//   Connecting --connected--> Open --GOAWAY received / idle / retired--> Closing --> Closed
//        |                      |                                                    ^
//        `--connect failed------+--------------I/O error, connection error------------'
//
// Only Connecting and Open connections without a GOAWAY are in BackendRuntime::h2 (take new
// streams); Closing ones finish their streams, flush their last frames and close.
#include "kakehi/proxy/h2_upstream.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "kakehi/common/log.hpp"

namespace kakehi::proxy::detail {

namespace {
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kNever = UINT64_MAX;
// A backend's MAX_CONCURRENT_STREAMS is honoured; this caps what one connection carries when it
// announces more (or nothing yet: "initially there is no limit", §5.1.2).
constexpr uint32_t kMaxStreamsPerConn = 128;
// Streams a connection is expected to take before the backend's SETTINGS say, when no earlier
// connection to it told (RFC 9113 §6.5.2 recommends at least 100); the excess is refused when
// they arrive and goes elsewhere.
constexpr uint32_t kAssumedStreams = 100;
// Connections to one backend from one worker (beyond: a new stream waits for a free slot).
constexpr size_t kMaxConnsPerBackend = 32;
// Request body bytes queued in the engine per stream before write() waits for them to leave.
constexpr size_t kMaxQueuedBody = 64 * 1024;
// Our receive window per stream: what a backend may send ahead of the consumer (the memory a
// slow client can make a stream hold).
constexpr uint32_t kStreamWindow = 256 * 1024;
// How often an idle connection looks at the idle timeout, a retirement or a drain.
constexpr uint64_t kHousekeepingNs = 1000 * kMs;
// A connection write that makes no progress for this long fails the connection.
constexpr uint64_t kWriteTimeoutNs = 30'000 * kMs;
// Replays of a stream the backend did not process (GOAWAY, REFUSED_STREAM).
constexpr uint32_t kMaxReplays = 3;
// Request body bytes a stream keeps so that it can be replayed (beyond: no replay once a body
// byte went out); freed when the response head arrives.
constexpr size_t kReplayBody = 64 * 1024;
// Wake-ups one wait for a stream event may take (each is an event on the stream: a bound that
// only a broken peer could reach). The wait loops are bounded and keep co_await out of `if`
// conditions: with GCC 12.2 -O2, `for (;;) { ... if (!co_await signal_.wait(d)) co_return ...; }`
// as a whole coroutine body was compiled so that its first resume ran none of it (UBSan builds
// trap there as unreachable code).
constexpr uint32_t kMaxWakeups = 1u << 20;

http2::ConnectionConfig client_config() {
  http2::ConnectionConfig c;
  c.role = http2::Role::Client;
  c.local.max_concurrent_streams = 0;  // no push (enable_push = 0): no stream from the backend
  c.local.initial_window_size = kStreamWindow;
  c.window.auto_update = false;  // credit only what the consumer took (H2Stream::consume)
  return c;
}
}  // namespace

// ---- Signal ----

Signal::~Signal() {
  if (waiter_) waiter_->s = nullptr;
}

void Signal::notify() noexcept {
  if (!waiter_) {
    pending_ = true;
    return;
  }
  Awaiter* a = waiter_;
  waiter_ = nullptr;
  woken_ = true;
  runtime::TimerWheel::cancel(*a);
  runtime::Worker::current()->post(a->h);
}

Signal::Awaiter::~Awaiter() {
  if (s && s->waiter_ == this) s->waiter_ = nullptr;
}

bool Signal::Awaiter::await_ready() noexcept {
  if (!s->pending_) return false;
  s->pending_ = false;
  s->woken_ = true;
  return true;
}

void Signal::Awaiter::await_suspend(std::coroutine_handle<> handle) noexcept {
  h = handle;
  s->waiter_ = this;
  s->woken_ = false;
  if (deadline != kNever) runtime::Worker::current()->timers().arm(*this, deadline);
}

bool Signal::Awaiter::await_resume() noexcept {
  if (!s) return false;
  if (s->waiter_ == this) s->waiter_ = nullptr;
  const bool woken = s->woken_;
  s->woken_ = false;
  return woken;
}

void Signal::Awaiter::fire(runtime::TimerEntry* t) noexcept {
  auto* a = static_cast<Awaiter*>(t);
  if (a->s && a->s->waiter_ == a) a->s->waiter_ = nullptr;
  a->h.resume();
}

// Wakes the first stream waiting for a slot on `b` (all of them: `all`, when connections left
// the pool or learnt their limits); a woken stream looks again and waits again if it finds none.
void wake_slot_waiter(BackendRuntime& b, bool all) {
  if (b.h2_waiting.empty()) return;
  std::vector<H2Stream*> woken;
  if (all) {
    woken.swap(b.h2_waiting);
  } else {
    woken.push_back(b.h2_waiting.front());
    b.h2_waiting.erase(b.h2_waiting.begin());
  }
  for (H2Stream* s : woken) s->slot_free();
}

// ---- H2Conn ----

class H2Conn final : public http2::EventSink {
 public:
  enum class State : uint8_t { Connecting, Open, Closing, Closed };

  H2Conn(WorkerCtx& w, const BackendPtr& b)
      : w_(w), backend_(b), tls_(b->tls), conn_(client_config(), *this) {}

  /// May take a new stream: not closing, no GOAWAY, the backend still configured as it was.
  bool accepting(const BackendRuntime& b) const noexcept {
    return (state_ == State::Connecting || state_ == State::Open) && !conn_.going_away() &&
           !b.retired && !w_.draining && tls_ == b.tls;
  }
  bool has_room(const BackendRuntime& b) const noexcept {
    const uint32_t limit =
        settings_seen_ ? std::min(conn_.peer_settings().max_concurrent_streams, kMaxStreamsPerConn)
        : b.h2_streams_hint ? std::min(b.h2_streams_hint, kMaxStreamsPerConn)
                            : kAssumedStreams;
    return streams_.size() + pending_.size() < limit;
  }
  bool is_open() const noexcept { return state_ == State::Open; }
  http2::Connection& engine() noexcept { return conn_; }
  void wake_writer() noexcept { writer_wake_.notify(); }
  /// A stream's write() waits for its queued body to drain (woken after each write).
  void write_wait_begin() noexcept { ++write_waiters_; }
  void write_wait_end() noexcept { --write_waiters_; }

  /// Takes `s`: submitted at once when the connection is open, else once it is.
  void add(H2Stream* s) {
    last_active_ = w_.worker.now();
    if (!settings_seen_) {
      pending_.push_back(s);
      return;
    }
    submit(s);
  }
  /// `s` leaves the connection (its handle is done with it).
  void remove(H2Stream* s) {
    last_active_ = w_.worker.now();
    std::erase(pending_, s);
    if (s->id_ != 0) streams_.erase(s->id_);
  }

  /// Connects, then writes until the connection closes. Holds `self` for the duration.
  runtime::Task<void> run(std::shared_ptr<H2Conn> self, uint32_t connect_timeout_ms);

  // http2::EventSink
  void on_headers(uint32_t id, http2::HeadKind kind, const http2::FieldList& fields,
                  bool end_stream) override;
  void on_data(uint32_t id, std::span<const std::byte> data, bool end_stream) override;
  void on_stream_reset(uint32_t id, http2::H2Error code, http2::ResetOrigin origin,
                       bool retryable) override;
  void on_stream_closed(uint32_t id) override;
  void on_settings(const http2::Settings& peer) override;
  void on_goaway(uint32_t last_id, http2::H2Error code, std::span<const std::byte>) override;

 private:
  runtime::Task<void> reader(std::shared_ptr<H2Conn> self);
  runtime::Task<void> writer();
  runtime::Task<void> finish(bool graceful);
  void submit(H2Stream* s);
  void leave_pool();
  bool idle_expired() const;
  void fail_streams();
  void wake_write_waiters();
  H2Stream* find(uint32_t id) const {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second;
  }
  http2::Millis now_ms() const { return http2::Millis(w_.worker.now() / kMs); }

  WorkerCtx& w_;
  std::weak_ptr<BackendRuntime> backend_;          // the pool holds us: no cycle
  std::shared_ptr<const tls::ClientContext> tls_;  // the backend's TLS when we connected
  State state_ = State::Connecting;
  BackendStream stream_;
  http2::Connection conn_;
  std::unordered_map<uint32_t, H2Stream*> streams_;         // submitted, by stream id
  std::vector<H2Stream*> pending_;                          // waiting for the connection
  std::vector<std::pair<uint32_t, size_t>> orphan_credit_;  // DATA for no handle: credit later
  Signal writer_wake_;
  Signal writer_done_;
  bool writer_running_ = false;
  uint32_t write_waiters_ = 0;  // streams in write() waiting for their queued body to drain
  bool settings_seen_ = false;  // the backend's first SETTINGS arrived: its limits are known
  uint64_t last_active_ = 0;
};

runtime::Task<void> H2Conn::run(std::shared_ptr<H2Conn> self, uint32_t connect_timeout_ms) {
  Result<BackendStream, net::Errno> r = Unexpected(ECANCELED);
  if (BackendPtr b = backend_.lock()) {
    r = co_await w_.connect(*b, connect_timeout_ms, /*require_h2=*/true);
    if (r)
      w_.connect_succeeded(*b);
    else
      w_.connect_failed(*b, r.error());
  }
  if (!r || w_.worker.tearing_down()) {
    state_ = State::Closed;
    leave_pool();
    // A backend that does not speak h2 over TLS answered: a bad gateway, not an absent one.
    const bool unavailable = r || r.error() != ENOPROTOOPT;
    for (H2Stream* s : pending_) {
      s->failed_ = true;
      s->unavailable_ = unavailable;
      s->signal_.notify();
    }
    pending_.clear();
    if (r) co_await r->close();
    co_return;
  }
  stream_ = std::move(*r);
  state_ = State::Open;
  last_active_ = w_.worker.now();
  conn_.start(now_ms());  // pending streams go out with the backend's first SETTINGS
  writer_running_ = true;
  w_.worker.spawn(reader(self));
  co_await writer();
}

void H2Conn::submit(H2Stream* s) {
  auto id = conn_.submit_request(s->request_, s->request_end_);
  if (!id) {
    // The backend lowered its limit or is going away since the handle chose us: it may try
    // another connection.
    s->failed_ = true;
    s->retryable_ = id.error() == http2::SubmitError::ConcurrencyLimit ||
                    id.error() == http2::SubmitError::GoingAway;
  } else {
    s->id_ = *id;
    streams_.emplace(*id, s);
    wake_writer();
  }
  s->signal_.notify();
}

void H2Conn::leave_pool() {
  BackendPtr b = backend_.lock();
  if (!b) return;
  std::erase_if(b->h2, [this](const std::shared_ptr<H2Conn>& c) { return c.get() == this; });
  wake_slot_waiter(*b, true);  // a new connection may be opened in its place
}

bool H2Conn::idle_expired() const {
  if (!streams_.empty() || !pending_.empty()) return false;
  BackendPtr b = backend_.lock();
  return !b || b->retired || w_.draining || tls_ != b->tls || conn_.going_away() ||
         w_.worker.now() - last_active_ >= uint64_t{w_.opts.backend_idle_timeout_ms} * kMs;
}

// The unnamed parameter (copied into the frame) keeps the connection alive while reading.
runtime::Task<void> H2Conn::reader(std::shared_ptr<H2Conn>) {
  bool graceful = false;
  for (;;) {
    uint64_t deadline = w_.worker.now() + kHousekeepingNs;
    if (auto d = conn_.next_deadline())
      deadline = std::min(deadline, static_cast<uint64_t>(d->count()) * kMs);
    auto r = co_await stream_.recv_until(deadline);
    if (state_ == State::Closed || w_.worker.tearing_down()) break;
    if (!r) {
      if (r.error() != ETIMEDOUT) break;
      conn_.tick(now_ms());
      wake_writer();
      if (conn_.is_closed()) {
        graceful = true;
        break;
      }
      if (idle_expired()) {
        conn_.terminate(http2::H2Error::NoError, "idle");  // GOAWAY, flushed by the writer
        graceful = true;
        break;
      }
      continue;
    }
    if (r->empty()) break;  // the backend closed the connection
    auto fed = conn_.feed(std::span(r->data(), r->size()), now_ms());
    for (auto [id, n] : orphan_credit_) conn_.consume(id, n);
    orphan_credit_.clear();
    wake_writer();
    if (!fed || conn_.is_closed()) {
      graceful = true;  // a GOAWAY of ours may be queued: the writer sends it first
      break;
    }
  }
  co_await finish(graceful);
}

runtime::Task<void> H2Conn::finish(bool graceful) {
  leave_pool();
  if (state_ == State::Open) state_ = State::Closing;
  wake_writer();
  if (graceful && writer_running_) co_await writer_done_.wait(w_.worker.now() + kHousekeepingNs);
  state_ = State::Closed;
  fail_streams();
  if (stream_.is_open()) ::shutdown(stream_.fd(), SHUT_RDWR);  // ends a write in progress
  wake_writer();
  if (writer_running_) co_await writer_done_.wait(w_.worker.now() + kWriteTimeoutNs);
  co_await stream_.close();
}

void H2Conn::fail_streams() {
  for (auto& [id, s] : streams_) {
    s->failed_ = s->closed_ = true;
    s->signal_.notify();
  }
  streams_.clear();
  for (H2Stream* s : pending_) {
    s->failed_ = true;
    s->signal_.notify();
  }
  pending_.clear();
}

void H2Conn::wake_write_waiters() {
  if (write_waiters_ == 0) return;
  for (auto& [id, s] : streams_)
    if (s->write_waiting_) s->signal_.notify();
}

runtime::Task<void> H2Conn::writer() {
  std::vector<std::byte> out;  // the bytes in flight, swapped out of the engine (no copy)
  while (state_ != State::Closed) {
    conn_.take_output(out);
    if (out.empty()) {
      wake_write_waiters();
      if (state_ != State::Open) break;  // closing: everything is flushed
      co_await writer_wake_.wait(kNever);
      continue;
    }
    bool ok;
    {
      WriteWatchdog wd(w_.worker, stream_.fd(), kWriteTimeoutNs);
      ok = static_cast<bool>(co_await stream_.write_all(std::span<const std::byte>(out)));
    }
    if (!ok) break;
    wake_write_waiters();
  }
  writer_running_ = false;
  if (state_ == State::Open && stream_.is_open()) {
    // A write failed: the reader sees the end and fails the streams.
    state_ = State::Closing;
    ::shutdown(stream_.fd(), SHUT_RDWR);
  }
  writer_done_.notify();
}

void H2Conn::on_headers(uint32_t id, http2::HeadKind kind, const http2::FieldList& fields,
                        bool end_stream) {
  H2Stream* s = find(id);
  if (!s) return;
  if (kind == http2::HeadKind::Trailers) {
    s->trailers_ = fields;
    s->body_end_ = true;
  } else {
    s->heads_.push_back({kind, fields, end_stream});
    if (end_stream) s->body_end_ = true;
  }
  s->signal_.notify();
}

void H2Conn::on_data(uint32_t id, std::span<const std::byte> data, bool end_stream) {
  H2Stream* s = find(id);
  if (!s) {
    if (!data.empty()) orphan_credit_.emplace_back(id, data.size());
    return;
  }
  s->body_.insert(s->body_.end(), data.begin(), data.end());
  if (end_stream) s->body_end_ = true;
  s->signal_.notify();
}

void H2Conn::on_stream_reset(uint32_t id, http2::H2Error, http2::ResetOrigin, bool retryable) {
  H2Stream* s = find(id);
  if (!s) return;
  s->failed_ = s->closed_ = true;
  s->retryable_ = retryable;
  streams_.erase(id);
  last_active_ = w_.worker.now();
  s->signal_.notify();
}

void H2Conn::on_stream_closed(uint32_t id) {
  H2Stream* s = find(id);
  if (!s) return;
  s->closed_ = true;
  streams_.erase(id);
  last_active_ = w_.worker.now();
  s->signal_.notify();
}

// The backend's limits are known: the streams waiting for them are sent, those beyond its
// MAX_CONCURRENT_STREAMS go back to their handles to find another connection.
void H2Conn::on_settings(const http2::Settings&) {
  if (settings_seen_) return;
  settings_seen_ = true;
  if (BackendPtr b = backend_.lock()) {
    b->h2_streams_hint = std::max(1u, conn_.peer_settings().max_concurrent_streams);
    wake_slot_waiter(*b, true);  // its limit is known now
  }
  std::vector<H2Stream*> waiting;
  waiting.swap(pending_);
  for (H2Stream* s : waiting) submit(s);
}

void H2Conn::on_goaway(uint32_t, http2::H2Error, std::span<const std::byte>) {
  leave_pool();  // streams below the last id finish here; new ones go to another connection
}

// ---- H2Stream ----

H2Stream::~H2Stream() { detach(); }

void H2Stream::detach() {
  if (conn_) {
    if (id_ != 0) {
      http2::Connection& e = conn_->engine();
      if (!closed_ && conn_->is_open()) (void)e.reset_stream(id_, http2::H2Error::Cancel);
      // Bytes received and not consumed still count against the connection window.
      if (body_.size() > body_off_ && conn_->is_open()) e.consume(id_, body_.size() - body_off_);
      conn_->wake_writer();
    }
    conn_->remove(this);
    conn_.reset();
  }
  if (backend_) {
    if (backend_->active > 0) --backend_->active;
    wake_slot_waiter(*backend_, false);  // this stream's slot is free
    backend_.reset();
  }
  id_ = 0;
}

void H2Stream::reset_response() noexcept {
  heads_.clear();
  body_.clear();
  body_off_ = 0;
  body_end_ = closed_ = failed_ = retryable_ = unavailable_ = false;
  trailers_.clear();
}

runtime::Task<H2Stream::Status> H2Stream::open(ClusterRuntime& cluster, std::string_view sticky_id,
                                               http2::FieldList request, bool end_stream,
                                               uint32_t connect_timeout_ms) {
  request_ = std::move(request);
  request_end_ = end_stream;
  connect_timeout_ms_ = connect_timeout_ms;
  const uint64_t deadline = w_.worker.now() + uint64_t{connect_timeout_ms} * kMs;
  constexpr uint32_t kMaxAttempts = 16;
  std::array<size_t, kMaxAttempts> tried;
  const uint32_t attempts = std::clamp(w_.opts.connect_attempts, 1u, kMaxAttempts);
  for (uint32_t attempt = 0; attempt < attempts; ++attempt) {
    std::optional<size_t> idx = w_.pick(cluster, attempt == 0 ? sticky_id : std::string_view{},
                                        std::span(tried.data(), attempt));
    if (!idx) co_return Status::Unavailable;
    tried[attempt] = *idx;
    index_ = *idx;
    const Status st = co_await join(cluster.backends[*idx], deadline);
    if (st != Status::Unavailable) co_return st;
    detach();          // leave the unreachable backend's connection
    reset_response();  // its failure is not the next backend's
  }
  co_return Status::Unavailable;
}

// Takes a stream slot on a connection to `b` (an open one with room, else a new one, else
// waits for room) and waits until the request head is submitted.
runtime::Task<H2Stream::Status> H2Stream::join(BackendPtr b, uint64_t deadline_ns) {
  for (uint32_t tries = 0; tries < 2 * kMaxReplays;) {
    std::shared_ptr<H2Conn> conn;
    size_t usable = 0;
    for (const auto& c : b->h2) {
      if (!c->accepting(*b)) continue;
      ++usable;
      if (c->has_room(*b)) {
        conn = c;
        break;
      }
    }
    if (!conn && usable < kMaxConnsPerBackend && !b->retired && !w_.draining) {
      conn = std::make_shared<H2Conn>(w_, b);
      b->h2.push_back(conn);
      w_.worker.spawn(conn->run(conn, connect_timeout_ms_));
    } else if (conn && conn->is_open()) {
      ++w_.stats.backend_reuses;
    }
    if (!conn) {  // every connection is full: wait for a slot, until the connect deadline
      if (b->retired || w_.draining || w_.worker.now() >= deadline_ns)
        co_return Status::Unavailable;
      struct Waiting {  // in the backend's queue while suspended (also if the frame is destroyed)
        BackendRuntime& b;
        H2Stream* s;
        Waiting(BackendRuntime& rt, H2Stream* st) : b(rt), s(st) { b.h2_waiting.push_back(s); }
        ~Waiting() { std::erase(b.h2_waiting, s); }
      } waiting{*b, this};
      const bool woken = co_await signal_.wait(deadline_ns);
      if (!woken) co_return Status::Unavailable;
      continue;
    }
    conn_ = std::move(conn);
    backend_ = b;
    ++b->active;
    conn_->add(this);
    const Status st = co_await wait_submitted(deadline_ns);
    if (st == Status::Ok) co_return st;
    const bool again = failed_ && retryable_ && !unavailable_;
    detach();
    if (!again) co_return st;
    reset_response();
    ++tries;
  }
  co_return Status::Failed;
}

runtime::Task<H2Stream::Status> H2Stream::wait_submitted(uint64_t deadline_ns) {
  for (uint32_t wakeups = 0; wakeups < kMaxWakeups; ++wakeups) {
    if (id_ != 0) co_return Status::Ok;
    if (failed_) co_return unavailable_ ? Status::Unavailable : Status::Failed;
    const bool woken = co_await signal_.wait(deadline_ns);
    if (!woken) co_return Status::Unavailable;
  }
  co_return Status::Failed;
}

// Sends the request again on a new stream to the same backend when the backend did not process
// it (above a GOAWAY's last stream id, or REFUSED_STREAM: §8.7) and nothing of it is gone for
// good: every body byte written is kept (at most kReplayBody; sent again after the head), no
// head passed up.
runtime::Task<bool> H2Stream::replay() {
  if (!failed_ || !retryable_ || (body_sent_ && !body_kept_) || got_head_ ||
      replays_ >= kMaxReplays || !backend_)
    co_return false;
  ++replays_;
  ++w_.stats.stale_retries;
  BackendPtr b = backend_;
  detach();
  reset_response();
  const uint64_t deadline = w_.worker.now() + uint64_t{connect_timeout_ms_} * kMs;
  const Status st = co_await join(std::move(b), deadline);
  if (st != Status::Ok) co_return false;
  if (body_sent_ && !conn_->engine().submit_data(id_, sent_body_, end_sent_)) co_return false;
  conn_->wake_writer();
  co_return true;
}

bool H2Stream::answered() const noexcept {
  return final_head_ || std::any_of(heads_.begin(), heads_.end(), [](const Head& h) {
           return h.kind == http2::HeadKind::Response;
         });
}

runtime::Task<H2Stream::Status> H2Stream::write(std::span<const std::byte> data, bool end,
                                                uint64_t deadline_ns) {
  if (answered()) co_return Status::Answered;
  body_sent_ = true;
  keep_body(data, end);
  // With the body kept, a replay sends `data` too (it is in sent_body_).
  bool submitted = false;
  for (uint32_t round = 0; round <= kMaxReplays; ++round) {
    if (failed_) {
      const bool replayed = co_await replay();
      if (!replayed) co_return Status::Failed;
      submitted = true;
    }
    if (!conn_ || id_ == 0 || failed_) co_return Status::Failed;
    http2::Connection& e = conn_->engine();
    if (!submitted && !e.submit_data(id_, data, end)) co_return Status::Failed;
    submitted = true;
    conn_->wake_writer();
    // (A response head wakes the stream too: on_headers notifies.)
    while (!failed_ && conn_ && e.queued_data(id_) > kMaxQueuedBody && !answered()) {
      const std::shared_ptr<H2Conn> conn = conn_;  // counted there while waiting
      write_waiting_ = true;
      conn->write_wait_begin();
      const bool woken = co_await signal_.wait(deadline_ns);
      conn->write_wait_end();
      write_waiting_ = false;
      if (!woken) co_return Status::Timeout;
    }
    if (answered()) co_return Status::Answered;
    if (!failed_) co_return Status::Ok;
    // Refused or above a GOAWAY while its bytes waited: replayed in the next round if it can be.
  }
  co_return Status::Failed;
}

void H2Stream::keep_body(std::span<const std::byte> data, bool end) {
  end_sent_ = end;
  if (!body_kept_) return;
  if (sent_body_.size() + data.size() > kReplayBody) {
    body_kept_ = false;
    std::vector<std::byte>().swap(sent_body_);
    return;
  }
  sent_body_.insert(sent_body_.end(), data.begin(), data.end());
}

H2Stream::Status H2Stream::write_trailers(const http2::FieldList& trailers) {
  if (answered()) return Status::Answered;
  if (!conn_ || id_ == 0 || failed_) return Status::Failed;
  body_sent_ = true;
  body_kept_ = false;  // trailers are not kept: no replay after them
  std::vector<std::byte>().swap(sent_body_);
  if (!conn_->engine().submit_trailers(id_, trailers)) return Status::Failed;
  conn_->wake_writer();
  return Status::Ok;
}

runtime::Task<H2Stream::Status> H2Stream::read_head(uint64_t deadline_ns) {
  for (uint32_t wakeups = 0; wakeups < kMaxWakeups; ++wakeups) {
    if (!heads_.empty()) {
      Head& h = heads_.front();
      head_kind_ = h.kind;
      head_ = std::move(h.fields);
      head_end_ = h.end_stream;
      heads_.erase(heads_.begin());
      if (head_kind_ == http2::HeadKind::Response) final_head_ = true;
      got_head_ = true;  // no replay from now on: the kept body is not needed
      if (!sent_body_.empty()) std::vector<std::byte>().swap(sent_body_);
      co_return Status::Ok;
    }
    if (failed_) {
      const bool replayed = co_await replay();
      if (!replayed) co_return Status::Failed;
      continue;
    }
    if (closed_ || !conn_) co_return Status::Failed;
    const bool woken = co_await signal_.wait(deadline_ns);
    if (!woken) co_return Status::Timeout;
  }
  co_return Status::Failed;
}

runtime::Task<H2Stream::Status> H2Stream::read_body(uint64_t deadline_ns) {
  for (uint32_t wakeups = 0; wakeups < kMaxWakeups; ++wakeups) {
    if (body_off_ < body_.size()) co_return Status::Ok;
    if (body_end_) co_return Status::End;
    if (failed_ || closed_ || !conn_) co_return Status::Failed;
    const bool woken = co_await signal_.wait(deadline_ns);
    if (!woken) co_return Status::Timeout;
  }
  co_return Status::Failed;
}

void H2Stream::consume(size_t n) {
  n = std::min(n, body_.size() - body_off_);
  body_off_ += n;
  if (body_off_ == body_.size()) {
    body_.clear();
    body_off_ = 0;
  } else if (body_off_ >= kStreamWindow / 2) {
    body_.erase(body_.begin(), body_.begin() + static_cast<std::ptrdiff_t>(body_off_));
    body_off_ = 0;
  }
  if (conn_ && id_ != 0 && conn_->is_open()) {
    conn_->engine().consume(id_, n);
    conn_->wake_writer();
  }
}

void H2Stream::cancel() {
  detach();
  signal_.notify();  // a read or write waiting on the stream returns Failed now
}

}  // namespace kakehi::proxy::detail
