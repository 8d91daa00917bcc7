// libFuzzer target proxy_protocol: parse() over arbitrary bytes, held to its contract
// (docs/proxy_protocol.md): an accepted header re-encodes to bytes that parse to the same Header,
// each of its strict prefixes is NeedMore and what follows it changes nothing; a rejected input
// stays rejected when extended. The same bytes also describe a Header that must survive
// encode_v1/encode_v2 and parse unchanged.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "kakehi/proxy_protocol/proxy_protocol.hpp"

using namespace kakehi::proxy_protocol;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

/// parse() over a copy in a buffer of exactly its size, so that a sanitizer sees an over-read.
Parsed parse_exact(std::string_view in) {
  const std::vector<char> copy(in.begin(), in.end());
  return parse(std::string_view(copy.data(), copy.size()));
}

bool same(const Parsed& a, const Parsed& b) {
  return a.status == b.status && a.consumed == b.consumed && a.header == b.header;
}

void check_accepted(std::string_view in, const Parsed& p) {
  require(p.consumed > 0 && p.consumed <= in.size());
  require(p.reason.empty());
  const std::string_view header = in.substr(0, p.consumed);
  require(same(parse_exact(header), p));
  // Strict prefixes: every one while short, a sample of a long v2 header.
  const size_t step = header.size() <= 512 ? 1 : header.size() / 97;
  for (size_t k = 0; k < header.size(); k += step)
    require(parse_exact(header.substr(0, k)).status == Status::NeedMore);
  require(p.header.version == 1 || p.header.version == 2);
  if (p.header.version == 1) require(p.consumed <= kMaxV1 && header.ends_with("\r\n"));
  const std::string again = p.header.version == 1 ? encode_v1(p.header) : encode_v2(p.header);
  const Parsed q = parse_exact(again);
  require(q.status == Status::Accept && q.consumed == again.size() && q.header == p.header);
  // v2 comes back byte for byte, but for the opaque bytes of an UNSPEC family.
  if (p.header.version == 2 && p.header.family != Family::Unspec) require(again == header);
  if (p.header.version == 2 && p.header.family == Family::Unspec)
    require(again == std::string(header.substr(0, 14)) + std::string(2, '\0'));
}

void check_parse(std::string_view in) {
  const Parsed p = parse_exact(in);
  switch (p.status) {
    case Status::Accept:
      check_accepted(in, p);
      break;
    case Status::Reject: {
      require(!p.reason.empty() && p.consumed == 0);
      for (char c : {'\r', '\n', '\0', 'x'}) {
        std::string more(in);
        more += c;
        require(parse_exact(more).status == Status::Reject);
      }
      break;
    }
    case Status::NeedMore:
      require(p.consumed == 0 && in.size() < kV2Fixed + 0xFFFF);
      break;
  }
}

/// Reads the Header fields from fuzz bytes, zero once they run out.
class Source {
 public:
  explicit Source(std::string_view in) : in_(in) {}
  uint8_t next() { return pos_ < in_.size() ? static_cast<uint8_t>(in_[pos_++]) : 0; }
  std::string take(size_t n) {
    n = std::min(n, in_.size() - pos_);
    pos_ += n;
    return std::string(in_.substr(pos_ - n, n));
  }
  bool empty() const { return pos_ >= in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

/// A Header built from the bytes, and the Header parse() must give back after encoding it.
void check_encode(std::string_view in) {
  Source src(in);
  const uint8_t flags = src.next();
  Header h;
  h.version = flags & 1 ? 1 : 2;
  h.command = flags & 2 ? Command::Local : Command::Proxy;
  h.family = static_cast<Family>(flags >> 2 & 3);
  h.transport = static_cast<Transport>((flags >> 4 & 3) % 3);
  const size_t n = h.family == Family::Inet ? 4 : h.family == Family::Inet6 ? 16 : 0;
  for (size_t i = 0; i < n; ++i) h.src_addr[i] = src.next();
  for (size_t i = 0; i < n; ++i) h.dst_addr[i] = src.next();
  if (n > 0) {
    h.src_port = static_cast<uint16_t>(src.next() << 8 | src.next());
    h.dst_port = static_cast<uint16_t>(src.next() << 8 | src.next());
  }
  if (h.family == Family::Unix) {
    h.src_path = src.take(src.next() % 109);
    h.dst_path = src.take(src.next() % 109);
    h.src_path.resize(108, '\0');
    h.dst_path.resize(108, '\0');
  }
  bool crc = false;
  while (h.version == 2 && !src.empty() && h.tlvs.size() < 16) {
    Tlv t{src.next(), {}};
    t.value = src.take(src.next() % 48);
    if (t.type == tlv::kSsl || (t.type == tlv::kCrc32c && crc)) t.type = tlv::kNoop;
    if (t.type == tlv::kCrc32c) crc = true;
    h.tlvs.push_back(std::move(t));
  }

  Header want = h;
  if (h.version == 1 && (h.command == Command::Local || n == 0)) {
    want = Header{};  // PROXY UNKNOWN
    want.version = 1;
  } else if (h.version == 1) {
    want.transport = Transport::Stream;
  } else if (h.family == Family::Unspec) {
    want.tlvs.clear();  // UNSPEC's bytes are skipped unread
  }
  const std::string wire = h.version == 1 ? encode_v1(h) : encode_v2(h);
  const Parsed p = parse_exact(wire);
  require(p.status == Status::Accept && p.consumed == wire.size());
  for (size_t i = 0; i < want.tlvs.size(); ++i)
    if (want.tlvs[i].type == tlv::kCrc32c) want.tlvs[i].value = p.header.tlvs.at(i).value;
  require(p.header == want);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check_parse(in);
  check_encode(in);
  (void)crc32c(in);
  return 0;
}
