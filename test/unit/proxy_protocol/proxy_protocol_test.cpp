// PROXY protocol codec (lib/kakehi/proxy_protocol) against ../shared/testdata/proxy-protocol
// (FORMAT.md "How to use them in tests", procedures 1-5, each counted against the corpus), then
// hand cases: the CRC32C check value and TLV, v1 addresses against inet_ntop/inet_pton, the
// 107-byte v1 limit, rejection at the first bad byte, the encoders' edges, allocations.
#include <arpa/inet.h>
#include <doctest/doctest.h>

// The one TU that compiles Boost.JSON (GCC 12 + ASan reports false bounds warnings in it).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#include <boost/json/src.hpp>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "kakehi/proxy_protocol/proxy_protocol.hpp"
#include "support/alloc_counter.hpp"
#include "support/hex.hpp"
#include "support/testdata.hpp"

namespace kakehi::proxy_protocol {
namespace {

namespace json = boost::json;

// FORMAT.md's table of kinds: 50 captured (49 valid, 1 invalid), 18 valid, 55 invalid,
// 9 truncated.
constexpr size_t kCaptured = 50;
constexpr size_t kHandValid = 18;
constexpr size_t kInvalid = 55;
constexpr size_t kTruncated = 9;
constexpr size_t kAcceptable = 49 + kHandValid;  // every vector with "valid": true
constexpr size_t kRejected = 1 + kInvalid;       // every "reject" verdict

std::string bytes(std::string_view hex_text) {
  const test::Bytes b = test::hex(hex_text);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

/// A byte-string literal that may hold NULs.
template <size_t N>
std::string lit(const char (&s)[N]) {
  return std::string(s, N - 1);
}

std::string as_string(const std::array<uint8_t, 16>& a, size_t n) {
  return std::string(reinterpret_cast<const char*>(a.data()), n);
}

uint32_t be32(std::string_view s, size_t i) {
  uint32_t v = 0;
  for (size_t k = 0; k < 4; ++k) v = v << 8 | static_cast<uint8_t>(s[i + k]);
  return v;
}

/// parse() over a copy of `in` in a buffer of exactly its size: ASan sees any read past it.
Parsed parse_exact(std::string_view in) {
  const std::vector<char> copy(in.begin(), in.end());
  return parse(std::string_view(copy.data(), copy.size()));
}

// ---- the vectors ----

struct Vector {
  std::string name;
  std::string kind;
  std::string verdict;
  std::string wire;
  std::optional<std::string> following;
  bool valid = false;
  bool roundtrip = false;
  json::object expect;
};

std::vector<Vector> load_vectors() {
  const auto root = test::shared_testdata();
  if (root.empty()) return {};
  const auto file = root / "proxy-protocol" / "vectors.json";
  if (!std::filesystem::is_regular_file(file)) return {};
  std::vector<Vector> out;
  const json::value doc = json::parse(test::read_file(file));
  for (const json::value& e : doc.as_array()) {
    const json::object& o = e.as_object();
    Vector v;
    v.name = o.at("name").as_string();
    v.kind = o.at("kind").as_string();
    v.wire = bytes(o.at("hex").as_string());
    v.valid = o.at("valid").as_bool();
    v.expect = o.at("expect").as_object();
    v.verdict = v.expect.at("verdict").as_string();
    if (const json::value* f = o.if_contains("following_hex")) v.following = bytes(f->as_string());
    if (const json::value* r = o.if_contains("encode_roundtrip")) v.roundtrip = r->as_bool();
    out.push_back(std::move(v));
  }
  return out;
}

const std::vector<Vector>& vectors() {
  static const std::vector<Vector> v = load_vectors();
  return v;
}

bool have_vectors() {
  if (!vectors().empty()) return true;
  MESSAGE("proxy-protocol/vectors.json not found under KAKEHI_SHARED_TESTDATA; skipping");
  return false;
}

std::optional<std::string_view> text(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  return std::string_view(v->as_string());
}

std::optional<int64_t> number(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  return v->to_number<int64_t>();
}

Status status_of(std::string_view verdict) {
  if (verdict == "accept" || verdict == "accept-as-unknown") return Status::Accept;
  if (verdict == "need-more-bytes") return Status::NeedMore;
  REQUIRE(verdict == "reject");
  return Status::Reject;
}

Command command_of(std::string_view s) {
  REQUIRE((s == "PROXY" || s == "LOCAL"));
  return s == "LOCAL" ? Command::Local : Command::Proxy;
}

Family family_of(std::string_view s) {
  if (s == "INET") return Family::Inet;
  if (s == "INET6") return Family::Inet6;
  if (s == "UNIX") return Family::Unix;
  REQUIRE(s == "UNSPEC");
  return Family::Unspec;
}

Transport transport_of(std::string_view s) {
  if (s == "STREAM") return Transport::Stream;
  if (s == "DGRAM") return Transport::Dgram;
  REQUIRE(s == "UNSPEC");
  return Transport::Unspec;
}

std::string byte_text(unsigned b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", b & 0xFF);
  return buf;
}

/// The address block a Header holds, as v2 lays it out (§2.2).
std::string block_of(const Header& h) {
  std::string out;
  auto put16 = [&](uint16_t v) {
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v & 0xFF);
  };
  if (h.family == Family::Unix) return h.src_path + h.dst_path;
  const size_t n = h.family == Family::Inet ? 4 : h.family == Family::Inet6 ? 16 : 0;
  if (n == 0) return out;
  out += as_string(h.src_addr, n) + as_string(h.dst_addr, n);
  put16(h.src_port);
  put16(h.dst_port);
  return out;
}

/// The inverse of block_of.
void read_block(std::string_view b, Header& h) {
  auto get16 = [&](size_t i) {
    return static_cast<uint16_t>(static_cast<uint8_t>(b[i]) << 8 | static_cast<uint8_t>(b[i + 1]));
  };
  if (h.family == Family::Unix) {
    h.src_path = b.substr(0, 108);
    h.dst_path = b.substr(108, 108);
    return;
  }
  const size_t n = h.family == Family::Inet ? 4 : 16;
  std::copy_n(b.begin(), n, h.src_addr.begin());
  std::copy_n(b.begin() + n, n, h.dst_addr.begin());
  h.src_port = get16(2 * n);
  h.dst_port = get16(2 * n + 2);
}

void check_address(const json::object& e, const char* key, const Header& h,
                   const std::array<uint8_t, 16>& addr, const std::string& path) {
  const auto hex_text = text(e, key);
  if (!hex_text) return;
  const std::string want = bytes(*hex_text);
  if (h.family == Family::Unix) {
    CHECK(path == want);
    return;
  }
  REQUIRE(want.size() == (h.family == Family::Inet ? 4u : 16u));
  CHECK(as_string(addr, want.size()) == want);
  CHECK(as_string(addr, 16).substr(want.size()) == std::string(16 - want.size(), '\0'));
}

/// The SSL TLV's fields (§2.2.6) as the vector lists them.
void check_ssl(const json::object& ssl, std::string_view value) {
  REQUIRE(value.size() >= 5);
  CHECK(static_cast<uint8_t>(value[0]) == ssl.at("client").to_number<int>());
  CHECK(be32(value, 1) == ssl.at("verify").to_number<uint32_t>());
  size_t pos = 5;
  for (const json::value& s : ssl.at("sub_tlvs").as_array()) {
    const json::object& sub = s.as_object();
    REQUIRE(pos + 3 <= value.size());
    const size_t len =
        static_cast<uint8_t>(value[pos + 1]) << 8 | static_cast<uint8_t>(value[pos + 2]);
    CHECK(static_cast<uint8_t>(value[pos]) == sub.at("type").to_number<int>());
    CHECK(value.substr(pos + 3, len) == bytes(sub.at("value_hex").as_string()));
    pos += 3 + len;
  }
  CHECK(pos == value.size());
}

void check_tlvs(const json::array& want, const Parsed& p, std::string_view wire) {
  const std::vector<Tlv>& got = p.header.tlvs;
  REQUIRE(got.size() == want.size());
  // TLVs run to the end of the header: the offset of each follows from the ones after it.
  size_t offset = p.consumed;
  for (const Tlv& t : got) offset -= 3 + t.value.size();
  for (size_t i = 0; i < want.size(); ++i) {
    const json::object& w = want[i].as_object();
    const Tlv& t = got[i];
    CHECK(t.type == w.at("type").to_number<int>());
    CHECK(t.value == bytes(w.at("value_hex").as_string()));
    CHECK(t.value.size() == w.at("length").to_number<size_t>());
    const auto first =
        std::find_if(got.begin(), got.end(), [&](const Tlv& x) { return x.type == t.type; });
    CHECK(p.header.find(t.type) == first->value);  // the first of its type
    if (const json::value* ok = w.if_contains("crc32c_ok"); ok && ok->as_bool()) {
      // Recompute independently of parse(): the whole header, the checksum's bytes zeroed.
      std::string zeroed(wire.substr(0, p.consumed));
      zeroed.replace(offset + 3, 4, std::string(4, '\0'));
      CHECK(crc32c(zeroed) == be32(t.value, 0));
    }
    if (const json::value* ssl = w.if_contains("ssl")) check_ssl(ssl->as_object(), t.value);
    offset += 3 + t.value.size();
  }
  CHECK(offset == p.consumed);
}

/// Procedure 1 for an accepted vector: header_len and every field present in `expect`.
void check_fields(const Vector& v, const Parsed& p) {
  const json::object& e = v.expect;
  const Header& h = p.header;
  CHECK(p.consumed == static_cast<size_t>(*number(e, "header_len")));
  if (auto x = number(e, "version")) CHECK(h.version == *x);
  if (auto s = text(e, "command")) CHECK(h.command == command_of(*s));
  if (auto s = text(e, "family")) CHECK(h.family == family_of(*s));
  if (auto s = text(e, "transport")) CHECK(h.transport == transport_of(*s));
  if (auto s = text(e, "v1_protocol")) {
    const Family f = *s == "TCP4" ? Family::Inet : *s == "TCP6" ? Family::Inet6 : Family::Unspec;
    CHECK(h.family == f);
  }
  if (auto s = text(e, "ver_cmd_byte"))
    CHECK(byte_text(h.version << 4 | static_cast<unsigned>(h.command)) == *s);
  if (auto s = text(e, "fam_byte"))
    CHECK(byte_text(static_cast<unsigned>(h.family) << 4 | static_cast<unsigned>(h.transport)) ==
          *s);
  if (auto n = number(e, "address_length")) CHECK(p.consumed - kV2Fixed == static_cast<size_t>(*n));
  check_address(e, "src_addr_hex", h, h.src_addr, h.src_path);
  check_address(e, "dst_addr_hex", h, h.dst_addr, h.dst_path);
  if (auto n = number(e, "src_port")) CHECK(h.src_port == *n);
  if (auto n = number(e, "dst_port")) CHECK(h.dst_port == *n);
  if (const json::value* t = e.if_contains("tlvs")) check_tlvs(t->as_array(), p, v.wire);
  if (auto u = text(e, "unparsed_address_hex")) {
    // UNSPEC family: skipped unread. A known family with UNSPEC transport: the vector leaves
    // the block unread; we decode it as the family's block (carries_tcp_addresses() is false).
    if (h.family == Family::Unspec)
      CHECK(p.consumed - kV2Fixed == u->size() / 2);
    else
      CHECK(block_of(h) == bytes(*u));
  }
  const bool tcp = (h.family == Family::Inet || h.family == Family::Inet6) &&
                   h.transport == Transport::Stream && h.command == Command::Proxy;
  CHECK(h.carries_tcp_addresses() == (v.verdict == "accept" && tcp));
}

/// Procedure 5: the header the vector's `expect` describes.
Header from_expect(const Vector& v) {
  const json::object& e = v.expect;
  Header h;
  h.version = static_cast<uint8_t>(*number(e, "version"));
  h.command = command_of(*text(e, "command"));
  h.family = family_of(*text(e, "family"));
  h.transport = transport_of(*text(e, "transport"));
  if (auto u = text(e, "unparsed_address_hex"); u && h.family != Family::Unspec)
    read_block(bytes(*u), h);
  if (h.family == Family::Unix) {
    if (auto s = text(e, "src_addr_hex")) h.src_path = bytes(*s);
    if (auto s = text(e, "dst_addr_hex")) h.dst_path = bytes(*s);
  } else {
    if (auto s = text(e, "src_addr_hex")) std::ranges::copy(bytes(*s), h.src_addr.begin());
    if (auto s = text(e, "dst_addr_hex")) std::ranges::copy(bytes(*s), h.dst_addr.begin());
  }
  if (auto n = number(e, "src_port")) h.src_port = static_cast<uint16_t>(*n);
  if (auto n = number(e, "dst_port")) h.dst_port = static_cast<uint16_t>(*n);
  if (const json::value* t = e.if_contains("tlvs")) {
    for (const json::value& x : t->as_array()) {
      const json::object& o = x.as_object();
      h.tlvs.push_back(
          Tlv{o.at("type").to_number<uint8_t>(), bytes(o.at("value_hex").as_string())});
    }
  }
  return h;
}

TEST_CASE("vectors 1: decode gives the strict verdict and every expected field") {
  if (!have_vectors()) return;
  size_t captured = 0, hand_valid = 0, invalid = 0, truncated = 0, accepted = 0;
  for (const Vector& v : vectors()) {
    INFO("vector " << v.name);
    const Parsed p = parse_exact(v.wire);
    CHECK(p.status == status_of(v.verdict));
    CHECK(v.valid == (p.status == Status::Accept));
    if (p.status == Status::Accept) {
      check_fields(v, p);
      ++accepted;
    } else {
      CHECK(p.consumed == 0);
      CHECK(p.header == Header{});
    }
    if (p.status == Status::Reject) CHECK(!p.reason.empty());
    captured += v.kind == "captured";
    hand_valid += v.kind == "valid";
    invalid += v.kind == "invalid";
    truncated += v.kind == "truncated";
  }
  CHECK(vectors().size() == kCaptured + kHandValid + kInvalid + kTruncated);
  CHECK(captured == kCaptured);
  CHECK(hand_valid == kHandValid);
  CHECK(invalid == kInvalid);
  CHECK(truncated == kTruncated);
  CHECK(accepted == kAcceptable);
}

TEST_CASE("vectors 2: the bytes after a header change nothing") {
  if (!have_vectors()) return;
  size_t present = 0, checked = 0;
  for (const Vector& v : vectors()) {
    if (!v.following) continue;
    ++present;
    INFO("vector " << v.name);
    const Parsed alone = parse_exact(v.wire);
    const Parsed p = parse_exact(v.wire + *v.following);
    CHECK(p.status == alone.status);
    CHECK(p.consumed == alone.consumed);
    CHECK(p.header == alone.header);
    if (p.status == Status::Accept) CHECK(p.consumed == v.wire.size());
    ++checked;
  }
  MESSAGE(checked << " vectors checked with the bytes that followed them on the wire");
  CHECK(present > 0);
  CHECK(checked == present);
}

TEST_CASE("vectors 3: every prefix of a valid header is NeedMore, also byte by byte") {
  if (!have_vectors()) return;
  size_t checked = 0;
  for (const Vector& v : vectors()) {
    if (!v.valid) continue;
    INFO("vector " << v.name);
    const Parsed whole = parse_exact(v.wire);
    REQUIRE(whole.status == Status::Accept);
    for (size_t k = 0; k < v.wire.size(); ++k) {
      INFO("prefix of " << k << " bytes");
      CHECK(parse_exact(std::string_view(v.wire).substr(0, k)).status == Status::NeedMore);
    }
    // One byte per read, the buffer growing as a receive buffer would.
    std::string grown;
    for (size_t i = 0; i < v.wire.size(); ++i) {
      grown += v.wire[i];
      const Parsed p = parse(grown);
      if (i + 1 < v.wire.size()) {
        CHECK(p.status == Status::NeedMore);
      } else {
        CHECK(p.status == whole.status);
        CHECK(p.consumed == whole.consumed);
        CHECK(p.header == whole.header);
      }
    }
    ++checked;
  }
  CHECK(checked == kAcceptable);
}

TEST_CASE("vectors 4: invalid input is rejected and no prefix of it is accepted") {
  if (!have_vectors()) return;
  size_t checked = 0, early = 0;
  for (const Vector& v : vectors()) {
    if (v.verdict != "reject") continue;
    INFO("vector " << v.name);
    CHECK(parse_exact(v.wire).status == Status::Reject);
    // Once a prefix is rejected, every longer one is too; none is ever accepted.
    size_t first_reject = v.wire.size() + 1;
    for (size_t k = 0; k <= v.wire.size(); ++k) {
      INFO("prefix of " << k << " bytes");
      const Status s = parse_exact(std::string_view(v.wire).substr(0, k)).status;
      CHECK(s != Status::Accept);
      if (s == Status::Reject && first_reject > k) first_reject = k;
      if (k > first_reject) CHECK(s == Status::Reject);
    }
    early += first_reject < v.wire.size();
    ++checked;
  }
  MESSAGE(early << " of " << checked << " invalid vectors rejected before their last byte");
  CHECK(checked == kRejected);
}

TEST_CASE("vectors 5: encoding the expected fields gives the captured bytes") {
  if (!have_vectors()) return;
  size_t exact = 0, semantic = 0;
  for (const Vector& v : vectors()) {
    if (!v.valid) continue;
    INFO("vector " << v.name);
    const Header h = from_expect(v);
    const std::string out = h.version == 1 ? encode_v1(h) : encode_v2(h);
    const Parsed original = parse_exact(v.wire);
    const Parsed again = parse_exact(out);
    REQUIRE(again.status == Status::Accept);
    CHECK(again.consumed == out.size());
    CHECK(again.header == h);
    CHECK(again.header == original.header);
    if (v.roundtrip) {
      // The Header has no room for an UNSPEC family's opaque bytes: the encoder writes none.
      const bool opaque = h.version == 2 && h.family == Family::Unspec && v.wire.size() > kV2Fixed;
      CHECK(out == (opaque ? v.wire.substr(0, 14) + std::string(2, '\0') : v.wire));
      ++exact;
    } else {
      ++semantic;
    }
  }
  MESSAGE(exact << " vectors re-encoded byte for byte, " << semantic << " semantically");
  CHECK(exact + semantic == kAcceptable);
  CHECK(exact > 0);
  CHECK(semantic > 0);
}

// ---- hand cases ----

TEST_CASE("crc32c: the Castagnoli check value") {
  CHECK(crc32c("123456789") == 0xE3069283u);
  CHECK(crc32c("") == 0u);
  CHECK(crc32c(std::string(32, '\0')) == 0x8A9136AAu);  // RFC 3720 B.4: 32 bytes of zeros
}

Header inet_header() {
  Header h;
  h.family = Family::Inet;
  h.transport = Transport::Stream;
  h.src_addr = {203, 0, 113, 9};
  h.dst_addr = {10, 0, 0, 1};
  h.src_port = 51000;
  h.dst_port = 443;
  return h;
}

TEST_CASE("encode_v2: a CRC32C TLV is computed, verified, and catches a flipped byte") {
  Header h = inet_header();
  h.tlvs = {{tlv::kCrc32c, "junk"}, {tlv::kAlpn, "h2"}, {tlv::kAuthority, "example.test"}};
  const std::string wire = encode_v2(h);
  REQUIRE(wire.size() == kV2Fixed + 12 + 7 + 5 + 15);
  const size_t crc_type = kV2Fixed + 12;
  std::string zeroed = wire;
  zeroed.replace(crc_type + 3, 4, std::string(4, '\0'));
  CHECK(be32(wire, crc_type + 3) == crc32c(zeroed));

  const Parsed p = parse(wire);
  REQUIRE(p.status == Status::Accept);
  CHECK(p.consumed == wire.size());
  h.tlvs[0].value = wire.substr(crc_type + 3, 4);
  CHECK(p.header == h);
  CHECK(p.header.find(tlv::kAuthority) == "example.test");
  CHECK(p.header.find(tlv::kNetns).empty());

  // Any flipped bit but the length's and the CRC32C type's (which would drop the checksum).
  for (size_t i = 0; i < wire.size(); ++i) {
    if (i == 14 || i == 15 || i == crc_type) continue;
    std::string bad = wire;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    INFO("byte " << i << " flipped");
    CHECK(parse_exact(bad).status == Status::Reject);
  }
  // A second CRC32C TLV cannot be checked on its own terms: rejected.
  h.tlvs.push_back({tlv::kCrc32c, ""});
  CHECK(parse(encode_v2(h)).status == Status::Reject);
}

std::string ntop(int af, const void* a) {
  char buf[INET6_ADDRSTRLEN];
  REQUIRE(::inet_ntop(af, a, buf, sizeof buf) != nullptr);
  return buf;
}

TEST_CASE("encode_v1: addresses written as inet_ntop writes them, and read back") {
  std::vector<std::array<uint8_t, 16>> addrs = {
      {},                                                            // ::
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},              // ::1
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2},              // ::2
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4},              // ::1.2.3.4
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1},      // ::ffff:127.0.0.1
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0},        // ::ffff:0.0.0.0
      {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 2, 3, 4},        // ::ffff:0:102:304
      {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1},  // two runs of 2 and 2
      {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1},  // run of 3 later
      {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1},  // a lone zero group
      {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},        // fe80::
      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff},
  };
  std::mt19937 rng(20240613);
  for (int n = 0; n < 3000; ++n) {
    std::array<uint8_t, 16> a{};
    for (size_t g = 0; g < 8; ++g) {
      const unsigned pick = rng() % 8;
      const unsigned v = pick < 4 ? 0 : pick == 4 ? 0xFFFF : pick == 5 ? 1 : rng() & 0xFFFF;
      a[2 * g] = static_cast<uint8_t>(v >> 8);
      a[2 * g + 1] = static_cast<uint8_t>(v);
    }
    addrs.push_back(a);
  }
  for (const auto& a : addrs) {
    const std::string text = ntop(AF_INET6, a.data());
    INFO("address " << text);
    Header h;
    h.version = 1;
    h.family = Family::Inet6;
    h.transport = Transport::Stream;
    h.src_addr = a;
    h.dst_addr = a;
    h.src_port = 0;
    h.dst_port = 65535;
    const std::string line = encode_v1(h);
    CHECK(line == "PROXY TCP6 " + text + " " + text + " 0 65535\r\n");
    const Parsed p = parse_exact(line);
    REQUIRE(p.status == Status::Accept);
    CHECK(p.header == h);
  }
  for (const std::array<uint8_t, 16> a4 :
       {std::array<uint8_t, 16>{127, 10, 20, 30}, std::array<uint8_t, 16>{0, 0, 0, 0},
        std::array<uint8_t, 16>{255, 255, 255, 255}, std::array<uint8_t, 16>{10, 0, 100, 9}}) {
    Header h = inet_header();
    h.src_addr = a4;
    const std::string text = ntop(AF_INET, a4.data());
    CHECK(encode_v1(h) == "PROXY TCP4 " + text + " 10.0.0.1 51000 443\r\n");
    h.version = 1;
    CHECK(parse_exact(encode_v1(h)).header == h);
  }
}

