// One server-side TLS connection as a pure engine over memory: ciphertext in (feed), plaintext
// out (plaintext / consume_plaintext), plaintext in (write), ciphertext out (output /
// consume_output). wolfSSL runs through custom I/O callbacks over these buffers: no socket,
// no clock, never blocks. See docs/tls.md for the states and the session's loop.
//
//   ReadingHello --ClientHello complete, certificate resolved--> Handshaking
//   Handshaking  --wolfSSL_accept done--------------------------> Open
//   Open         --close_notify received-----------------------> PeerClosed
//   Open / PeerClosed --shutdown()-----------------------------> Closed
//   any          --fatal error---------------------------------> Failed (output may hold an alert)
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kakehi/common/result.hpp"
#include "kakehi/tls/context.hpp"
#include "kakehi/tls/error.hpp"

struct WOLFSSL;

namespace kakehi::tls {

enum class ConnState { ReadingHello, Handshaking, Open, PeerClosed, Closed, Failed };

/// What the handshake negotiated (valid from the feed() that reported handshake_done).
struct HandshakeInfo {
  std::string server_name;   ///< normalized SNI; empty without SNI
  std::string alpn;          ///< selected protocol (one of ContextOptions::alpn); empty = none
  std::string_view version;  ///< "TLSv1.2" / "TLSv1.3"
  std::string_view cipher;   ///< wolfSSL's suite name
  bool resumed = false;
  bool default_certificate = false;  ///< no SNI or an unknown name served by the default
  std::shared_ptr<const ServerCertificate> certificate;
};

/// Outcome of one feed(): flags, not exclusive. Neither flag and no error = wants more input.
struct Progress {
  bool handshake_done = false;  ///< the handshake completed during this call
  bool peer_closed = false;     ///< close_notify received (no more plaintext will come)
};

/// A growable byte queue: append at the back, consume from the front; never zero-fills.
class ByteQueue {
 public:
  std::span<const std::byte> data() const noexcept { return {buf_.get() + begin_, end_ - begin_}; }
  bool empty() const noexcept { return begin_ == end_; }
  std::size_t size() const noexcept { return end_ - begin_; }
  void consume(std::size_t n) noexcept;
  /// Room for at least `n` bytes at the back; commit() what was written.
  std::span<std::byte> prepare(std::size_t n);
  void commit(std::size_t n) noexcept { end_ += n; }
  void append(std::span<const std::byte> b);

 private:
  std::unique_ptr<std::byte[]> buf_;
  std::size_t begin_ = 0, end_ = 0, cap_ = 0;
};

/// Where an engine's records go instead of its output() queue: `take` receives each piece of
/// ciphertext as wolfSSL produces it and returns false when it has no room (the write fails).
/// Lets a stream copy records straight into its send buffers.
struct OutputSink {
  bool (*take)(void* ctx, std::span<const std::byte> records) noexcept = nullptr;
  void* ctx = nullptr;
};

/// Where an engine decrypts to instead of its plaintext() queue: `room` lends writable memory
/// (empty when it has none: the engine then keeps the bytes in plaintext()), and every `room`
/// is followed by one `commit` of how many bytes were written there (0 included). The sink gets
/// bytes only while plaintext() is empty, so a reader takes the sink's bytes first, then
/// plaintext(). Lets a stream decrypt straight into its receive buffers.
struct PlaintextSink {
  std::span<std::byte> (*room)(void* ctx) noexcept = nullptr;
  void (*commit)(void* ctx, std::size_t n) noexcept = nullptr;
  void* ctx = nullptr;
};

class Connection {
 public:
  explicit Connection(std::shared_ptr<const Context> ctx);
  ~Connection();
  Connection(const Connection&) = delete;  // wolfSSL's I/O callbacks point at this object
  Connection& operator=(const Connection&) = delete;

  /// Takes all of `ciphertext` (the caller may reuse its buffer on return), advances the
  /// handshake and decrypts what is complete into plaintext() or the plaintext sink. An error is
  /// final: flush output() (it may hold an alert) and close.
  Result<Progress, TlsError> feed(std::span<const std::byte> ciphertext);

  /// Encrypts `plaintext` into output() as TLS records. Only in Open or PeerClosed.
  Result<void, TlsError> write(std::span<const std::byte> plaintext);
  /// Queues close_notify (once); the state becomes Closed.
  void shutdown();

  std::span<const std::byte> plaintext() const noexcept { return plain_.data(); }
  void consume_plaintext(std::size_t n) noexcept { plain_.consume(n); }
  std::span<const std::byte> output() const noexcept { return out_.data(); }
  void consume_output(std::size_t n) noexcept { out_.consume(n); }
  bool has_output() const noexcept { return !out_.empty(); }
  /// From now on, records wolfSSL produces go to `sink`; output() keeps only what was queued
  /// before and the plaintext alert of a failed ClientHello.
  void set_output_sink(OutputSink sink) noexcept { sink_ = sink; }
  /// From now on, decrypted bytes go to `sink` when it has room (see PlaintextSink).
  void set_plaintext_sink(PlaintextSink sink) noexcept { plain_sink_ = sink; }

  ConnState state() const noexcept { return state_; }
  const HandshakeInfo& handshake() const noexcept { return info_; }
  const TlsError& error() const noexcept { return error_; }

  // wolfSSL I/O callbacks (internal).
  int on_recv(char* buf, int sz) noexcept;
  int on_send(const char* buf, int sz) noexcept;

 private:
  Result<Progress, TlsError> fail(TlsErrorCode code, std::string reason, int wolfssl_error = 0,
                                  std::uint8_t alert = 0);
  Result<Progress, TlsError> start_handshake(const struct HelloPeek& hello);
  Result<Progress, TlsError> drive(Progress p);
  void fill_info();

  std::shared_ptr<const Context> ctx_;
  std::shared_ptr<const ServerCertificate> cert_;
  WOLFSSL* ssl_ = nullptr;
  ConnState state_ = ConnState::ReadingHello;
  ByteQueue pending_;                 // ciphertext not yet taken by wolfSSL
  std::span<const std::byte> input_;  // the feed() argument, read after pending_
  ByteQueue plain_;
  PlaintextSink plain_sink_;
  ByteQueue out_;
  OutputSink sink_;
  std::vector<std::byte> scratch_;  // ClientHello reassembly
  HandshakeInfo info_;
  TlsError error_{TlsErrorCode::NotOpen, 0, {}};
};

}  // namespace kakehi::tls
