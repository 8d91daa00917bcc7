// HTTP/2 towards backends (RFC 9113 as a client): H2Conn is one client-role http2::Connection
// over a BackendStream, shared by the requests of one worker, pooled per BackendRuntime
// (BackendRuntime::h2); H2Stream is one request on it, a handle any coroutine of the worker can
// drive. Flow control is manual: received body bytes are credited back to the backend only when
// the consumer took them, so a slow client holds back its own stream and nothing else. No
// parsing of HTTP/1.1 here; the sessions convert messages (http/h2_fields.hpp).
// See docs/proxy.md ("HTTP/2 backends") for the states, the pool and the bounds.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "kakehi/http2/connection.hpp"
#include "kakehi/proxy/internal.hpp"
#include "kakehi/runtime/task.hpp"
#include "kakehi/runtime/timer_wheel.hpp"

namespace kakehi::proxy::detail {

/// A wake-up for one waiting coroutine, with a deadline. notify() before the wait is kept (the
/// next wait returns at once); the waiter resumes on the next loop turn, never inside notify()
/// (callers are often inside the engine's callbacks).
class Signal {
 public:
  Signal() = default;
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;
  ~Signal();

  void notify() noexcept;

  struct Awaiter : runtime::TimerEntry {
    Signal* s;
    uint64_t deadline;
    std::coroutine_handle<> h;
    Awaiter(Signal* sig, uint64_t d) : runtime::TimerEntry(&fire), s(sig), deadline(d) {}
    ~Awaiter();
    bool await_ready() noexcept;
    void await_suspend(std::coroutine_handle<> handle) noexcept;
    /// false: the deadline passed without a notify.
    bool await_resume() noexcept;
    static void fire(runtime::TimerEntry* t) noexcept;
  };
  /// Waits until notify() or `deadline_ns` (worker clock). One waiter at a time.
  Awaiter wait(uint64_t deadline_ns) noexcept { return Awaiter(this, deadline_ns); }

 private:
  Awaiter* waiter_ = nullptr;
  bool pending_ = false;
  bool woken_ = false;  // the current waiter was resumed by notify()
};

class H2Conn;

/// Wakes the first stream (every stream: `all`) waiting for a slot on `b`.
void wake_slot_waiter(BackendRuntime& b, bool all);

/// One request towards an HTTP/2 backend. Not movable (the connection points at it). Every
/// awaiting member is bounded by a deadline on the worker clock. Typical use:
///
///   H2Stream s(w);
///   st = co_await s.open(cluster, sticky, fields, /*end_stream=*/!has_body, connect_ms);
///   while (body) st = co_await s.write(bytes, last, deadline);   // waits for flow control
///   st = co_await s.read_head(deadline);   // repeat while s.head_kind() == Informational
///   while ((st = co_await s.read_body(deadline)) == Status::Ok) { use(s.body()); s.consume(n); }
///   // st == End: s.trailers() holds the trailers, if any
///
/// Destroying the handle before the response ended resets the stream (CANCEL).
class H2Stream {
 public:
  enum class Status : uint8_t {
    Ok,
    End,          ///< read_body: the body is complete (trailers, if any, are in trailers())
    Unavailable,  ///< no backend could take the stream (none eligible, connects failed): 503
    Failed,       ///< the stream or its connection failed (reset, GOAWAY with error, I/O): 502
    Timeout,      ///< the deadline passed: 504 before the response head
    Answered,     ///< write: the backend's final response came before the request's end
                  ///< (RFC 9113 §8.1): send no more, relay the response
  };

  explicit H2Stream(WorkerCtx& w) : w_(w) {}
  ~H2Stream();
  H2Stream(const H2Stream&) = delete;
  H2Stream& operator=(const H2Stream&) = delete;

  /// Picks a backend of `cluster` (the sticky one first when `sticky_id` names one), takes a
  /// stream slot on one of its HTTP/2 connections (opening one when every connection is at the
  /// backend's MAX_CONCURRENT_STREAMS), and sends `request` (pseudo-header fields first).
  /// Connect failures try other backends (opts.connect_attempts). `end_stream`: no body.
  runtime::Task<Status> open(ClusterRuntime& cluster, std::string_view sticky_id,
                             http2::FieldList request, bool end_stream,
                             uint32_t connect_timeout_ms);
  /// Position of the chosen backend in the cluster's backends (after a successful open()).
  size_t backend_index() const noexcept { return index_; }

