// The client side of the TLS codec: connections from the proxy to TLS backends. Same engine
// shape as the server's Connection (bytes in through feed(), plaintext out, plaintext in through
// write(), ciphertext out through output()), so a stream can be a template over both. Pure: no
// socket, no clock, never blocks. See docs/tls.md ("Client side").
//
//   ReadingHello (before start) --start(): ClientHello in output()--> Handshaking
//   Handshaking  --wolfSSL_connect done, peer verified-------------> Open
//   Open         --close_notify received---------------------------> PeerClosed
//   Open / PeerClosed --shutdown()---------------------------------> Closed
//   any          --fatal error (verification included)-------------> Failed (output may hold an
//   alert)
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "kakehi/common/result.hpp"
#include "kakehi/tls/connection.hpp"
#include "kakehi/tls/context.hpp"
#include "kakehi/tls/error.hpp"

struct WOLFSSL;
struct WOLFSSL_CTX;
struct WOLFSSL_SESSION;

namespace kakehi::tls {

/// The system trust store used when verify is on and ca_pem is empty.
inline constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

/// An IPv4 or IPv6 literal (never sent as SNI, RFC 6066 §3).
bool is_ip_literal(const std::string& name) noexcept;

struct ClientOptions {
  bool verify = true;  ///< verify the backend's chain (and server_name when set)
  std::string ca_pem;  ///< trust anchors; empty + verify: kSystemCaBundle
  std::string
      server_name;  ///< SNI sent (not for an IP literal) and the name checked; empty: neither
  std::vector<std::string> alpn;  ///< offered, in order; empty: no ALPN
  TlsVersion min_version = TlsVersion::Tls12, max_version = TlsVersion::Tls13;
  std::string cipher_list = kDefaultCipherList;
  bool resume = true;  ///< keep the last session per context and offer it on the next connection
};

/// One per cluster, shared by workers: immutable after create() except the resumption slot,
/// which is guarded by a mutex.
class ClientContext {
 public:
  /// Validates the options: bad CA PEM, unreadable system bundle, no usable suite, min > max,
  /// bad ALPN names, a server name wolfSSL refuses → error text.
  static Result<std::shared_ptr<ClientContext>, std::string> create(ClientOptions o);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  const ClientOptions& options() const noexcept { return options_; }
  WOLFSSL_CTX* native() const noexcept { return ctx_; }

  /// The resumption slot (internal to ClientConnection): keeps `s` (replacing the previous
  /// one; `owned`: a reference-counted session to free, else a reference into wolfSSL's client
  /// cache) / offers it to `ssl` before its handshake.
  void remember_session(WOLFSSL_SESSION* s, bool owned) const;
  void offer_session(WOLFSSL* ssl) const;

 private:
  explicit ClientContext(ClientOptions o) : options_(std::move(o)) {}

  ClientOptions options_;
  WOLFSSL_CTX* ctx_ = nullptr;
  std::string alpn_list_;  // comma-separated, as wolfSSL_UseALPN takes it
  mutable std::mutex session_mu_;
  mutable WOLFSSL_SESSION* session_ = nullptr;
  mutable bool session_owned_ = false;
  friend class ClientConnection;
};

class ClientConnection {
 public:
  explicit ClientConnection(std::shared_ptr<const ClientContext> ctx);
  ~ClientConnection();
  ClientConnection(const ClientConnection&) = delete;  // wolfSSL's callbacks hold its address
  ClientConnection& operator=(const ClientConnection&) = delete;

  /// Creates the wolfSSL object (SNI, ALPN, a remembered session) and puts the ClientHello in
  /// output(). Once; afterwards the state is Handshaking (or Failed).
  Result<void, TlsError> start();

  /// Takes all of `ciphertext`, advances the handshake (verifying the peer), decrypts what is
  /// complete into plaintext(). An error is final: flush output() (it may hold an alert).
  Result<Progress, TlsError> feed(std::span<const std::byte> ciphertext);

  /// Encrypts into output(). Only in Open or PeerClosed.
  Result<void, TlsError> write(std::span<const std::byte> plaintext);
  /// Queues close_notify (once); the state becomes Closed.
  void shutdown();

  std::span<const std::byte> plaintext() const noexcept { return plain_.data(); }
  void consume_plaintext(std::size_t n) noexcept { plain_.consume(n); }
  std::span<const std::byte> output() const noexcept { return out_.data(); }
  void consume_output(std::size_t n) noexcept { out_.consume(n); }
  bool has_output() const noexcept { return !out_.empty(); }
  /// From now on, records go to `sink` (see Connection::set_output_sink).
  void set_output_sink(OutputSink sink) noexcept { sink_ = sink; }
  /// From now on, decrypted bytes go to `sink` when it has room (see PlaintextSink).
  void set_plaintext_sink(PlaintextSink sink) noexcept { plain_sink_ = sink; }

  ConnState state() const noexcept { return state_; }
  /// server_name (the SNI sent), alpn, version, cipher, resumed; certificate is null.
  const HandshakeInfo& handshake() const noexcept { return info_; }
  const TlsError& error() const noexcept { return error_; }

  // wolfSSL callbacks (internal).
  int on_recv(char* buf, int sz) noexcept;
  int on_send(const char* buf, int sz) noexcept;
  void on_ticket() noexcept { ticket_seen_ = true; }

 private:
  Result<Progress, TlsError> fail(TlsErrorCode code, std::string reason, int wolfssl_error = 0);
  Result<Progress, TlsError> drive(Progress p);
  std::string handshake_reason(int err) const;
  void fill_info();
  void save_session();

  std::shared_ptr<const ClientContext> ctx_;
  WOLFSSL* ssl_ = nullptr;
  ConnState state_ = ConnState::ReadingHello;
  bool ticket_seen_ = false;
  ByteQueue pending_;                 // ciphertext not yet taken by wolfSSL
  std::span<const std::byte> input_;  // the feed() argument, read after pending_
  ByteQueue plain_;
  PlaintextSink plain_sink_;
  ByteQueue out_;
  OutputSink sink_;
  HandshakeInfo info_;
  TlsError error_{TlsErrorCode::NotOpen, 0, {}};
};

}  // namespace kakehi::tls
