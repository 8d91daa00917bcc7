// ClientContext / ClientConnection: the client-side engine around one WOLFSSL object (see
// client.hpp).
#include "kakehi/tls/client.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>

#include "kakehi/tls/wolfssl.hpp"

namespace kakehi::tls {
namespace {

int recv_cb(WOLFSSL*, char* buf, int sz, void* self) {
  return static_cast<ClientConnection*>(self)->on_recv(buf, sz);
}
int send_cb(WOLFSSL*, char* buf, int sz, void* self) {
  return static_cast<ClientConnection*>(self)->on_send(buf, sz);
}
int ticket_cb(WOLFSSL*, const unsigned char*, int, void* self) {
  static_cast<ClientConnection*>(self)->on_ticket();
  return 0;
}

std::string wolfssl_reason(int err) {
  char buf[WOLFSSL_MAX_ERROR_SZ] = {};
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(err), buf, sizeof buf);
  return std::string(buf) + " (" + std::to_string(err) + ")";
}

Result<std::string, std::string> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected(std::string("cannot read the system CA bundle ") + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

bool is_ip_literal(const std::string& name) noexcept {
  unsigned char addr[16];
  return inet_pton(AF_INET, name.c_str(), addr) == 1 ||
         inet_pton(AF_INET6, name.c_str(), addr) == 1;
}

ClientContext::~ClientContext() {
  if (session_owned_ && session_ != nullptr) wolfSSL_SESSION_free(session_);
  if (ctx_ != nullptr) wolfSSL_CTX_free(ctx_);
}

Result<std::shared_ptr<ClientContext>, std::string> ClientContext::create(ClientOptions o) {
  detail::ensure_init();
  if (o.min_version == TlsVersion::Tls13 && o.max_version == TlsVersion::Tls12)
    return Unexpected(std::string("min_version is above max_version"));
  std::string alpn_list;
  for (const auto& p : o.alpn) {
    if (p.empty() || p.size() > 255 || p.find(',') != std::string::npos)
      return Unexpected("bad ALPN protocol name \"" + p + "\"");
    if (!alpn_list.empty()) alpn_list += ',';
    alpn_list += p;
  }
  if (o.server_name.size() > 255 || o.server_name.find('\0') != std::string::npos)
    return Unexpected("bad server name \"" + o.server_name + "\"");

  WOLFSSL_METHOD* method = nullptr;
  if (o.max_version == TlsVersion::Tls12)
    method = wolfTLSv1_2_client_method();
  else if (o.min_version == TlsVersion::Tls13)
    method = wolfTLSv1_3_client_method();
  else
    method = wolfSSLv23_client_method();
  detail::CtxPtr ctx(wolfSSL_CTX_new(method));
  if (!ctx) return Unexpected(std::string("wolfSSL_CTX_new failed"));
  WOLFSSL_CTX* c = ctx.get();
  if (std::string e = detail::set_version_and_suites(c, o.min_version, o.cipher_list); !e.empty())
    return Unexpected(std::move(e));
  wolfSSL_CTX_SetMinRsaKey_Sz(c, 2048);
  wolfSSL_CTX_SetMinEccKey_Sz(c, 256);

  if (o.verify) {
    std::string bundle;
    const std::string* pem = &o.ca_pem;
    word32 flags = 0;
    if (o.ca_pem.empty()) {
      auto file = read_file(kSystemCaBundle);
      if (!file) return Unexpected(file.error());
      bundle = std::move(*file);
      pem = &bundle;
      // A distribution bundle may hold a certificate wolfSSL cannot parse: skip it, keep the rest.
      flags = WOLFSSL_LOAD_FLAG_IGNORE_ERR;
    }
    if (pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos)
      return Unexpected(std::string(o.ca_pem.empty() ? "the system CA bundle" : "ca_pem") +
                        " holds no PEM certificate");
    const int r = wolfSSL_CTX_load_verify_buffer_ex(
        c, reinterpret_cast<const unsigned char*>(pem->data()), static_cast<long>(pem->size()),
        WOLFSSL_FILETYPE_PEM, 0, flags);
    if (r != WOLFSSL_SUCCESS) return Unexpected("bad CA certificates: " + wolfssl_reason(r));
    wolfSSL_CTX_set_verify(c, WOLFSSL_VERIFY_PEER, nullptr);
  } else {
    wolfSSL_CTX_set_verify(c, WOLFSSL_VERIFY_NONE, nullptr);
  }
  // No TLS 1.2 session tickets (wolfSSL offers them only on request): wolfSSL 5.5.4's client
  // fails a TLS 1.2 handshake with "Out of order message" when its ticket is refused (another
  // backend of the cluster, rotated keys) instead of going on with the full handshake. TLS 1.2
  // resumes through session ids; TLS 1.3 tickets are fine.
  wolfSSL_CTX_SetIORecv(c, recv_cb);
  wolfSSL_CTX_SetIOSend(c, send_cb);

  std::shared_ptr<ClientContext> out(new ClientContext(std::move(o)));
  out->ctx_ = ctx.release();
  out->alpn_list_ = std::move(alpn_list);
  return out;
}

void ClientContext::remember_session(WOLFSSL_SESSION* s, bool owned) const {
  if (s == nullptr) return;
  WOLFSSL_SESSION* old = nullptr;
  {
    std::lock_guard lock(session_mu_);
    if (session_owned_) old = session_;
    session_ = s;
    session_owned_ = owned;
  }
  // No other thread can still read `old`: offer_session reads the slot under the same lock.
  if (old != nullptr) wolfSSL_SESSION_free(old);
}

void ClientContext::offer_session(WOLFSSL* ssl) const {
  std::lock_guard lock(session_mu_);
  // wolfSSL_set_session copies the session into `ssl` (a cache reference is looked up under
  // wolfSSL's cache locks); an evicted or expired one is refused: a full handshake.
  if (session_ != nullptr) (void)wolfSSL_set_session(ssl, session_);
}

ClientConnection::ClientConnection(std::shared_ptr<const ClientContext> ctx)
    : ctx_(std::move(ctx)) {
  if (!is_ip_literal(ctx_->options().server_name)) info_.server_name = ctx_->options().server_name;
}

ClientConnection::~ClientConnection() {
  if (ssl_ != nullptr) wolfSSL_free(ssl_);
}

int ClientConnection::on_recv(char* buf, int sz) noexcept {
  return detail::memory_recv(pending_, input_, buf, sz);
}

int ClientConnection::on_send(const char* buf, int sz) noexcept {
  return detail::memory_send(out_, sink_, buf, sz);
}

Result<Progress, TlsError> ClientConnection::fail(TlsErrorCode code, std::string reason,
                                                  int wolfssl_error) {
  state_ = ConnState::Failed;
  error_ = TlsError{code, wolfssl_error, std::move(reason)};
  return Unexpected(error_);
}

std::string ClientConnection::handshake_reason(int e) const {
  switch (e) {
    case ASN_NO_SIGNER_E:
      return "certificate verify failed: no trusted CA signed the backend's certificate (" +
             wolfssl_reason(e) + ")";
    case ASN_SELF_SIGNED_E:
      return "certificate verify failed: self-signed certificate (" + wolfssl_reason(e) + ")";
    case ASN_AFTER_DATE_E:
      return "certificate verify failed: certificate expired (" + wolfssl_reason(e) + ")";
    case ASN_BEFORE_DATE_E:
      return "certificate verify failed: certificate not yet valid (" + wolfssl_reason(e) + ")";
    case ASN_SIG_CONFIRM_E:
    case ASN_SIG_OID_E:
      return "certificate verify failed: bad signature (" + wolfssl_reason(e) + ")";
    case DOMAIN_NAME_MISMATCH:
      return "name mismatch: the backend's certificate does not cover \"" +
             ctx_->options().server_name + "\" (" + wolfssl_reason(e) + ")";
    case VERIFY_CERT_ERROR:
    case NO_PEER_CERT:
      return "certificate verify failed: " + wolfssl_reason(e);
    default:
      return wolfssl_reason(e);
  }
}

Result<void, TlsError> ClientConnection::start() {
  if (state_ != ConnState::ReadingHello)
    return Unexpected(TlsError{TlsErrorCode::NotOpen, 0, "start() called twice"});
  const ClientOptions& o = ctx_->options();
  ssl_ = wolfSSL_new(ctx_->native());
  if (ssl_ == nullptr)
    return Unexpected(fail(TlsErrorCode::HandshakeFailed, "wolfSSL_new failed").error());
  wolfSSL_SetIOReadCtx(ssl_, this);
  wolfSSL_SetIOWriteCtx(ssl_, this);
  if (!o.server_name.empty()) {
    // RFC 6066 §3: no IP literal in SNI; the name check still applies.
    if (!is_ip_literal(o.server_name) &&
        wolfSSL_UseSNI(ssl_, WOLFSSL_SNI_HOST_NAME, o.server_name.data(),
                       static_cast<unsigned short>(o.server_name.size())) != WOLFSSL_SUCCESS)
      return Unexpected(fail(TlsErrorCode::HandshakeFailed, "wolfSSL_UseSNI failed").error());
    if (o.verify && wolfSSL_check_domain_name(ssl_, o.server_name.c_str()) != WOLFSSL_SUCCESS)
      return Unexpected(
          fail(TlsErrorCode::HandshakeFailed, "wolfSSL_check_domain_name failed").error());
  }
  if (!ctx_->alpn_list_.empty()) {
    std::string list = ctx_->alpn_list_;  // wolfSSL_UseALPN takes a mutable buffer
    if (wolfSSL_UseALPN(ssl_, list.data(), static_cast<unsigned>(list.size()),
                        WOLFSSL_ALPN_CONTINUE_ON_MISMATCH) != WOLFSSL_SUCCESS)
      return Unexpected(fail(TlsErrorCode::HandshakeFailed, "wolfSSL_UseALPN failed").error());
  }
  if (o.resume) {
    wolfSSL_set_SessionTicket_cb(ssl_, ticket_cb, this);
    ctx_->offer_session(ssl_);
  }
  state_ = ConnState::Handshaking;
  auto r = drive(Progress{});
  if (!r) return Unexpected(r.error());
  return {};
}

Result<Progress, TlsError> ClientConnection::feed(std::span<const std::byte> ciphertext) {
  switch (state_) {
    case ConnState::Failed:
      return Unexpected(error_);
    case ConnState::ReadingHello:
      return Unexpected(TlsError{TlsErrorCode::NotOpen, 0, "feed() before start()"});
    case ConnState::Closed:
    case ConnState::PeerClosed:
      return Progress{};  // nothing more is read
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

Result<Progress, TlsError> ClientConnection::drive(Progress p) {
  if (state_ == ConnState::Handshaking) {
    const int r = wolfSSL_connect(ssl_);
    if (r != WOLFSSL_SUCCESS) {
      const int e = wolfSSL_get_error(ssl_, r);
      if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) return p;
      return fail(TlsErrorCode::HandshakeFailed, handshake_reason(e), e);
    }
    state_ = ConnState::Open;
    p.handshake_done = true;
    fill_info();
    // TLS 1.2: the session (id or ticket) is known now; TLS 1.3 tickets come later.
    if (ctx_->options().resume && !info_.resumed && info_.version == "TLSv1.2") save_session();
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
  if (ticket_seen_) {
    ticket_seen_ = false;
    save_session();
  }
  return p;
}

// TLS 1.2: after the handshake nothing changes the connection's session any more (no
// renegotiation), so the context shares it by reference count (wolfSSL_get1_session) — this also
// covers a server that sends tickets with an empty session id, which wolfSSL's client cache
// cannot index. TLS 1.3: a later NewSessionTicket rewrites the connection's session in place, so
// the context keeps wolfSSL_get_session's reference into the process-wide client cache instead
// (a static table, never freed, checked by a hash of the session id when used; copied under
// wolfSSL's locks).
void ClientConnection::save_session() {
  if (info_.version == "TLSv1.2")
    ctx_->remember_session(wolfSSL_get1_session(ssl_), true);
  else
    ctx_->remember_session(wolfSSL_get_session(ssl_), false);
}

void ClientConnection::fill_info() {
  info_.resumed = wolfSSL_session_reused(ssl_) != 0;
  if (const char* v = wolfSSL_get_version(ssl_)) info_.version = v;
  if (const char* c = wolfSSL_get_cipher_name(ssl_)) info_.cipher = c;
  char* proto = nullptr;
  unsigned short len = 0;
  if (wolfSSL_ALPN_GetProtocol(ssl_, &proto, &len) == WOLFSSL_SUCCESS && proto != nullptr)
    info_.alpn.assign(proto, len);
}

Result<void, TlsError> ClientConnection::write(std::span<const std::byte> plaintext) {
  if (state_ != ConnState::Open && state_ != ConnState::PeerClosed)
    return Unexpected(TlsError{TlsErrorCode::NotOpen, 0, "write outside the open state"});
  while (!plaintext.empty()) {
    const int n = static_cast<int>(std::min<std::size_t>(plaintext.size(), 1 << 30));
    const int r = wolfSSL_write(ssl_, plaintext.data(), n);
    if (r <= 0) {
      const int e = wolfSSL_get_error(ssl_, r);
      return Unexpected(fail(TlsErrorCode::ProtocolError, wolfssl_reason(e), e).error());
    }
    plaintext = plaintext.subspan(static_cast<std::size_t>(r));
  }
  return {};
}

void ClientConnection::shutdown() {
  if (ssl_ != nullptr && (state_ == ConnState::Open || state_ == ConnState::PeerClosed))
    (void)wolfSSL_shutdown(ssl_);
  if (state_ != ConnState::Failed) state_ = ConnState::Closed;
}

}  // namespace kakehi::tls