/// Our v1 address reading against glibc's inet_pton on the same text: same verdict, same bytes,
/// and for an address inet_pton accepts, every prefix of the line is NeedMore.
void check_like_inet_pton(bool v6, const std::string& addr) {
  INFO("address \"" << addr << "\"");
  std::array<uint8_t, 16> want{};
  const bool ok = ::inet_pton(v6 ? AF_INET6 : AF_INET, addr.c_str(), want.data()) == 1;
  const std::string line =
      (v6 ? "PROXY TCP6 " : "PROXY TCP4 ") + addr + (v6 ? " ::1 1 2\r\n" : " 1.2.3.4 1 2\r\n");
  const Parsed p = parse_exact(line);
  CHECK(p.status == (ok ? Status::Accept : Status::Reject));
  if (!ok || p.status != Status::Accept) return;
  CHECK(p.header.src_addr == want);
  for (size_t k = 0; k < line.size(); ++k)
    CHECK(parse_exact(std::string_view(line).substr(0, k)).status == Status::NeedMore);
}

TEST_CASE("parse v1: addresses read as inet_pton reads them") {
  for (const char* s : {"::",
                        "::1",
                        "1::",
                        "1:2:3:4:5:6:7:8",
                        "1:2:3:4:5:6:7::",
                        "::2:3:4:5:6:7:8",
                        "1:2:3:4:5:6:7:8::",
                        "1::2::3",
                        ":::",
                        ":1::",
                        "1:::2",
                        "::1.2.3.4",
                        "::ffff:1.2.3.4",
                        "1:2:3:4:5:6:1.2.3.4",
                        "1:2:3:4:5::1.2.3.4",
                        "1:2:3:4:5:1.2.3.4",
                        "1:2:3:4:5:6:7:1.2.3.4",
                        "::01.2.3.4",
                        "::1.2.3",
                        "::1.2.3.4.5",
                        "::256.1.1.1",
                        "::1.2.3.4:5",
                        "2001:DB8::A",
                        "2001:0db8:0000:0000:0000:0000:0000:0001",
                        "00001::",
                        "0000:0000::",
                        "fe80::1%eth0",
                        "::g",
                        "1:",
                        ":",
                        "",
                        "1.2.3.4",
                        "::ffff:a.b.c.d",
                        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"})
    check_like_inet_pton(true, s);
  for (const char* s : {"0.0.0.0", "255.255.255.255", "256.0.0.0", "01.2.3.4", "1.2.3", "1.2.3.4.",
                        ".1.2.3", "1..2.3", "1.2.3.4.5", "a.b.c.d", "1.2.3.00", "100.200.250.99"})
    check_like_inet_pton(false, s);
  // Random text over the characters an address is made of.
  std::mt19937 rng(7);
  constexpr std::string_view k6 = "0123456789abcdefABCDEF:::.";
  constexpr std::string_view k4 = "0123456789...";
  for (int n = 0; n < 20000; ++n) {
    const bool v6 = n % 2 == 0;
    const std::string_view chars = v6 ? k6 : k4;
    std::string s(1 + rng() % (v6 ? 24 : 16), ' ');
    for (char& c : s) c = chars[rng() % chars.size()];
    check_like_inet_pton(v6, s);
  }
}

TEST_CASE("parse v1: the 107-byte limit") {
  std::string line = "PROXY UNKNOWN ";
  line.resize(105, 'x');
  CHECK(parse_exact(line).status == Status::NeedMore);         // 105 bytes
  CHECK(parse_exact(line + "\r").status == Status::NeedMore);  // 106, CR last
  const Parsed p = parse_exact(line + "\r\n");                 // 107 with CRLF
  CHECK(p.status == Status::Accept);
  CHECK(p.consumed == kMaxV1);
  CHECK(parse_exact(line + "xx").status == Status::Reject);     // 107, no CRLF
  CHECK(parse_exact(line + "\r\r").status == Status::Reject);   // 107, no CRLF
  CHECK(parse_exact(line + "x\r\n").status == Status::Reject);  // 108 with CRLF
  // 106 bytes and no CR: the CRLF can no longer end by byte 107.
  CHECK(parse_exact(line + "x").status == Status::Reject);
}

TEST_CASE("parse: rejected at the first byte that proves the input invalid") {
  const std::string sig(kV2Signature);
  const std::string block12 = lit("\xcb\x00\x71\x09\x0a\x00\x00\x01\xc7\x38\x01\xbb");
  const std::vector<std::pair<std::string, Status>> cases = {
      {"", Status::NeedMore},
      {"G", Status::Reject},
      {"P", Status::NeedMore},
      {"PROXY", Status::NeedMore},
      {"PROXZ", Status::Reject},
      {"PROXY\t", Status::Reject},
      {"PROXY T", Status::NeedMore},
      {"PROXY TCP5", Status::Reject},
      {"PROXY tcp4", Status::Reject},
      {"PROXY UNKNOWN", Status::NeedMore},
      {"PROXY UNKNOWNX", Status::Reject},
      {"PROXY UNKNOWN \x01\xff\t", Status::NeedMore},
      {"PROXY TCP4\r", Status::Reject},
      {"PROXY TCP4 ", Status::NeedMore},
      {"PROXY TCP4  ", Status::Reject},
      {"PROXY TCP4 192.0.2.25", Status::NeedMore},
      {"PROXY TCP4 192.0.2.256", Status::Reject},
      {"PROXY TCP4 192.0.2.01", Status::Reject},
      {"PROXY TCP4 ::1", Status::Reject},
      {"PROXY TCP6 2001:db8::1::", Status::Reject},
      {"PROXY TCP6 127.", Status::Reject},
      {"PROXY TCP6 ::ffff:127.", Status::NeedMore},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 0", Status::NeedMore},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 00", Status::Reject},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 65536", Status::Reject},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ", Status::Reject},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1\r", Status::Reject},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r", Status::NeedMore},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rx", Status::Reject},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", Status::Reject},
      {sig.substr(0, 7) + "V", Status::Reject},
      {sig, Status::NeedMore},
      {sig + "\x11", Status::Reject},
      {sig + "\x22", Status::Reject},
      {sig + "\x21", Status::NeedMore},
      {sig + "\x21\x41", Status::Reject},
      {sig + "\x21\x13", Status::Reject},
      {sig + "\x21\x11" + std::string(1, '\0'), Status::NeedMore},
      {sig + "\x21\x11" + std::string(1, '\0') + "\x0b", Status::Reject},  // < 12
      {sig + lit("\x21\x31\x00\xd7"), Status::Reject},                     // < 216
      {sig + "\x21\x11" + std::string(1, '\0') + "\x0c", Status::NeedMore},
      // TLVs judged as their headers arrive, before the whole header is there.
      {sig + "\x21\x11" + std::string(1, '\0') + "\x13" + block12 + "\x02" + std::string(1, '\0') +
           "\x0a",
       Status::Reject},  // AUTHORITY of 10 bytes, 4 left
      {sig + lit("\x21\x11\x01\x00") + block12 + lit("\x05\x00\x81"),
       Status::Reject},  // UNIQUE_ID 129
      {sig + lit("\x21\x11\x01\x00") + block12 + lit("\x05\x00\x80"), Status::NeedMore},
      {sig + lit("\x21\x11\x01\x00") + block12 + lit("\x03\x00\x05"),
       Status::Reject},  // CRC32C of 5
      {sig + lit("\x21\x11\x01\x00") + block12 + lit("\x20\x00\x04"), Status::Reject},  // SSL of 4
      {sig + lit("\x21\x11\x01\x00") + block12 +
           lit("\x20\x00\x08\x01\x00\x00\x00\x00\x21\x00\x09"),
       Status::Reject},  // SSL_VERSION of 9 inside an SSL TLV of 8
      {sig + "\x21\x11" + std::string(1, '\0') + "\x0e" + block12 + "\x04", Status::Reject},
  };
  for (const auto& [in, status] : cases) {
    INFO("input \"" << in << "\" (" << in.size() << " bytes)");
    CHECK(parse_exact(in).status == status);
  }
}

