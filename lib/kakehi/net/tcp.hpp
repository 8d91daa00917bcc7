// TcpStream and TcpListener on a worker's ring. A stream reads with one multishot recv into the
// worker's provided-buffer ring: received bytes arrive as Slices (no copy), queued until the
// reader takes them; past `max_queued_recv` unread buffers the recv is cancelled (back-pressure)
// and re-armed when the reader catches up; -ENOBUFS parks it until the ring is refilled. An idle
// stream holds no buffer. Writes are vectored sendmsg of slices (SEND_ZC past the worker's
// threshold), resubmitted on short writes inside the completion, without resuming the writer.
// The recv/accept state lives apart from the stream so that destroying a stream with an armed
// recv only cancels it: the state is freed when the kernel's last CQE for it arrives.
#pragma once

#include <sys/uio.h>

#include <cerrno>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <utility>

#include "kakehi/buffer/chain.hpp"
#include "kakehi/common/result.hpp"
#include "kakehi/net/address.hpp"
#include "kakehi/runtime/ops.hpp"
#include "kakehi/runtime/task.hpp"
#include "kakehi/runtime/worker.hpp"

namespace kakehi::net {

using runtime::Worker;
/// I/O errors are positive errno values.
using Errno = int;

/// Whether `e` says this host ran out of something (file descriptors, socket memory, local
/// ports) rather than that the peer failed: retrying elsewhere will not help, and the peer is
/// not to blame.
constexpr bool is_local_resource_error(Errno e) noexcept {
  return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM || e == EADDRNOTAVAIL;
}

namespace detail {

// A small FIFO of slices that keeps its storage (no allocation in steady state).
class SliceQueue {
 public:
  bool empty() const noexcept { return head_ == items_.size(); }
  size_t size() const noexcept { return items_.size() - head_; }
  void push(buffer::Slice s) { items_.push_back(std::move(s)); }
  /// Puts `s` back in front (bytes read ahead of their consumer).
  void push_front(buffer::Slice s) {
    if (head_ > 0)
      items_[--head_] = std::move(s);
    else
      items_.insert(items_.begin(), std::move(s));
  }
  buffer::Slice pop() {
    buffer::Slice s = std::move(items_[head_++]);
    if (head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    }
    return s;
  }
  void clear() {
    items_.clear();
    head_ = 0;
  }

 private:
  std::vector<buffer::Slice> items_;
  size_t head_ = 0;
};

struct RecvState : runtime::Completion, runtime::BufferWaiter {
  Worker* worker;
  int fd;
  bool armed = false;       // a multishot recv is in flight
  bool pausing = false;     // cancelled for back-pressure
  bool closing = false;     // cancelled by close(): wake the reader with ECANCELED
  bool orphan = false;      // the stream is gone: free on the last CQE
  bool priority = false;    // never starved by the shared pool (see TcpStream::set_priority_reads)
  bool single = false;      // the recv in flight is a one-shot one into `own`
  bool one_buffer = false;  // recvs take one ring buffer each (see set_one_buffer_reads)
  bool eof = false;
  buffer::Slice own;  // a reserve buffer the one-shot recv fills
  Errno error = 0;
  SliceQueue queue;
  std::coroutine_handle<> waiter;
  // The endpoints a PROXY protocol header named for this connection (TcpStream::set_endpoints).
  std::unique_ptr<std::pair<Address, Address>> endpoints;

  RecvState(Worker* w, int f);
  static void on_cqe(runtime::Completion* c, int res, uint32_t flags);
  static void on_buffers_back(runtime::BufferWaiter* w);
  void arm();
  void arm_single();
  bool readable() const noexcept { return !queue.empty() || eof || error != 0; }
  static void* operator new(size_t n) { return runtime::FramePool::allocate(n); }
  static void operator delete(void* p, size_t n) noexcept { runtime::FramePool::deallocate(p, n); }
};

}  // namespace detail

class TcpStream {
 public:
  TcpStream() = default;
  /// Adopts a connected socket `fd` on worker `w`.
  TcpStream(Worker& w, int fd);
  TcpStream(TcpStream&& o) noexcept;
  TcpStream& operator=(TcpStream&& o) noexcept;
  ~TcpStream();

