// ClientHello peek: record reassembly and the walk over the extensions (see client_hello.hpp).
#include "kakehi/tls/client_hello.hpp"

#include <cstdint>
#include <cstring>

namespace kakehi::tls {
namespace {

constexpr std::uint8_t kHandshakeRecord = 22;  // RFC 8446 §5.1 ContentType.handshake
constexpr std::uint8_t kClientHello = 1;       // RFC 8446 §4 HandshakeType.client_hello
constexpr std::uint16_t kExtServerName = 0;    // RFC 6066 §3
constexpr std::uint16_t kExtAlpn = 16;         // RFC 7301 §3.1
constexpr std::uint8_t kHostName = 0;          // RFC 6066 §3 NameType.host_name

/// Bounds-checked reader over one message.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> b) : b_(b) {}
  bool u8(std::uint8_t& v) {
    if (b_.size() < 1) return false;
    v = static_cast<std::uint8_t>(b_[0]);
    b_ = b_.subspan(1);
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (b_.size() < 2) return false;
    v = static_cast<std::uint16_t>((static_cast<unsigned>(b_[0]) << 8) |
                                   static_cast<unsigned>(b_[1]));
    b_ = b_.subspan(2);
    return true;
  }
  bool bytes(std::size_t n, std::span<const std::byte>& out) {
    if (b_.size() < n) return false;
    out = b_.first(n);
    b_ = b_.subspan(n);
    return true;
  }
  /// A vector with an `width`-byte length prefix (1 or 2).
  bool vec(int width, std::span<const std::byte>& out) {
    std::uint16_t n = 0;
    if (width == 1) {
      std::uint8_t n8 = 0;
      if (!u8(n8)) return false;
      n = n8;
    } else if (!u16(n)) {
      return false;
    }
    return bytes(n, out);
  }
  bool empty() const { return b_.empty(); }

 private:
  std::span<const std::byte> b_;
};

HelloPeek malformed(const char* why) {
  HelloPeek p;
  p.status = HelloStatus::Malformed;
  p.reason = why;
  return p;
}

std::string_view as_view(std::span<const std::byte> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

/// server_name extension body (RFC 6066 §3): ServerNameList<1..2^16-1>.
bool parse_sni(std::span<const std::byte> body, HelloPeek& out) {
  Reader r(body);
  std::span<const std::byte> list;
  if (!r.vec(2, list) || !r.empty() || list.empty()) return false;
  Reader l(list);
  while (!l.empty()) {
    std::uint8_t type = 0;
    std::span<const std::byte> name;
    if (!l.u8(type) || !l.vec(2, name) || name.empty()) return false;
    if (type == kHostName && out.server_name.empty()) out.server_name = as_view(name);
  }
  return true;
}

/// ALPN extension body (RFC 7301 §3.1): ProtocolNameList<2..2^16-1> of ProtocolName<1..2^8-1>.
bool parse_alpn(std::span<const std::byte> body, HelloPeek& out) {
  Reader r(body);
  std::span<const std::byte> list;
  if (!r.vec(2, list) || !r.empty() || list.size() < 2) return false;
  Reader l(list);
  while (!l.empty()) {
    std::span<const std::byte> name;
    if (!l.vec(1, name) || name.empty()) return false;
  }
  out.alpn = list;
  return true;
}

/// The ClientHello body (after the 4-byte handshake header).
HelloPeek parse_body(std::span<const std::byte> msg) {
  Reader r(msg);
  std::span<const std::byte> skip;
  std::uint16_t legacy_version = 0;
  if (!r.u16(legacy_version) || !r.bytes(32, skip)) return malformed("truncated random");
  if (!r.vec(1, skip) || skip.size() > 32) return malformed("bad legacy_session_id");
  if (!r.vec(2, skip) || skip.size() < 2 || skip.size() % 2 != 0)
    return malformed("bad cipher_suites");
  if (!r.vec(1, skip) || skip.empty()) return malformed("bad compression_methods");
  HelloPeek out;
  out.status = HelloStatus::Ok;
  if (r.empty()) return out;  // TLS 1.2 without extensions
  std::span<const std::byte> exts;
  if (!r.vec(2, exts) || !r.empty()) return malformed("bad extensions length");
  Reader e(exts);
  bool seen_sni = false, seen_alpn = false;
  while (!e.empty()) {
    std::uint16_t type = 0;
    std::span<const std::byte> body;
    if (!e.u16(type) || !e.vec(2, body)) return malformed("truncated extension");
    if (type == kExtServerName) {
      if (seen_sni || !parse_sni(body, out)) return malformed("bad server_name extension");
      seen_sni = true;
    } else if (type == kExtAlpn) {
      if (seen_alpn || !parse_alpn(body, out)) return malformed("bad ALPN extension");
      seen_alpn = true;
    }
  }
  return out;
}

}  // namespace

HelloPeek peek_client_hello(std::span<const std::byte> records, std::vector<std::byte>& scratch) {
  scratch.clear();
  std::size_t off = 0;
  while (records.size() - off >= 5) {
    const auto* h = records.data() + off;
    if (static_cast<std::uint8_t>(h[0]) != kHandshakeRecord)
      return malformed("first record is not a handshake record");
    if (static_cast<std::uint8_t>(h[1]) != 3) return malformed("bad record version");
    const std::size_t len = (static_cast<std::size_t>(h[3]) << 8) | static_cast<std::size_t>(h[4]);
    if (len == 0 || len > kMaxRecordPayload) return malformed("bad record length");
    if (records.size() - off - 5 < len) break;  // record incomplete
    const auto frag = records.subspan(off + 5, len);
    scratch.insert(scratch.end(), frag.begin(), frag.end());
    off += 5 + len;
    if (static_cast<std::uint8_t>(scratch[0]) != kClientHello)
      return malformed("first handshake message is not a ClientHello");
    if (scratch.size() < 4) continue;
    const std::size_t msg_len = (static_cast<std::size_t>(scratch[1]) << 16) |
                                (static_cast<std::size_t>(scratch[2]) << 8) |
                                static_cast<std::size_t>(scratch[3]);
    if (msg_len > kMaxClientHello) {
      HelloPeek p;
      p.status = HelloStatus::TooLarge;
      p.reason = "ClientHello over the size limit";
      return p;
    }
    if (scratch.size() < 4 + msg_len) continue;
    return parse_body(std::span<const std::byte>(scratch).subspan(4, msg_len));
  }
  if (records.size() > kMaxClientHello + 4096) {
    HelloPeek p;
    p.status = HelloStatus::TooLarge;
    p.reason = "ClientHello over the size limit";
    return p;
  }
  return HelloPeek{};
}

std::optional<std::string_view> select_alpn(std::span<const std::string> server_preference,
                                            std::span<const std::byte> client_list) {
  for (const auto& want : server_preference) {
    Reader l(client_list);
    while (!l.empty()) {
      std::span<const std::byte> name;
      if (!l.vec(1, name)) break;
      if (as_view(name) == want) return std::string_view(want);
    }
  }
  return std::nullopt;
}

}  // namespace kakehi::tls
