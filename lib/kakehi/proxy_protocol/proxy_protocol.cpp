// PROXY protocol codec (haproxy doc/proxy-protocol.txt, revision 2020/03/05): parse() reads v1
// (§2.1) or v2 (§2.2) strictly and incrementally, rejecting at the first byte that proves the
// input invalid; encode_v1/encode_v2 write what haproxy writes. Pure: no sockets, no clock, no
// exceptions of its own; parse() allocates only for TLVs and UNIX paths. docs/proxy_protocol.md.
#include "kakehi/proxy_protocol/proxy_protocol.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

namespace kakehi::proxy_protocol {
namespace {

// Reject reasons (static strings; Parsed::reason points at them).
constexpr std::string_view kNotProxy = "neither the v2 signature nor \"PROXY \"";
constexpr const char* kV1Protocol = "v1: protocol is not TCP4, TCP6 or UNKNOWN";
constexpr const char* kV1Ipv4 = "v1: not a dotted-quad IPv4 address";
constexpr const char* kV1Ipv6 = "v1: not an IPv6 address";
constexpr const char* kV1Port = "v1: port is not a decimal 0-65535 without leading zeros";
constexpr const char* kV1ExtraField = "v1: more than 6 fields, or a trailing space";
constexpr const char* kV1MissingField = "v1: fewer than 6 fields";

uint8_t byte_at(std::string_view s, size_t i) noexcept { return static_cast<uint8_t>(s[i]); }
uint16_t be16(std::string_view s, size_t i) noexcept {
  return static_cast<uint16_t>(byte_at(s, i) << 8 | byte_at(s, i + 1));
}
uint32_t be32(std::string_view s, size_t i) noexcept {
  return uint32_t{be16(s, i)} << 16 | be16(s, i + 2);
}

Parsed need_more() noexcept { return {}; }
Parsed reject(std::string_view why) noexcept {
  Parsed p;
  p.status = Status::Reject;
  p.reason = why;
  return p;
}
Parsed accept(size_t consumed, Header&& h) noexcept {
  Parsed p;
  p.status = Status::Accept;
  p.consumed = consumed;
  p.header = std::move(h);
  return p;
}

// ---- CRC32C (§2.2.3): RFC 4960 Appendix B, reflected polynomial 0x82F63B78 ----

constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrc32cTable = make_crc32c_table();

/// Runs the CRC register over `bytes` (the caller inverts before and after).
constexpr uint32_t crc32c_update(uint32_t crc, std::string_view bytes) noexcept {
  for (char c : bytes) crc = kCrc32cTable[(crc ^ static_cast<uint8_t>(c)) & 0xFF] ^ (crc >> 8);
  return crc;
}
static_assert(~crc32c_update(~0u, "123456789") == 0xE3069283u);

// ---- v1 (§2.1): one character at a time, so that a prefix is judged as soon as it can be ----

constexpr std::string_view kV1Prefix = "PROXY ";

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// A dotted quad: four decimal octets 0-255 without leading zeros. feed() returns false as soon
/// as the text read so far can no longer become an address; finish() when it is not one.
class Ipv4Text {
 public:
  bool feed(char c) noexcept {
    if (c == '.') {
      if (digits_ == 0 || index_ == 3) return false;
      octets_[index_++] = static_cast<uint8_t>(value_);
      value_ = 0;
      digits_ = 0;
      return true;
    }
    if (c < '0' || c > '9' || (digits_ == 1 && value_ == 0)) return false;
    value_ = static_cast<uint16_t>(value_ * 10 + (c - '0'));
    ++digits_;
    return value_ <= 255;
  }
  bool finish(uint8_t* out) noexcept {
    if (digits_ == 0 || index_ != 3) return false;
    octets_[3] = static_cast<uint8_t>(value_);
    std::copy(octets_.begin(), octets_.end(), out);
    return true;
  }