  /// Queues request body bytes (copied), `end`: the last ones. Returns once the stream's queued
  /// bytes are below a bound (the backend's windows let them out), or Timeout/Failed, or
  /// Answered as soon as the backend's final response head is here (the rest of the body is
  /// then not wanted; the response may be complete, the stream reset with NO_ERROR). A stream
  /// the backend did not process is sent again (as in read_head), body included, while the
  /// body written so far is at most 64 KiB (a copy is kept until the response head).
  runtime::Task<Status> write(std::span<const std::byte> data, bool end, uint64_t deadline_ns);
  /// Ends the request body with trailers (Answered as for write()).
  Status write_trailers(const http2::FieldList& trailers);

  /// Waits for the next response head: Informational (1xx, repeat) or Response. Before the
  /// final head, a stream the backend did not process (GOAWAY above it, REFUSED_STREAM) is sent
  /// again on another connection, unless body bytes were written and not kept (write()).
  runtime::Task<Status> read_head(uint64_t deadline_ns);
  http2::HeadKind head_kind() const noexcept { return head_kind_; }
  const http2::FieldList& head() const noexcept { return head_; }
  /// The final head ended the stream (no body follows).
  bool head_ends_stream() const noexcept { return head_end_; }

  /// Waits for body bytes: Ok (body() is not empty), End, Failed or Timeout.
  runtime::Task<Status> read_body(uint64_t deadline_ns);
  std::span<const std::byte> body() const noexcept { return std::span(body_).subspan(body_off_); }
  /// The consumer took `n` bytes of body(): they leave the buffer and their credit goes back to
  /// the backend (WINDOW_UPDATE when enough has been consumed).
  void consume(size_t n);
  const http2::FieldList& trailers() const noexcept { return trailers_; }

  /// Resets the stream (RST_STREAM CANCEL) if it is still open; the handle is then done (a
  /// coroutine waiting in read_head/read_body/write wakes up with Failed).
  void cancel();
  /// A stream slot may be free on the backend this handle waits for (open()).
  void slot_free() noexcept { signal_.notify(); }

 private:
  friend class H2Conn;
  struct Head {
    http2::HeadKind kind;
    http2::FieldList fields;
    bool end_stream;
  };
  runtime::Task<Status> join(BackendPtr b, uint64_t deadline_ns);
  runtime::Task<Status> wait_submitted(uint64_t deadline_ns);
  runtime::Task<bool> replay();
  void keep_body(std::span<const std::byte> data, bool end);
  void reset_response() noexcept;
  void detach();
  /// The final response head arrived (taken by read_head or still queued).
  bool answered() const noexcept;

  WorkerCtx& w_;
  std::shared_ptr<H2Conn> conn_;
  BackendPtr backend_;  // counted in its `active` while attached
  uint32_t id_ = 0;     // 0: not submitted yet (waiting for the connection)
  size_t index_ = 0;
  http2::FieldList request_;
  bool request_end_ = false;
  bool body_sent_ = false;            // write() was called: replayed only with the body kept
  bool body_kept_ = true;             // sent_body_ holds every body byte written so far
  bool end_sent_ = false;             // the body's end was written
  std::vector<std::byte> sent_body_;  // for a replay, while small (see kReplayBody)
  bool write_waiting_ = false;        // write() waits for the queued bytes to drain
  uint32_t connect_timeout_ms_ = 0;
  uint32_t replays_ = 0;

  // Filled by the connection (H2Conn's EventSink callbacks).
  std::vector<Head> heads_;  // received, not yet taken by read_head()
  std::vector<std::byte> body_;
  size_t body_off_ = 0;
  bool body_end_ = false;
  bool closed_ = false;  // the engine forgot the stream (normal end or reset)
  bool failed_ = false;
  bool retryable_ = false;
  bool unavailable_ = false;  // the connection could not be established
  http2::FieldList trailers_;
  Signal signal_;

  http2::HeadKind head_kind_ = http2::HeadKind::Response;
  http2::FieldList head_;
  bool head_end_ = false;
  bool final_head_ = false;
  bool got_head_ = false;  // a head went to the consumer: the request cannot be replayed
};

}  // namespace kakehi::proxy::detail
