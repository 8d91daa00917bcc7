// ServerCertificate ownership, name normalization, X.509 time parsing, error names.
#include "kakehi/tls/certificate.hpp"

#include <cctype>

#include "kakehi/tls/error.hpp"
#include "kakehi/tls/wolfssl.hpp"

namespace kakehi::tls {

ServerCertificate::ServerCertificate(WOLFSSL_CTX* ctx, std::shared_ptr<detail::TicketKeyStore> keys,
                                     std::vector<std::string> names, std::int64_t not_before,
                                     std::int64_t not_after, KeyKind key, std::size_t chain_length)
    : ctx_(ctx),
      keys_(std::move(keys)),
      names_(std::move(names)),
      not_before_(not_before),
      not_after_(not_after),
      key_(key),
      chain_length_(chain_length) {}

ServerCertificate::~ServerCertificate() { wolfSSL_CTX_free(ctx_); }

std::string normalize_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

namespace {

/// Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's civil algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(const unsigned char* p, std::size_t n, int& out) noexcept {
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] < '0' || p[i] > '9') return false;
    out = out * 10 + (p[i] - '0');
  }
  return true;
}

}  // namespace

std::int64_t parse_asn1_time(const unsigned char* der, std::size_t len) noexcept {
  // RFC 5280 §4.1.2.5: UTCTime (0x17) YYMMDDHHMMSSZ, GeneralizedTime (0x18) YYYYMMDDHHMMSSZ.
  if (der == nullptr || len < 2) return -1;
  const unsigned char tag = der[0];
  const std::size_t n = der[1];
  if (n + 2 > len) return -1;
  const unsigned char* t = der + 2;
  int year = 0, mon = 0, day = 0, hh = 0, mm = 0, ss = 0;
  std::size_t i = 0;
  if (tag == 0x17 && n == 13) {
    if (!digits(t, 2, year)) return -1;
    year += year < 50 ? 2000 : 1900;
    i = 2;
  } else if (tag == 0x18 && n == 15) {
    if (!digits(t, 4, year)) return -1;
    i = 4;
  } else {
    return -1;
  }
  if (!digits(t + i, 2, mon) || !digits(t + i + 2, 2, day) || !digits(t + i + 4, 2, hh) ||
      !digits(t + i + 6, 2, mm) || !digits(t + i + 8, 2, ss) || t[i + 10] != 'Z')
    return -1;
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return -1;
  return days_from_civil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day)) * 86400 +
         hh * 3600 + mm * 60 + ss;
}

std::string_view to_string(CertErrorCode c) noexcept {
  switch (c) {
    case CertErrorCode::Garbage:
      return "garbage certificate PEM";
    case CertErrorCode::BadKey:
      return "bad private key";
    case CertErrorCode::KeyMismatch:
      return "key does not match certificate";
    case CertErrorCode::Expired:
      return "certificate expired";
    case CertErrorCode::NotYetValid:
      return "certificate not yet valid";
    case CertErrorCode::WeakKey:
      return "key too weak";
    case CertErrorCode::UnsupportedKey:
      return "unsupported key type";
    case CertErrorCode::ChainOrder:
      return "chain out of order";
    case CertErrorCode::NoNames:
      return "certificate has no names";
    case CertErrorCode::Internal:
      return "internal error";
  }
  return "?";
}

std::string_view to_string(TlsErrorCode c) noexcept {
  switch (c) {
    case TlsErrorCode::MalformedClientHello:
      return "malformed ClientHello";
    case TlsErrorCode::ClientHelloTooLarge:
      return "ClientHello too large";
    case TlsErrorCode::UnknownServerName:
      return "unknown server name";
    case TlsErrorCode::NoCertificate:
      return "no certificate";
    case TlsErrorCode::HandshakeFailed:
      return "handshake failed";
    case TlsErrorCode::ProtocolError:
      return "protocol error";
    case TlsErrorCode::NotOpen:
      return "connection not open";
  }
  return "?";
}

}  // namespace kakehi::tls
