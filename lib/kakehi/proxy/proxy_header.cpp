// PROXY protocol on the data path (docs/proxy_protocol.md): the header a client connection of an
// accept_proxy_protocol listener starts with, and the one a backend connection of a cluster with
// send_proxy_protocol starts with. The codec is lib/kakehi/proxy_protocol.
#include <arpa/inet.h>

#include <cstring>

#include "kakehi/proxy/internal.hpp"
#include "kakehi/proxy_protocol/proxy_protocol.hpp"

namespace kakehi::proxy::detail {

namespace pp = proxy_protocol;

namespace {

// Sub-TLVs of the SSL TLV (doc/proxy-protocol.txt §2.2.5).
constexpr uint8_t kSslVersion = 0x21;
constexpr uint8_t kSslCipher = 0x23;

net::Address to_address(pp::Family f, const std::array<uint8_t, 16>& addr, uint16_t port) {
  if (f == pp::Family::Inet) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    std::memcpy(&a.sin_addr, addr.data(), 4);
    return net::Address::from(reinterpret_cast<const sockaddr*>(&a), sizeof a);
  }
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  std::memcpy(&a.sin6_addr, addr.data(), 16);
  return net::Address::from(reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

// Copies an IP socket address into a header's address field; false for anything else.
bool from_address(const net::Address& a, std::array<uint8_t, 16>& addr, uint16_t& port) {
  if (a.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(a.sockaddr_ptr());
    std::memcpy(addr.data(), &in->sin_addr, 4);
  } else if (a.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a.sockaddr_ptr());
    std::memcpy(addr.data(), &in6->sin6_addr, 16);
  } else {
    return false;
  }
  port = a.port();
  return true;
}

}  // namespace

runtime::Task<bool> read_proxy_header(WorkerCtx& w, net::TcpStream& client, uint64_t deadline_ns) {
  std::string joined;  // only when the header spans several reads
  for (;;) {
    auto r = co_await client.recv_until(deadline_ns);
    if (!r || r->empty()) break;  // timed out, failed or closed before a whole header
    if (!joined.empty()) joined.append(r->view());
    const std::string_view in = joined.empty() ? r->view() : std::string_view(joined);
    const pp::Parsed p = pp::parse(in);
    if (p.status == pp::Status::Reject) break;
    if (p.status == pp::Status::NeedMore) {
      if (joined.empty()) joined.assign(r->view());
      continue;
    }
    // Bytes of this read past the header are the client's first bytes.
    const size_t before = in.size() - r->size();
    const auto used = static_cast<uint32_t>(p.consumed - before);
    if (used < r->size()) client.unread(r->sub(used, r->size() - used));
    if (p.header.carries_tcp_addresses()) {
      const pp::Header& h = p.header;
      client.set_endpoints(to_address(h.family, h.src_addr, h.src_port),
                           to_address(h.family, h.dst_addr, h.dst_port));
    }
    ++w.stats.proxy_headers;
    co_return true;
  }
  ++w.stats.proxy_header_failures;
  co_return false;
}

std::string build_proxy_header(config::ProxyProtocolVersion v, const net::Address& peer,
                               const net::Address& local, const tls::HandshakeInfo* tls) {
  pp::Header h;
  h.version = v == config::ProxyProtocolVersion::V1 ? 1 : 2;
  if (peer.family() == local.family() && from_address(peer, h.src_addr, h.src_port) &&
      from_address(local, h.dst_addr, h.dst_port)) {
    h.family = peer.family() == AF_INET ? pp::Family::Inet : pp::Family::Inet6;
    h.transport = pp::Transport::Stream;
  } else {
    // v1 "PROXY UNKNOWN", v2 LOCAL: the backend uses the connection's own endpoints. (A v2 PROXY
    // with the UNSPEC family says the same, but haproxy 2.6 refuses it.)
    h.command = pp::Command::Local;
  }
  if (h.version == 1) return pp::encode_v1(h);
  if (tls && h.command == pp::Command::Proxy) {
    if (!tls->alpn.empty()) h.tlvs.push_back({pp::tlv::kAlpn, tls->alpn});
    if (!tls->server_name.empty()) h.tlvs.push_back({pp::tlv::kAuthority, tls->server_name});
    // SSL: client flags (connected over TLS, no client certificate), then the 4-byte verify
    // result, non-zero as no client certificate was verified, then the sub-TLVs.
    std::string ssl{'\x01', '\0', '\0', '\0', '\x01'};
    auto sub_tlv = [&ssl](uint8_t type, std::string_view value) {
      if (value.empty() || value.size() > 0xffff) return;
      ssl.push_back(static_cast<char>(type));
      ssl.push_back(static_cast<char>(value.size() >> 8));
      ssl.push_back(static_cast<char>(value.size() & 0xff));
      ssl.append(value);
    };
    sub_tlv(kSslVersion, tls->version);
    sub_tlv(kSslCipher, tls->cipher);
    h.tlvs.push_back({pp::tlv::kSsl, std::move(ssl)});
  }
  return pp::encode_v2(h);
}

}  // namespace kakehi::proxy::detail