TEST_CASE("parse v2: UNSPEC skips its bytes unread; UNIX keeps its paths") {
  const std::string sig(kV2Signature);
  // PROXY UNSPEC with bytes that would not parse as TLVs.
  const std::string unspec = sig + lit("\x21\x00\x00\x05\x01\xff\xff\x00\x00");
  Parsed p = parse_exact(unspec + "rest");
  REQUIRE(p.status == Status::Accept);
  CHECK(p.consumed == unspec.size());
  CHECK(p.header.tlvs.empty());
  CHECK(!p.header.carries_tcp_addresses());
  // LOCAL of a health check, as haproxy sends it.
  Header local;
  local.command = Command::Local;
  CHECK(encode_v2(local) == sig + "\x20" + std::string(3, '\0'));
  CHECK(encode_v1(local) == "PROXY UNKNOWN\r\n");
  // UNIX: paths NUL-padded to 108 bytes (a longer one is cut), no ports.
  Header unix_h;
  unix_h.family = Family::Unix;
  unix_h.transport = Transport::Stream;
  unix_h.src_path = "/run/client.sock";
  unix_h.dst_path = std::string(120, 's');
  const std::string wire = encode_v2(unix_h);
  CHECK(wire.size() == kV2Fixed + 216);
  p = parse_exact(wire);
  REQUIRE(p.status == Status::Accept);
  CHECK(p.header.src_path == "/run/client.sock" + std::string(108 - 16, '\0'));
  CHECK(p.header.dst_path == std::string(108, 's'));
  CHECK(!p.header.carries_tcp_addresses());
  CHECK(encode_v1(unix_h) == "PROXY UNKNOWN\r\n");
}

