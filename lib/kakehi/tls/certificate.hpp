// A server certificate loaded, validated and ready to serve: PEM leaf + chain + private key,
// the names it answers for, its validity window. Immutable once built (Context builds it); the
// wolfSSL context it owns is shared by every connection that negotiated it, which keep it
// alive through their shared_ptr after it left the resolver.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct WOLFSSL_CTX;

namespace kakehi::tls {

namespace detail {
struct TicketKeyStore;
}

enum class KeyKind { Rsa, EcdsaP256, EcdsaP384 };

/// What the config channel hands over for one certificate.
struct CertificateSource {
  std::string chain_pem;           ///< leaf first, then intermediates (PEM)
  std::string key_pem;             ///< PKCS#1, PKCS#8 or SEC1 (unencrypted)
  std::vector<std::string> names;  ///< explicit names; empty = from the certificate
};

class ServerCertificate {
 public:
  ServerCertificate(WOLFSSL_CTX* ctx, std::shared_ptr<detail::TicketKeyStore> keys,
                    std::vector<std::string> names, std::int64_t not_before, std::int64_t not_after,
                    KeyKind key, std::size_t chain_length);
  ~ServerCertificate();
  ServerCertificate(const ServerCertificate&) = delete;
  ServerCertificate& operator=(const ServerCertificate&) = delete;

  /// Lower-case names without a trailing dot, sorted, unique; `*.example.com` for a wildcard.
  const std::vector<std::string>& names() const noexcept { return names_; }
  std::int64_t not_before() const noexcept { return not_before_; }  ///< Unix seconds
  std::int64_t not_after() const noexcept { return not_after_; }    ///< Unix seconds
  KeyKind key() const noexcept { return key_; }
  std::size_t chain_length() const noexcept { return chain_length_; }  ///< leaf included
  WOLFSSL_CTX* native() const noexcept { return ctx_; }

 private:
  WOLFSSL_CTX* ctx_;
  std::shared_ptr<detail::TicketKeyStore> keys_;  // ctx_'s ticket callback points at it
  std::vector<std::string> names_;
  std::int64_t not_before_, not_after_;
  KeyKind key_;
  std::size_t chain_length_;
};

/// Lower-cases `name` and strips one trailing dot (DNS names compare case-insensitively).
std::string normalize_name(std::string_view name);

/// Parses an X.509 UTCTime / GeneralizedTime (DER: tag, length, text) into Unix seconds;
/// -1 when malformed. Exposed for tests.
std::int64_t parse_asn1_time(const unsigned char* der, std::size_t len) noexcept;

}  // namespace kakehi::tls
