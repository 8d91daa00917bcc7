// Connection: the memory-I/O engine around one WOLFSSL object (see connection.hpp).
#include "kakehi/tls/connection.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <utility>

#include "kakehi/tls/client_hello.hpp"
#include "kakehi/tls/wolfssl.hpp"

namespace kakehi::tls {
namespace {

constexpr std::uint8_t kAlertDecodeError = 50;        // RFC 8446 §6.2
constexpr std::uint8_t kAlertUnrecognizedName = 112;  // RFC 6066 §3
constexpr std::uint8_t kAlertInternalError = 80;
constexpr std::size_t kReadChunk = 16384;

int recv_cb(WOLFSSL*, char* buf, int sz, void* self) {
  return static_cast<Connection*>(self)->on_recv(buf, sz);
}
int send_cb(WOLFSSL*, char* buf, int sz, void* self) {
  return static_cast<Connection*>(self)->on_send(buf, sz);
}

std::string wolfssl_reason(int err) {
  char buf[WOLFSSL_MAX_ERROR_SZ] = {};
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(err), buf, sizeof buf);
  return std::string(buf) + " (" + std::to_string(err) + ")";
}

}  // namespace

void ByteQueue::consume(std::size_t n) noexcept {
  begin_ += std::min(n, size());
  if (begin_ == end_) begin_ = end_ = 0;
}

std::span<std::byte> ByteQueue::prepare(std::size_t n) {
  if (cap_ - end_ < n) {
    const std::size_t live = end_ - begin_;
    if (begin_ > 0 && cap_ - live >= n) {
      std::memmove(buf_.get(), buf_.get() + begin_, live);
    } else {
      const std::size_t cap = std::max(cap_ * 2, live + n);
      std::unique_ptr<std::byte[]> next(new std::byte[cap]);
      if (live > 0) std::memcpy(next.get(), buf_.get() + begin_, live);
      buf_ = std::move(next);
      cap_ = cap;
    }
    begin_ = 0;
    end_ = live;
  }
  return {buf_.get() + end_, cap_ - end_};
}

void ByteQueue::append(std::span<const std::byte> b) {
  if (b.empty()) return;
  auto room = prepare(b.size());
  std::memcpy(room.data(), b.data(), b.size());
  commit(b.size());
}

Connection::Connection(std::shared_ptr<const Context> ctx) : ctx_(std::move(ctx)) {}

Connection::~Connection() {
  if (ssl_ != nullptr) wolfSSL_free(ssl_);
}

namespace detail {
int memory_recv(ByteQueue& pending, std::span<const std::byte>& input, char* buf, int sz) noexcept {
  if (sz <= 0) return 0;
  std::span<const std::byte> src = !pending.empty() ? pending.data() : input;
  if (src.empty()) return WOLFSSL_CBIO_ERR_WANT_READ;
  const std::size_t n = std::min(src.size(), static_cast<std::size_t>(sz));
  std::memcpy(buf, src.data(), n);
  if (!pending.empty())
    pending.consume(n);
  else
    input = input.subspan(n);
  return static_cast<int>(n);
}

int memory_send(ByteQueue& out, const OutputSink& sink, const char* buf, int sz) noexcept {
  if (sz <= 0) return 0;
  const std::span bytes(reinterpret_cast<const std::byte*>(buf), static_cast<std::size_t>(sz));
  if (sink.take == nullptr)
    out.append(bytes);
  else if (!sink.take(sink.ctx, bytes))
    return WOLFSSL_CBIO_ERR_GENERAL;
  return sz;
}

int read_plaintext(WOLFSSL* ssl, ByteQueue& plain, const PlaintextSink& sink) {
  auto read_into = [ssl](std::span<std::byte> room) {
    const int r = wolfSSL_read(ssl, room.data(),
                               static_cast<int>(std::min<std::size_t>(room.size(), INT_MAX)));
    return std::pair{r, r > 0 ? static_cast<std::size_t>(r) : 0};
  };
  if (sink.room != nullptr && plain.empty()) {
    const auto room = sink.room(sink.ctx);
    if (!room.empty()) {
      const auto [r, n] = read_into(room);
      sink.commit(sink.ctx, n);
      return r;
    }
    sink.commit(sink.ctx, 0);  // no room: into `plain`
  }
  const auto [r, n] = read_into(plain.prepare(kReadChunk));
  plain.commit(n);
  return r;
}
}  // namespace detail

int Connection::on_recv(char* buf, int sz) noexcept {
  return detail::memory_recv(pending_, input_, buf, sz);
}

int Connection::on_send(const char* buf, int sz) noexcept {
  return detail::memory_send(out_, sink_, buf, sz);
}

Result<Progress, TlsError> Connection::fail(TlsErrorCode code, std::string reason,
                                            int wolfssl_error, std::uint8_t alert) {
  if (alert != 0) {
    // A plaintext fatal alert record (RFC 8446 §6): before wolfSSL exists, we send it.
    const std::byte rec[] = {std::byte{21}, std::byte{3}, std::byte{3},    std::byte{0},
                             std::byte{2},  std::byte{2}, std::byte{alert}};
    out_.append(rec);
  }
  state_ = ConnState::Failed;
  error_ = TlsError{code, wolfssl_error, std::move(reason)};
  return Unexpected(error_);
}

