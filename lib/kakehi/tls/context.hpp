// Per-listener TLS server context: versions, cipher suites, groups, ALPN preference, session
// tickets (our keys, rotated by the owner) and the session cache; loads certificates and
// publishes resolver snapshots. Thread-safe for concurrent connections: the resolver and the
// ticket keys are swapped atomically; everything else is fixed at creation.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kakehi/common/result.hpp"
#include "kakehi/tls/certificate.hpp"
#include "kakehi/tls/error.hpp"
#include "kakehi/tls/resolver.hpp"

namespace kakehi::tls {

enum class TlsVersion { Tls12, Tls13 };
enum class Group { X25519, P256, P384 };
enum class UnknownSni { UseDefault, Reject };

/// AEAD only, ECDHE only (no static RSA, no DHE), AES-GCM first (wolfSSL's AES-GCM is the
/// fast path here, ../shared/PERFORMANCE.md), TLS 1.3 suites then TLS 1.2 (wolfSSL names).
inline constexpr const char* kDefaultCipherList =
    "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct ContextOptions {
  TlsVersion min_version = TlsVersion::Tls12;
  TlsVersion max_version = TlsVersion::Tls13;
  std::string cipher_list = kDefaultCipherList;
  std::vector<Group> groups = {Group::X25519, Group::P256, Group::P384};
  /// Server preference order; the first the client also offers is selected.
  std::vector<std::string> alpn = {"h2", "http/1.1"};
  UnknownSni unknown_sni = UnknownSni::UseDefault;
  bool session_tickets = true;
  bool session_cache = true;  ///< TLS 1.2 session-id resumption (wolfSSL's cache)
  std::uint32_t ticket_lifetime_s = 7200;
};

/// The wolfSSL this build links: its version, and whether its fast paths were compiled in
/// (AES-NI for AES-GCM; the x86-64 assembly of its SP math for P-256/P-384 and X25519).
/// Debian's packaged library has neither, which makes TLS several times dearer (docs/tls.md);
/// the subproject that scripts/bootstrap fetches has both.
struct LibraryInfo {
  std::string version;
  bool aesni = false;
  bool sp_asm = false;
};
LibraryInfo library_info();

namespace detail {
struct TicketKeyStore;
}

class Context {
 public:
  /// Validates the options (unknown suite or group names, min > max → error text).
  static Result<std::shared_ptr<Context>, std::string> create(ContextOptions options);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  /// Decodes and validates one certificate against `now_unix` (the caller's clock: this
  /// codec reads none). Errors name the reason (CertErrorCode).
  Result<std::shared_ptr<const ServerCertificate>, CertError> load_certificate(
      const CertificateSource& source, std::int64_t now_unix) const;

  /// Publishes a snapshot: the next handshake resolves against it; running connections keep
  /// the certificate they negotiated.
  void set_resolver(std::shared_ptr<const CertificateResolver> r) noexcept;
  std::shared_ptr<const CertificateResolver> resolver() const noexcept;

  /// A new random ticket key becomes current; the previous `kTicketKeysKept - 1` keys still
  /// decrypt (their tickets resume and are reissued under the current key). The owner calls
  /// this on its own timer (e.g. every ticket_lifetime_s / 2).
  void rotate_ticket_keys();
  static constexpr std::size_t kTicketKeysKept = 3;
  std::uint64_t ticket_key_generation() const noexcept;

  const ContextOptions& options() const noexcept { return options_; }

 private:
  explicit Context(ContextOptions options);

  ContextOptions options_;
  std::shared_ptr<detail::TicketKeyStore> tickets_;
  std::atomic<std::shared_ptr<const CertificateResolver>> resolver_;
};

}  // namespace kakehi::tls
