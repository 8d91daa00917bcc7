// The PROXY protocol (haproxy's doc/proxy-protocol.txt), v1 text and v2 binary: parse the
// header a load balancer puts in front of a connection's first bytes, and build the one we put
// in front of a backend connection. Pure codec (ARCHITECTURE §3 layer 3): bytes in, a Header
// out; no sockets, no clocks. Format notes: docs/proxy_protocol.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kakehi::proxy_protocol {

/// Longest v1 line, CRLF included.
inline constexpr size_t kMaxV1 = 107;
/// The fixed part of a v2 header (signature, version/command, family, length).
inline constexpr size_t kV2Fixed = 16;
/// The 12-byte v2 signature (it holds a NUL).
inline constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};

enum class Command : uint8_t { Local, Proxy };
enum class Family : uint8_t { Unspec, Inet, Inet6, Unix };
enum class Transport : uint8_t { Unspec, Stream, Dgram };

/// Registered v2 TLV types (others are kept as they came and otherwise ignored).
namespace tlv {
inline constexpr uint8_t kAlpn = 0x01;
inline constexpr uint8_t kAuthority = 0x02;
inline constexpr uint8_t kCrc32c = 0x03;
inline constexpr uint8_t kNoop = 0x04;
inline constexpr uint8_t kUniqueId = 0x05;
inline constexpr uint8_t kSsl = 0x20;
inline constexpr uint8_t kNetns = 0x30;
}  // namespace tlv

struct Tlv {
  uint8_t type = 0;
  std::string value;  ///< raw bytes
  bool operator==(const Tlv&) const = default;
};

struct Header {
  uint8_t version = 2;  ///< 1 or 2
  Command command = Command::Proxy;
  Family family = Family::Unspec;
  Transport transport = Transport::Unspec;
  /// Inet: the first 4 bytes, Inet6: all 16; network order.
  std::array<uint8_t, 16> src_addr{};
  std::array<uint8_t, 16> dst_addr{};
  uint16_t src_port = 0;  ///< host order
  uint16_t dst_port = 0;
  /// Unix: the 108-byte path fields as they came (NUL-padded).
  std::string src_path;
  std::string dst_path;
  /// v2 top-level TLVs in wire order (a CRC32C one included, already verified).
  std::vector<Tlv> tlvs;
  bool operator==(const Header&) const = default;

  /// The header names a TCP client the receiver should use instead of the socket's peer:
  /// PROXY over INET/INET6 STREAM. False for v1 UNKNOWN, v2 LOCAL, and UNSPEC, UNIX or DGRAM.
  bool carries_tcp_addresses() const noexcept {
    return command == Command::Proxy && transport == Transport::Stream &&
           (family == Family::Inet || family == Family::Inet6);
  }
  /// The value of the first TLV of `type`, or empty.
  std::string_view find(uint8_t type) const noexcept;
};

enum class Status : uint8_t {
  NeedMore,  ///< a strict prefix of a header that can still become valid
  Accept,    ///< a whole valid header: `header` and `consumed` are set
  Reject,    ///< not a PROXY header, or a broken one: `reason` says why
};

struct Parsed {
  Status status = Status::NeedMore;
  size_t consumed = 0;      ///< Accept: the header's length (bytes after it are untouched)
  Header header;            ///< Accept only
  std::string_view reason;  ///< Reject only: a static string
};

/// Parses the header at the start of `in` (v1 or v2, told apart by the first byte). Needs no
/// more than the header's own bytes; `in` may hold what follows it. A v2 header carrying a
/// CRC32C TLV is rejected when the checksum does not match.
Parsed parse(std::string_view in);

/// Builds a v1 line. Family Inet -> "TCP4", Inet6 -> "TCP6", anything else (or a LOCAL
/// command) -> "PROXY UNKNOWN\r\n". Addresses are written as inet_ntop writes them.
std::string encode_v1(const Header& h);

/// Builds a v2 header: the fixed part, the address block of `family` (none for Unspec), then
/// `tlvs` in order. A CRC32C TLV in `tlvs` gets its value computed over the finished header
/// (whatever bytes it held). The header must fit in 16 + 65535 bytes.
std::string encode_v2(const Header& h);

/// CRC32C (Castagnoli), as used by the CRC32C TLV; crc32c("123456789") == 0xE3069283.
uint32_t crc32c(std::string_view bytes) noexcept;

}  // namespace kakehi::proxy_protocol