Result<Progress, TlsError> Connection::feed(std::span<const std::byte> ciphertext) {
  switch (state_) {
    case ConnState::Failed:
      return Unexpected(error_);
    case ConnState::Closed:
    case ConnState::PeerClosed:
      return Progress{};  // nothing more is read
    case ConnState::ReadingHello: {
      pending_.append(ciphertext);
      const HelloPeek hello = peek_client_hello(pending_.data(), scratch_);
      switch (hello.status) {
        case HelloStatus::NeedMore:
          return Progress{};
        case HelloStatus::Malformed:
          return fail(TlsErrorCode::MalformedClientHello, hello.reason, 0, kAlertDecodeError);
        case HelloStatus::TooLarge:
          return fail(TlsErrorCode::ClientHelloTooLarge, hello.reason, 0, kAlertDecodeError);
        case HelloStatus::Ok:
          break;
      }
      return start_handshake(hello);
    }
    case ConnState::Handshaking:
    case ConnState::Open:
      break;
  }
  input_ = ciphertext;
  auto r = drive(Progress{});
  if (!input_.empty() && state_ != ConnState::Failed) pending_.append(input_);
  input_ = {};
  return r;
}

Result<Progress, TlsError> Connection::start_handshake(const HelloPeek& hello) {
  const auto resolver = ctx_->resolver();
  auto match = resolver->resolve(hello.server_name);
  if (!match.cert)
    return fail(TlsErrorCode::NoCertificate, "the listener has no certificate", 0,
                kAlertInternalError);
  if (!hello.server_name.empty() && !match.by_name &&
      ctx_->options().unknown_sni == UnknownSni::Reject)
    return fail(TlsErrorCode::UnknownServerName,
                "no certificate for \"" + std::string(hello.server_name) + "\"", 0,
                kAlertUnrecognizedName);
  cert_ = std::move(match.cert);
  info_.server_name = normalize_name(hello.server_name);
  info_.default_certificate = !match.by_name;
  ssl_ = wolfSSL_new(cert_->native());
  if (ssl_ == nullptr)
    return fail(TlsErrorCode::HandshakeFailed, "wolfSSL_new failed", 0, kAlertInternalError);
  wolfSSL_SSLSetIORecv(ssl_, recv_cb);
  wolfSSL_SSLSetIOSend(ssl_, send_cb);
  wolfSSL_SetIOReadCtx(ssl_, this);
  wolfSSL_SetIOWriteCtx(ssl_, this);
  // Server preference (wolfSSL itself would follow the client's order): offer wolfSSL only
  // the protocol we chose, so it can only select that one.
  if (auto proto = select_alpn(ctx_->options().alpn, hello.alpn)) {
    char name[256];
    std::memcpy(name, proto->data(), proto->size());
    if (wolfSSL_UseALPN(ssl_, name, static_cast<unsigned>(proto->size()),
                        WOLFSSL_ALPN_CONTINUE_ON_MISMATCH) != WOLFSSL_SUCCESS)
      return fail(TlsErrorCode::HandshakeFailed, "wolfSSL_UseALPN failed", 0, kAlertInternalError);
    info_.alpn.assign(proto->data(), proto->size());
  }
  state_ = ConnState::Handshaking;
  return drive(Progress{});
}

Result<Progress, TlsError> Connection::drive(Progress p) {
  if (state_ == ConnState::Handshaking) {
    const int r = wolfSSL_accept(ssl_);
    if (r != WOLFSSL_SUCCESS) {
      const int e = wolfSSL_get_error(ssl_, r);
      if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) return p;
      return fail(TlsErrorCode::HandshakeFailed, wolfssl_reason(e), e);
    }
    state_ = ConnState::Open;
    p.handshake_done = true;
    fill_info();
  }
  while (state_ == ConnState::Open) {
    const int r = detail::read_plaintext(ssl_, plain_, plain_sink_);
    if (r > 0) continue;
    const int e = wolfSSL_get_error(ssl_, r);
    if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) break;
    if (e == WOLFSSL_ERROR_ZERO_RETURN) {
      state_ = ConnState::PeerClosed;
      p.peer_closed = true;
      break;
    }
    return fail(TlsErrorCode::ProtocolError, wolfssl_reason(e), e);
  }
  return p;
}

void Connection::fill_info() {
  info_.certificate = cert_;
  info_.resumed = wolfSSL_session_reused(ssl_) != 0;
  if (const char* v = wolfSSL_get_version(ssl_)) info_.version = v;
  if (const char* c = wolfSSL_get_cipher_name(ssl_)) info_.cipher = c;
  char* proto = nullptr;
  unsigned short len = 0;
  if (info_.alpn.empty() || wolfSSL_ALPN_GetProtocol(ssl_, &proto, &len) != WOLFSSL_SUCCESS ||
      std::string_view(proto, len) != info_.alpn)
    info_.alpn.clear();
}

Result<void, TlsError> Connection::write(std::span<const std::byte> plaintext) {
  if (state_ != ConnState::Open && state_ != ConnState::PeerClosed)
    return Unexpected(TlsError{TlsErrorCode::NotOpen, 0, "write outside the open state"});
  while (!plaintext.empty()) {
    const int n = static_cast<int>(std::min<std::size_t>(plaintext.size(), 1 << 30));
    const int r = wolfSSL_write(ssl_, plaintext.data(), n);
    if (r <= 0) {
      const int e = wolfSSL_get_error(ssl_, r);
      auto f = fail(TlsErrorCode::ProtocolError, wolfssl_reason(e), e);
      return Unexpected(f.error());
    }
    plaintext = plaintext.subspan(static_cast<std::size_t>(r));
  }
  return {};
}

void Connection::shutdown() {
  if (ssl_ != nullptr && (state_ == ConnState::Open || state_ == ConnState::PeerClosed))
    (void)wolfSSL_shutdown(ssl_);
  if (state_ != ConnState::Failed) state_ = ConnState::Closed;
}

}  // namespace kakehi::tls