 private:
  std::array<uint8_t, 4> octets_{};
  uint8_t index_ = 0;
  uint8_t digits_ = 0;
  uint16_t value_ = 0;
};

/// An IPv6 address in text (RFC 4291 §2.2): up to 8 groups of 1-4 hex digits in either case, at
/// most one "::" standing for one or more zero groups, and optionally a dotted quad for the last
/// two groups. Same contract as Ipv4Text; accepts what glibc's inet_pton accepts.
class Ipv6Text {
 public:
  bool feed(char c) noexcept {
    if (state_ == State::Tail) return tail_.feed(c);
    if (c == ':') return colon();
    if (c == '.') return dot();
    const int v = hex_digit(c);
    return v >= 0 && digit(c, v);
  }
  bool finish(std::array<uint8_t, 16>& out) noexcept;

 private:
  enum class State : uint8_t { Start, LeadingColon, Colon, DoubleColon, Group, Tail };

  // Explicit groups allowed: a "::" must stand for at least one.
  uint8_t max_groups() const noexcept { return gap_ < 0 ? 8 : 7; }
  bool digit(char c, int v) noexcept {
    if (state_ != State::Group) {
      if (state_ == State::LeadingColon || count_ + 1 > max_groups()) return false;
      state_ = State::Group;
      value_ = 0;
      digits_ = 0;
    }
    if (digits_ == 4) return false;
    text_[digits_++] = c;
    value_ = static_cast<uint16_t>(value_ << 4 | v);
    return true;
  }
  bool colon() noexcept {
    switch (state_) {
      case State::Start:
        state_ = State::LeadingColon;
        return true;
      case State::Group:
        groups_[count_++] = value_;
        state_ = State::Colon;
        return count_ < max_groups();  // another group must still fit
      case State::LeadingColon:
      case State::Colon:
        if (gap_ >= 0) return false;
        gap_ = static_cast<int8_t>(count_);
        state_ = State::DoubleColon;
        return true;
      default:
        return false;  // ":::"
    }
  }
  // The group being read turns out to be the first octet of a dotted quad that must end the
  // address: exactly 6 groups before it, or at most 5 with a "::".
  bool dot() noexcept {
    if (state_ != State::Group || (gap_ < 0 ? count_ != 6 : count_ > 5)) return false;
    for (uint8_t i = 0; i < digits_; ++i)
      if (!tail_.feed(text_[i])) return false;
    state_ = State::Tail;
    return tail_.feed('.');
  }

  State state_ = State::Start;
  int8_t gap_ = -1;    ///< index in groups_ where the "::" stands
  uint8_t count_ = 0;  ///< explicit groups completed
  uint8_t digits_ = 0;
  uint16_t value_ = 0;
  std::array<char, 4> text_{};  ///< the current group's characters, for a dotted tail
  std::array<uint16_t, 8> groups_{};
  Ipv4Text tail_;
};

bool Ipv6Text::finish(std::array<uint8_t, 16>& out) noexcept {
  switch (state_) {
    case State::Group:
      groups_[count_++] = value_;
      break;
    case State::Tail: {
      uint8_t v4[4];
      if (!tail_.finish(v4)) return false;
      groups_[count_++] = static_cast<uint16_t>(v4[0] << 8 | v4[1]);
      groups_[count_++] = static_cast<uint16_t>(v4[2] << 8 | v4[3]);
      break;
    }
    case State::DoubleColon:
      break;
    default:
      return false;  // empty, or ending in a single ':'
  }
  if (gap_ < 0 && count_ != 8) return false;
  // Groups after the "::" go to the end; the ones it stands for stay zero.
  const size_t gap = gap_ < 0 ? count_ : static_cast<size_t>(gap_);
  out = {};
  for (size_t i = 0; i < count_; ++i) {
    const size_t at = i < gap ? i : 8 - (count_ - i);
    out[2 * at] = static_cast<uint8_t>(groups_[i] >> 8);
    out[2 * at + 1] = static_cast<uint8_t>(groups_[i]);
  }
  return true;
}

/// A port: decimal 0-65535, no sign, no leading zero (a lone "0" is a port).
class PortText {
 public:
  bool feed(char c) noexcept {
    if (c < '0' || c > '9' || (digits_ == 1 && value_ == 0)) return false;
    value_ = value_ * 10 + static_cast<uint32_t>(c - '0');
    ++digits_;
    return value_ <= 0xFFFF;
  }
  bool finish(uint16_t& out) const noexcept {
    out = static_cast<uint16_t>(value_);
    return digits_ > 0;
  }