  /// Connects to `to` (non-blocking, via the ring). With `timeout_ns` > 0 the attempt is
  /// cancelled after that long and fails with ETIMEDOUT.
  static runtime::Task<Result<TcpStream, Errno>> connect(Worker& w, const Address& to,
                                                         uint64_t timeout_ns = 0);

  bool is_open() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }
  /// Received-but-unread bytes queued for this stream (buffers).
  size_t queued_buffers() const noexcept { return recv_ ? recv_->queue.size() : 0; }
  /// Bytes, an end of stream or an error are waiting to be read.
  bool has_pending_input() const noexcept { return recv_ && recv_->readable(); }

  struct RecvAwaiter {
    detail::RecvState* st;
    bool await_ready() const noexcept { return st->readable(); }
    void await_suspend(std::coroutine_handle<> h) {
      st->waiter = h;
      if (!st->armed && !st->linked()) st->arm();
    }
    /// The next received bytes; an empty slice at end of stream; -errno on failure
    /// (ECANCELED after close()).
    Result<buffer::Slice, Errno> await_resume() {
      if (!st->queue.empty()) return st->queue.pop();
      if (st->error) return Unexpected(st->error);
      return buffer::Slice{};
    }
  };
  /// Reads of this connection never wait for the provided-buffer ring to be refilled: when it
  /// is empty they use a buffer of the pool's writer reserve instead. For a connection whose
  /// reads must go on for others to progress (an HTTP/2 client's WINDOW_UPDATEs release the
  /// backend data that fills the ring).
  void set_priority_reads() noexcept {
    if (recv_) recv_->priority = true;
  }
  /// Each read takes one buffer from the ring, and only while the reader keeps up (it asked,
  /// prime_reads(), or fewer than four are unread after a full one): the pool holds at most
  /// four unread buffers for this connection whatever the peer sends; the rest waits in the socket
  /// buffer and TCP flow control slows the peer. (A multishot recv takes what the socket has, up to
  /// the kernel's retries per wakeup, before a back-pressure cancel lands.) For a reader that may
  /// pause for long: an HTTP/2 stream waiting for its client's window.
  void set_one_buffer_reads() noexcept {
    if (recv_) recv_->one_buffer = true;
  }
  /// Starts the next read now if none is in flight (e.g. with a request write, so the answer is
  /// taken as soon as it arrives, in the same submission).
  void prime_reads() noexcept;
  /// Waits for received bytes (see RecvAwaiter::await_resume).
  RecvAwaiter recv() noexcept { return RecvAwaiter{recv_}; }

  /// RecvAwaiter with a deadline on the worker's timer wheel: ETIMEDOUT when nothing arrived by
  /// then (the recv stays armed; bytes arriving later are kept for the next read).
  struct RecvUntilAwaiter : runtime::TimerEntry {
    detail::RecvState* st;
    uint64_t deadline;
    bool timed_out = false;
    RecvUntilAwaiter(detail::RecvState* s, uint64_t d)
        : runtime::TimerEntry(&on_timer), st(s), deadline(d) {}
    static void on_timer(runtime::TimerEntry* t);
    bool await_ready() const noexcept { return st->readable(); }
    void await_suspend(std::coroutine_handle<> h);
    Result<buffer::Slice, Errno> await_resume();
  };
  /// Waits for received bytes until `deadline_ns` (worker clock, see Worker::now()).
  RecvUntilAwaiter recv_until(uint64_t deadline_ns) noexcept {
    return RecvUntilAwaiter(recv_, deadline_ns);
  }
  /// The peer's address: the one set_endpoints() gave, else getpeername's (empty on failure).
  Address peer_address() const;
  /// The local address the peer connected to: set_endpoints()'s, else getsockname's.
  Address local_address() const;
  /// set_endpoints() was called: the endpoints are the ones a relay reported.
  bool relayed() const noexcept { return recv_ && recv_->endpoints; }
  /// The connection's real endpoints are a relay's: from now on peer_address() and
  /// local_address() are `peer` and `local` (the client's, from a PROXY protocol header).
  void set_endpoints(const Address& peer, const Address& local);
  /// Puts bytes read from this stream back in front of what is still unread: the next read
  /// returns `s` first (a protocol header's reader gives back what followed the header).
  void unread(buffer::Slice s);

