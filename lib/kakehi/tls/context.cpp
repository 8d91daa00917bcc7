// Context: wolfSSL context configuration per certificate, certificate loading and validation.
#include "kakehi/tls/context.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>

#include "kakehi/tls/ticket_keys.hpp"
#include "kakehi/tls/wolfssl.hpp"

namespace kakehi::tls {
namespace detail {

void ensure_init() noexcept {
  static const int once = wolfSSL_Init();
  (void)once;
}

std::string set_version_and_suites(WOLFSSL_CTX* c, TlsVersion min, const std::string& suites) {
  if (wolfSSL_CTX_SetMinVersion(c, min == TlsVersion::Tls13 ? WOLFSSL_TLSV1_3 : WOLFSSL_TLSV1_2) !=
      WOLFSSL_SUCCESS)
    return "cannot set the minimum TLS version";
  if (wolfSSL_CTX_set_cipher_list(c, suites.c_str()) != WOLFSSL_SUCCESS)
    return "no usable cipher suite in \"" + suites + "\"";
  return {};
}

}  // namespace detail

namespace {

using detail::CtxPtr;

std::string wolfssl_reason(int err) {
  char buf[WOLFSSL_MAX_ERROR_SZ] = {};
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(err), buf, sizeof buf);
  return std::string(buf) + " (" + std::to_string(err) + ")";
}

int group_id(Group g) {
  switch (g) {
    case Group::X25519:
      return WOLFSSL_ECC_X25519;
    case Group::P256:
      return WOLFSSL_ECC_SECP256R1;
    case Group::P384:
      return WOLFSSL_ECC_SECP384R1;
  }
  return 0;
}

/// A wolfSSL server context with every listener option applied (no certificate yet).
Result<CtxPtr, std::string> make_ctx(const ContextOptions& o, detail::TicketKeyStore* tickets) {
  detail::ensure_init();
  WOLFSSL_METHOD* method = nullptr;
  if (o.max_version == TlsVersion::Tls12)
    method = wolfTLSv1_2_server_method();
  else if (o.min_version == TlsVersion::Tls13)
    method = wolfTLSv1_3_server_method();
  else
    method = wolfSSLv23_server_method();
  CtxPtr ctx(wolfSSL_CTX_new(method));
  if (!ctx) return Unexpected(std::string("wolfSSL_CTX_new failed"));
  WOLFSSL_CTX* c = ctx.get();
  if (std::string e = detail::set_version_and_suites(c, o.min_version, o.cipher_list); !e.empty())
    return Unexpected(std::move(e));
  if (!o.groups.empty()) {
    std::vector<int> ids;
    for (auto g : o.groups) ids.push_back(group_id(g));
    if (wolfSSL_CTX_set_groups(c, ids.data(), static_cast<int>(ids.size())) != WOLFSSL_SUCCESS)
      return Unexpected(std::string("cannot set the key exchange groups"));
  }
  wolfSSL_CTX_set_verify(c, WOLFSSL_VERIFY_NONE, nullptr);
  wolfSSL_CTX_SetMinRsaKey_Sz(c, 2048);
  wolfSSL_CTX_SetMinEccKey_Sz(c, 256);
  if (o.session_tickets) {
    wolfSSL_CTX_set_TicketEncCb(c, detail::ticket_callback);
    wolfSSL_CTX_set_TicketEncCtx(c, tickets);
    wolfSSL_CTX_set_TicketHint(c, static_cast<int>(o.ticket_lifetime_s));
  } else {
    wolfSSL_CTX_NoTicketTLSv12(c);
    wolfSSL_CTX_no_ticket_TLSv13(c);
  }
  if (!o.session_cache) wolfSSL_CTX_set_session_cache_mode(c, WOLFSSL_SESS_CACHE_OFF);
  return ctx;
}

/// Leaf and chain facts read from the PEM (wolfSSL's decoder, no signature check).
struct ChainFacts {
  std::vector<std::string> names;
  std::int64_t not_before = -1, not_after = -1;
  KeyKind key = KeyKind::Rsa;
  std::size_t length = 0;
};

Result<ChainFacts, CertError> read_chain(const std::string& pem) {
  ChainFacts facts;
  static constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  std::vector<unsigned char> der(pem.size());
  std::array<unsigned char, KEYID_SIZE> prev_issuer{};
  for (std::size_t pos = pem.find(kBegin); pos != std::string::npos;
       pos = pem.find(kBegin, pos + kBegin.size())) {
    const int n = wc_CertPemToDer(reinterpret_cast<const unsigned char*>(pem.data() + pos),
                                  static_cast<int>(pem.size() - pos), der.data(),
                                  static_cast<int>(der.size()), CERT_TYPE);
    if (n <= 0)
      return Unexpected(
          CertError{CertErrorCode::Garbage, "certificate " + std::to_string(facts.length + 1) +
                                                " of the chain: " + wolfssl_reason(n)});
    DecodedCert cert;
    wc_InitDecodedCert(&cert, der.data(), static_cast<word32>(n), nullptr);
    const int r = wc_ParseCert(&cert, CERT_TYPE, NO_VERIFY, nullptr);
    if (r != 0) {
      wc_FreeDecodedCert(&cert);
      return Unexpected(
          CertError{CertErrorCode::Garbage, "certificate " + std::to_string(facts.length + 1) +
                                                " of the chain: " + wolfssl_reason(r)});
    }
    if (facts.length > 0 && std::memcmp(prev_issuer.data(), cert.subjectHash, KEYID_SIZE) != 0) {
      wc_FreeDecodedCert(&cert);
      return Unexpected(CertError{CertErrorCode::ChainOrder,
                                  "certificate " + std::to_string(facts.length + 1) +
                                      " of the chain did not issue the one before it"});
    }
    std::memcpy(prev_issuer.data(), cert.issuerHash, KEYID_SIZE);
    if (facts.length == 0) {
      facts.not_before =
          parse_asn1_time(cert.beforeDate, static_cast<std::size_t>(cert.beforeDateLen));
      facts.not_after =
          parse_asn1_time(cert.afterDate, static_cast<std::size_t>(cert.afterDateLen));
      for (DNS_entry* e = cert.altNames; e != nullptr; e = e->next)
        if (e->type == ASN_DNS_TYPE && e->len > 0)
          facts.names.push_back(normalize_name(std::string_view(e->name, e->len)));
      if (facts.names.empty() && cert.subjectCN != nullptr && cert.subjectCNLen > 0)
        facts.names.push_back(normalize_name(std::string_view(cert.subjectCN, cert.subjectCNLen)));
      bool supported = true;
      if (cert.keyOID == RSAk)
        facts.key = KeyKind::Rsa;
      else if (cert.keyOID == ECDSAk && cert.pkCurveOID == ECC_SECP256R1_OID)
        facts.key = KeyKind::EcdsaP256;
      else if (cert.keyOID == ECDSAk && cert.pkCurveOID == ECC_SECP384R1_OID)
        facts.key = KeyKind::EcdsaP384;
      else
        supported = false;
      if (!supported) {
        wc_FreeDecodedCert(&cert);
        return Unexpected(CertError{CertErrorCode::UnsupportedKey,
                                    "the leaf key is neither RSA nor ECDSA P-256/P-384"});
      }
    }
    wc_FreeDecodedCert(&cert);
    ++facts.length;
  }
  if (facts.length == 0)
    return Unexpected(CertError{CertErrorCode::Garbage, "no PEM CERTIFICATE block"});
  if (facts.not_before < 0 || facts.not_after < 0)
    return Unexpected(CertError{CertErrorCode::Garbage, "unreadable validity dates"});
  return facts;
}

}  // namespace

