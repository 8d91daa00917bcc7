// BasicTlsStream: a TLS connection over a net::TcpStream, with the reading and writing interface
// of net::TcpStream that the sessions use (recv_until, recv, write_all, has_pending_input,
// queued_buffers, shutdown_write, close), over a TLS engine (docs/tls.md): tls::Connection on
// the client side of an HTTPS listener (TlsStream), tls::ClientConnection towards a TLS backend
// (BackendTlsStream). Ciphertext
// arrives in pool slices and is fed to the engine, which decrypts straight into pool buffers
// (its plaintext sink, `opened_`) handed out as slices; a write encrypts the slices of a chain,
// the engine's output sink copies the records straight into pool slices, and those are sent.
//
// Concurrency (a WebSocket tunnel reads and writes at once): one write at a time goes to the
// socket. Records produced while reading (a TLS 1.3 KeyUpdate answer, an alert) while a write
// is in flight wait in `sealed_` and are sent by that write when it finishes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "kakehi/buffer/chain.hpp"
#include "kakehi/common/result.hpp"
#include "kakehi/net/tcp.hpp"
#include "kakehi/runtime/task.hpp"
#include "kakehi/tls/client.hpp"
#include "kakehi/tls/connection.hpp"

namespace kakehi::proxy::detail {

template <class Engine>
class BasicTlsStream {
 public:
  using Errno = net::Errno;
  template <class Context>
  BasicTlsStream(net::TcpStream tcp, std::shared_ptr<const Context> ctx, buffer::BufferPool& pool)
      : BasicTlsStream(std::move(tcp), std::make_unique<Engine>(std::move(ctx)), pool) {}

  int fd() const noexcept { return tcp_.fd(); }
  net::Address peer_address() const { return tcp_.peer_address(); }
  net::Address local_address() const { return tcp_.local_address(); }
  bool relayed() const noexcept { return tcp_.relayed(); }
  bool has_pending_input() const noexcept {
    return !opened_->empty() || !conn_->plaintext().empty() || tcp_.has_pending_input();
  }
  size_t queued_buffers() const noexcept {
    return opened_->buffers() + (conn_->plaintext().empty() ? 0 : 1) + tcp_.queued_buffers();
  }
  bool is_open() const noexcept { return tcp_.is_open() && conn_->state() == tls::ConnState::Open; }
  const Engine& connection() const noexcept { return *conn_; }
  void set_priority_reads() noexcept { tcp_.set_priority_reads(); }
  void set_one_buffer_reads() noexcept { tcp_.set_one_buffer_reads(); }
  void prime_reads() noexcept { tcp_.prime_reads(); }

  /// Runs the handshake (a client engine sends its hello first) until it completes (true) or fails,
  /// times out or the peer goes (false; an alert, if any, has been sent). `deadline_ns` is on the
  /// worker's clock.
  runtime::Task<bool> handshake(uint64_t deadline_ns);
  /// Plaintext, at most one pool buffer of it; an empty slice at the end of the stream
  /// (close_notify or the TCP end); ETIMEDOUT past the deadline; EPROTO when TLS fails.
  runtime::Task<Result<buffer::Slice, Errno>> recv_until(uint64_t deadline_ns);
  runtime::Task<Result<buffer::Slice, Errno>> recv() { return recv_until(UINT64_MAX); }
  /// Encrypts and sends everything in `chain` (emptied).
  runtime::Task<Result<void, Errno>> write_all(buffer::BufferChain& chain);
  runtime::Task<Result<void, Errno>> write_all(std::span<const std::byte> data);
  /// For an idle pooled connection: feeds what has already arrived (a TLS 1.3 server's session
  /// tickets come after the handshake) without waiting. False when the connection cannot carry
  /// a request: closed, failed, or application bytes arrived unasked.
  runtime::Task<bool> absorb();
  /// Sends close_notify, then ends the TCP write side.
  runtime::Task<Result<void, Errno>> shutdown_write();
  /// Sends close_notify (best effort) and closes the socket.
  runtime::Task<void> close();

 private:
  BasicTlsStream(net::TcpStream tcp, std::unique_ptr<Engine> engine, buffer::BufferPool& pool);
  /// The engine's output sink: records go straight into pool buffers of `sealed_`.
  static bool take_records(void* sealed, std::span<const std::byte> records) noexcept;
  /// The engine's plaintext sink: lends the free part of a pool buffer of `opened_`.
  static std::span<std::byte> plain_room(void* opened) noexcept;
  static void plain_commit(void* opened, size_t n) noexcept;
  bool has_output() const noexcept { return conn_->has_output() || !sealed_->chain.empty(); }
  runtime::Task<bool> flush_output();
  /// Hands the slices of `chain` to the engine, packed into as few records as copying one
  /// record's worth allows; false when the engine fails.
  bool encrypt(const buffer::BufferChain& chain);
  bool start_engine() {
    if constexpr (requires(Engine & e) { e.start(); })
      return static_cast<bool>(conn_->start());
    else
      return true;
  }

  net::TcpStream tcp_;
  std::unique_ptr<Engine> conn_;  // not movable: wolfSSL's callbacks hold its address
  buffer::BufferPool* pool_;
  // Records encrypted and not yet sent. On the heap: the engine's sink holds its address.
  struct Sealed {
    buffer::BufferChain chain;
    buffer::BufferPool* pool;
  };
  std::unique_ptr<Sealed> sealed_;
  // Plaintext decrypted and not yet handed out, in order: `chain`, then the first `used` bytes
  // of `fill`, the buffer being decrypted into. On the heap: the engine's sink holds its address.
  struct Opened {
    buffer::BufferChain chain;
    buffer::Slice fill;  // a whole pool buffer, or none
    uint32_t used = 0;
    buffer::BufferPool* pool;
    bool empty() const noexcept { return chain.empty() && used == 0; }
    size_t buffers() const noexcept { return chain.slice_count() + (used > 0 ? 1 : 0); }
    /// The filled part of `fill`, which is left empty.
    buffer::Slice take_fill() noexcept {
      fill.remove_suffix(fill.size() - used);
      used = 0;
      return std::move(fill);
    }
  };
  std::unique_ptr<Opened> opened_;
  buffer::BufferChain out_;  // records being sent
  bool writing_ = false;
  bool peer_closed_ = false;
  bool closed_ = false;
};

using TlsStream = BasicTlsStream<tls::Connection>;
using BackendTlsStream = BasicTlsStream<tls::ClientConnection>;
extern template class BasicTlsStream<tls::Connection>;
extern template class BasicTlsStream<tls::ClientConnection>;

}  // namespace kakehi::proxy::detail
