// One awaitable per io_uring operation (STYLE "Runtime ops"). Each awaiter is its own
// Completion: await_suspend prepares one SQE whose user_data points at the awaiter (the SQE is
// submitted with the rest of the loop turn's batch) and the CQE resumes exactly the awaiting
// coroutine. Results are `int` as the kernel gives them: ≥ 0 success, -errno failure.
// Pending operations can be cancelled with Ring::cancel(&awaiter) from elsewhere (OpSlot).
#pragma once

#include <liburing.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <coroutine>
#include <cstddef>
#include <span>

#include "kakehi/runtime/ring.hpp"

namespace kakehi::runtime {

/// Where a coroutine publishes its pending operation so that another party (a close, a deadline)
/// can cancel it. The slot is cleared when the operation completes.
struct OpSlot {
  Completion* pending = nullptr;
  void cancel(Ring& ring) {
    if (pending) ring.cancel(pending);
  }
};

namespace detail {

// Common part: a single-shot operation resuming one coroutine.
template <class Prep>
struct OpAwaiter : Completion {
  Ring& ring;
  Prep prep;
  OpSlot* slot;
  std::coroutine_handle<> waiter;
  int res = 0;

  OpAwaiter(Ring& r, Prep p, OpSlot* s) : Completion{&on_cqe}, ring(r), prep(p), slot(s) {}

  static void on_cqe(Completion* c, int res, uint32_t /*flags*/) {
    auto* self = static_cast<OpAwaiter*>(c);  // Prep may hold state the kernel reads
    self->res = res;
    if (self->slot) self->slot->pending = nullptr;
    self->waiter.resume();
  }
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    waiter = h;
    prep(ring.sqe(this));
    if (slot) slot->pending = this;
  }
  int await_resume() const noexcept { return res; }
};

template <class Prep>
OpAwaiter<Prep> make_op(Ring& r, Prep p, OpSlot* slot = nullptr) {
  return OpAwaiter<Prep>(r, p, slot);
}

}  // namespace detail

/// send(2) of one contiguous buffer. May send fewer bytes than asked.
inline auto send(Ring& r, int fd, std::span<const std::byte> data, OpSlot* slot = nullptr) {
  return detail::make_op(
      r,
      [=](io_uring_sqe* s) { io_uring_prep_send(s, fd, data.data(), data.size(), MSG_NOSIGNAL); },
      slot);
}

/// sendmsg(2) of `iov_count` iovecs (vectored; the iovecs must stay valid until completion).
inline auto sendmsg(Ring& r, int fd, const msghdr* msg, OpSlot* slot = nullptr) {
  return detail::make_op(
      r, [=](io_uring_sqe* s) { io_uring_prep_sendmsg(s, fd, msg, MSG_NOSIGNAL); }, slot);
}

/// recv(2) into a caller buffer (one shot, no provided buffers).
inline auto recv(Ring& r, int fd, std::span<std::byte> into, OpSlot* slot = nullptr) {
  return detail::make_op(
      r, [=](io_uring_sqe* s) { io_uring_prep_recv(s, fd, into.data(), into.size(), 0); }, slot);
}

inline auto connect(Ring& r, int fd, const sockaddr* addr, socklen_t len, OpSlot* slot = nullptr) {
  return detail::make_op(
      r, [=](io_uring_sqe* s) { io_uring_prep_connect(s, fd, addr, len); }, slot);
}

inline auto close(Ring& r, int fd) {
  return detail::make_op(r, [=](io_uring_sqe* s) { io_uring_prep_close(s, fd); });
}

/// shutdown(2): SHUT_WR for a half-close.
inline auto shutdown(Ring& r, int fd, int how) {
  return detail::make_op(r, [=](io_uring_sqe* s) { io_uring_prep_shutdown(s, fd, how); });
}

/// read(2) (used for eventfds).
inline auto read(Ring& r, int fd, std::span<std::byte> into, OpSlot* slot = nullptr) {
  return detail::make_op(
      r,
      [=](io_uring_sqe* s) {
        io_uring_prep_read(s, fd, into.data(), static_cast<unsigned>(into.size()), 0);
      },
      slot);
}

/// An io_uring timeout (IORING_OP_TIMEOUT) for one precise deadline: -ETIME when it expires,
/// -ECANCELED when cancelled. Per-connection deadlines use the worker's TimerWheel instead.
inline auto io_timeout(Ring& r, uint64_t ns, OpSlot* slot = nullptr) {
  __kernel_timespec ts{static_cast<long long>(ns / 1'000'000'000),
                       static_cast<long long>(ns % 1'000'000'000)};
  // The timespec lives in the awaiter (inside the lambda) until the CQE: the kernel reads it
  // at submission.
  return detail::make_op(
      r, [ts](io_uring_sqe* s) mutable { io_uring_prep_timeout(s, &ts, 0, 0); }, slot);
}

/// SEND_ZC / SENDMSG_ZC (zero-copy send). Resumes only after the kernel's notification CQE
/// (IORING_CQE_F_NOTIF) says the pages are no longer referenced, so the caller may reuse or
/// release the buffer as soon as the await returns. Result: bytes sent or -errno.
struct SendZcAwaiter : Completion {
  Ring& ring;
  int fd;
  std::span<const std::byte> data;
  const msghdr* msg;  // vectored when set
  std::coroutine_handle<> waiter;
  int res = 0;

  SendZcAwaiter(Ring& r, int f, std::span<const std::byte> d, const msghdr* m)
      : Completion{&on_cqe}, ring(r), fd(f), data(d), msg(m) {}
  static void on_cqe(Completion* c, int res, uint32_t flags) {
    auto* self = static_cast<SendZcAwaiter*>(c);
    if (flags & IORING_CQE_F_NOTIF) {  // second CQE: the kernel let go of the pages
      self->waiter.resume();
      return;
    }
    self->res = res;                        // first CQE: the send's result
    if (flags & IORING_CQE_F_MORE) return;  // a notification follows
    self->waiter.resume();
  }
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    waiter = h;
    io_uring_sqe* s = ring.sqe(this);
    if (msg)
      io_uring_prep_sendmsg_zc(s, fd, msg, MSG_NOSIGNAL);
    else
      io_uring_prep_send_zc(s, fd, data.data(), data.size(), MSG_NOSIGNAL, 0);
  }
  int await_resume() const noexcept { return res; }
};
inline SendZcAwaiter send_zc(Ring& r, int fd, std::span<const std::byte> data) {
  return SendZcAwaiter(r, fd, data, nullptr);
}
inline SendZcAwaiter sendmsg_zc(Ring& r, int fd, const msghdr* msg) {
  return SendZcAwaiter(r, fd, {}, msg);
}

}  // namespace kakehi::runtime
