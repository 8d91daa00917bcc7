// Typed errors of the TLS codec: certificate input (control plane, CertError) and connection
// outcomes (data plane, TlsError). Each carries a stable code and a readable reason.
#pragma once

#include <string>
#include <string_view>

namespace kakehi::tls {

/// Why a certificate was refused (the config channel names it in its error reply).
enum class CertErrorCode {
  Garbage,         ///< no PEM certificate could be decoded
  BadKey,          ///< the private key PEM could not be decoded
  KeyMismatch,     ///< the key does not belong to the leaf certificate
  Expired,         ///< now > notAfter
  NotYetValid,     ///< now < notBefore
  WeakKey,         ///< RSA under 2048 bits
  UnsupportedKey,  ///< neither RSA nor ECDSA P-256 / P-384
  ChainOrder,      ///< a chain certificate is not the issuer of the one before it
  NoNames,         ///< no SAN dNSName, no CN, and no explicit name
  Internal,        ///< wolfSSL refused to create a context
};

struct CertError {
  CertErrorCode code;
  std::string reason;
};

/// How a TLS connection failed (the session closes it after flushing pending output).
enum class TlsErrorCode {
  MalformedClientHello,  ///< the first records are not a well-formed ClientHello
  ClientHelloTooLarge,   ///< over Context's hello limit
  UnknownServerName,     ///< SNI matched nothing and the listener rejects unknown names
  NoCertificate,         ///< the resolver is empty
  HandshakeFailed,       ///< wolfSSL refused the handshake (reason from wolfSSL)
  ProtocolError,         ///< after the handshake: bad record, bad MAC, alert received
  NotOpen,               ///< write() before the handshake completed or after close
};

struct TlsError {
  TlsErrorCode code;
  int wolfssl_error = 0;  ///< wolfSSL's error code when it produced the failure
  std::string reason;
};

std::string_view to_string(CertErrorCode c) noexcept;
std::string_view to_string(TlsErrorCode c) noexcept;

}  // namespace kakehi::tls
