// Peek into the first TLS records of a connection for the ClientHello's server_name and ALPN
// list before wolfSSL sees them (RFC 8446 §4.1.2 / RFC 5246 §7.4.1.2 layout; SNI RFC 6066 §3;
// ALPN RFC 7301 §3.1): the certificate is chosen and the server's ALPN preference applied
// from this. Pure: bytes in, views out; never decides anything wolfSSL will check again.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kakehi::tls {

enum class HelloStatus { NeedMore, Ok, Malformed, TooLarge };

struct HelloPeek {
  HelloStatus status = HelloStatus::NeedMore;
  const char* reason = "";       ///< static text for Malformed / TooLarge
  std::string_view server_name;  ///< first host_name entry; empty without SNI
  /// ALPN protocol_name_list without its length prefix (each name: 1-byte length + bytes);
  /// empty without the extension.
  std::span<const std::byte> alpn;
};

/// Record-layer bound (RFC 8446 §5.1) and our bound on the whole ClientHello message.
inline constexpr std::size_t kMaxRecordPayload = 16384;
inline constexpr std::size_t kMaxClientHello = 65536;

/// Parses `records` (the connection's first bytes, possibly several records carrying one
/// ClientHello in fragments). The handshake message is reassembled into `scratch`; the views
/// of the result point into `scratch`, which must outlive them.
HelloPeek peek_client_hello(std::span<const std::byte> records, std::vector<std::byte>& scratch);

/// The first protocol of `server_preference` that the client offers (`client_list` as in
/// HelloPeek::alpn); nullopt when none or when the client sent no ALPN.
std::optional<std::string_view> select_alpn(std::span<const std::string> server_preference,
                                            std::span<const std::byte> client_list);

}  // namespace kakehi::tls