  struct WriteAwaiter : runtime::Completion {
    TcpStream* s;
    buffer::BufferChain* chain;
    std::span<const std::byte> flat;  // used when chain == nullptr
    size_t flat_done = 0;
    bool zero_copy = false;
    bool report_usage = false;  // this SEND_ZC asked the kernel whether it copied
    int last = 0;
    Errno error = 0;
    std::coroutine_handle<> waiter;
    static constexpr size_t kMaxIov = 16;  // lives in every writer's frame: keep it small
    iovec iov[kMaxIov];
    msghdr msg{};
    std::span<iovec> vec;   // the caller's iovecs (write_all(span<iovec>)), advanced as sent
    size_t vec_left = 0;    // bytes they still hold
    bool gathered = false;  // writing `vec`

    static void on_cqe(runtime::Completion* c, int res, uint32_t flags);
    void submit();
    bool await_ready() const noexcept { return done(); }
    bool done() const noexcept {
      return chain ? chain->empty() : gathered ? vec_left == 0 : flat_done == flat.size();
    }
    void advance_vec(size_t n) noexcept;
    void await_suspend(std::coroutine_handle<> h) {
      waiter = h;
      submit();
    }
    /// Success once every byte was accepted by the kernel; -errno otherwise.
    Result<void, Errno> await_resume() const {
      if (error) return Unexpected(error);
      return {};
    }
  };
  /// Sends every byte of `chain` (slices are released as they are sent).
  WriteAwaiter write_all(buffer::BufferChain& chain);
  /// Sends every byte of `data` (the caller keeps it alive until the await returns).
  WriteAwaiter write_all(std::span<const std::byte> data);
  /// Sends every byte `iovs` point to, as few sendmsg as the kernel allows: the caller keeps the
  /// bytes and the array alive until the await returns (the entries are advanced as bytes go).
  WriteAwaiter write_all(std::span<iovec> iovs);

  /// Half-close: no more writes (FIN), reading goes on.
  runtime::Task<Result<void, Errno>> shutdown_write();
  /// Cancels a pending recv (its reader resumes with ECANCELED) and closes the socket.
  runtime::Task<void> close();

 private:
  void release() noexcept;
  Worker* worker_ = nullptr;
  int fd_ = -1;
  detail::RecvState* recv_ = nullptr;
  // The kernel reported that a SEND_ZC on this socket copied the bytes anyway (loopback, a
  // device without scatter-gather): later writes copy at once, without pinning pages first.
  bool zc_copies_ = false;
};

struct ListenOptions {
  int backlog = 4096;
  bool reuse_port = false;  ///< SO_REUSEPORT: one listener per worker on the same address
  /// Accepted connections start with delayed ACKs (TCP_QUICKACK off on the listener, inherited):
  /// for protocols whose client speaks first and waits (HTTP, TLS), the answer acknowledges the
  /// first request instead of a pure ACK of its own, one segment less per connection.
  bool delayed_ack = false;
};

/// A bound, listening socket (not yet on any worker): lets a control thread open every worker's
/// socket first, so that a bind failure is known before anything changes. Returns the fd.
Result<int, Errno> open_listening_socket(const Address& at, const ListenOptions& o = {});

/// A listening socket with one multishot accept.
class TcpListener {
 public:
  /// Binds and listens. Fails with errno (EADDRINUSE, EACCES...).
  static Result<TcpListener, Errno> bind(Worker& w, const Address& at, ListenOptions o = {});
  /// Takes over a listening socket from open_listening_socket (on worker `w`'s thread).
  static TcpListener adopt(Worker& w, int fd) { return TcpListener(w, fd); }
  TcpListener(TcpListener&& o) noexcept;
  TcpListener& operator=(TcpListener&& o) noexcept;
  ~TcpListener();

  Address local_address() const;
  int fd() const noexcept { return fd_; }

  struct AcceptState;
  struct AcceptAwaiter {
    AcceptState* st;
    bool await_ready() const noexcept;
    void await_suspend(std::coroutine_handle<> h);
    /// A connected stream, or -errno (ECANCELED after close()).
    Result<TcpStream, Errno> await_resume();
  };
  AcceptAwaiter accept() noexcept { return AcceptAwaiter{accept_}; }
  /// Stops accepting: a pending accept resumes with ECANCELED; the socket is closed.
  void close();

 private:
  TcpListener(Worker& w, int fd);
  void release() noexcept;
  Worker* worker_ = nullptr;
  int fd_ = -1;
  AcceptState* accept_ = nullptr;
};

}  // namespace kakehi::net
