// BackendStream: a connection to a backend, plain (net::TcpStream) or TLS (BackendTlsStream),
// with the interface the sessions, pools and pipes use. Each operation returns one awaitable
// that wraps either the TCP stream's own awaiter (no coroutine frame: the plain path costs one
// branch) or the TLS stream's task.
#pragma once

#include <coroutine>
#include <memory>
#include <type_traits>
#include <utility>
#include <variant>

#include "kakehi/net/tcp.hpp"
#include "kakehi/proxy/tls_stream.hpp"
#include "kakehi/runtime/task.hpp"

namespace kakehi::proxy::detail {

// Builds an awaiter in place (awaiters are neither copied nor moved: some are linked into
// timer lists): a variant alternative is direct-initialized from the factory's result.
template <class F>
struct Make {
  F f;
  operator std::invoke_result_t<F>() { return f(); }  // NOLINT: implicit on purpose
};
template <class F>
Make(F) -> Make<F>;

// A task as an awaiter that owns it.
template <class T>
struct TaskAwait {
  runtime::Task<T> task;
  typename runtime::Task<T>::Awaiter a;
  explicit TaskAwait(runtime::Task<T> t)
      : task(std::move(t)), a(std::move(task).operator co_await()) {}
  bool await_ready() const noexcept { return a.await_ready(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) noexcept {
    return a.await_suspend(h);
  }
  T await_resume() { return a.await_resume(); }
};

template <class A, class B>
struct EitherAwaiter {
  std::variant<A, B> v;
  template <size_t I, class F>
  EitherAwaiter(std::in_place_index_t<I> i, F f) : v(i, Make{std::move(f)}) {}
  bool await_ready() {
    return std::visit([](auto& x) { return x.await_ready(); }, v);
  }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
    return std::visit(
        [h](auto& x) -> std::coroutine_handle<> {
          using R = decltype(x.await_suspend(h));
          if constexpr (std::is_void_v<R>) {
            x.await_suspend(h);
            return std::noop_coroutine();
          } else if constexpr (std::is_same_v<R, bool>) {
            return x.await_suspend(h) ? std::noop_coroutine() : h;
          } else {
            return x.await_suspend(h);
          }
        },
        v);
  }
  auto await_resume() {
    return std::visit([](auto& x) { return x.await_resume(); }, v);
  }
};

class BackendStream {
 public:
  using Errno = net::Errno;
  using Recv =
      EitherAwaiter<net::TcpStream::RecvUntilAwaiter, TaskAwait<Result<buffer::Slice, Errno>>>;
  using RecvAny =
      EitherAwaiter<net::TcpStream::RecvAwaiter, TaskAwait<Result<buffer::Slice, Errno>>>;
  using Write = EitherAwaiter<net::TcpStream::WriteAwaiter, TaskAwait<Result<void, Errno>>>;

  BackendStream() = default;
  explicit BackendStream(net::TcpStream s) : tcp_(std::move(s)) {}
  explicit BackendStream(std::unique_ptr<BackendTlsStream> t) : tls_(std::move(t)) {}

  bool is_tls() const noexcept { return tls_ != nullptr; }
  int fd() const noexcept { return tls_ ? tls_->fd() : tcp_.fd(); }
  /// See net::TcpStream::set_one_buffer_reads and prime_reads.
  void set_one_buffer_reads() noexcept {
    if (tls_)
      tls_->set_one_buffer_reads();
    else
      tcp_.set_one_buffer_reads();
  }
  void prime_reads() noexcept {
    if (tls_)
      tls_->prime_reads();
    else
      tcp_.prime_reads();
  }
  bool is_open() const noexcept { return tls_ ? tls_->is_open() : tcp_.is_open(); }
  bool has_pending_input() const noexcept {
    return tls_ ? tls_->has_pending_input() : tcp_.has_pending_input();
  }
  size_t queued_buffers() const noexcept {
    return tls_ ? tls_->queued_buffers() : tcp_.queued_buffers();
  }

  Recv recv_until(uint64_t deadline_ns) {
    if (tls_)
      return Recv(std::in_place_index<1>, [&] { return TaskAwait(tls_->recv_until(deadline_ns)); });
    return Recv(std::in_place_index<0>, [&] { return tcp_.recv_until(deadline_ns); });
  }
  RecvAny recv() {
    if (tls_) return RecvAny(std::in_place_index<1>, [&] { return TaskAwait(tls_->recv()); });
    return RecvAny(std::in_place_index<0>, [&] { return tcp_.recv(); });
  }
  Write write_all(buffer::BufferChain& chain) {
    if (tls_)
      return Write(std::in_place_index<1>, [&] { return TaskAwait(tls_->write_all(chain)); });
    return Write(std::in_place_index<0>, [&] { return tcp_.write_all(chain); });
  }
  /// `data` must stay valid until the write completes.
  Write write_all(std::span<const std::byte> data) {
    if (tls_)
      return Write(std::in_place_index<1>, [&] { return TaskAwait(tls_->write_all(data)); });
    return Write(std::in_place_index<0>, [&] { return tcp_.write_all(data); });
  }
  /// An idle pooled connection still usable (see BasicTlsStream::absorb).
  runtime::Task<bool> absorb() {
    if (tls_) co_return co_await tls_->absorb();
    co_return tcp_.is_open() && !tcp_.has_pending_input();
  }
  runtime::Task<Result<void, Errno>> shutdown_write() {
    if (tls_) co_return co_await tls_->shutdown_write();
    co_return co_await tcp_.shutdown_write();
  }
  runtime::Task<void> close() {
    if (tls_) co_return co_await tls_->close();
    co_await tcp_.close();
  }

 private:
  net::TcpStream tcp_;
  std::unique_ptr<BackendTlsStream> tls_;
};

}  // namespace kakehi::proxy::detail
