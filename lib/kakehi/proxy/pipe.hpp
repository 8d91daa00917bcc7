// The bidirectional byte pipe of TCP listeners and upgraded HTTP connections (WebSocket): bytes
// copied both ways as slices, an end of stream passed on as a half-close. Templates over the
// two stream types (net::TcpStream, or TlsStream on the client side of an HTTPS listener).
#pragma once

#include <sys/socket.h>

#include <vector>

#include "kakehi/buffer/chain.hpp"
#include "kakehi/proxy/internal.hpp"
#include "kakehi/runtime/task.hpp"
#include "kakehi/runtime/when_all.hpp"
#include "kakehi/runtime/worker.hpp"

namespace kakehi::proxy::detail {

// One direction of a pipe. `idle_ns` bounds the wait for bytes; an error or a timeout aborts
// both directions (shutdown of both sockets wakes the other pump).
template <class From, class To>
runtime::Task<void> pump(From& from, To& to, buffer::BufferChain pre, uint64_t idle_ns,
                         bool& aborted) {
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

/// Copies bytes both ways until both directions ended (EOF is passed on as a half-close).
/// `to_b` / `to_a` are bytes already received that belong to the other side.
/// An error or `idle_ms` without bytes in one direction aborts both.
template <class A, class B>
runtime::Task<void> pipe(A& a, B& b, buffer::BufferChain to_b, buffer::BufferChain to_a,
                         uint64_t idle_ms) {
  constexpr uint64_t kMs = 1'000'000;
  bool aborted = false;
  std::vector<runtime::Task<void>> both;
  both.push_back(pump(a, b, std::move(to_b), idle_ms * kMs, aborted));
  both.push_back(pump(b, a, std::move(to_a), idle_ms * kMs, aborted));
  co_await runtime::when_all(std::move(both));
}

}  // namespace kakehi::proxy::detail