 private:
  uint32_t value_ = 0;
  uint8_t digits_ = 0;
};

/// The v1 fields after "PROXY ": the protocol, then (TCP4, TCP6) source and destination address
/// and port separated by single spaces, or (UNKNOWN) anything up to the CRLF. Each call returns
/// a reject reason, or nullptr while the line can still be valid.
class V1Reader {
 public:
  /// A byte that is none of SP, CR, LF.
  const char* feed(char c) noexcept {
    switch (field_) {
      case Field::Protocol:
        if (word_len_ == word_.size()) return kV1Protocol;
        word_[word_len_++] = c;
        return protocol_prefix() ? nullptr : kV1Protocol;
      case Field::Src:
      case Field::Dst:
        if (h_.family == Family::Inet) return v4_.feed(c) ? nullptr : kV1Ipv4;
        return v6_.feed(c) ? nullptr : kV1Ipv6;
      case Field::SrcPort:
      case Field::DstPort:
        return port_.feed(c) ? nullptr : kV1Port;
      case Field::Ignored:
        break;
    }
    return nullptr;
  }
  /// A space: the current field ends.
  const char* space() noexcept {
    switch (field_) {
      case Field::Protocol:
        return end_protocol();
      case Field::Src:
        return end_address(h_.src_addr, Field::Dst);
      case Field::Dst:
        return end_address(h_.dst_addr, Field::SrcPort);
      case Field::SrcPort:
        if (!port_.finish(h_.src_port)) return kV1Port;
        port_ = {};
        field_ = Field::DstPort;
        return nullptr;
      case Field::DstPort:
        return kV1ExtraField;
      case Field::Ignored:
        break;
    }
    return nullptr;
  }
  /// The CR of the CRLF: the line ends.
  const char* end_line() noexcept {
    switch (field_) {
      case Field::Protocol:
        if (const char* why = end_protocol()) return why;
        return field_ == Field::Ignored ? nullptr : kV1MissingField;
      case Field::DstPort:
        return port_.finish(h_.dst_port) ? nullptr : kV1Port;
      case Field::Ignored:
        return nullptr;
      default:
        return kV1MissingField;
    }
  }
  Header& header() noexcept { return h_; }

 private:
  enum class Field : uint8_t { Protocol, Src, Dst, SrcPort, DstPort, Ignored };
  static constexpr std::array<std::string_view, 3> kProtocols{"TCP4", "TCP6", "UNKNOWN"};

  std::string_view word() const noexcept { return {word_.data(), word_len_}; }
  bool protocol_prefix() const noexcept {
    return std::any_of(kProtocols.begin(), kProtocols.end(),
                       [&](std::string_view p) { return p.starts_with(word()); });
  }
  const char* end_protocol() noexcept {
    h_.version = 1;
    h_.command = Command::Proxy;
    if (word() == kProtocols[2]) {
      field_ = Field::Ignored;  // use the real endpoints; the rest of the line means nothing
      return nullptr;
    }
    if (word() != kProtocols[0] && word() != kProtocols[1]) return kV1Protocol;
    h_.family = word() == kProtocols[0] ? Family::Inet : Family::Inet6;
    h_.transport = Transport::Stream;
    field_ = Field::Src;
    return nullptr;
  }
  const char* end_address(std::array<uint8_t, 16>& out, Field next) noexcept {
    if (h_.family == Family::Inet ? !v4_.finish(out.data()) : !v6_.finish(out))
      return h_.family == Family::Inet ? kV1Ipv4 : kV1Ipv6;
    v4_ = {};
    v6_ = {};
    field_ = next;
    return nullptr;
  }