LibraryInfo library_info() {
  LibraryInfo info{.version = wolfSSL_lib_version()};
#ifdef WOLFSSL_AESNI
  info.aesni = true;
#endif
#ifdef WOLFSSL_SP_X86_64_ASM
  info.sp_asm = true;
#endif
  return info;
}

Context::Context(ContextOptions options)
    : options_(std::move(options)), tickets_(std::make_shared<detail::TicketKeyStore>()) {
  resolver_.store(std::make_shared<const CertificateResolver>());
}

Context::~Context() = default;

Result<std::shared_ptr<Context>, std::string> Context::create(ContextOptions options) {
  if (options.min_version == TlsVersion::Tls13 && options.max_version == TlsVersion::Tls12)
    return Unexpected(std::string("min_version above max_version"));
  for (const auto& p : options.alpn)
    if (p.empty() || p.size() > 255) return Unexpected("bad ALPN protocol name \"" + p + "\"");
  std::shared_ptr<Context> ctx(new Context(std::move(options)));
  if (!ctx->tickets_->rotate(kTicketKeysKept))
    return Unexpected(std::string("random generator failed"));
  auto probe = make_ctx(ctx->options_, ctx->tickets_.get());  // validates suites and groups
  if (!probe) return Unexpected(probe.error());
  return ctx;
}