TEST_CASE("encode_v2: the header's length limit") {
  Header h = inet_header();
  h.tlvs = {{tlv::kNoop, std::string(0xFFFF - 12 - 3, 'n')}};
  const std::string biggest = encode_v2(h);
  CHECK(biggest.size() == kV2Fixed + 0xFFFF);
  const Parsed p = parse_exact(biggest);
  CHECK(p.status == Status::Accept);
  CHECK(p.header == h);
  h.tlvs[0].value += 'n';
  CHECK(encode_v2(h).empty());
  h.family = Family::Inet6;  // the same TLVs no longer fit beside an IPv6 block
  h.tlvs[0].value.resize(0xFFFF - 12 - 3);
  CHECK(encode_v2(h).empty());
}

TEST_CASE("parse: allocates nothing without TLVs or UNIX paths") {
  Header h6;
  h6.family = Family::Inet6;
  h6.transport = Transport::Stream;
  h6.src_addr[15] = 1;
  const std::string v2 = encode_v2(h6);
  const std::string v1 = "PROXY TCP6 2001:db8::1 ::ffff:127.0.0.1 1 2\r\n";
  Header with_tlvs = inet_header();
  with_tlvs.tlvs = {{tlv::kAlpn, "h2"}, {tlv::kAuthority, "a.test"}, {tlv::kNoop, ""}};
  const std::string v2_tlvs = encode_v2(with_tlvs);

  size_t before = allocation_count_for_test();
  const Parsed a = parse(v1);
  const Parsed b = parse(v2);
  const Parsed c = parse(std::string_view(v2).substr(0, 20));
  const Parsed d = parse("PROXY TCP4 1.2.3.4 1.2.3.5 1 2 3\r\n");
  const Parsed e = parse("PROXY UNKNOWN whatever\r\n");
  CHECK(allocation_count_for_test() == before);
  CHECK(a.status == Status::Accept);
  CHECK(b.status == Status::Accept);
  CHECK(c.status == Status::NeedMore);
  CHECK(d.status == Status::Reject);
  CHECK(e.status == Status::Accept);

  before = allocation_count_for_test();
  const Parsed f = parse(v2_tlvs);
  CHECK(allocation_count_for_test() - before == 1);  // the vector; short values fit in place
  CHECK(f.header == with_tlvs);
}

}  // namespace
}  // namespace kakehi::proxy_protocol