  Field field_ = Field::Protocol;
  std::array<char, 7> word_{};
  uint8_t word_len_ = 0;
  Ipv4Text v4_;
  Ipv6Text v6_;
  PortText port_;
  Header h_;
};

Parsed parse_v1(std::string_view in) {
  const size_t n = std::min(in.size(), kV1Prefix.size());
  if (in.substr(0, n) != kV1Prefix.substr(0, n)) {
    const bool after_proxy = n == kV1Prefix.size() && in.starts_with("PROXY");
    return reject(after_proxy ? "v1: \"PROXY\" not followed by a single space" : kNotProxy);
  }
  V1Reader r;
  // The CRLF must end by byte kMaxV1: a CR at index kMaxV1 - 2 is the last that can do.
  const size_t scan = std::min(in.size(), kMaxV1 - 1);
  for (size_t i = kV1Prefix.size(); i < scan; ++i) {
    const char c = in[i];
    if (c == '\r') {
      if (const char* why = r.end_line()) return reject(why);
      if (i + 1 == in.size()) return need_more();
      if (in[i + 1] != '\n') return reject("v1: CR not followed by LF");
      return accept(i + 2, std::move(r.header()));
    }
    if (c == '\n') return reject("v1: LF without CR");
    if (const char* why = c == ' ' ? r.space() : r.feed(c)) return reject(why);
  }
  if (in.size() >= kMaxV1 - 1) return reject("v1: no CRLF within 107 bytes");
  return need_more();
}

// ---- v2 (§2.2) ----

/// Bytes of the address block of `f` (§2.2: 2*4 + 2*2, 2*16 + 2*2, 2*108; none for UNSPEC,
/// whose whole length is skipped unread).
size_t address_block(Family f) noexcept {
  switch (f) {
    case Family::Inet:
      return 12;
    case Family::Inet6:
      return 36;
    case Family::Unix:
      return 216;
    default:
      return 0;
  }
}

constexpr size_t kTlvHeader = 3;      // type, length (big-endian)
constexpr size_t kSslFixed = 5;       // §2.2.6: client (1 byte), verify (4 bytes)
constexpr size_t kMaxUniqueId = 128;  // §2.2.5

struct TlvWalk {
  const char* error = nullptr;
  size_t count = 0;      ///< TLVs seen (all of them once the whole header is there)
  size_t crc_value = 0;  ///< offset of the CRC32C TLV's value; 0: none
};

/// Checks the TLVs in [pos, end) of a header of which `seen` holds the bytes received so far
/// (`end` may lie past them): each TLV header and value must fit before `end` (§2.2), and a
/// registered type must follow its rule: CRC32C is 4 bytes and appears once (§2.2.3), UNIQUE_ID
/// at most 128 bytes (§2.2.5), SSL at least 5 bytes then well-formed sub-TLVs (§2.2.6, `nested`:
/// only the structure is checked there).
TlvWalk walk_tlvs(std::string_view seen, size_t pos, size_t end, bool nested) noexcept {
  TlvWalk w;
  while (pos < end) {
    if (end - pos < kTlvHeader) return {"v2: TLV header cut by the header length"};
    if (pos + kTlvHeader > seen.size()) return w;  // not arrived yet
    const uint8_t type = byte_at(seen, pos);
    const size_t len = be16(seen, pos + 1);
    const size_t value = pos + kTlvHeader;
    if (len > end - value) return {"v2: TLV value overruns the header length"};
    pos = value + len;
    if (nested) continue;
    ++w.count;
    if (type == tlv::kCrc32c) {
      if (len != 4) return {"v2: CRC32C TLV is not 4 bytes"};
      if (w.crc_value != 0) return {"v2: more than one CRC32C TLV"};
      w.crc_value = value;
    } else if (type == tlv::kUniqueId && len > kMaxUniqueId) {
      return {"v2: UNIQUE_ID longer than 128 bytes"};
    } else if (type == tlv::kSsl) {
      if (len < kSslFixed) return {"v2: SSL TLV shorter than client and verify"};
      if (const char* why = walk_tlvs(seen, value + kSslFixed, pos, true).error) return {why};
    }
  }
  return w;
}

/// §2.2.3: the CRC32C of the whole header with the checksum's 4 bytes taken as zero.
bool crc_matches(std::string_view header, size_t at) noexcept {
  constexpr std::string_view kZeros("\0\0\0\0", 4);
  uint32_t crc = crc32c_update(~0u, header.substr(0, at));
  crc = crc32c_update(crc, kZeros);
  crc = crc32c_update(crc, header.substr(at + 4));
  return ~crc == be32(header, at);
}

void read_addresses(std::string_view header, Header& h) {
  constexpr size_t a = kV2Fixed;
  switch (h.family) {
    case Family::Inet:
      std::copy_n(header.begin() + a, 4, h.src_addr.begin());
      std::copy_n(header.begin() + a + 4, 4, h.dst_addr.begin());
      h.src_port = be16(header, a + 8);
      h.dst_port = be16(header, a + 10);
      break;
    case Family::Inet6:
      std::copy_n(header.begin() + a, 16, h.src_addr.begin());
      std::copy_n(header.begin() + a + 16, 16, h.dst_addr.begin());
      h.src_port = be16(header, a + 32);
      h.dst_port = be16(header, a + 34);
      break;
    case Family::Unix:
      h.src_path.assign(header.substr(a, 108));
      h.dst_path.assign(header.substr(a + 108, 108));
      break;
    default:
      break;
  }
}

void read_tlvs(std::string_view header, size_t pos, size_t count, std::vector<Tlv>& out) {
  out.reserve(count);
  while (pos < header.size()) {
    const size_t len = be16(header, pos + 1);
    out.push_back(Tlv{byte_at(header, pos), std::string(header.substr(pos + kTlvHeader, len))});
    pos += kTlvHeader + len;
  }
}

Parsed parse_v2(std::string_view in) {
  const size_t n = std::min(in.size(), kV2Signature.size());
  if (in.substr(0, n) != kV2Signature.substr(0, n)) return reject(kNotProxy);
  if (in.size() <= 12) return need_more();
  const uint8_t ver_cmd = byte_at(in, 12);
  if (ver_cmd >> 4 != 2) return reject("v2: version is not 2");
  if ((ver_cmd & 0xF) > 1) return reject("v2: command is neither LOCAL nor PROXY");
  if (in.size() <= 13) return need_more();
  const uint8_t fam = byte_at(in, 13);
  if (fam >> 4 > 3) return reject("v2: address family is not UNSPEC, INET, INET6 or UNIX");
  if ((fam & 0xF) > 2) return reject("v2: transport is not UNSPEC, STREAM or DGRAM");
  if (in.size() < kV2Fixed) return need_more();

  Header h;
  h.version = 2;
  h.command = static_cast<Command>(ver_cmd & 0xF);
  h.family = static_cast<Family>(fam >> 4);
  h.transport = static_cast<Transport>(fam & 0xF);
  const size_t total = kV2Fixed + be16(in, 14);
  const size_t block = address_block(h.family);
  if (total - kV2Fixed < block) return reject("v2: length shorter than the address block");
  const std::string_view seen = in.substr(0, std::min(in.size(), total));
  TlvWalk w;
  if (h.family != Family::Unspec) {
    w = walk_tlvs(seen, kV2Fixed + block, total, false);
    if (w.error) return reject(w.error);
  }
  if (seen.size() < total) return need_more();
  if (w.crc_value != 0 && !crc_matches(seen, w.crc_value)) return reject("v2: CRC32C mismatch");
  read_addresses(seen, h);
  if (w.count > 0) read_tlvs(seen, kV2Fixed + block, w.count, h.tlvs);
  return accept(total, std::move(h));
}

// ---- encoders ----

void append_decimal(std::string& out, unsigned v) {
  char buf[8];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_ipv4(std::string& out, const uint8_t* a) {
  for (int i = 0; i < 4; ++i) {
    if (i > 0) out += '.';
    append_decimal(out, a[i]);
  }
}

/// As inet_ntop writes it (RFC 5952 §4): lower-case hex without leading zeros, the longest run
/// of two or more zero groups (the first of equals) as "::", and IPv4-compatible (::a.b.c.d) and
/// IPv4-mapped (::ffff:a.b.c.d) addresses with a dotted tail.
void append_ipv6(std::string& out, const std::array<uint8_t, 16>& a) {
  std::array<unsigned, 8> g{};
  for (size_t i = 0; i < 8; ++i) g[i] = unsigned{a[2 * i]} << 8 | a[2 * i + 1];
  size_t best = 8, best_len = 0;
  for (size_t i = 0; i < 8;) {
    size_t j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j == i ? i + 1 : j;
  }
  if (best_len < 2) {
    best = 8;
    best_len = 0;
  }
  if (best == 0 && (best_len == 6 || (best_len == 5 && g[5] == 0xFFFF))) {
    out += best_len == 6 ? "::" : "::ffff:";
    append_ipv4(out, a.data() + 12);
    return;
  }
  for (size_t i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (i > 0 && i != best + best_len) out += ':';
    char buf[4];
    const auto r = std::to_chars(buf, buf + sizeof buf, g[i], 16);
    out.append(buf, r.ptr);
  }
}

void put16(std::string& out, size_t v) {
  out += static_cast<char>(v >> 8 & 0xFF);
  out += static_cast<char>(v & 0xFF);
}

void put_path(std::string& out, const std::string& path) {
  const size_t n = std::min(path.size(), size_t{108});
  out.append(path, 0, n);
  out.append(108 - n, '\0');
}

void write_addresses(std::string& out, const Header& h) {
  switch (h.family) {
    case Family::Inet:
      out.append(reinterpret_cast<const char*>(h.src_addr.data()), 4);
      out.append(reinterpret_cast<const char*>(h.dst_addr.data()), 4);
      put16(out, h.src_port);
      put16(out, h.dst_port);
      break;
    case Family::Inet6:
      out.append(reinterpret_cast<const char*>(h.src_addr.data()), 16);
      out.append(reinterpret_cast<const char*>(h.dst_addr.data()), 16);
      put16(out, h.src_port);
      put16(out, h.dst_port);
      break;
    case Family::Unix:
      put_path(out, h.src_path);
      put_path(out, h.dst_path);
      break;
    default:
      break;
  }
}

}  // namespace

std::string_view Header::find(uint8_t type) const noexcept {
  for (const Tlv& t : tlvs)
    if (t.type == type) return t.value;
  return {};
}

Parsed parse(std::string_view in) {
  if (in.empty()) return need_more();
  if (in.front() == '\r') return parse_v2(in);
  if (in.front() == 'P') return parse_v1(in);
  return reject(kNotProxy);
}

std::string encode_v1(const Header& h) {
  const bool tcp4 = h.family == Family::Inet;
  if (h.command == Command::Local || (!tcp4 && h.family != Family::Inet6))
    return "PROXY UNKNOWN\r\n";
  std::string out;
  out.reserve(kMaxV1);
  out += tcp4 ? "PROXY TCP4 " : "PROXY TCP6 ";
  for (const auto* addr : {&h.src_addr, &h.dst_addr}) {
    if (tcp4)
      append_ipv4(out, addr->data());
    else
      append_ipv6(out, *addr);
    out += ' ';
  }
  append_decimal(out, h.src_port);
  out += ' ';
  append_decimal(out, h.dst_port);
  out += "\r\n";
  return out;
}

std::string encode_v2(const Header& h) {
  size_t len = address_block(h.family);
  for (const Tlv& t : h.tlvs) len += kTlvHeader + (t.type == tlv::kCrc32c ? 4 : t.value.size());
  if (len > 0xFFFF) return {};
  std::string out;
  out.reserve(kV2Fixed + len);
  out.append(kV2Signature);
  out += static_cast<char>(0x20 | (static_cast<uint8_t>(h.command) & 0xF));
  out += static_cast<char>((static_cast<uint8_t>(h.family) & 0xF) << 4 |
                           (static_cast<uint8_t>(h.transport) & 0xF));
  put16(out, len);
  write_addresses(out, h);
  size_t crc_value = 0;
  for (const Tlv& t : h.tlvs) {
    out += static_cast<char>(t.type);
    if (t.type == tlv::kCrc32c) {
      put16(out, 4);
      if (crc_value == 0) crc_value = out.size();
      out.append(4, '\0');
    } else {
      put16(out, t.value.size());
      out += t.value;
    }
  }
  if (crc_value != 0) {
    const uint32_t crc = crc32c(out);
    for (int i = 0; i < 4; ++i) out[crc_value + i] = static_cast<char>(crc >> (24 - 8 * i));
  }
  return out;
}

uint32_t crc32c(std::string_view bytes) noexcept { return ~crc32c_update(~0u, bytes); }

}  // namespace kakehi::proxy_protocol