Result<std::shared_ptr<const ServerCertificate>, CertError> Context::load_certificate(
    const CertificateSource& src, std::int64_t now_unix) const {
  auto facts = read_chain(src.chain_pem);
  if (!facts) return Unexpected(facts.error());
  if (now_unix < facts->not_before)
    return Unexpected(CertError{CertErrorCode::NotYetValid, "notBefore is in the future"});
  if (now_unix > facts->not_after)
    return Unexpected(CertError{CertErrorCode::Expired, "notAfter is in the past"});
  auto made = make_ctx(options_, tickets_.get());
  if (!made) return Unexpected(CertError{CertErrorCode::Internal, made.error()});
  CtxPtr ctx = std::move(*made);
  int r = wolfSSL_CTX_use_certificate_chain_buffer(
      ctx.get(), reinterpret_cast<const unsigned char*>(src.chain_pem.data()),
      static_cast<long>(src.chain_pem.size()));
  if (r != WOLFSSL_SUCCESS) {
    const auto code = r == RSA_KEY_SIZE_E || r == ECC_KEY_SIZE_E ? CertErrorCode::WeakKey
                                                                 : CertErrorCode::Garbage;
    return Unexpected(CertError{code, "certificate chain: " + wolfssl_reason(r)});
  }
  r = wolfSSL_CTX_use_PrivateKey_buffer(
      ctx.get(), reinterpret_cast<const unsigned char*>(src.key_pem.data()),
      static_cast<long>(src.key_pem.size()), WOLFSSL_FILETYPE_PEM);
  if (r != WOLFSSL_SUCCESS) {
    const auto code =
        r == RSA_KEY_SIZE_E || r == ECC_KEY_SIZE_E ? CertErrorCode::WeakKey : CertErrorCode::BadKey;
    return Unexpected(CertError{code, "private key: " + wolfssl_reason(r)});
  }
  if (wolfSSL_CTX_check_private_key(ctx.get()) != WOLFSSL_SUCCESS)
    return Unexpected(CertError{CertErrorCode::KeyMismatch,
                                "the private key does not match the leaf certificate"});
  std::vector<std::string> names;
  for (const auto& n : src.names) names.push_back(normalize_name(n));
  if (names.empty()) names = std::move(facts->names);
  std::sort(names.begin(), names.end());  // wolfSSL's SAN list order depends on its build
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (names.empty())
    return Unexpected(
        CertError{CertErrorCode::NoNames, "no SAN dNSName, no CN and no explicit name"});
  return std::make_shared<const ServerCertificate>(ctx.release(), tickets_, std::move(names),
                                                   facts->not_before, facts->not_after, facts->key,
                                                   facts->length);
}

void Context::set_resolver(std::shared_ptr<const CertificateResolver> r) noexcept {
  resolver_.store(std::move(r));
}

std::shared_ptr<const CertificateResolver> Context::resolver() const noexcept {
  return resolver_.load();
}

void Context::rotate_ticket_keys() { (void)tickets_->rotate(kTicketKeysKept); }

std::uint64_t Context::ticket_key_generation() const noexcept {
  auto ring = tickets_->ring.load();
  return ring ? ring->generation : 0;
}

}  // namespace kakehi::tls
